"""The web chat's own user-facing sentences, in Russian and English."""

from __future__ import annotations

from bot.types import Lang

TEXTS: dict[str, dict[Lang, str]] = {
    "unauthorized": {"en": "Please sign in first.", "ru": "Сначала войдите."},
    "bad_name": {
        "en": "Enter a name of 1 to 64 characters.",
        "ru": "Введите имя длиной от 1 до 64 символов.",
    },
    "sign_in_disabled": {
        "en": "Sign-in is handled by the company's single sign-on here.",
        "ru": "Вход здесь выполняется через корпоративный единый вход.",
    },
    "oidc_failed": {
        "en": "Sign-in at the identity provider did not succeed. Please try again.",
        "ru": "Вход через корпоративную учётную запись не удался. Попробуйте ещё раз.",
    },
    "not_found": {"en": "There is no such conversation.", "ru": "Такого разговора нет."},
    "no_answer": {"en": "There is no such answer.", "ru": "Такого ответа нет."},
    "rate_limited": {
        "en": "You are asking too fast: at most {limit} questions a minute. Try again in {seconds} s.",
        "ru": "Слишком много вопросов: не больше {limit} в минуту. Повторите через {seconds} с.",
    },
    "bad_message": {
        "en": "The message could not be understood: {detail}",
        "ru": "Сообщение не удалось разобрать: {detail}",
    },
    "frame_too_large": {
        "en": "The message is too large ({size} bytes, at most {limit}).",
        "ru": "Сообщение слишком большое ({size} байт, допустимо не больше {limit}).",
    },
    "bad_title": {
        "en": "A title is 1 to 200 characters long.",
        "ru": "Название — от 1 до 200 символов.",
    },
    "seed_1": {"en": "How do I roll back a Helm release?", "ru": "Как откатить релиз Helm?"},
    "seed_2": {"en": "How do chart hooks work?", "ru": "Как работают хуки чарта?"},
    "seed_3": {"en": "How does werf build images?", "ru": "Как werf собирает образы?"},
    "seed_4": {"en": "How do I pass values to a chart?", "ru": "Как передать values в чарт?"},
}


def wt(key: str, lang: str | None, **kwargs: object) -> str:
    """The web chat text ``key`` in ``lang`` (English when unknown)."""
    text = TEXTS[key]["ru" if lang == "ru" else "en"]
    return text.format(**kwargs) if kwargs else text


def both(key: str, **kwargs: object) -> tuple[str, str]:
    """``(en, ru)`` for building an ``OporaError``."""
    return wt(key, "en", **kwargs), wt(key, "ru", **kwargs)
