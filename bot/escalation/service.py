"""The escalation service: open an escalation, page its team's targets, follow its lifecycle.

``escalate`` stores the escalation, queues one send per target in the outbox and waits up to
``announce_timeout`` for the first acceptance, so the asker is told who was paged only after a target
accepted it (or that nobody could be paged yet). ``sweep`` (every ``outbox_interval`` seconds, on every
replica) retries failed sends and re-pages the next person when nobody acknowledged in time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote, unquote

import structlog

from bot.background import Background
from bot.escalation.base import Escalation, PageOutcome
from bot.escalation.outbox import Clock, Outbox
from bot.escalation.rotation import now_utc, on_call_index, person_at
from bot.escalation.settings import EscalationSettings, PersonSettings, RotationSettings
from bot.escalation.targets import ACK, REPAGE, RESOLVE, TRIGGER, SendResult, Target
from bot.sessions import conversation_for, resolve_user
from bot.texts import t
from bot.types import Incoming, Lang, SessionKey
from storage.db import Database
from storage.escalation_models import EscalationRow, OutboxItem
from storage.repositories import escalations

log = structlog.get_logger(__name__)
Notifier = Callable[[SessionKey, str], Awaitable[None]]
ResolvedHook = Callable[[EscalationRow], Awaitable[None]]


def thread_link(session: SessionKey, public_url: str | None, conversation_id: int | None) -> str | None:
    """A link a person can open to reach the thread, where the platform has one."""
    if session.platform == "slack":
        ts = session.thread.replace(".", "")
        return f"https://slack.com/archives/{session.channel}/p{ts}"
    if session.platform == "telegram" and session.channel.startswith("-100") and session.thread.isdigit():
        return f"https://t.me/c/{session.channel[4:]}/{session.thread}"
    if public_url and conversation_id is not None:
        return f"{public_url.rstrip('/')}/#/c/{conversation_id}"
    return None


class EscalationService:
    """Implements the ``Escalator`` seam for the engine, and the lifecycle for adapters and the API."""

    def __init__(
        self,
        db: Database,
        settings: EscalationSettings,
        targets: list[Target],
        *,
        clock: Clock = now_utc,
        worker: str | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.targets = {target.name: target for target in targets}
        self.outbox = Outbox(
            db,
            self.targets,
            clock=clock,
            max_attempts=settings.max_attempts,
            worker=worker,
            on_delivered=self._delivered,
        )
        self.notifiers: dict[str, Notifier] = {}
        self.on_resolved: list[ResolvedHook] = []
        self._announcing: set[int] = set()
        self._background = Background()  # sends started in the background
        self._chains: dict[int, asyncio.Task[Any]] = {}  # the last follow-up delivery per escalation
        self._loop: asyncio.Task[None] | None = None

    # --- routing ---
    def team_of(self, session: SessionKey) -> str | None:
        for team in self.settings.teams:
            if any(c in (session.channel, f"{session.platform}:{session.channel}") for c in team.channels):
                return team.name
        return None

    def rotation_for(self, team: str | None) -> RotationSettings | None:
        rotations = self.settings.rotations
        return next((r for r in rotations if r.team == team), None) or next(
            (r for r in rotations if r.team is None), None
        )

    def targets_for(self, team: str | None, severity: str) -> list[Target]:
        return [
            target
            for target in self.targets.values()
            if target.settings.team in (None, team) and severity in target.settings.severities
        ]

    def register_notifier(self, platform: str, notifier: Notifier) -> None:
        """An adapter's way to post a line in one of its threads (e.g. "Update: I paged Anna")."""
        self.notifiers[platform] = notifier

    async def tell(self, session: SessionKey, text: str) -> bool:
        """Post ``text`` in a thread through its platform's notifier; False when the platform has none."""
        notifier = self.notifiers.get(session.platform)
        if notifier is None:
            return False
        await notifier(session, text)
        return True

    # --- the Escalator seam ---
    async def active(self, conversation_id: int) -> bool:
        async with self.db.session() as s:
            return await escalations.active_for_conversation(s, conversation_id=conversation_id) is not None

    async def escalate(self, escalation: Escalation) -> PageOutcome:
        assert escalation.conversation_id is not None
        team = self.team_of(escalation.session)
        rotation = self.rotation_for(team)
        index = on_call_index(rotation, self.clock()) if rotation else None
        person = person_at(rotation, index or 0)
        trigger = {"detector": "detector", "user_request": "user_request"}.get(
            escalation.reason, escalation.reason
        )
        async with self.db.session() as s:
            row, created = await escalations.open_escalation(
                s,
                conversation_id=escalation.conversation_id,
                platform=escalation.session.platform,
                channel=escalation.session.channel,
                thread=escalation.session.thread,
                trigger=trigger,
                severity=escalation.severity,
                reasons=list(escalation.details),
                question_message_id=escalation.message_id if escalation.reason != "user_request" else None,
                assignee=person.name if person else None,
                assignee_index=index or 0,
                now=self.clock(),
            )
        if not created:  # already escalated: say what is true of the existing page
            if row.paged_at is not None:
                return PageOutcome(True, who=row.assignee, escalation_id=row.id)
            return PageOutcome(False, pending=bool(self.targets), escalation_id=row.id)
        targets = self.targets_for(team, escalation.severity)
        if not targets:
            log.warning("escalation.no_target", escalation_id=row.id, team=team, severity=escalation.severity)
            async with self.db.session() as s:
                await escalations.add_event(s, escalation_id=row.id, kind="unrouted", now=self.clock())
            return PageOutcome(False, escalation_id=row.id)
        page = self._page(row, escalation, person, team)
        ids = await self._enqueue(row.id, targets, TRIGGER, page, seq=0)
        self._announcing.add(row.id)
        task = self._spawn(self.outbox.deliver(ids))
        try:
            done, _ = await asyncio.wait({task}, timeout=self.settings.announce_timeout)
        finally:
            self._announcing.discard(row.id)
        results = task.result() if done else []
        sent = [item.kind for item, result in results if result.ok]
        if sent:
            return PageOutcome(
                True, who=person.name if person else None, targets=tuple(sent), escalation_id=row.id
            )
        # still being tried (timed out, or 429 / 5xx / unreachable) vs refused for good (400, bad token)
        retrying = not done or any(result.retry for _, result in results)
        return PageOutcome(False, pending=retrying, escalation_id=row.id)

    def _page(
        self, row: EscalationRow, escalation: Escalation, person: PersonSettings | None, team: str | None
    ) -> dict[str, Any]:
        link = escalation.link or thread_link(
            escalation.session, self.settings.public_url, row.conversation_id
        )
        return {
            "escalation_id": row.id,
            "dedup_key": dedup_key(escalation.session),
            "thread_id": escalation.session.as_str(),
            "link": link,
            "question": escalation.text,
            "answer": escalation.answer,
            "severity": escalation.severity,
            "reasons": list(escalation.details),
            "platform": escalation.session.platform,
            "team": team,
            "person": person.name if person else None,
            "ids": {k: getattr(person, k) for k in ("slack", "telegram", "mattermost")} if person else {},
            "state": "open",
        }

    async def _enqueue(
        self, escalation_id: int, targets: list[Target], action: str, page: dict[str, Any], *, seq: int
    ) -> list[int]:
        async with self.db.session() as s:
            for target in targets:
                if target.handles(action):
                    await escalations.enqueue(
                        s,
                        escalation_id=escalation_id,
                        dedupe_key=f"{escalation_id}:{target.name}:{action}:{seq}",
                        target=target.name,
                        kind=target.kind,
                        action=action,
                        payload={**page, "action": action},
                    )
            items = await escalations.outbox_of(s, escalation_id=escalation_id)
        return [i.id for i in items if i.status == "pending" and i.action == action]

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        return self._background.spawn(coro)

    async def _delivered(self, item: OutboxItem, result: SendResult) -> None:
        if item.kind in ("jira", "gitlab"):
            if item.action == TRIGGER and result.result.get("key"):
                await self._ticket_opened(item, result)
            return
        if item.action not in (TRIGGER, REPAGE):
            return
        async with self.db.session() as s:
            first = await escalations.mark_paged(s, escalation_id=item.escalation_id, now=self.clock())
            await escalations.add_event(
                s,
                escalation_id=item.escalation_id,
                kind="paged",
                actor=item.target,
                detail={"action": item.action, "person": item.payload.get("person")},
                now=self.clock(),
            )
            row = await escalations.get_escalation(s, escalation_id=item.escalation_id)
        late = first and item.escalation_id not in self._announcing
        if row is not None and (late or item.action == REPAGE):
            await self._notify(row, item.payload.get("person"))

    async def _ticket_opened(self, item: OutboxItem, result: SendResult) -> None:
        key, url = str(result.result["key"]), result.result.get("url")
        async with self.db.session() as s:
            await escalations.set_ticket(s, escalation_id=item.escalation_id, key=key, url=url)
            await escalations.add_event(
                s,
                escalation_id=item.escalation_id,
                kind="ticket_opened",
                actor=item.kind,
                detail={"key": key, "url": url},
                now=self.clock(),
            )
            row = await escalations.get_escalation(s, escalation_id=item.escalation_id)
        if row is not None:
            await self._say(row, "ticket_opened", url=url or key)

    async def _say(self, row: EscalationRow, key: str, **kwargs: Any) -> None:
        notifier = self.notifiers.get(row.platform)
        if notifier is None:
            return
        lang = await self._lang(row)
        try:
            await notifier(SessionKey(row.platform, row.channel, row.thread), t(key, lang, **kwargs))
        except Exception:  # telling the thread is a courtesy
            log.exception("escalation.notify_failed", escalation_id=row.id)

    async def _lang(self, row: EscalationRow) -> Lang:
        if row.question_message_id is None:
            return "en"
        from storage.repositories import messages

        async with self.db.session() as s:
            msg = await messages.get_message(s, message_id=row.question_message_id)
        return "ru" if msg is not None and msg.lang == "ru" else "en"

    async def _notify(self, row: EscalationRow, person: str | None) -> None:
        notifier = self.notifiers.get(row.platform)
        if notifier is None:
            return
        lang: Lang = "en"
        async with self.db.session() as s:
            if row.question_message_id is not None:
                from storage.repositories import messages

                msg = await messages.get_message(s, message_id=row.question_message_id)
                lang = "ru" if msg is not None and msg.lang == "ru" else "en"
        who = t("oncall_person", lang, name=person) if person else t("oncall_generic", lang)
        try:
            await notifier(
                SessionKey(row.platform, row.channel, row.thread), t("page_delivered", lang, who=who)
            )
        except Exception:  # telling the thread is a courtesy; the page itself went out
            log.exception("escalation.notify_failed", escalation_id=row.id)

    # --- lifecycle ---
    async def acknowledge(self, escalation_id: int, *, by: str | None) -> bool:
        """open → acknowledged (button, reaction, PagerDuty webhook, web chat). False if not open."""
        async with self.db.session() as s:
            done = await escalations.acknowledge(s, escalation_id=escalation_id, by=by, now=self.clock())
        if done:
            await self._follow_up(escalation_id, ACK)
        return done

    async def resolve(self, escalation_id: int, *, by: str | None) -> bool:
        """→ resolved; the targets are told, and the resolved hooks (tickets, capture) run."""
        async with self.db.session() as s:
            done = await escalations.resolve(s, escalation_id=escalation_id, by=by, now=self.clock())
            row = await escalations.get_escalation(s, escalation_id=escalation_id)
        if done and row is not None:
            await self._follow_up(escalation_id, RESOLVE)
            for hook in self.on_resolved:
                try:
                    await hook(row)
                except Exception:
                    log.exception("escalation.resolved_hook_failed", escalation_id=escalation_id)
        return done

    async def press(self, action_id: str, escalation_id: int, *, by: str, lang: Lang = "en") -> str:
        """An Acknowledge / Resolve button in a target channel; the reply to show the presser."""
        from bot.escalation.messenger_targets import RESOLVE_ACTION

        if action_id == RESOLVE_ACTION:
            done = await self.resolve(escalation_id, by=by)
            return t("escalation_resolved", lang, who=by) if done else t("escalation_unchanged", lang)
        done = await self.acknowledge(escalation_id, by=by)
        return t("escalation_acknowledged", lang, who=by) if done else t("escalation_unchanged", lang)

    async def by_dedup_key(self, dedup_key: str) -> EscalationRow | None:
        """The newest escalation of the thread named by a PagerDuty ``dedup_key``/``incident_key``."""
        session = session_of(dedup_key)
        if session is None:
            return None
        conv = await conversation_for(self.db, session)
        if conv is None:
            return None
        async with self.db.session() as s:
            return await escalations.latest_for_conversation(s, conversation_id=conv.id)

    async def _follow_up(self, escalation_id: int, action: str) -> None:
        async with self.db.session() as s:
            items = await escalations.outbox_of(s, escalation_id=escalation_id)
        trigger = next((i for i in items if i.action == TRIGGER), None)
        if trigger is None:
            return
        async with self.db.session() as s:
            row = await escalations.get_escalation(s, escalation_id=escalation_id)
        page = {
            **trigger.payload,
            "state": "acknowledged" if action == ACK else "resolved",
            "ticket_key": row.ticket_key if row else None,
        }
        targets = [self.targets[i.target] for i in items if i.action == TRIGGER and i.target in self.targets]
        ids = await self._enqueue(escalation_id, targets, action, page, seq=0)
        if ids:
            self._deliver_in_order(escalation_id, ids)

    def _deliver_in_order(self, escalation_id: int, ids: list[int]) -> None:
        """Deliver after this escalation's previous follow-up: a target hears acknowledge before resolve."""
        previous = self._chains.get(escalation_id)

        async def deliver() -> None:
            if previous is not None:
                await asyncio.wait([previous])
            await self.outbox.deliver(ids)

        task = self._spawn(deliver())
        self._chains[escalation_id] = task

        def forget(done: asyncio.Task[Any]) -> None:
            if self._chains.get(escalation_id) is done:
                del self._chains[escalation_id]

        task.add_done_callback(forget)

    # --- takeover ---
    async def should_answer(self, incoming: Incoming, *, mentioned: bool) -> bool:
        """False once a human answered in an escalated thread (unless the bot is mentioned).

        A message in an escalated thread from someone other than the asker is a human's answer: it is
        stored (knowledge capture reads it), counts as the first human reply and acknowledges the page.
        """
        if not self.settings.takeover:
            return True
        conv = await conversation_for(self.db, incoming.session)
        if conv is None:
            return True
        async with self.db.session() as s:
            row = await escalations.active_for_conversation(s, conversation_id=conv.id)
        if row is None:
            return True
        user = await resolve_user(self.db, incoming.user)
        if user.id == conv.owner_id or incoming.user.is_bot or await self._is_asker(row, user.id):
            if row.first_human_reply_at is None or mentioned:
                return True
            async with self.db.session() as s:  # kept for the transcript, not answered by the bot
                await escalations.add_human_message(
                    s, conversation_id=conv.id, user_id=user.id, text=incoming.text, kind="followup"
                )
            return False
        name = incoming.user.display_name or incoming.user.external_id
        now = self.clock()
        async with self.db.session() as s:
            await escalations.add_human_message(
                s, conversation_id=conv.id, user_id=user.id, text=incoming.text, now=now
            )
            await escalations.record_human_reply(s, escalation_id=row.id, by=name, now=now)
            acked = await escalations.acknowledge(s, escalation_id=row.id, by=name, now=now)
        if acked:
            await self._follow_up(row.id, ACK)
        return mentioned

    async def _is_asker(self, row: EscalationRow, user_id: int) -> bool:
        if row.question_message_id is None:
            return False
        from storage.repositories import messages

        async with self.db.session() as s:
            msg = await messages.get_message(s, message_id=row.question_message_id)
        return msg is not None and msg.user_id == user_id

    # --- the timer ---
    async def sweep(self) -> dict[str, int]:
        """Retry due sends and re-page unacknowledged escalations (safe on every replica at once)."""
        sent = await self.outbox.deliver()
        cutoff = self.clock() - timedelta(minutes=self.settings.repage_minutes)
        async with self.db.session() as s:
            due = await escalations.due_for_repage(s, paged_before=cutoff)
        repaged = 0
        for row in due:
            if row.paged_at is None or row.repage_count >= self.settings.max_repages:
                continue
            repaged += await self._repage(row)
        return {
            "sent": sum(r.ok for _, r in sent),
            "failed": sum(not r.ok for _, r in sent),
            "repaged": repaged,
        }

    async def _repage(self, row: EscalationRow) -> bool:
        team = self.team_of(SessionKey(row.platform, row.channel, row.thread))
        rotation = self.rotation_for(team)
        index = row.assignee_index + 1
        person = person_at(rotation, index)
        async with self.db.session() as s:
            won = await escalations.claim_repage(
                s,
                escalation_id=row.id,
                seen_count=row.repage_count,
                assignee=person.name if person else None,
                assignee_index=index,
                now=self.clock(),
            )
            items = await escalations.outbox_of(s, escalation_id=row.id) if won else []
        trigger = next((i for i in items if i.action == TRIGGER), None)
        if trigger is None:
            return False
        page = {
            **trigger.payload,
            "person": person.name if person else None,
            "ids": {k: getattr(person, k) for k in ("slack", "telegram", "mattermost")} if person else {},
        }
        targets = [self.targets[n] for n in {i.target for i in items} if n in self.targets]
        ids = await self._enqueue(row.id, targets, REPAGE, page, seq=row.repage_count + 1)
        log.info(
            "escalation.repage", escalation_id=row.id, person=page["person"], repage=row.repage_count + 1
        )
        await self.outbox.deliver(ids)
        return True

    async def start(self) -> None:
        """A plain asyncio timer for ``sweep`` (a process without the scheduler, e.g. a bench script)."""
        if self._loop is None:
            self._loop = asyncio.create_task(self._run(), name="escalation-sweep")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.settings.outbox_interval)
            try:
                await self.sweep()
            except Exception:  # a bad sweep must not stop the next one
                log.exception("escalation.sweep_failed")

    async def stop(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            await asyncio.gather(self._loop, return_exceptions=True)
        await self._background.stop()
        self._loop = None

    async def drain(self) -> None:
        """Wait for sends started in the background (tests, shutdown)."""
        await self._background.drain()


def dedup_key(session: SessionKey) -> str:
    """The thread as a PagerDuty ``dedup_key``: ``opora:<platform>:<channel>:<thread>``, each part
    percent-encoded, so a colon inside a channel or thread id (an API token's user, a forum topic) stays
    unambiguous."""
    parts = (session.platform, session.channel, session.thread)
    return "opora:" + ":".join(quote(str(p), safe="") for p in parts)


def session_of(key: str) -> SessionKey | None:
    """The thread a ``dedup_key`` names (``None`` for keys Opora did not make)."""
    parts = key.split(":")
    if len(parts) != 4 or parts[0] != "opora":
        return None
    return SessionKey(*(unquote(p) for p in parts[1:]))
