"""Variant states stored in the database and read by the prompt selection."""

from __future__ import annotations

from bot.analytics.variants import VariantStates, apply_states
from bot.prompting import CONTROL, Variant, choose_variant

CONFIGURED = [Variant("control", 1.0), Variant("concise", 1.0)]
KEYS = [f"slack:C1:t{i}" for i in range(200)]


def test_apply_states() -> None:
    assert apply_states(CONFIGURED, {}) == CONFIGURED
    assert apply_states(CONFIGURED, {"concise": "stopped"}) == [
        Variant("control", 1.0),
        Variant("concise", 0.0),
    ]
    assert apply_states(CONFIGURED, {"concise": "promoted", "control": "stopped"}) == [
        Variant("concise", 1.0)
    ]
    everything_stopped = apply_states(CONFIGURED, {"concise": "stopped", "control": "stopped"})
    assert choose_variant("k", everything_stopped) == CONTROL


async def test_states_reach_the_selection(db) -> None:
    states = VariantStates(db, ttl=0.0)
    assert {choose_variant(k, await states.effective(CONFIGURED)) for k in KEYS} == {"control", "concise"}
    await states.set("concise", "stopped", by="alice")
    assert {choose_variant(k, await states.effective(CONFIGURED)) for k in KEYS} == {"control"}
    await states.set("concise", "promoted", by="alice")
    assert {choose_variant(k, await states.effective(CONFIGURED)) for k in KEYS} == {"concise"}
    await states.set("control", "promoted", by="alice")  # one promoted at a time
    assert await VariantStates(db).states() == {"control": "promoted"}
    await states.set("control", "active", by="alice")
    assert await states.states() == {}


async def test_cached_states_reach_other_replicas_within_ttl(db) -> None:
    writer, reader = VariantStates(db, ttl=0.0), VariantStates(db, ttl=3600.0)
    assert await reader.states() == {}
    await writer.set("concise", "stopped", by="alice")
    assert await reader.states() == {}  # cached until the ttl passes
    reader._loaded = float("-inf")  # the ttl has passed
    assert await reader.states() == {"concise": "stopped"}
