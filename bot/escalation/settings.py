"""Escalation settings (``settings.escalation``): detection, paging targets, rotation, tickets, capture."""

from __future__ import annotations

from pydantic import BaseModel, Field


class EscalationSettings(BaseModel):
    enabled: bool = True
    phrases: list[str] = Field(default_factory=list)  # extra phrases, added to the built-in ones
    patterns: list[str] = Field(default_factory=list)  # extra regular expressions
    contact: str = ""  # how to reach a human when nobody could be paged (shown to the asker)
