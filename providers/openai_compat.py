"""OpenAI, DeepSeek and any OpenAI-compatible server (vLLM, Ollama, llama.cpp) through the ``openai`` SDK.

The SDK's own retries are off (``max_retries=0``): the router owns retries, or the two would multiply.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
import structlog

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


def map_openai_error(provider: str, exc: Exception) -> ProviderError:
    """Vendor error → our typed error."""
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        return ProviderTimeout(provider, type(exc).__name__, phase="read")
    if isinstance(exc, openai.RateLimitError):
        return ProviderRateLimited(provider, "429", retry_after_seconds(exc.response.headers))
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status in (400, 401, 403, 404, 422):
            return ProviderConfigError(provider, f"HTTP {status}")
        return ProviderUnavailable(provider, f"HTTP {status}")
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError | openai.APIError):
        return ProviderUnavailable(provider, type(exc).__name__)
    return ProviderUnavailable(provider, f"unexpected {type(exc).__name__}")


class OpenAICompatProvider(TimedStreamProvider):
    """An ``LLMProvider`` over ``AsyncOpenAI`` pointed at ``settings.base_url``."""

    def __init__(self, name: str, settings: ProviderSettings, *, api_key: str | None = None) -> None:
        self.name = name
        self.model = settings.model
        self.settings = settings
        timeout = httpx.Timeout(settings.total_timeout, connect=settings.connect_timeout)
        self._client = openai.AsyncOpenAI(
            api_key=api_key or "no-key",
            base_url=settings.base_url,
            max_retries=0,
            timeout=timeout,
        )

    def _body(self, request: ChatRequest) -> dict[str, Any]:
        s = self.settings
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "stream": True,
            "max_tokens": request.max_tokens or s.max_tokens,
            "temperature": s.temperature if request.temperature is None else request.temperature,
        }
        if s.top_p is not None:
            body["top_p"] = s.top_p
        if s.stream_usage:
            body["stream_options"] = {"include_usage": True}
        if s.extra:
            body["extra_body"] = dict(s.extra)
        return body

    async def _raw(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        finish: str | None = None
        usage: Usage | None = None
        try:
            stream = await self._client.chat.completions.create(**self._body(request))
            async with stream:
                async for chunk in stream:
                    if chunk.usage is not None:
                        usage = Usage(chunk.usage.prompt_tokens or 0, chunk.usage.completion_tokens or 0)
                    for choice in chunk.choices:
                        if choice.delta.content:
                            yield TokenDelta(choice.delta.content)
                        if choice.finish_reason:
                            finish = choice.finish_reason
        except ProviderError:
            raise
        except Exception as exc:
            raise map_openai_error(self.name, exc) from exc
        yield StreamEnd(self.name, self.model, finish, usage)

    async def aclose(self) -> None:
        await self._client.close()
