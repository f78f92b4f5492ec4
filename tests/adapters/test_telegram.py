"""Telegram end to end: aiogram against the fake Bot API, through the adapter and the real core."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from adapters.channels import Draft, StreamRenderer
from adapters.formatting import TELEGRAM_LIMIT
from adapters.telegram import TelegramChannel
from adapters.telegram_sink import TelegramSink
from bot.config import TelegramSettings
from storage.escalation_models import EscalationRow
from storage.models import Conversation, Feedback, Message, ProcessedEvent
from tests.adapters import tg_updates as tg
from tests.adapters.tg_updates import until
from tests.fakes.telegram_server import FakeTelegramServer, telegram_html_error

SECRET = "s3cret-Token_1"
ROLLBACK = "How do I roll back a helm release?"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramServer]:
    server = FakeTelegramServer(bot_id=tg.BOT_ID, username=tg.BOT_USERNAME)
    await server.start()
    yield server
    await server.close()


def settings(fake: FakeTelegramServer, mode: str = "webhook") -> TelegramSettings:
    return TelegramSettings(
        bot_token=fake.token,
        mode=mode,
        webhook_secret=SECRET,
        api_url=fake.url,
        edit_interval=0.05,
        polling_timeout=1,
    )


class Webhook:
    """Delivers updates the way Telegram does: POST to our route with the secret header."""

    def __init__(self, channel: TelegramChannel) -> None:
        app = FastAPI()
        assert channel.router is not None
        app.include_router(channel.router)
        self.channel = channel
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://opora")

    async def send(self, update: dict[str, Any], secret: str | None = SECRET) -> int:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        response = await self.http.post("/telegram/webhook", json=update, headers=headers)
        return response.status_code

    async def deliver(self, update: dict[str, Any]) -> None:
        assert await self.send(update) == 200
        await self.channel.idle()


@contextlib.asynccontextmanager
async def open_hook(core, fake) -> AsyncIterator[Webhook]:
    channel = TelegramChannel(core, settings(fake))
    await channel.start()
    webhook = Webhook(channel)
    try:
        yield webhook
    finally:
        await webhook.http.aclose()
        await channel.stop()


@pytest.fixture
async def hook(core, fake) -> AsyncIterator[Webhook]:
    async with open_hook(core, fake) as webhook:
        yield webhook


def answered(fake: FakeTelegramServer, question_id: int) -> list[Any]:
    """Bot messages replying to ``question_id`` that carry the final feedback buttons."""
    return [m for m in fake.sent() if m.reply_to == question_id and m.reply_markup]


async def count(core, model: Any) -> int:
    async with core.db.session() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


async def test_private_question_is_acknowledged_streamed_and_ends_with_buttons(hook, fake, core):
    question = tg.message("werf kube-run: how to copy a file back from the container?")
    await hook.deliver(tg.update(question))
    [msg] = answered(fake, question["message_id"])
    assert msg.history[0].startswith("Looking through the documentation")  # placeholder first
    assert "--copy-from" in msg.text and msg.parse_mode == "HTML"
    buttons = [b["callback_data"] for row in msg.reply_markup["inline_keyboard"] for b in row]
    assert buttons[0].startswith("v:") and buttons[-1].startswith("h:")
    async with core.db.session() as s:
        answer = (await s.execute(select(Message).where(Message.kind == "answer"))).scalar_one()
    assert answer.platform_ref == f"42:{msg.message_id}"


async def test_group_mention_starts_a_thread_and_a_reply_follows_up_with_history(hook, fake, core):
    chat = -1001
    question = tg.message(ROLLBACK, chat_id=chat, chat_type="supergroup", mention=True)
    await hook.deliver(tg.update(question))
    [first] = answered(fake, question["message_id"])
    ignored = tg.message("unrelated chatter", chat_id=chat, chat_type="supergroup")
    await hook.deliver(tg.update(ignored))
    follow = tg.message(
        "and to a specific revision?",
        chat_id=chat,
        chat_type="supergroup",
        reply_to=tg.bot_message(chat, first.message_id),
    )
    await hook.deliver(tg.update(follow))
    assert answered(fake, follow["message_id"])
    assert not [m for m in fake.sent() if m.reply_to == ignored["message_id"]]
    async with core.db.session() as s:
        conv = (await s.execute(select(Conversation))).scalar_one()
        kinds = (await s.execute(select(Message.kind).order_by(Message.id))).scalars().all()
    assert (conv.channel, conv.thread) == (str(chat), str(question["message_id"]))
    assert list(kinds) == ["question", "answer", "question", "answer"]


async def test_forum_topic_is_the_session_and_follow_ups_need_no_mention(hook, fake, core):
    chat = -1002
    first = tg.message(ROLLBACK, chat_id=chat, chat_type="supergroup", thread_id=77, mention=True)
    await hook.deliver(tg.update(first))
    follow = tg.message("and to a specific revision?", chat_id=chat, chat_type="supergroup", thread_id=77)
    await hook.deliver(tg.update(follow))
    for q in (first, follow):
        [msg] = answered(fake, q["message_id"])
        assert msg.thread_id == 77
    async with core.db.session() as s:
        threads = (await s.execute(select(Conversation.thread))).scalars().all()
    assert list(threads) == ["topic:77"]


async def test_reactions_and_buttons_vote_flip_and_withdraw(hook, fake, core):
    question = tg.message(ROLLBACK)
    await hook.deliver(tg.update(question))
    [msg] = answered(fake, question["message_id"])

    async def votes() -> list[tuple[int, str]]:
        async with core.db.session() as s:
            return [(f.value, f.source) for f in (await s.execute(select(Feedback))).scalars()]

    await hook.deliver(tg.reaction(42, msg.message_id, [], ["👍"]))
    assert await votes() == [(1, "reaction")]
    await hook.deliver(tg.reaction(42, msg.message_id, ["👍"], ["👎"]))
    assert await votes() == [(-1, "reaction")]
    await hook.deliver(tg.reaction(42, msg.message_id, ["👎"], []))
    assert await votes() == []

    up, down = (b["callback_data"] for b in msg.reply_markup["inline_keyboard"][0])
    await hook.deliver(tg.callback(up, 42, msg.message_id))
    assert await votes() == [(1, "button")]
    await hook.deliver(tg.callback(down, 42, msg.message_id))
    assert await votes() == [(-1, "button")]
    await hook.deliver(tg.callback(down, 42, msg.message_id))
    assert await votes() == []
    assert [a["text"] for a in fake.callback_answers] == [
        "Thank you, your vote is recorded.",
        "Thank you, your vote is recorded.",
        "Your vote is withdrawn.",
    ]


async def test_call_a_human_button_escalates_and_says_so_in_the_thread(hook, fake, core):
    question = tg.message(ROLLBACK)
    await hook.deliver(tg.update(question))
    [msg] = answered(fake, question["message_id"])
    human = msg.reply_markup["inline_keyboard"][1][0]["callback_data"]
    await hook.deliver(tg.callback(human, 42, msg.message_id))
    assert any(m.reply_to == msg.message_id and "could not call a human" in m.text for m in fake.sent())
    assert fake.callback_answers


async def test_redelivered_update_yields_one_answer(hook, fake, core):
    question = tg.message(ROLLBACK)
    update = tg.update(question)
    statuses = await asyncio.gather(*(hook.send(update) for _ in range(3)))
    await hook.channel.idle()
    assert statuses == [200, 200, 200]
    await hook.deliver(update)  # a late retry too
    assert fake.count("sendMessage") == 1
    assert await count(core, Message) == 2


async def test_bad_or_missing_secret_is_rejected_and_nothing_is_stored(hook, fake, core):
    update = tg.update(tg.message(ROLLBACK))
    assert await hook.send(update, secret="wrong") == 401
    assert await hook.send(update, secret=None) == 401
    await hook.channel.idle()
    assert fake.count("sendMessage") == 0
    for model in (Conversation, Message, ProcessedEvent):
        assert await count(core, model) == 0


async def test_429_on_posting_is_retried_after_retry_after_and_posts_once(hook, fake, core):
    fake.fail("sendMessage", status=429, retry_after=1)
    fake.fail("editMessageText", status=500)
    question = tg.message(ROLLBACK)
    started = time.monotonic()
    await hook.deliver(tg.update(question))
    assert time.monotonic() - started >= 1.0
    assert fake.count("sendMessage") == 2  # the refused one and the retry
    assert len(fake.sent()) == 1 and answered(fake, question["message_id"])


async def test_long_answer_is_split_into_valid_messages(core, fake):
    channel = TelegramChannel(core, settings(fake), max_len=400)
    await channel.start()
    webhook = Webhook(channel)
    try:
        question = tg.message("werf kube-run: how to copy a file back from the container?")
        await webhook.deliver(tg.update(question))
    finally:
        await webhook.http.aclose()
        await channel.stop()
    parts = [m for m in fake.sent() if m.reply_to == question["message_id"]]
    assert len(parts) >= 2
    assert all(len(m.text) <= 400 and telegram_html_error(m.text) is None for m in parts)
    assert parts[-1].reply_markup and not any(m.reply_markup for m in parts[:-1])


async def test_a_huge_markdown_answer_splits_at_4096_with_code_blocks_intact(fake):
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    bot = Bot(fake.token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.url)))
    code = "\n".join(f"echo line {i} <&> done" for i in range(300))
    text = "Intro <b>not a tag</b> & more.\n\n" + ("Paragraph words. " * 150 + "\n\n") * 3
    text += f"```bash\n{code}\n```\n\nThe end."
    try:
        sink = TelegramSink(bot, chat_id=7, reply_to=None)
        renderer = StreamRenderer(sink, lang="en", nonce="n1")
        await renderer.finish(Draft(text=text, lang="en", final=True))
    finally:
        await bot.session.close()
    parts = fake.sent(7)
    assert len(parts) >= 4 and all(len(m.text) <= TELEGRAM_LIMIT for m in parts)
    assert all(telegram_html_error(m.text) is None for m in parts)
    assert all(m.text.count("<pre>") == m.text.count("</pre>") for m in parts)
    assert "&lt;b&gt;not a tag&lt;/b&gt; &amp; more" in parts[0].text
    joined = "".join(m.text for m in parts)
    assert all(f"echo line {i} &lt;&amp;&gt; done" in joined for i in range(300))


async def test_html_hostile_input_echoed_back_is_escaped(hook, fake):
    await hook.deliver(tg.update(tg.message("/role <script>x</script>&amp")))
    [reply] = fake.sent(42)
    assert telegram_html_error(reply.text) is None
    assert "&lt;script&gt;x&lt;/script&gt;&amp;amp" in reply.text


async def test_commands_and_bots_ignored(hook, fake, core):
    for text in ("/start", "/help", "/role devops", "/lang ru", "/new"):
        await hook.deliver(tg.update(tg.message(text)))
    texts = [m.text for m in fake.sent(42)]
    assert "documentation" in texts[0] and "devops" in texts[2] and "по-русски" in texts[3]
    assert len(texts) == 5
    await hook.deliver(tg.update(tg.message(ROLLBACK, sender=tg.user(99, is_bot=True))))
    assert len(fake.sent()) == 5


async def test_long_polling_answers_and_drops_a_redelivered_update(core, fake):
    channel = TelegramChannel(core, settings(fake, mode="polling"))
    await channel.start()
    try:
        question = tg.message(ROLLBACK)
        update = tg.update(question)
        fake.push_update(update)
        await until(lambda: answered(fake, question["message_id"]), "the polled answer")
        fake.push_update(update)  # Telegram resends an update whose offset was never confirmed
        second = tg.message("werf kube-run: how to copy a file back from the container?")
        fake.push_update(tg.update(second))
        await until(lambda: answered(fake, second["message_id"]), "the second answer")
    finally:
        await channel.stop()
    assert fake.count("deleteWebhook") == 1
    assert len(answered(fake, question["message_id"])) == 1
    assert fake.count("sendMessage") == 2


async def test_human_takeover_in_an_escalated_group_thread(hook, fake, core):
    chat = -1009
    incident = "prod is down: checkout returns 500 for every customer since 10:00, please help"
    question = tg.message(incident, chat_id=chat, chat_type="supergroup", mention=True)
    await hook.deliver(tg.update(question))
    [first] = answered(fake, question["message_id"])
    assert "nobody has been called" in first.text
    human = tg.message(
        "on it, restarting the gateway", chat_id=chat, chat_type="supergroup", sender=tg.user(77),
        reply_to=tg.bot_message(chat, first.message_id),
    )  # fmt: skip
    await hook.deliver(tg.update(human))
    asker = tg.message(
        "thanks, is it back?",
        chat_id=chat,
        chat_type="supergroup",
        reply_to=tg.bot_message(chat, first.message_id),
    )
    await hook.deliver(tg.update(asker))
    assert not answered(fake, human["message_id"]) and not answered(fake, asker["message_id"])
    again = tg.message(ROLLBACK, chat_id=chat, chat_type="supergroup", mention=True,
                       reply_to=tg.bot_message(chat, first.message_id))  # fmt: skip
    await hook.deliver(tg.update(again))
    assert answered(fake, again["message_id"])
    async with core.db.session() as s:
        kinds = (await s.execute(select(Message.kind).order_by(Message.id))).scalars().all()
    assert list(kinds) == ["question", "answer", "human", "followup", "question", "answer"]


async def test_post_text_sends_a_plain_message_to_a_chat(core, fake) -> None:
    channel = TelegramChannel(core, settings(fake))  # the gaps digest posts through this
    await channel.start()
    try:
        ref = await channel.post_text("-100123", "Documentation gaps, last 7 days")
    finally:
        await channel.stop()
    [sent] = fake.sent(-100123)
    assert sent.text == "Documentation gaps, last 7 days" and str(sent.message_id) == ref


# --- on call: reactions on a page drive the lifecycle; a 👎 on an abstain offers a human -------------------

ONCALL_CHAT = -100777
INCIDENT = "prod is down: checkout returns 500 for every customer since 10:00, please help"


@pytest.fixture
async def oncall(core_factory, fake) -> AsyncIterator[tuple[Any, Webhook]]:
    """A core that pages the on-call group through the fake Bot API, and the adapter over it."""
    core = await core_factory(
        telegram={"bot_token": fake.token, "api_url": fake.url},
        escalation={
            "targets": [{"kind": "telegram", "channel": str(ONCALL_CHAT)}],
            "rotations": [{"people": [{"name": "Anna", "telegram": "anna_oncall"}], "start": "2026-01-05"}],
        },
    )
    async with open_hook(core, fake) as webhook:
        yield core, webhook


async def escalation_row(core) -> EscalationRow:
    async with core.db.session() as s:
        return (await s.execute(select(EscalationRow))).scalar_one()


async def test_reactions_on_a_page_acknowledge_then_resolve(oncall, fake):
    core, hook = oncall
    question = tg.message(INCIDENT)
    await hook.deliver(tg.update(question))
    [answer] = answered(fake, question["message_id"])
    assert "I paged Anna" in answer.text
    [page] = fake.sent(ONCALL_CHAT)
    assert "@anna_oncall" in page.text

    def replies_to_page() -> list[str]:
        return [m.text for m in fake.sent(ONCALL_CHAT) if m.reply_to == page.message_id]

    await hook.deliver(tg.reaction(42, answer.message_id, [], ["👀"]))  # not a page: nothing happens
    await hook.deliver(tg.reaction(ONCALL_CHAT, page.message_id, [], ["👀"], uid=7))
    row = await escalation_row(core)
    assert (row.state, row.acknowledged_by) == ("acknowledged", "User7")
    assert replies_to_page() == ["Acknowledged by User7."]
    # Telegram's reaction set has no ✅: 👌 stands in for it; a repeated update changes nothing
    resolve = tg.reaction(ONCALL_CHAT, page.message_id, ["👀"], ["👀", "👌"], uid=8)
    await hook.deliver(resolve)
    await hook.deliver(resolve)
    await hook.deliver(tg.reaction(ONCALL_CHAT, page.message_id, [], ["👀"], uid=9))
    row = await escalation_row(core)
    assert (row.state, row.resolved_by, row.acknowledged_by) == ("resolved", "User8", "User7")
    assert replies_to_page() == ["Acknowledged by User7.", "Resolved by User8."]


def offers(fake: FakeTelegramServer, answer_id: int) -> list[Any]:
    """Bot messages replying to the answer with only the "call a human" button (the offer after a 👎)."""
    return [
        m for m in fake.sent()
        if m.reply_to == answer_id and m.reply_markup
        and [b["callback_data"][:2] for row in m.reply_markup["inline_keyboard"] for b in row] == ["h:"]
    ]  # fmt: skip


async def test_thumbs_down_on_an_abstained_answer_offers_a_human_once(hook, fake, core):
    question = tg.message("где заказать новый ноутбук для стажёра?", sender=tg.user(lang="ru"))
    await hook.deliver(tg.update(question))
    [answer] = answered(fake, question["message_id"])
    assert "не нашёл" in answer.text
    down = answer.reply_markup["inline_keyboard"][0][1]["callback_data"]
    await hook.deliver(tg.callback(down, 42, answer.message_id, lang="ru"))
    [offer] = offers(fake, answer.message_id)
    assert offer.text == "Жаль, что ответ не помог. Позвать человека? Нажмите «Позвать человека»."
    assert offer.reply_markup["inline_keyboard"][0][0]["text"] == "Позвать человека"
    # a 👎 reaction from someone else on the same answer: no second offer
    await hook.deliver(tg.reaction(42, answer.message_id, [], ["👎"], uid=43))
    assert len(offers(fake, answer.message_id)) == 1
    # the offer's button escalates like the one under the answer (it is checked against the answer replied to)
    human = offer.reply_markup["inline_keyboard"][0][0]["callback_data"]
    await hook.deliver(tg.callback(human, 42, offer.message_id, reply_to=question["message_id"], lang="ru"))
    async with core.db.session() as s:  # the id in the button must match the answer the message replies to
        assert (await s.execute(select(EscalationRow))).first() is None
    await hook.deliver(tg.callback(human, 42, offer.message_id, reply_to=answer.message_id, lang="ru"))
    assert any("Позвать человека не удалось" in m.text for m in fake.sent() if m.reply_to == offer.message_id)
    assert (await escalation_row(core)).trigger == "user_request"


async def test_thumbs_down_on_a_real_answer_offers_nothing(hook, fake, core):
    question = tg.message(ROLLBACK)
    await hook.deliver(tg.update(question))
    [answer] = answered(fake, question["message_id"])
    await hook.deliver(tg.reaction(42, answer.message_id, [], ["👎"]))
    async with core.db.session() as s:
        assert [f.value for f in (await s.execute(select(Feedback))).scalars()] == [-1]
    assert not offers(fake, answer.message_id) and len(fake.sent()) == 1
