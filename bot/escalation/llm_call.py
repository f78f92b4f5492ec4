"""What the judge and the capture summary share: untrusted text fenced by a nonce, and one bounded call."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from providers.base import ChatRequest, ChatResult, LLMProvider, ProviderError


def fenced(label: str, text: str) -> tuple[str, str, str]:
    """``(open, close, block)``: delimiters made of a fresh nonce, and ``text`` between them on lines of its
    own. The nonce is removed from ``text``, so the text can never close the fence itself."""
    nonce = secrets.token_hex(8)
    open_, close = f"<<<{label} {nonce}", f"{label} {nonce}>>>"
    return open_, close, f"{open_}\n{text.replace(nonce, '')}\n{close}"


async def complete_within(
    llm: LLMProvider, request: ChatRequest, seconds: float, *, log: Any, event: str
) -> ChatResult | None:
    """The model's reply within ``seconds``, or ``None`` after logging ``event`` with the reason.

    No request deadline: a call that runs late is cancelled here, which the router does not count against
    the provider's breaker (answers share it); a deadline would count as its timeout."""
    try:
        async with asyncio.timeout(seconds):
            return await llm.complete(request)
    except TimeoutError:
        log.info(event, reason="timeout", timeout=seconds)
    except ProviderError as exc:
        log.info(event, reason=exc.kind)
    return None
