"""Every user-facing sentence of the bot, in Russian and English."""

from __future__ import annotations

from bot.types import Lang

TEXTS: dict[str, dict[Lang, str]] = {
    "user_rate_limited": {
        "en": "You are asking faster than I can keep up: at most {limit} questions a minute. "
        "Please ask again in {seconds} s.",
        "ru": "Вы задаёте вопросы быстрее, чем я успеваю: не больше {limit} в минуту. "
        "Пожалуйста, спросите снова через {seconds} с.",
    },
    "abstain": {
        "en": "I did not find this in the documentation, so I won't guess. "
        "Would you like me to call a human? Reply “human” or press the button.",
        "ru": "Я не нашёл ответа в документации и не буду гадать. "
        "Позвать человека? Напишите «человек» или нажмите кнопку.",
    },
    # After a 👎 on an abstained answer: an offer only; it must never read as if someone was called.
    "human_offer_button": {
        "en": "Sorry this did not help. Shall I call a human? Press “Call a human”.",
        "ru": "Жаль, что ответ не помог. Позвать человека? Нажмите «Позвать человека».",
    },
    "human_offer_command": {
        "en": "Sorry this did not help. Shall I call a human? Reply “human” in this thread.",
        "ru": "Жаль, что ответ не помог. Позвать человека? Напишите «человек» в этой ветке.",
    },
    # Paging: what the user is told is the result, never the intent (a page is "sent" only once accepted).
    "incident_paged": {
        "en": "This looks like an incident: I paged {who}, who will reply in this thread.",
        "ru": "Похоже на инцидент: я вызвал {who}, ответ придёт в эту ветку.",
    },
    "incident_not_paged": {
        "en": "This looks like an incident, but no on-call paging is set up, so nobody has been called. "
        "Please reach a human directly: {contact}.",
        "ru": "Похоже на инцидент, но вызов дежурного не настроен, поэтому никого позвать не удалось. "
        "Свяжитесь с человеком напрямую: {contact}.",
    },
    "incident_page_pending": {
        "en": "This looks like an incident. The paging service has not accepted the page yet, so nobody "
        "has been called so far; I keep retrying and will say here once someone is paged. "
        "Meanwhile please reach a human directly: {contact}.",
        "ru": "Похоже на инцидент. Сервис вызова дежурного пока не принял вызов, так что позвать дежурного "
        "ещё не удалось; я повторяю попытки и напишу здесь, когда вызов пройдёт. "
        "А пока свяжитесь с человеком напрямую: {contact}.",
    },
    # the LLM's second opinion, after the answer: "on a second look" says why it comes only now
    "second_look_paged": {
        "en": "On a second look this reads like an incident: I paged {who}, who will reply in this thread.",
        "ru": "При повторной проверке это похоже на инцидент: я вызвал {who}, ответ придёт в эту ветку.",
    },
    "second_look_not_paged": {
        "en": "On a second look this reads like an incident, but no on-call paging is set up, so nobody "
        "has been called. Please reach a human directly: {contact}.",
        "ru": "При повторной проверке это похоже на инцидент, но вызов дежурного не настроен, поэтому "
        "никого позвать не удалось. Свяжитесь с человеком напрямую: {contact}.",
    },
    "second_look_page_pending": {
        "en": "On a second look this reads like an incident. The paging service has not accepted the page "
        "yet, so nobody has been called so far; I keep retrying and will say here once someone is paged. "
        "Meanwhile please reach a human directly: {contact}.",
        "ru": "При повторной проверке это похоже на инцидент. Сервис вызова дежурного пока не принял вызов, "
        "так что позвать дежурного ещё не удалось; я повторяю попытки и напишу здесь, когда вызов "
        "пройдёт. А пока свяжитесь с человеком напрямую: {contact}.",
    },
    "human_paged": {
        "en": "I paged {who}, who will reply in this thread.",
        "ru": "Я вызвал {who}, ответ придёт в эту ветку.",
    },
    "human_not_paged": {
        "en": "I could not call a human: no on-call paging is set up. Please reach one directly: {contact}.",
        "ru": "Позвать человека не удалось: вызов дежурного не настроен. Свяжитесь напрямую: {contact}.",
    },
    "human_page_pending": {
        "en": "The paging service has not accepted the page yet, so nobody has been called so far; I keep "
        "retrying and will say here once someone is paged. "
        "Meanwhile please reach a human directly: {contact}.",
        "ru": "Сервис вызова дежурного пока не принял вызов, так что позвать человека ещё не удалось; я "
        "повторяю попытки и напишу здесь, когда вызов пройдёт. А пока свяжитесь напрямую: {contact}.",
    },
    "page_delivered": {
        "en": "Update: I paged {who}, who will reply in this thread.",
        "ru": "Обновление: я вызвал {who}, ответ придёт в эту ветку.",
    },
    "answer_withheld_restricted": {
        "en": "(withheld: the answer drew on restricted Confluence pages; see the conversation)",
        "ru": "(скрыт: ответ основан на страницах Confluence с ограниченным доступом; см. переписку)",
    },
    "escalation_acknowledged": {"en": "Acknowledged by {who}.", "ru": "{who} взял(а) в работу."},
    "escalation_resolved": {"en": "Resolved by {who}.", "ru": "{who} закрыл(а) инцидент."},
    "escalation_unchanged": {"en": "Already done.", "ru": "Уже сделано."},
    "ticket_opened": {"en": "Ticket opened: {url}", "ru": "Заведена задача: {url}"},
    "captured_by": {
        "en": "— answered by {person}, {date} (from an earlier escalated thread)",
        "ru": "— ответ дал(а) {person}, {date} (из прошлого обращения к дежурному)",
    },
    "oncall_generic": {"en": "the on-call engineer", "ru": "дежурного инженера"},
    "oncall_person": {"en": "{name} (on call)", "ru": "{name} (дежурный)"},
    "contact_default": {
        "en": "your team's on-call channel or the on-call phone",
        "ru": "канал дежурной смены вашей команды или телефон дежурного",
    },
    "extractive_intro": {
        "en": "Here is what the documentation says:",
        "ru": "Вот что сказано в документации:",
    },
    "sources": {"en": "Sources", "ru": "Источники"},
    "partial_index": {
        "en": "The knowledge base is still being indexed ({percent}% done): this answer may be incomplete.",
        "ru": "База знаний ещё индексируется (готово {percent}%): ответ может быть неполным.",
    },
    "empty_question": {"en": "The question is empty.", "ru": "Вопрос пустой."},
    "question_too_long": {
        "en": "The question is too long: {length} characters, the limit is {limit}.",
        "ru": "Вопрос слишком длинный: {length} символов, допустимо не больше {limit}.",
    },
    "unknown_message": {
        "en": "There is no answer with id {message_id}.",
        "ru": "Ответа с номером {message_id} нет.",
    },
    "feedback_thanks": {"en": "Thank you for the feedback!", "ru": "Спасибо за отзыв!"},
    "help": {
        "en": "I answer questions from the company's documentation and cite my sources.\n"
        "Commands: `help` — this text; `role frontend|backend|devops|qa` — tune answers to your role; "
        "`lang ru|en` — reply language; `new` — start a fresh conversation; `human` — call a person.\n"
        "Rate answers with 👍 / 👎.",
        "ru": "Я отвечаю на вопросы по документации компании и указываю источники.\n"
        "Команды: `help` — эта справка; `role frontend|backend|devops|qa` — ответы под вашу роль; "
        "`lang ru|en` — язык ответов; `new` — начать новый разговор; `human` — позвать человека.\n"
        "Оценивайте ответы 👍 / 👎.",
    },
    "role_set": {"en": "Your role is now {role}.", "ru": "Ваша роль теперь {role}."},
    "role_unknown": {
        "en": "Unknown role {role}. Choose one of: {roles}.",
        "ru": "Неизвестная роль {role}. Выберите одну из: {roles}.",
    },
    "lang_set": {"en": "I will answer in English.", "ru": "Буду отвечать по-русски."},
    "lang_unknown": {"en": "Choose ru or en.", "ru": "Выберите ru или en."},
    "new_session": {"en": "Starting a fresh conversation.", "ru": "Начинаем новый разговор."},
    "all_providers_down": {
        "en": "The language model is unavailable right now: here are the relevant passages instead.",
        "ru": "Языковая модель сейчас недоступна: вот подходящие фрагменты документации.",
    },
    "internal_error": {
        "en": "Something went wrong on my side. Please try again in a minute.",
        "ru": "У меня что-то сломалось. Попробуйте ещё раз через минуту.",
    },
    "thinking": {"en": "Looking through the documentation…", "ru": "Ищу в документации…"},
    # degraded modes and load (bot/resilience)
    "search_down": {
        "en": "Documentation search is unavailable right now, so I cannot answer from it.",
        "ru": "Поиск по документации сейчас недоступен, поэтому ответить по ней я не могу.",
    },
    "search_down_retry": {
        "en": "Please ask in your team's support channel, or try again in a few minutes.",
        "ru": "Спросите в канале поддержки вашей команды или попробуйте через несколько минут.",
    },
    "search_degraded": {
        "en": "Search is degraded (keyword search only): this answer may miss relevant pages.",
        "ru": "Поиск работает не полностью (только по ключевым словам): "
        "ответ может упустить нужные страницы.",
    },
    "storage_degraded": {
        "en": "My storage is unavailable right now: this answer does not see earlier messages of the "
        "conversation, and it will be saved once storage is back.",
        "ru": "Хранилище сейчас недоступно: этот ответ не учитывает предыдущие сообщения разговора "
        "и будет сохранён, когда хранилище вернётся.",
    },
    "busy_queued": {
        "en": "I'm busy right now: you are number {position} in line. I'll answer here shortly.",
        "ru": "Я сейчас занят: вы {position}-й в очереди. Отвечу здесь чуть позже.",
    },
    "busy_refused": {
        "en": "I'm overloaded right now and could not take your question. Please ask again in a few minutes.",
        "ru": "Я сейчас перегружен и не смог принять вопрос. "
        "Пожалуйста, задайте его снова через несколько минут.",
    },
    "button_up": {"en": "👍 Helpful", "ru": "👍 Полезно"},
    "button_down": {"en": "👎 Not helpful", "ru": "👎 Не помогло"},
    "button_human": {"en": "Call a human", "ru": "Позвать человека"},
    "vote_recorded": {"en": "Thank you, your vote is recorded.", "ru": "Спасибо, оценка учтена."},
    "vote_withdrawn": {"en": "Your vote is withdrawn.", "ru": "Оценка отозвана."},
    "continued": {"en": "(continued)", "ru": "(продолжение)"},
}


def t(key: str, lang: Lang, **kwargs: object) -> str:
    """The text ``key`` in ``lang``, formatted with ``kwargs``."""
    text = TEXTS[key][lang]
    return text.format(**kwargs) if kwargs else text
