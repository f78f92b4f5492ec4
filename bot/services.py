"""What the core offers to adapters and entry points, and what it expects of a channel adapter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.commands import Commands
from bot.config import Settings
from bot.engine import Engine
from bot.escalation.service import EscalationService
from bot.history import History
from bot.indexing import IndexStatus
from storage.db import Database


@dataclass(slots=True)
class Services:
    """The running core: built once by ``bot.app`` and handed to every adapter."""

    settings: Settings
    db: Database
    engine: Engine
    commands: Commands
    index: IndexStatus
    extras: dict[str, Any] = field(default_factory=dict)
    escalation: EscalationService | None = None  # paging, lifecycle, takeover (None: not wired)

    @property
    def history(self) -> History:
        """Users' conversations (list, read, rename, delete; popular questions)."""
        return History(self.db)


class Channel(Protocol):
    """A channel adapter (``adapters/<name>.py`` exposes ``create(services) -> Channel | None``).

    ``create`` returns ``None`` when the channel is not configured. ``router`` is a FastAPI ``APIRouter``
    for webhook-style channels (mounted by the app), or ``None``. ``start`` returns once the channel is
    connected (long-lived loops run as background tasks it owns); ``stop`` ends them.
    """

    name: str
    router: Any | None

    async def start(self) -> None: ...

    async def stop(self) -> None: ...
