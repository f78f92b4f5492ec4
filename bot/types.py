"""The shared vocabulary of Opora: what adapters hand to the core and what the core hands back.

Plain dataclasses, no platform SDK types. A platform's raw payload may ride along in ``extras``
for the adapter's own use; the core never looks inside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

Lang = Literal["ru", "en"]
Role = Literal["default", "frontend", "backend", "devops", "qa"]
ROLES: tuple[str, ...] = ("default", "frontend", "backend", "devops", "qa")


class Platform(StrEnum):
    """Where a message came from. ``api`` and ``cli`` are Opora's own entry points."""

    API = "api"
    CLI = "cli"
    WEB = "web"
    SLACK = "slack"
    TELEGRAM = "telegram"
    MATTERMOST = "mattermost"


@dataclass(frozen=True, slots=True)
class SessionKey:
    """One conversation: platform + channel + thread root (thread = session)."""

    platform: str
    channel: str
    thread: str

    def as_str(self) -> str:
        return f"{self.platform}:{self.channel}:{self.thread}"


@dataclass(frozen=True, slots=True)
class UserRef:
    """A person as a platform knows them."""

    platform: str
    external_id: str
    display_name: str | None = None
    is_bot: bool = False
    extras: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    email: str | None = None  # as the platform (or a trusted proxy) vouches for it; maps to Confluence users


@dataclass(slots=True)
class Incoming:
    """One question as the core sees it.

    Attributes:
        text: the user's message, already stripped of the bot mention.
        user: who asked.
        session: the conversation it belongs to.
        lang: forced reply language; detected from the text when ``None``.
        role: the asker's role, picks the prompt template (``None``: the user's stored role).
        event_id: the platform's event/update id, used to drop redelivered events.
        mentioned: the bot was @-mentioned (where a human took over a thread, it answers only then).
        shareable: asked where others may see it (web chat, a public channel): the question may then be shown
            as a popular one once enough people asked it. False for DMs, private channels and API calls.
        extras: the raw platform payload, for the adapter only.
    """

    text: str
    user: UserRef
    session: SessionKey
    lang: Lang | None = None
    role: str | None = None
    event_id: str | None = None
    mentioned: bool = False
    shareable: bool = False
    extras: dict[str, Any] = field(default_factory=dict)
    private: bool = False  # a direct message or the web chat: restricted pages the asker may read are used


@dataclass(frozen=True, slots=True)
class Source:
    """A page an answer draws on, numbered as cited in the answer ([1], [2], ...).

    ``section`` is the first section used; ``sections`` all the sections of the page the answer was given.
    ``why`` explains the page's place in the ranking when something beyond the text moved it (a vote, the
    asker's role).
    """

    title: str
    url: str | None
    path: str | None
    score: float
    section: str | None = None
    doc_id: str | None = None
    sections: tuple[str, ...] = ()
    why: tuple[str, ...] = ()
    version: int = 0  # the page version the answer drew on (votes judge that version)
    access: tuple[
        str, ...
    ] = ()  # who may read the page (``rag.access``); empty: everyone. Stored, never shown


@dataclass(slots=True)
class Answer:
    """The finished answer to one question."""

    text: str
    sources: list[Source]
    lang: Lang
    abstained: bool = False
    escalated: bool = False
    session_id: int | None = None
    message_id: int | None = None
    latency_ms: int = 0
    provider: str | None = None
    variant: str | None = None
    notice: str | None = None
    ttft_ms: int | None = None  # time to the first text the user saw
    query: str | None = None  # what was searched: the question, or its standalone rewrite in a thread
    restricted: bool = False  # built on restricted pages (rag.access): keep it out of shared views/analytics


# Streamed answer events: start → delta* → sources → end. ``AnswerEnd`` carries the whole answer.
@dataclass(frozen=True, slots=True)
class AnswerStart:
    session_id: int | None  # None while the database is down (the exchange waits in the outbox)
    lang: Lang


@dataclass(frozen=True, slots=True)
class AnswerDelta:
    text: str


@dataclass(frozen=True, slots=True)
class AnswerSources:
    sources: list[Source]


@dataclass(frozen=True, slots=True)
class AnswerNotice:
    """A short line for the user that is not part of the answer (fallback used, partial answer...)."""

    text: str


@dataclass(frozen=True, slots=True)
class AnswerEnd:
    answer: Answer


AnswerEvent = AnswerStart | AnswerDelta | AnswerSources | AnswerNotice | AnswerEnd


class VoteSource(StrEnum):
    REACTION = "reaction"
    BUTTON = "button"
    WEB = "web"
    API = "api"


@dataclass(frozen=True, slots=True)
class Vote:
    """Feedback on one answer. ``value`` 0 withdraws the user's earlier vote."""

    message_id: int
    user: UserRef
    value: Literal[-1, 0, 1]
    source: VoteSource = VoteSource.API
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved chunk of a document, as the answer generators see it."""

    chunk_id: str
    doc_id: str
    text: str
    title: str
    section: str | None
    url: str | None
    path: str | None
    lang: str | None
    score: float
    version: int = 1
    page: int = 0  # its page's number among the answer's sources ([n]); 0: numbered by its own position
    access: tuple[str, ...] = ()  # who may read it (``rag.access``); empty: everyone
