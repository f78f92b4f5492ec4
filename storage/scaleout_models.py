"""Tables that let several replicas behave as one (imported by ``storage.models``)."""

from __future__ import annotations

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base


class AnswerRun(Base):
    """An answer being written by some replica, so every replica can say a conversation is in progress.

    The replica that runs it keeps ``heartbeat_at`` fresh and deletes the row when the answer ends; a row
    whose heartbeat went stale belongs to a replica that died mid-answer and counts as over. Times are Unix
    seconds.
    """

    __tablename__ = "answer_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    session_key: Mapped[str] = mapped_column(String(512), index=True)
    replica: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[float] = mapped_column(Float)
    heartbeat_at: Mapped[float] = mapped_column(Float, index=True)
