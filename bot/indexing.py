"""How far the knowledge base index is: shared by the background ingest, /readyz, the log and the engine."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

State = Literal["idle", "running", "done", "failed"]


@dataclass(slots=True)
class IndexStatus:
    state: State = "idle"
    docs_total: int = 0
    docs_done: int = 0
    chunks_done: int = 0
    error: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    sources: list[str] = field(default_factory=list)

    def begin(self, sources: list[str]) -> None:
        self.state, self.sources, self.error = "running", sources, None
        self.docs_total = self.docs_done = self.chunks_done = 0
        self.started_at, self.finished_at = time.monotonic(), None

    def progress(self, *, docs_done: int, docs_total: int, chunks_done: int) -> None:
        self.docs_done, self.docs_total, self.chunks_done = docs_done, docs_total, chunks_done

    def finish(self, error: str | None = None) -> None:
        self.state = "failed" if error else "done"
        self.error = error
        self.finished_at = time.monotonic()

    @property
    def partial(self) -> bool:
        """Questions are being answered from an index that is still growing."""
        return self.state == "running"

    @property
    def percent(self) -> int:
        if self.state == "done":
            return 100
        if not self.docs_total:
            return 0
        return min(99, int(100 * self.docs_done / self.docs_total))

    def as_dict(self) -> dict[str, object]:
        elapsed = None
        if self.started_at is not None:
            elapsed = round((self.finished_at or time.monotonic()) - self.started_at, 1)
        return {
            "state": self.state,
            "percent": self.percent,
            "documents_done": self.docs_done,
            "documents_total": self.docs_total,
            "chunks_done": self.chunks_done,
            "elapsed_s": elapsed,
            "error": self.error,
        }
