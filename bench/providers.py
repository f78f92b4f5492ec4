"""Provider router figures against the fake OpenAI-compatible server.

Run: .venv/bin/python -m bench.providers

1. Router overhead per request, p50/p95: the same streamed request through the router vs the SDK directly.
2. TTFT when the primary is down (hangs): first request (timeout path), steady state (breaker open), and a
   chain without the dead provider.
3. 200 concurrent streamed requests through the router with 300 ms TTFT: errors and p95 TTFT overhead.
The fakes run in their own threads and event loops, so the client side is measured alone.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time

import openai

from providers.base import ChatMessage, ChatRequest, TokenDelta
from providers.breaker import CircuitBreaker
from providers.limits import ProviderLimits
from providers.openai_compat import OpenAICompatProvider
from providers.router import ProviderRouter, Route
from providers.settings import ProviderSettings
from tests.fakes.openai_server import FakeOpenAIServer, Reply

MESSAGES = [ChatMessage("system", "Answer from the passages."), ChatMessage("user", "How do I deploy?")]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def provider(name: str, fake: FakeOpenAIServer, first_token_timeout: float = 3.0) -> OpenAICompatProvider:
    settings = ProviderSettings(base_url=fake.base_url, model="m", first_token_timeout=first_token_timeout)
    return OpenAICompatProvider(name, settings, api_key="sk")


def router(*providers: OpenAICompatProvider, budget: float = 5.0) -> ProviderRouter:
    routes = [
        Route(p, CircuitBreaker(failure_threshold=1, cooldown=600), ProviderLimits()) for p in providers
    ]
    return ProviderRouter(routes, budget=budget)


async def ttft_router(r: ProviderRouter) -> tuple[float, float]:
    start = time.perf_counter()
    first = 0.0
    async for event in r.stream(ChatRequest(list(MESSAGES))):
        if isinstance(event, TokenDelta) and not first:
            first = time.perf_counter() - start
    return first, time.perf_counter() - start


async def ttft_sdk(client: openai.AsyncOpenAI) -> tuple[float, float]:
    start = time.perf_counter()
    first = 0.0
    stream = await client.chat.completions.create(
        model="m",
        messages=[{"role": m.role, "content": m.content} for m in MESSAGES],
        stream=True,
        stream_options={"include_usage": True},
        max_tokens=800,
        temperature=0.2,
    )
    async with stream:
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content and not first:
                first = time.perf_counter() - start
    return first, time.perf_counter() - start


async def overhead(fake: FakeOpenAIServer, n: int = 400) -> None:
    r = router(provider("a", fake))
    client = openai.AsyncOpenAI(base_url=fake.base_url, api_key="sk", max_retries=0)
    for _ in range(30):  # warm up connections
        await ttft_router(r)
        await ttft_sdk(client)
    direct: list[float] = []
    routed: list[float] = []
    for _ in range(n):  # interleaved so drift hits both alike
        direct.append((await ttft_sdk(client))[1])
        routed.append((await ttft_router(r))[1])
    diffs = [b - a for a, b in zip(sorted(direct), sorted(routed), strict=True)]
    print(f"[1] whole streamed request, {n} sequential, 4 tokens each")
    print(f"    SDK direct  p50 {pct(direct, 0.5) * 1e3:6.2f} ms  p95 {pct(direct, 0.95) * 1e3:6.2f} ms")
    print(f"    via router  p50 {pct(routed, 0.5) * 1e3:6.2f} ms  p95 {pct(routed, 0.95) * 1e3:6.2f} ms")
    print(
        f"    overhead    p50 {(pct(routed, 0.5) - pct(direct, 0.5)) * 1e3:6.2f} ms"
        f"  p95 {(pct(routed, 0.95) - pct(direct, 0.95)) * 1e3:6.2f} ms   (target p95 <= 5 ms)"
    )
    print(f"    (quantile-matched mean difference {statistics.mean(diffs) * 1e3:.2f} ms)")
    await r.aclose()
    await client.close()


async def primary_down(dead: FakeOpenAIServer, alive: FakeOpenAIServer, n: int = 100) -> None:
    timeout = 1.0
    chain = router(provider("dead", dead, first_token_timeout=timeout), provider("alive", alive))
    baseline = router(provider("alive", alive))
    first, _ = await ttft_router(chain)  # pays the dead primary's first-token timeout, opens its breaker
    for _ in range(20):
        await ttft_router(chain)
        await ttft_router(baseline)
    steady: list[float] = []
    direct: list[float] = []
    for _ in range(n):
        steady.append((await ttft_router(chain))[0])
        direct.append((await ttft_router(baseline))[0])
    s50, b50 = pct(steady, 0.5), pct(direct, 0.5)
    print(f"[2] primary hangs (first-token timeout {timeout:.1f} s), {n} requests")
    print(f"    first request TTFT (timeout path)    {first * 1e3:8.1f} ms")
    print(
        f"    steady state TTFT (breaker open) p50 {s50 * 1e3:8.2f} ms  p95 {pct(steady, 0.95) * 1e3:6.2f} ms"
    )
    print(
        f"    chain without dead provider      p50 {b50 * 1e3:8.2f} ms  p95 {pct(direct, 0.95) * 1e3:6.2f} ms"
    )
    print(f"    steady / without-dead p50 ratio {s50 / b50:.3f}   (target <= 1.10)")
    await chain.aclose()
    await baseline.aclose()


async def concurrent(n: int = 200, ttft: float = 0.3, rounds: int = 3) -> None:
    # The fake runs in its own process here: 200 streams would otherwise share this process's GIL with it.
    proc = subprocess.Popen(  # noqa: ASYNC220  (bench set-up, before any measurement)
        [sys.executable, "-m", "tests.fakes.openai_server", "--ttft", str(ttft)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    url = proc.stdout.readline().strip()
    settings = ProviderSettings(base_url=url, model="m")
    r = router(OpenAICompatProvider("a", settings, api_key="sk"))
    client = openai.AsyncOpenAI(base_url=url, api_key="sk", max_retries=0)
    try:
        p95: dict[str, list[float]] = {"sdk": [], "router": []}
        errors = 0
        for i in range(rounds + 1):  # round 0 warms both connection pools
            for label, call in (("sdk", lambda: ttft_sdk(client)), ("router", lambda: ttft_router(r))):
                results = await asyncio.gather(*(call() for _ in range(n)), return_exceptions=True)
                firsts = [x[0] for x in results if not isinstance(x, BaseException)]
                if label == "router":
                    errors += sum(isinstance(x, BaseException) for x in results)
                if i:
                    p95[label].append(pct(firsts, 0.95))
        sdk, routed = statistics.median(p95["sdk"]), statistics.median(p95["router"])
        print(
            f"[3] {n} concurrent streamed requests, fake TTFT {ttft * 1e3:.0f} ms, median of {rounds} rounds"
        )
        print(f"    router errors {errors}")
        print(f"    TTFT p95 via router {routed * 1e3:.1f} ms; SDK direct, same load {sdk * 1e3:.1f} ms")
        print(f"    p95 TTFT overhead vs SDK direct {(routed - sdk) * 1e3:.1f} ms   (target <= 50 ms)")
        print(
            f"    p95 TTFT over the fake's own {ttft * 1e3:.0f} ms: router {(routed - ttft) * 1e3:.1f} ms,"
            f" SDK direct {(sdk - ttft) * 1e3:.1f} ms (client CPU: openai SDK + httpx)"
        )
    finally:
        await r.aclose()
        await client.close()
        proc.stdin.close()
        proc.wait(10)


async def main() -> None:
    fast, dead = FakeOpenAIServer(), FakeOpenAIServer()
    dead.default = Reply(hang=True)
    for fake in (fast, dead):
        fake.start_in_thread()
    try:
        await overhead(fast)
        await primary_down(dead, fast)
    finally:
        for fake in (fast, dead):
            fake.stop_thread()
    await concurrent()


if __name__ == "__main__":
    asyncio.run(main())
