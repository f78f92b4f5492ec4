import pytest

from bot.language import detect_lang


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("как откатить деплой на stage?", "ru"),
        ("почему `werf converge` падает с ошибкой `helm.sh/hook-delete-policy`", "ru"),
        ("how do I roll back a helm release?", "en"),
        ("werf.io/replicas-on-creation не работает", "ru"),
        ("12345", "en"),
    ],
)
def test_detects_reply_language(text, lang):
    assert detect_lang(text) == lang


def test_default_applies_without_letters():
    assert detect_lang("???", default="ru") == "ru"
