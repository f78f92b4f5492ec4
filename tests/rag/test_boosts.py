"""Page boosters: the asker's role and votes on similar questions (bounded, decaying, per page version)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from rag.boosts import Candidate, combine
from rag.feedback_boost import FeedbackBooster, FeedbackWeights, PageVote
from rag.roles import RoleBooster, audience
from rag.types import Chunk

NOW = datetime(2026, 11, 29, tzinfo=UTC)


def chunk(path: str, text: str = "text", version: int = 1, title: str = "T") -> Chunk:
    return Chunk(f"{path}-0", path, 0, text, title, [], "en", None, path, "kb", version=version)


def unit(*xs: float) -> np.ndarray:
    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


Q = unit(1, 0, 0)
NEAR = unit(1, 0.2, 0)  # cosine ≈ 0.98 with Q
FAR = unit(0, 1, 0)


def vote(doc: str, value: int, user: str = "u1", query=NEAR, version: int = 1, days: float = 0) -> PageVote:
    return PageVote(doc, version, value, user, NOW - timedelta(days=days), query)


PAGES = [Candidate("a", (chunk("a"),)), Candidate("b", (chunk("b", version=2),))]
W = FeedbackWeights(weight=0.15, max_boost=0.3, half_life_days=30, min_similarity=0.85)


def test_votes_on_similar_questions_move_pages_with_a_reason() -> None:
    adj = FeedbackBooster([vote("a", -1), vote("b", 1, user="u2", version=2)], W, now=NOW).adjust(PAGES, Q)
    assert adj["a"].delta < 0 < adj["b"].delta
    assert adj["a"].reasons == ("👎 1 similar question(s)",)


def test_dissimilar_questions_and_other_versions_do_not_count() -> None:
    votes = [vote("a", -1, query=FAR), vote("b", 1, version=1)]  # b is at version 2 now
    assert FeedbackBooster(votes, W, now=NOW).adjust(PAGES, Q) == {}


def test_one_person_is_one_vote_and_the_change_is_bounded() -> None:
    one = FeedbackBooster([vote("a", -1)] * 50, W, now=NOW).adjust(PAGES, Q)["a"].delta
    single = FeedbackBooster([vote("a", -1)], W, now=NOW).adjust(PAGES, Q)["a"].delta
    assert one == single  # fifty clicks of one user weigh as one vote
    many = [vote("a", -1, user=f"u{i}", query=Q) for i in range(50)]
    assert FeedbackBooster(many, W, now=NOW).adjust(PAGES, Q)["a"].delta == -W.max_boost


def test_votes_decay_with_age() -> None:
    fresh = FeedbackBooster([vote("a", 1)], W, now=NOW).adjust(PAGES, Q)["a"].delta
    old = FeedbackBooster([vote("a", 1, days=30)], W, now=NOW).adjust(PAGES, Q)["a"].delta
    assert abs(old - fresh / 2) < 1e-3


def test_audience_from_path_labels_and_content() -> None:
    assert "devops" in audience(chunk("werf/en/usage/deploy/tracking.md"))
    assert "backend" in audience(chunk("helm/en/chart_template_guide/values_files.md"))
    assert audience(chunk("x/readme.md"), labels=["QA", "misc"]) == {"qa"}
    lint = "Run helm lint and helm test; the test verifies the schema. Tests validate " * 3
    assert "qa" in audience(chunk("x/page.md", lint))
    assert audience(chunk("x/page.md", "plain words about nothing in particular")) == frozenset()


def test_role_boost_lifts_only_tagged_pages_and_combines() -> None:
    pages = [Candidate("d", (chunk("werf/en/usage/deploy/x.md"),)), Candidate("o", (chunk("other/page.md"),))]
    adj = combine([RoleBooster("devops", 0.1), RoleBooster("default", 0.1)], pages, Q)
    assert set(adj) == {"d"} and adj["d"].delta == 0.1 and adj["d"].reasons == ("role:devops",)
    assert not RoleBooster("devops", 0.0).active and not RoleBooster("default", 0.5).active
