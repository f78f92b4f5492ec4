"""Chat commands shared by every channel: help, role, lang, new, human.

Adapters pass each incoming text through ``Commands.handle`` first; ``None`` means "not a command, answer
it". A leading slash is optional (``/role devops`` and ``role devops`` are the same).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.engine import Engine
from bot.language import reply_lang
from bot.sessions import resolve_user, start_new_session
from bot.texts import t
from bot.types import ROLES, Incoming
from storage.repositories import users

HUMAN_WORDS = frozenset({"human", "человек", "оператор", "operator", "escalate"})
COMMANDS = (
    frozenset({"help", "start", "role", "lang", "new", "помощь", "роль", "язык", "новый"}) | HUMAN_WORDS
)
_ALIASES = {"помощь": "help", "start": "help", "роль": "role", "язык": "lang", "новый": "new"}


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    arg: str


def parse_command(text: str) -> Command | None:
    words = text.strip().split()
    if not words or len(words) > 3:
        return None
    head = words[0].lstrip("/").split("@", 1)[0].lower()
    if head not in COMMANDS:
        return None
    if head in HUMAN_WORDS:
        head = "human"
    return Command(_ALIASES.get(head, head), " ".join(words[1:]).lower())


class Commands:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def handle(self, incoming: Incoming) -> str | None:
        """The reply to a command, or ``None`` when ``incoming`` is a question."""
        command = parse_command(incoming.text)
        if command is None:
            return None
        db = self.engine.db
        user = await resolve_user(db, incoming.user)
        lang = reply_lang(incoming.lang, user.language, incoming.text, self.engine.default_lang)
        if command.name == "help":
            return t("help", lang)
        if command.name == "role":
            role = command.arg.strip()
            if role not in ROLES:
                return t("role_unknown", lang, role=role or "—", roles=", ".join(ROLES[1:]))
            async with db.session() as s:
                await users.set_user_role(s, user_id=user.id, role=role)
            return t("role_set", lang, role=role)
        if command.name == "lang":
            if command.arg not in ("ru", "en"):
                return t("lang_unknown", lang)
            async with db.session() as s:
                await users.set_user_language(s, user_id=user.id, language=command.arg)
            return t("lang_set", command.arg)  # type: ignore[arg-type]
        if command.name == "new":
            await start_new_session(db, incoming.session)
            return t("new_session", lang)
        return await self.engine.request_human(incoming)
