"""Build the provider router from settings; ``None`` when no provider has credentials."""

from __future__ import annotations

from pathlib import Path

import structlog
from pydantic import SecretStr

from providers.base import LLMProvider
from providers.breaker import CircuitBreaker
from providers.gigachat import GigaChatProvider
from providers.limits import ProviderLimits
from providers.openai_compat import OpenAICompatProvider
from providers.router import ProviderRouter, Route, breaker_metric
from providers.settings import ProviderSettings, ProvidersSettings

log = structlog.get_logger(__name__)

# Well-known names work with only a key in the environment,
# e.g. OPORA_PROVIDERS__PROVIDERS__DEEPSEEK__API_KEY.
KNOWN: dict[str, dict[str, str]] = {
    "gigachat": {"kind": "gigachat", "model": "GigaChat"},
    "deepseek": {"kind": "openai", "base_url": "https://api.deepseek.com", "model": "deepseek-chat"},
    "openai": {"kind": "openai", "model": "gpt-4o-mini"},
}


def resolve(name: str, given: ProviderSettings | None) -> ProviderSettings:
    """The provider's settings with the well-known defaults filled in where left empty."""
    settings = given.model_copy() if given is not None else ProviderSettings(**KNOWN.get(name, {}))
    defaults = KNOWN.get(name, {})
    if not settings.model:
        settings.model = defaults.get("model", "")
    if settings.base_url is None and settings.kind == "openai" and "base_url" in defaults:
        settings.base_url = defaults["base_url"]
    settings.name = settings.name or name
    return settings


def _secret(value: SecretStr | None, path: Path | None) -> str | None:
    if value is not None:
        return value.get_secret_value() or None
    if path is not None:
        return path.read_text(encoding="utf-8").strip() or None
    return None


def build_provider(name: str, settings: ProviderSettings) -> LLMProvider | None:
    """One provider, or ``None`` (logged) when it lacks credentials or a model."""
    if settings.kind == "gigachat":
        credentials = _secret(settings.credentials, settings.credentials_file)
        if credentials is None:
            log.info("provider.disabled", provider=name, reason="no credentials")
            return None
        return GigaChatProvider(name, settings, credentials=credentials)
    api_key = _secret(settings.api_key, settings.api_key_file)
    if api_key is None and not settings.no_auth:
        log.info("provider.disabled", provider=name, reason="no api key")
        return None
    if not settings.model:
        log.error("provider.config_error", provider=name, error="no model")
        return None
    return OpenAICompatProvider(name, settings, api_key=api_key)


def build_router(settings: ProvidersSettings) -> ProviderRouter | None:
    """The router over every provider of ``settings.chain`` that can be used, in chain order."""
    routes: list[Route] = []
    for name in settings.chain:
        resolved = resolve(name, settings.providers.get(name))
        provider = build_provider(name, resolved)
        if provider is None:
            continue
        breaker = CircuitBreaker(
            failure_threshold=settings.breaker.failure_threshold,
            cooldown=settings.breaker.cooldown,
            on_change=breaker_metric(name),
        )
        limits = ProviderLimits(
            requests_per_minute=resolved.requests_per_minute,
            tokens_per_minute=resolved.tokens_per_minute,
            on_limit=settings.rate_limit.on_limit,
            max_wait=settings.rate_limit.max_wait,
        )
        routes.append(Route(provider, breaker, limits, max_tokens=resolved.max_tokens))
    if not routes:
        log.info("providers.none_configured", chain=settings.chain)
        return None
    log.info(
        "providers.chain", chain=[r.provider.name for r in routes], models=[r.provider.model for r in routes]
    )
    return ProviderRouter(routes, budget=settings.budget, retry=settings.retry)
