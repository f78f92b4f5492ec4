"""Each provider against its fake, through the real SDK: streaming, usage, error mapping, OAuth."""

from __future__ import annotations

import openai
import pytest

from providers.base import (
    ChatMessage,
    ChatRequest,
    ProviderConfigError,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
    StreamEnd,
    TokenDelta,
)
from providers.openai_compat import map_openai_error, sse_json
from tests.fakes.gigachat_server import FakeGigaChatServer
from tests.fakes.openai_server import FakeOpenAIServer, Reply
from tests.providers.conftest import gigachat_provider, openai_provider

REQUEST = ChatRequest([ChatMessage("system", "be brief"), ChatMessage("user", "hi")])


async def test_openai_stream_tokens_then_usage(openai_fake: FakeOpenAIServer) -> None:
    provider = openai_provider("openai", openai_fake, extra={"reasoning": {"effort": "low"}})
    events = [e async for e in provider.stream(REQUEST)]
    assert [e.text for e in events if isinstance(e, TokenDelta)] == ["Hello", ", ", "world", "."]
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.finish_reason == "stop"
    assert end.usage is not None and end.usage.completion_tokens == 4
    body = openai_fake.requests[0]
    assert body["stream_options"] == {"include_usage": True} and body["reasoning"] == {"effort": "low"}
    assert (await provider.complete(REQUEST)).text == "Hello, world."
    await provider.aclose()


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(status=429, retry_after=1.5), ProviderRateLimited),
        (Reply(status=500), ProviderUnavailable),
        (Reply(status=503), ProviderUnavailable),
        (Reply(status=400), ProviderConfigError),
        (Reply(status=403), ProviderConfigError),
        (Reply(hang=True), ProviderTimeout),
        (Reply(ttft=1.0), ProviderTimeout),
        (Reply(drop_after=0), ProviderUnavailable),
        (Reply(error_after=0), ProviderUnavailable),
    ],
)
async def test_openai_errors_are_typed(openai_fake: FakeOpenAIServer, reply: Reply, error: type) -> None:
    openai_fake.script(reply)
    # only the timeout cases depend on the short timeouts; the others get room on a loaded CI machine
    roomy = {"connect_timeout": 10.0, "first_token_timeout": 10.0, "total_timeout": 20.0}
    provider = openai_provider("openai", openai_fake, **({} if error is ProviderTimeout else roomy))
    with pytest.raises(error) as caught:
        _ = [e async for e in provider.stream(REQUEST)]
    if isinstance(caught.value, ProviderRateLimited):
        assert caught.value.retry_after == 1.5
    await provider.aclose()


async def test_openai_wrong_key_is_config_error(openai_fake: FakeOpenAIServer) -> None:
    provider = openai_provider("openai", openai_fake)
    provider._client.api_key = "sk-wrong"
    with pytest.raises(ProviderConfigError):
        await provider.complete(REQUEST)
    await provider.aclose()


async def test_gigachat_streams_with_oauth(gigachat_fake: FakeGigaChatServer) -> None:
    provider = gigachat_provider(gigachat_fake, extra={"profanity_check": False, "repetition_penalty": 1.1})
    events = [e async for e in provider.stream(REQUEST)]
    assert "".join(e.text for e in events if isinstance(e, TokenDelta)) == "Hello, world."
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.usage is not None and end.usage.prompt_tokens == 10
    assert gigachat_fake.oauth_calls == 1 and gigachat_fake.scopes == ["GIGACHAT_API_PERS"]
    body = gigachat_fake.requests[0]
    assert body["model"] == "GigaChat-Pro" and body["profanity_check"] is False
    assert body["repetition_penalty"] == 1.1
    await provider.complete(REQUEST)
    assert gigachat_fake.oauth_calls == 1  # the token is reused while fresh
    await provider.aclose()


async def test_gigachat_refreshes_token_before_expiry(gigachat_fake: FakeGigaChatServer) -> None:
    # The SDK treats a token as stale 60 s before expires_at: a 30 s token is renewed before every use,
    # so the server never sees an expired token.
    gigachat_fake.token_lifetime = 30.0
    provider = gigachat_provider(gigachat_fake)
    for _ in range(3):
        await provider.complete(REQUEST)
    assert gigachat_fake.oauth_calls == 3 and gigachat_fake.rejected_tokens == 0
    await provider.aclose()


async def test_gigachat_refreshes_token_rejected_by_server(gigachat_fake: FakeGigaChatServer) -> None:
    provider = gigachat_provider(gigachat_fake)
    await provider.complete(REQUEST)
    gigachat_fake.expire_all()
    result = await provider.complete(REQUEST)
    assert result.text == "Hello, world."
    assert gigachat_fake.rejected_tokens == 1 and gigachat_fake.oauth_calls == 2
    await provider.aclose()


async def test_gigachat_bad_credentials_is_config_error(gigachat_fake: FakeGigaChatServer) -> None:
    provider = gigachat_provider(gigachat_fake)
    gigachat_fake.credentials = "d3Jvbmc6a2V5"  # the server now expects another key
    with pytest.raises(ProviderConfigError):
        await provider.complete(REQUEST)
    await provider.aclose()


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(status=429, retry_after=0.5), ProviderRateLimited),
        (Reply(status=503), ProviderUnavailable),
        (Reply(hang=True), ProviderTimeout),
        (Reply(drop_after=1), ProviderUnavailable),
    ],
)
async def test_gigachat_errors_are_typed(
    gigachat_fake: FakeGigaChatServer, reply: Reply, error: type
) -> None:
    gigachat_fake.script(reply)
    provider = gigachat_provider(gigachat_fake)
    with pytest.raises(error):
        _ = [e async for e in provider.stream(REQUEST)]
    await provider.aclose()


async def _lines(*lines: str):  # type: ignore[no-untyped-def]
    for line in lines:
        yield line


async def _objects(*lines: str) -> list[dict]:
    return [obj async for obj in sse_json(_lines(*lines))]


async def test_sse_events_are_read_as_the_protocol_defines() -> None:
    got = await _objects(
        ": a comment line",
        'data: {"a": 1}',
        "",
        "",  # blank lines between events do not make events
        "data: {",
        'data: "b": 2}',  # one event over two data lines
        "",
        'data:{"c": 3}',  # no space after the colon
        "",
        "data: [DONE]",
        "",
        'data: {"after": "done"}',
        "",
    )
    assert got == [{"a": 1}, {"b": 2}, {"c": 3}]
    assert await _objects('data: {"last": true}') == [{"last": True}]  # no blank line at the end


@pytest.mark.parametrize(
    "lines",
    [
        ("event: error", 'data: {"message": "overloaded"}', ""),
        ('data: {"error": {"message": "overloaded", "type": "server_error"}}', ""),
        ("data: {not json", ""),
    ],
)
async def test_sse_errors_inside_the_stream_become_provider_errors(lines: tuple[str, ...]) -> None:
    with pytest.raises(openai.APIError):
        await _objects('data: {"ok": 1}', "", *lines)
    assert isinstance(map_openai_error("openai", openai.APIError("x", None, body=None)), ProviderUnavailable)  # type: ignore[arg-type]
