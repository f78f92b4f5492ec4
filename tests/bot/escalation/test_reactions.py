"""Reactions on a messenger page: found by the page's stored ref, the same lifecycle as the buttons."""

from __future__ import annotations

from pydantic import SecretStr

from bot.escalation.reactions import lifecycle_step, react_on_page
from storage.repositories import escalations
from tests.bot.escalation.conftest import make_settings
from tests.bot.escalation.test_targets import ROTATION, _escalate
from tests.fakes.slack_server import FakeSlackServer


def test_lifecycle_step_names_checks_and_eyes_in_each_dialect():
    for name in ("white_check_mark", ":white_check_mark:", "heavy_check_mark", "✅", "☑️"):
        assert lifecycle_step(name) == "resolve"
    assert lifecycle_step("eyes") == lifecycle_step("👀") == "acknowledge"
    for name in ("+1", "-1", "👍", "tada", "", "x"):
        assert lifecycle_step(name) is None


async def test_reaction_on_the_page_acknowledges_then_resolves_once(db, service_factory):
    slack = FakeSlackServer()
    await slack.start()
    try:
        settings = make_settings(targets=[{"kind": "slack", "channel": "COPS"}], rotations=ROTATION)
        settings.slack.bot_token = SecretStr("xoxb-test")
        settings.slack.api_url = slack.api_url
        service = await service_factory(settings)
        outcome, _ = await _escalate(service, db)
        [page] = slack.messages("COPS")
        ref = f"COPS:{page.ts}"
        async with db.session() as s:
            [sent] = await escalations.outbox_of(s, escalation_id=outcome.escalation_id)
        assert sent.result["platform_ref"] == ref

        async def react(name: str, platform_ref: str = ref, platform: str = "slack") -> str | None:
            return await react_on_page(
                service, platform=platform, platform_ref=platform_ref, reaction=name, by="Boris"
            )

        assert await react("eyes", platform_ref=f"COPS:{page.ts}0") is None  # another message
        assert await react("eyes", platform="telegram") is None  # another messenger's message
        assert await react("tada") is None
        assert await react("eyes") == "Acknowledged by Boris."
        assert await react("eyes") is None  # already acknowledged: nothing to say
        assert await react("white_check_mark") == "Resolved by Boris."
        assert await react("white_check_mark") is None
        async with db.session() as s:
            row = await escalations.get_escalation(s, escalation_id=outcome.escalation_id)
            kinds = [e.kind for e in await escalations.events_of(s, escalation_id=row.id)]
        assert (row.state, row.acknowledged_by, row.resolved_by) == ("resolved", "Boris", "Boris")
        assert kinds.count("acknowledged") == 1 and kinds.count("resolved") == 1
    finally:
        await slack.close()
