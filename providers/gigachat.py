"""GigaChat through the official ``gigachat`` SDK.

OAuth: the SDK trades the authorization key (``credentials``, base64 of ``client_id:secret``) and the
``scope`` for an access token at ``auth_url`` and refreshes it before expiry (it treats a token as stale
60 s before ``expires_at``) and once more on a 401. The Russian root CA is given by ``ca_bundle``, or
``verify_ssl: false`` for a test stand. SDK retries stay off: the router owns retries.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import structlog
from gigachat import GigaChat
from gigachat import exceptions as gx
from gigachat.models import Chat, Messages, MessagesRole

from providers.base import (
    ChatRequest,
    ProviderConfigError,
    ProviderError,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
    StreamEnd,
    StreamEvent,
    TimedStreamProvider,
    TokenDelta,
    Usage,
    retry_after_seconds,
)
from providers.settings import ProviderSettings

log = structlog.get_logger(__name__)
_CONFIG_ERRORS = (
    gx.BadRequestError,
    gx.AuthenticationError,
    gx.ForbiddenError,
    gx.NotFoundError,
    gx.UnprocessableEntityError,
    gx.RequestEntityTooLargeError,
    gx.ModelNotSpecifiedError,
)


def map_gigachat_error(provider: str, exc: Exception) -> ProviderError:
    """Vendor error → our typed error."""
    if isinstance(exc, httpx.TimeoutException):
        return ProviderTimeout(provider, type(exc).__name__, phase="read")
    if isinstance(exc, gx.RateLimitError):
        return ProviderRateLimited(provider, "429", retry_after_seconds(exc.headers))
    if isinstance(exc, _CONFIG_ERRORS):
        return ProviderConfigError(provider, type(exc).__name__)
    if isinstance(exc, gx.ResponseError):
        return ProviderUnavailable(provider, f"HTTP {exc.status_code}")
    if isinstance(exc, httpx.TransportError):
        return ProviderUnavailable(provider, type(exc).__name__)
    return ProviderUnavailable(provider, f"unexpected {type(exc).__name__}")


class GigaChatProvider(TimedStreamProvider):
    """An ``LLMProvider`` over the GigaChat SDK client."""

    def __init__(self, name: str, settings: ProviderSettings, *, credentials: str) -> None:
        self.name = name
        self.model = settings.model or "GigaChat"
        self.settings = settings
        extra = dict(settings.extra)
        self._profanity_check = extra.pop("profanity_check", None)
        self._extra = extra
        kwargs: dict[str, Any] = {
            "credentials": credentials,
            "scope": settings.scope,
            "model": self.model,
            "verify_ssl_certs": settings.verify_ssl,
            "timeout": settings.total_timeout,
            "max_retries": 0,
        }
        if settings.base_url:
            kwargs["base_url"] = settings.base_url
        if settings.auth_url:
            kwargs["auth_url"] = settings.auth_url
        if settings.ca_bundle:
            kwargs["ca_bundle_file"] = str(settings.ca_bundle)
        self._client = GigaChat(**kwargs)

    def _chat(self, request: ChatRequest) -> Chat:
        s = self.settings
        return Chat(
            model=self.model,
            messages=[Messages(role=MessagesRole(m.role), content=m.content) for m in request.messages],
            temperature=s.temperature if request.temperature is None else request.temperature,
            top_p=s.top_p,
            max_tokens=request.max_tokens or s.max_tokens,
            profanity_check=self._profanity_check,
            additional_fields=self._extra or None,
        )

    async def _raw(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        finish: str | None = None
        usage: Usage | None = None
        try:
            async for chunk in self._client.astream(self._chat(request)):
                if chunk.usage is not None:
                    usage = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                for choice in chunk.choices:
                    if choice.delta.content:
                        yield TokenDelta(choice.delta.content)
                    if choice.finish_reason:
                        finish = choice.finish_reason
        except ProviderError:
            raise
        except Exception as exc:
            raise map_gigachat_error(self.name, exc) from exc
        yield StreamEnd(self.name, self.model, finish, usage)

    async def aclose(self) -> None:
        await self._client.aclose()
