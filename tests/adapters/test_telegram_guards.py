"""Telegram under attack and abuse: malformed updates, forged vote buttons, allowlists, per-user limits."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from adapters.telegram import TelegramChannel
from storage.models import Feedback
from tests.adapters import tg_updates as tg
from tests.adapters.test_telegram import ROLLBACK, SECRET, Webhook, answered, settings
from tests.fakes.telegram_server import FakeTelegramServer


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramServer]:
    server = FakeTelegramServer(bot_id=tg.BOT_ID, username=tg.BOT_USERNAME)
    await server.start()
    yield server
    await server.close()


async def hooked(core, fake, **overrides) -> tuple[TelegramChannel, Webhook]:
    channel = TelegramChannel(core, settings(fake).model_copy(update=overrides))
    await channel.start()
    return channel, Webhook(channel)


MALFORMED = [
    b"not json at all",
    b"\xff\xfe\x00garbage",  # invalid UTF-8
    b"[1, 2, 3]",
    b'{"message": {"text": "hi"}}',  # no update_id
    b'{"update_id": "12"}',
    b'{"update_id": 5, "message": {"chat": "nonsense"}}',  # not an Update
    b"{" * 5000,  # deeply nested / truncated
]


@pytest.mark.parametrize("body", MALFORMED)
async def test_malformed_updates_with_the_right_secret_get_400(core, fake, body: bytes) -> None:
    channel, hook = await hooked(core, fake)
    try:
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "content-type": "application/json"}
        r = await hook.http.post("/telegram/webhook", content=body, headers=headers)
        assert r.status_code == 400
        await channel.idle()
        assert fake.count("sendMessage") == 0
    finally:
        await hook.http.aclose()
        await channel.stop()


async def test_a_vote_button_counts_only_for_the_message_it_is_on(core, fake) -> None:
    channel, hook = await hooked(core, fake)
    try:
        first, second = tg.message(ROLLBACK), tg.message("werf kube-run copy a file back")
        await hook.deliver(tg.update(first))
        await hook.deliver(tg.update(second))
        [a], [b] = answered(fake, first["message_id"]), answered(fake, second["message_id"])
        up_on_a = a.reply_markup["inline_keyboard"][0][0]["callback_data"]
        await hook.deliver(tg.callback(up_on_a, 42, b.message_id))  # A's answer id pressed on B
        async with core.db.session() as s:
            assert not list((await s.execute(select(Feedback))).scalars())
        assert "no answer" in fake.callback_answers[-1]["text"].lower()
        await hook.deliver(tg.callback(up_on_a, 42, a.message_id))
        async with core.db.session() as s:
            assert [f.value for f in (await s.execute(select(Feedback))).scalars()] == [1]
        # the "call a human" button with another answer's id escalates nothing
        human_on_a = a.reply_markup["inline_keyboard"][1][0]["callback_data"]
        sent = fake.count("sendMessage")
        await hook.deliver(tg.callback(human_on_a, 42, b.message_id))
        assert fake.count("sendMessage") == sent
    finally:
        await hook.http.aclose()
        await channel.stop()


async def test_allowlists_drop_other_users_and_groups(core, fake) -> None:
    channel, hook = await hooked(core, fake, allowed_users=[7, 42], allowed_chats=[-100])
    try:
        await hook.deliver(tg.update(tg.message(ROLLBACK, sender=tg.user(99), chat_id=99)))
        await hook.deliver(
            tg.update(tg.message(ROLLBACK, chat_id=-555, chat_type="supergroup", mention=True))
        )
        assert fake.count("sendMessage") == 0
        await hook.deliver(
            tg.update(tg.message(ROLLBACK, chat_id=-100, chat_type="supergroup", mention=True))
        )
        await hook.deliver(tg.update(tg.message(ROLLBACK)))  # private chat of an allowed user
        assert fake.count("sendMessage") == 2
    finally:
        await hook.http.aclose()
        await channel.stop()


async def test_per_user_limit_answers_politely_in_the_users_language(core, fake) -> None:
    channel, hook = await hooked(core, fake, questions_per_minute=1)
    try:
        await hook.deliver(tg.update(tg.message(ROLLBACK)))
        second = tg.message("как откатить релиз helm?")
        await hook.deliver(tg.update(second))
        [reply] = [m for m in fake.sent() if m.reply_to == second["message_id"]]
        assert "не больше 1 в минуту" in reply.text and "через" in reply.text
        other = tg.message(ROLLBACK, sender=tg.user(7), chat_id=7)  # another person is not limited
        await hook.deliver(tg.update(other))
        assert answered(fake, other["message_id"])
    finally:
        await hook.http.aclose()
        await channel.stop()
