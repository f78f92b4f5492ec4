"""Prometheus metrics of the providers, router and answer cache, on prometheus_client's default registry.

The app exposes them at ``/metrics`` (``prometheus_client.make_asgi_app()`` or ``generate_latest()``).
Defined once at import, so any number of routers share them, labelled by provider.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

registry: CollectorRegistry = REGISTRY

_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0)

provider_ttft = Histogram(
    "opora_provider_first_token_seconds",
    "Time to the first token per provider",
    ["provider"],
    buckets=_BUCKETS,
)
provider_latency = Histogram(
    "opora_provider_stream_seconds", "Whole stream duration per provider", ["provider"], buckets=_BUCKETS
)
provider_errors = Counter("opora_provider_errors_total", "Provider failures by kind", ["provider", "kind"])
provider_requests = Counter("opora_provider_requests_total", "Tries sent to a provider", ["provider"])
provider_tokens = Counter("opora_provider_tokens_total", "Tokens used", ["provider", "type"])
fallbacks = Counter(
    "opora_provider_fallbacks_total", "A request moved on from a provider", ["provider", "reason"]
)
retries = Counter("opora_provider_retries_total", "Retries on the same provider", ["provider"])
breaker_state = Gauge(
    "opora_provider_breaker_state", "Circuit breaker state (0 closed, 1 half-open, 2 open)", ["provider"]
)
rate_limited = Counter(
    "opora_provider_rate_limit_total",
    "Local rate limiter outcomes (waited, fell_through)",
    ["provider", "outcome"],
)
cache_lookups = Counter("opora_answer_cache_total", "Answer cache lookups by result", ["result"])
generation_fallbacks = Counter(
    "opora_generation_fallback_total", "Answers given by the fallback generator", ["reason"]
)
prompt_variants = Counter("opora_prompt_variant_total", "Answers per prompt variant", ["variant"])

BREAKER_VALUES = {"closed": 0, "half_open": 1, "open": 2}
