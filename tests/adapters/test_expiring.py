"""The expiring cache behind looked-up profiles: entries vanish after their TTL, the oldest go when full."""

from __future__ import annotations

from adapters.expiring import ExpiringCache


def test_entries_expire_after_their_ttl_and_the_oldest_go_first() -> None:
    now = [0.0]
    cache: ExpiringCache[str, str] = ExpiringCache(10, max_size=2, clock=lambda: now[0])
    cache.put("anna", "anna@example.com")
    now[0] = 9.9
    assert cache.get("anna") == "anna@example.com"
    now[0] = 10.0
    assert cache.get("anna") is None  # expired: the caller asks the platform again

    cache.put("a", "1")
    cache.put("b", "2")
    cache.put("a", "1'")  # refreshed: now the newest
    cache.put("c", "3")  # full: "b", the oldest, goes
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ("1'", None, "3")


def test_a_zero_ttl_keeps_nothing() -> None:
    cache: ExpiringCache[str, str] = ExpiringCache(0)
    cache.put("anna", "anna@example.com")
    assert cache.get("anna") is None
