"""Per-provider rate limits (requests and tokens per minute) so we wait or fall through, not earn a 429."""

from __future__ import annotations

import asyncio

from aiolimiter import AsyncLimiter


class ProviderLimits:
    """Leaky buckets for requests and tokens per minute; ``None`` means unlimited.

    Tokens are reserved up front as prompt estimate + ``max_tokens`` (what OpenAI itself counts against
    TPM); a bucket cannot refund, so this errs on the safe side.
    """

    def __init__(
        self,
        *,
        requests_per_minute: int | None = None,
        tokens_per_minute: int | None = None,
        on_limit: str = "wait",
        max_wait: float = 1.0,
        period: float = 60.0,  # seconds a "minute" lasts; shorter only in tests
    ) -> None:
        self._rpm = AsyncLimiter(requests_per_minute, period) if requests_per_minute else None
        self._tpm = AsyncLimiter(tokens_per_minute, period) if tokens_per_minute else None
        self._tpm_max = float(tokens_per_minute or 0)
        self.on_limit = on_limit
        self.max_wait = max_wait

    @property
    def unlimited(self) -> bool:
        return self._rpm is None and self._tpm is None

    async def acquire(self, tokens: int, *, remaining: float) -> bool:
        """Take capacity for one request; ``False``: fall through to the next provider."""
        if self.unlimited:
            return True
        amount = min(float(tokens), self._tpm_max) if self._tpm is not None else 0.0
        if self._has_capacity(amount):
            await self._take(amount)
            return True
        wait = min(self.max_wait, remaining)
        if self.on_limit != "wait" or wait <= 0:
            return False
        try:
            async with asyncio.timeout(wait):
                await self._take(amount)
        except TimeoutError:
            return False
        return True

    def _has_capacity(self, amount: float) -> bool:
        rpm_ok = self._rpm is None or self._rpm.has_capacity(1)
        tpm_ok = self._tpm is None or self._tpm.has_capacity(amount)
        return rpm_ok and tpm_ok

    async def _take(self, amount: float) -> None:
        if self._rpm is not None:
            await self._rpm.acquire(1)
        if self._tpm is not None and amount > 0:
            await self._tpm.acquire(amount)
