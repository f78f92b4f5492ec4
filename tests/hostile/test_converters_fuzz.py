"""Hypothesis: whatever text and source URL an answer has, no renderer lets live markup or a bad link out."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile.corpus import BAD_URLS, MARKUP
from tests.hostile.suite import _surfaces, markup_problems

pieces = st.sampled_from(
    [*MARKUP, "[x](", "](", "<", ">", "&", "*", "_", "`", "```", "\n", "@", "!", "|", "javascript:", " "]
)
texts = st.lists(st.one_of(pieces, st.text(max_size=12)), max_size=12).map("".join)
urls = st.one_of(st.none(), st.sampled_from(BAD_URLS), st.text(max_size=30), st.just("https://ok.example/a"))


@given(text=texts, url=urls)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_renderers_keep_hostile_markup_inert(text: str, url: str | None) -> None:
    for surface, rendered in _surfaces(text, url).items():
        assert markup_problems(surface, rendered) == [], (surface, rendered)
