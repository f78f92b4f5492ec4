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
    custom = CriticalDetector(extra_phrases=["код 7731 в отчёте"], extra_patterns=[r"\bP1 ticket\b"])
    assert custom.check("У нас код 7731 в отчёте смены").critical
    assert custom.check("we have a P1 ticket for the billing team").critical
    assert not detector.check("У нас код 7731 в отчёте смены").critical
    assert "phrase: код 7731 в отчёте" in custom.check("код 7731 в отчёте").reasons


def test_channel_rules_override_the_classifier():
    from bot.types import SessionKey

    custom = CriticalDetector(always_page=["slack:CINC"], never_page=["CSANDBOX"])
    assert custom.check("how do I rotate my ssh key?", SessionKey("slack", "CINC", "1")).critical
    assert not custom.check("prod is down for everyone", SessionKey("slack", "CSANDBOX", "1")).critical
    verdict = custom.check("prod is down for everyone, checkout 500", SessionKey("slack", "COTHER", "1"))
    assert (
        verdict.critical and verdict.severity == "critical" and verdict.reasons[-1].startswith("classifier")
    )


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_nobody_is_said_to_be_called_unless_a_target_accepted_the_page(lang):
    from bot.escalation import NOT_PAGED, PageOutcome, page_notice

    for incident, second_look in ((True, False), (False, False), (True, True)):  # detector, human, LLM
        kind = {"incident": incident, "second_look": second_look}
        unpaged = page_notice(NOT_PAGED, lang, contact="#ops, +7 999 000-00-00", **kind)
        assert "#ops, +7 999 000-00-00" in unpaged
        assert "вызвал" not in unpaged and "I paged" not in unpaged
        pending = page_notice(PageOutcome(paged=False, pending=True), lang, **kind)
        assert "вызвал" not in pending and "I paged" not in pending
        paged = page_notice(PageOutcome(paged=True, who="Anna"), lang, **kind)
        assert "Anna" in paged
