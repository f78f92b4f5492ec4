"""Settings of what moves the ranking beyond the question's words: the thread, votes, the asker's role.

One ``Settings.ranking`` field (``OPORA_RANKING__FOLLOWUP__THREAD_WEIGHT``, ...); documented in
``docs/configuration.md``. The defaults were chosen by 2-fold cross-validation (``bench/*_cv.py``).
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class FollowUpSettings(BaseModel):
    # choose by evidence (2-fold CV, bench.followup_cv: chosen on both folds): the message searched with the
    # thread's previous question, unless the message alone is more relevant by more than -margin
    margin: float | None = -0.1
    thread_weight: float = 1.0  # with margin null: the thread query's share in the fused page ranking
    # Gate (bench.followup_gate): search the message alone first and skip the thread's search when that
    # search is confident: best relevance >= gate_best and its first page ahead of its second by
    # >= gate_margin; null: always search both. 0.825: the CV procedure of bench.followup_gate on all
    # in-thread messages (docs/retrieval.md: both folds' figures).
    gate_best: float | None = Field(default=0.825, ge=0.0, le=1.0)
    gate_margin: float = 0.005
    # Rewrite follow-ups with the language model first (when a provider is configured). Off by default: the
    # rewrite is a whole LLM round trip before retrieval, so a follow-up's first token came ~1.1 s later
    # (bench.webchat, 10 q/s: p50 0.6 s -> 1.7 s), and the offline choice above is the measured method.
    llm: bool = False
    llm_timeout: float = 3.0  # seconds; on timeout or error the offline method decides


class FeedbackSettings(BaseModel):
    enabled: bool = True
    weight: float = 0.15  # page-score change per unit of (decayed, similarity-weighted) net votes
    max_boost: float = 0.3  # a page moves at most this much up or down, however many votes
    half_life_days: float = 30.0  # a vote counts half after this many days
    min_similarity: float = 0.85  # a vote counts for questions at least this close (query cosine)
    refresh_seconds: float = 30.0  # votes are re-read from the database at most this often


class RoleSettings(BaseModel):
    boost: float = 0.1  # page-score bonus for a page tagged with the asker's role (0 turns it off)


class RankingSettings(BaseModel):
    followup: FollowUpSettings = Field(default_factory=FollowUpSettings)
    feedback: FeedbackSettings = Field(default_factory=FeedbackSettings)
    roles: RoleSettings = Field(default_factory=RoleSettings)
