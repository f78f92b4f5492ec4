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
from bot.leader import Leader
from bot.ratelimit import RateLimiter
from bot.resilience.admission import Admission
from bot.resilience.outbox import Outbox
from bot.scheduler import Scheduler
from bot.tokens import Tokens
from storage.db import Database


@dataclass(slots=True)
class Services:
    """The running core: built once by ``bot.app`` and handed to every adapter."""

    settings: Settings
    db: Database
    engine: Engine
    commands: Commands
    index: IndexStatus
    scheduler: Scheduler | None = None  # jobs and leadership (``bot.scheduler``); started by ``opora serve``
    extras: dict[str, Any] = field(default_factory=dict)
    admission: Admission = field(default_factory=Admission)  # messenger answers at once, and the line
    outbox: Outbox | None = None  # writes kept while the database is down
    escalation: EscalationService | None = None  # paging, lifecycle, takeover (None: not wired)
    leader: Leader = field(default_factory=Leader)  # runs the work only one replica may do

    @property
    def history(self) -> History:
        """Users' conversations (list, read, rename, delete; popular questions)."""
        return History(self.db)

    @property
    def limiter(self) -> RateLimiter:
        """The rate limiter shared by every replica (``bot.ratelimit``)."""
        return RateLimiter(self.db)

    @property
    def tokens(self) -> Tokens:
        """API tokens: create, list, revoke, verify."""
        return Tokens(self.db)


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
