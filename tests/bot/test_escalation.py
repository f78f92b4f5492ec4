import pytest

from bot.escalation import CriticalDetector

detector = CriticalDetector()


@pytest.mark.parametrize(
    "text",
    [
        "прод лежит уже 10 минут",
        "Production is down, nobody can log in",
        "у всех клиентов 500 на оплате, нужен человек срочно",
        "URGENT: we lost data in the orders table",
        "авария: кластер недоступен",
        "sev1: checkout returns 503 for every request",
    ],
)
def test_incidents_are_detected(text):
    assert detector.check(text).critical


@pytest.mark.parametrize(
    "text",
    [
        "how do I configure a readiness probe in production?",
        "werf build fails with 500 from the registry, what does it mean?",
        "как откатить деплой на stage?",
        "what is the incident response section of the helm docs about hooks",
        "где посмотреть логи прод окружения",
    ],
)
def test_ordinary_questions_are_not_incidents(text):
    assert not detector.check(text).critical


def test_configured_phrases_extend_detection():
    custom = CriticalDetector(extra_phrases=["касса не работает"], extra_patterns=[r"\bP1 incident\b"])
    assert custom.check("Касса не работает в магазине").critical
    assert custom.check("we have a P1 incident").critical
    assert not detector.check("Касса не работает в магазине").critical
