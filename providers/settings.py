"""Settings of the LLM providers, the router, the answer cache and prompt A/B tests.

They live here, not in ``bot/config.py``, because ``providers`` sits below ``bot`` and must not import it;
``bot/config.py`` re-exports ``ProviderSettings`` and ``ProvidersSettings`` as ``settings.providers``.
Secrets are ``SecretStr`` (never logged) and come from env (``OPORA_PROVIDERS__PROVIDERS__<NAME>__API_KEY``)
or from a file (``api_key_file`` / ``credentials_file``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr


class ProviderSettings(BaseModel):
    """One LLM provider: GigaChat, or anything that speaks the OpenAI chat completions API."""

    kind: Literal["gigachat", "openai"] = "openai"
    name: str = ""
    base_url: str | None = None
    api_key: SecretStr | None = None
    api_key_file: Path | None = None  # read at start when api_key is not set
    no_auth: bool = False  # a local OpenAI-compatible server (vLLM, Ollama, llama.cpp) without a key
    credentials: SecretStr | None = None  # GigaChat authorization key (base64 of client_id:secret)
    credentials_file: Path | None = None
    scope: str = "GIGACHAT_API_PERS"
    auth_url: str | None = None
    model: str = ""
    temperature: float = 0.2
    top_p: float | None = None
    max_tokens: int = 800
    system_prompt: str | None = None  # appended to the grounding prompt for this provider only
    verify_ssl: bool = True
    ca_bundle: Path | None = None  # e.g. the Russian Trusted Root CA for GigaChat
    connect_timeout: float = 2.0
    first_token_timeout: float = 3.0
    total_timeout: float = 30.0
    stream_usage: bool = True  # ask for usage in the last stream chunk (stream_options.include_usage)
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    extra: dict[str, Any] = Field(default_factory=dict)  # model-specific body fields (profanity_check, ...)


class RetrySettings(BaseModel):
    attempts: int = 2  # tries per provider, first one included
    base_delay: float = 0.2  # seconds; doubles each retry, full jitter
    max_delay: float = 2.0
    max_retry_after: float = 2.0  # a longer Retry-After sends the request to the next provider


class BreakerSettings(BaseModel):
    failure_threshold: int = 3  # consecutive failures that open the breaker
    cooldown: float = 30.0  # seconds open before one half-open probe


class RateLimitSettings(BaseModel):
    on_limit: Literal["wait", "fallthrough"] = "wait"
    max_wait: float = 1.0  # longest wait for capacity (never past the request deadline)


class CacheSettings(BaseModel):
    enabled: bool = True
    ttl: float = 86_400.0  # seconds
    lru_size: int = 512  # in-process entries in front of the shared store


class PromptVariantSettings(BaseModel):
    """A prompt variant; its templates are ``bot/prompts/variants/<name>/`` over the base templates."""

    name: str = "control"
    weight: float = 1.0


class ProvidersSettings(BaseModel):
    chain: list[str] = Field(default_factory=lambda: ["gigachat", "deepseek", "openai"])
    providers: dict[str, ProviderSettings] = Field(default_factory=dict)
    budget: float = 3.0  # seconds to the first token across the whole chain
    retry: RetrySettings = Field(default_factory=RetrySettings)
    breaker: BreakerSettings = Field(default_factory=BreakerSettings)
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    variants: list[PromptVariantSettings] = Field(default_factory=lambda: [PromptVariantSettings()])
    prompts_dir: Path | None = None  # default: bot/prompts
