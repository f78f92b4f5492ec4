import logging

import structlog

from bot.logging import configure_logging, scrub


def test_scrub_masks_secret_keys_and_token_shapes():
    event = {
        "event": "call",
        "authorization": "Bearer abc.def",
        "url": "https://x/?t=xoxb-123-456-abc",
        "nested": {"api_key": "sk-verysecretvalue"},
        "text": "bot 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0 failed",
    }
    out = scrub(event)
    assert out["authorization"] == "***" and out["nested"]["api_key"] == "***"
    assert "xoxb" not in out["url"] and "AAHdq" not in out["text"]
    assert out["event"] == "call"


def test_configured_logs_never_print_tokens(capsys):
    configure_logging("INFO")
    structlog.get_logger("t").info("provider.call", api_key="sk-abcdefghijkl", note="Bearer zzz")
    logging.getLogger("t2").warning("token xoxb-1-2-3 leaked?")
    err = capsys.readouterr().err
    assert "sk-abcdefghijkl" not in err and "zzz" not in err and "xoxb-1-2-3" not in err
    assert "provider.call" in err
