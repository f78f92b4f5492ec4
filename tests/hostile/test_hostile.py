"""Every hostile input of every category is handled (the counts: ``python -m bench.hostile``)."""

from __future__ import annotations

import pytest

from tests.hostile.corpus import INJECTION_DOCUMENTS, INJECTION_QUESTIONS
from tests.hostile.suite import CATEGORIES


def test_the_injection_corpus_is_big_enough_and_bilingual() -> None:
    cases = INJECTION_QUESTIONS + INJECTION_DOCUMENTS
    assert len(cases) >= 40
    assert (
        {lang for lang, _ in INJECTION_QUESTIONS} == {lang for lang, _ in INJECTION_DOCUMENTS} == {"ru", "en"}
    )


@pytest.mark.parametrize("category", sorted(CATEGORIES))
async def test_hostile_category_is_fully_handled(category: str) -> None:
    outcome = await CATEGORIES[category]()
    assert outcome.tried > 0
    assert outcome.failures == [], outcome.failures[:5]
    assert outcome.handled == outcome.tried
