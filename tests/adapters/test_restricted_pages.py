"""Restricted Confluence pages in the messengers: only a DM of a person whose e-mail the page allows.

Each messenger's fake (Slack, Mattermost, Telegram) drives its real adapter over the real core, whose index
was synced from a fake Confluence holding a public page and a page restricted to the group ``sre`` (Anna is
in it, Boris is not). Every test asks in the order that would leak through a cache: the allowed DM first,
then the same person in a channel or group, then people who may not read the page.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from adapters.mattermost import MattermostChannel
from adapters.slack import SlackChannel
from adapters.telegram import TelegramChannel
from bot.app import build_services, close_services
from bot.config import MattermostSettings, TelegramSettings
from bot.confluence_sync import sync_confluence
from bot.services import Services
from tests.adapters import tg_updates as tg
from tests.adapters.conftest import HttpSlack, slack_settings, wait_for
from tests.conftest import core_settings
from tests.fakes.confluence_server import FakeConfluence
from tests.fakes.mattermost_server import FakeMattermostServer
from tests.fakes.slack_server import BOT_USER, FakeSlackServer
from tests.fakes.telegram_server import FakeTelegramServer

SECRET = "The break-glass vault password rotates on Mondays; the current passphrase is cobalt-heron-42."
PUBLIC = "Deploys to production are frozen on Fridays after 16:00; ask the release manager for an exception."
QUESTION = "What is the break-glass vault passphrase?"
ANNA, BORIS = "anna@example.com", "boris@example.com"
SECRET_TITLE = "Break-glass vault"


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Services]:
    """The real core over a synced fake Confluence: one public page, one readable by group ``sre`` only."""
    confluence = FakeConfluence("server", token="pat")
    await confluence.start()
    confluence.add_user("anna", "Anna Petrova", ANNA, ("sre",))
    confluence.add_user("boris", "Boris Ivanov", BORIS)
    confluence.add_page("OPS", "Deploy freeze", f"<h2>Freeze</h2><p>{PUBLIC}</p>")
    confluence.add_page("OPS", SECRET_TITLE, f"<h2>Vault</h2><p>{SECRET}</p>", groups=["sre"])
    kb = tmp_path / "kb"
    kb.mkdir()
    settings = core_settings(
        tmp_path / "data",
        kb,
        confluence={"url": confluence.url, "kind": "server", "spaces": ["OPS"], "token": "pat"},
        scheduler={"enabled": False},
    )
    services = await build_services(settings)
    try:
        stats = await sync_confluence(services, full=True)
        assert (stats.changed, stats.errors) == (2, 0)
        yield services
    finally:
        await close_services(services)
        await confluence.close()


def leaks(text: str) -> bool:
    return "cobalt-heron" in text or SECRET_TITLE in text


# --- Slack -------------------------------------------------------------------------------------------------


def slack_final(fake: FakeSlackServer, channel: str, thread_ts: str | None) -> str | None:
    """The finished answer (buttons in its last block) in ``channel`` / ``thread_ts``, as text + blocks."""
    for m in fake.messages(channel):
        if m.thread_ts == thread_ts and m.blocks and m.blocks[-1]["type"] == "actions":
            return m.text + json.dumps(m.blocks)
    return None


async def slack_dm(http_slack: HttpSlack, fake: FakeSlackServer, user: str, channel: str, ts: str) -> str:
    inner = {
        "type": "message",
        "channel_type": "im",
        "user": user,
        "text": QUESTION,
        "ts": ts,
        "channel": channel,
    }
    assert (await http_slack.deliver(inner)).status_code == 200
    return await wait_for(lambda: slack_final(fake, channel, None), what=f"the DM answer to {user}")


async def test_slack_dm_of_an_allowed_reader_cites_the_restricted_page_and_nowhere_else(
    http_slack: HttpSlack, slack_fake: FakeSlackServer
) -> None:
    slack_fake.add_user("UANNA", "Anna", ANNA)
    slack_fake.add_user("UBORIS", "Boris", BORIS)

    answer = await slack_dm(http_slack, slack_fake, "UANNA", "DANNA", "100.000001")
    assert "cobalt-heron-42" in answer and SECRET_TITLE in answer  # the text and the page as a source

    # Anna in a channel: a thread everyone there reads, so public pages only
    mention = {"type": "app_mention", "user": "UANNA", "text": f"<@{BOT_USER}> {QUESTION}",
               "ts": "200.000001", "channel": "C0001"}  # fmt: skip
    await http_slack.deliver(mention)
    in_channel = await wait_for(lambda: slack_final(slack_fake, "C0001", "200.000001"), what="channel answer")
    assert not leaks(in_channel)

    # Boris (not in sre) and a person Slack shows no e-mail for, each in their own DM
    assert not leaks(await slack_dm(http_slack, slack_fake, "UBORIS", "DBORIS", "300.000001"))
    slack_fake.email_scope = False  # as without users:read.email
    assert not leaks(await slack_dm(http_slack, slack_fake, "UCARL", "DCARL", "400.000001"))

    # users.info once per person (Anna asked twice), kept for user_cache_ttl
    assert slack_fake.calls["users.info"] == 3


async def test_slack_profile_is_asked_again_after_its_ttl(
    core: Services, slack_fake: FakeSlackServer
) -> None:
    settings = slack_settings(slack_fake, "http").model_copy(update={"user_cache_ttl": 0})
    channel = SlackChannel(core, settings)
    slack_fake.add_user("UANNA", "Anna", ANNA)
    first = await channel._user("UANNA")
    slack_fake.add_user("UANNA", "Anna", None)  # her e-mail removed from the profile
    second = await channel._user("UANNA")
    assert (first.email, second.email, slack_fake.calls["users.info"]) == (ANNA, None, 2)


# --- Mattermost --------------------------------------------------------------------------------------------

MM_ANNA, MM_BORIS, MM_EVE = "anna" + "0" * 22, "boris" + "0" * 21, "eve" + "0" * 23


@pytest.fixture
async def mm_fake() -> AsyncIterator[FakeMattermostServer]:
    server = FakeMattermostServer()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def mm(core: Services, mm_fake: FakeMattermostServer) -> AsyncIterator[MattermostChannel]:
    channel = MattermostChannel(
        core,
        MattermostSettings(
            url=mm_fake.url,
            token=mm_fake.token,
            action_token="act-token",  # answers end with buttons: how a test knows one is final
            action_url="http://opora/mattermost/actions",
            edit_interval=0.05,
        ),
    )
    await channel.start()
    yield channel
    await channel.stop()


async def mm_answer(
    fake: FakeMattermostServer, mm: MattermostChannel, user: str, channel: str, **kw: Any
) -> str:
    post = await fake.user_post(user_id=user, channel_id=channel, message=QUESTION, **kw)
    final = await wait_for(
        lambda: [p for p in fake.bot_posts(post.id) if p.props.get("attachments")],
        what=f"answer in {channel}",
    )
    await mm.idle()
    return final[0].message + json.dumps(final[0].props)


async def test_mattermost_direct_message_of_an_allowed_reader_cites_the_restricted_page_and_nowhere_else(
    mm: MattermostChannel, mm_fake: FakeMattermostServer
) -> None:
    mm_fake.add_user(MM_ANNA, "anna", ANNA)
    mm_fake.add_user(MM_BORIS, "boris", BORIS)
    mm_fake.add_user(MM_EVE, "eve", ANNA.upper(), email_verified=False)  # claims Anna's address, unverified

    answer = await mm_answer(mm_fake, mm, MM_ANNA, "dm-anna", channel_type="D")
    assert "cobalt-heron-42" in answer and SECRET_TITLE in answer

    # Anna mentioning the bot in an open channel and in a group message: public pages only
    mention = {"mentions": [mm_fake.bot_user_id]}
    assert not leaks(await mm_answer(mm_fake, mm, MM_ANNA, "town-square", channel_type="O", **mention))
    assert not leaks(await mm_answer(mm_fake, mm, MM_ANNA, "group-anna-boris", channel_type="G", **mention))

    # Boris (not in sre) and Eve (an unverified e-mail) in their DMs
    assert not leaks(await mm_answer(mm_fake, mm, MM_BORIS, "dm-boris", channel_type="D"))
    assert not leaks(await mm_answer(mm_fake, mm, MM_EVE, "dm-eve", channel_type="D"))
    assert mm_fake.count("GET /users") == 3  # once per person asking in a DM; channels need no e-mail


async def test_mattermost_event_without_channel_type_is_looked_up(
    mm: MattermostChannel, mm_fake: FakeMattermostServer
) -> None:
    mm_fake.add_user(MM_ANNA, "anna", ANNA)
    answer = await mm_answer(mm_fake, mm, MM_ANNA, "dm-anna", channel_type="D", typed_event=False)
    assert "cobalt-heron-42" in answer  # GET /channels/{id} said "D"
    mention = {"mentions": [mm_fake.bot_user_id], "typed_event": False}
    assert not leaks(await mm_answer(mm_fake, mm, MM_ANNA, "ops", channel_type="P", **mention))
    assert mm_fake.count("GET /channels") == 2


async def test_mattermost_hidden_email_means_unknown(
    mm: MattermostChannel, mm_fake: FakeMattermostServer
) -> None:
    mm_fake.add_user(MM_ANNA, "anna", ANNA)
    mm_fake.show_email = False  # Show Email Address off: the bot sees ""
    assert not leaks(await mm_answer(mm_fake, mm, MM_ANNA, "dm-anna", channel_type="D"))


# --- Telegram ----------------------------------------------------------------------------------------------

TG_ANNA, TG_BORIS = 1001, 1002


@pytest.fixture
async def tg_fake() -> AsyncIterator[FakeTelegramServer]:
    server = FakeTelegramServer(bot_id=tg.BOT_ID, username=tg.BOT_USERNAME)
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def telegram(core: Services, tg_fake: FakeTelegramServer) -> AsyncIterator[tuple[TelegramChannel, Any]]:
    settings = TelegramSettings(
        bot_token=tg_fake.token,
        mode="webhook",
        webhook_secret="s3cret",
        api_url=tg_fake.url,
        edit_interval=0.05,
        user_emails={TG_ANNA: ANNA, TG_BORIS: BORIS},  # Anna is mapped; 1003 is not
    )
    channel = TelegramChannel(core, settings)
    await channel.start()
    app = FastAPI()
    assert channel.router is not None
    app.include_router(channel.router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://opora") as http:
        yield channel, http
    await channel.stop()


async def tg_answer(
    telegram: tuple[TelegramChannel, Any], fake: FakeTelegramServer, msg: dict[str, Any]
) -> str:
    channel, http = telegram
    headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
    assert (await http.post("/telegram/webhook", json=tg.update(msg), headers=headers)).status_code == 200
    await channel.idle()
    [answer] = [m for m in fake.sent() if m.reply_to == msg["message_id"] and m.reply_markup]
    return answer.text


async def test_telegram_private_chat_of_a_mapped_reader_cites_the_restricted_page_and_nowhere_else(
    telegram: tuple[TelegramChannel, Any], tg_fake: FakeTelegramServer
) -> None:
    anna = tg.user(TG_ANNA)
    answer = await tg_answer(telegram, tg_fake, tg.message(QUESTION, chat_id=TG_ANNA, sender=anna))
    assert "cobalt-heron-42" in answer and SECRET_TITLE in answer

    # Anna in a supergroup and in a basic group: public pages only
    for chat in ({"chat_id": -1001, "chat_type": "supergroup"}, {"chat_id": -1002, "chat_type": "group"}):
        group_msg = tg.message(QUESTION, sender=anna, mention=True, **chat)  # type: ignore[arg-type]
        assert not leaks(await tg_answer(telegram, tg_fake, group_msg))

    # Boris (mapped, not in sre) and an unmapped person, each in a private chat
    for uid in (TG_BORIS, 1003):
        msg = tg.message(QUESTION, chat_id=uid, sender=tg.user(uid))
        assert not leaks(await tg_answer(telegram, tg_fake, msg))


def test_telegram_user_emails_refuses_what_is_not_an_address() -> None:
    with pytest.raises(ValueError, match="user id\\(s\\) 7"):
        TelegramSettings(user_emails={7: "anna"})
    assert TelegramSettings(user_emails={"7": " anna@example.com "}).user_emails == {7: ANNA}  # type: ignore[dict-item]
