"""Reactions on a messenger page drive the lifecycle: ✅ resolves, 👀 acknowledges.

The adapters pass the reaction as their platform names it (Slack and Mattermost by short name,
``white_check_mark``; Telegram by emoji, ``✅``) together with the page's platform ref; the escalation is
found from the ref stored when the page was posted, and the change goes through the same service calls
as the Acknowledge / Resolve buttons.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

import structlog

from bot.escalation.service import EscalationService
from bot.texts import t
from bot.types import Lang
from storage.repositories import escalations

log = structlog.get_logger(__name__)
LifecycleStep = Literal["acknowledge", "resolve"]
RESOLVE_REACTIONS = frozenset(
    {"white_check_mark", "heavy_check_mark", "ballot_box_with_check", "✅", "✔️", "✔", "☑️", "☑"}
)
ACK_REACTIONS = frozenset({"eyes", "👀"})


def lifecycle_step(reaction: str) -> LifecycleStep | None:
    """``resolve`` for ✅ (and its check-mark cousins), ``acknowledge`` for 👀, ``None`` for the rest."""
    name = reaction.strip(":").split("::", 1)[0]  # Slack appends skin tones: "name::skin-tone-2"
    if name in RESOLVE_REACTIONS:
        return "resolve"
    if name in ACK_REACTIONS:
        return "acknowledge"
    return None


async def react_on_page(
    service: EscalationService,
    *,
    platform: str,
    platform_ref: str,
    reaction: str,
    by: str | Callable[[], Awaitable[str]],
    lang: Lang = "en",
) -> str | None:
    """Apply a ✅ / 👀 reaction on a page; what to tell the page's thread, or ``None`` if nothing changed.

    ``None`` also when the reaction means nothing to the lifecycle or the message is not one of our pages
    (a reaction on anything else is not ours to act on). ``by`` is who reacted, or how to look it up (asked
    only for a real page, so a 👀 elsewhere costs no platform call).
    """
    step = lifecycle_step(reaction)
    if step is None:
        return None
    async with service.db.session() as s:
        escalation_id = await escalations.escalation_of_page(s, kind=platform, platform_ref=platform_ref)
    if escalation_id is None:
        return None
    if not isinstance(by, str):
        by = await by()
    if step == "resolve":
        changed = await service.resolve(escalation_id, by=by)
    else:
        changed = await service.acknowledge(escalation_id, by=by)
    log.info(
        "escalation.reaction", escalation_id=escalation_id, step=step, changed=changed, platform=platform
    )
    if not changed:
        return None
    return t("escalation_resolved" if step == "resolve" else "escalation_acknowledged", lang, who=by)
