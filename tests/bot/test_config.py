import pytest
from pydantic import ValidationError

from bot.config import Settings


def test_env_overrides_yaml(tmp_path, monkeypatch):
    config = tmp_path / "opora.yaml"
    config.write_text("retrieval:\n  top_k: 7\n  candidates: 20\nslack:\n  mode: http\n")
    monkeypatch.setenv("OPORA_CONFIG", str(config))
    monkeypatch.setenv("OPORA_RETRIEVAL__TOP_K", "9")
    settings = Settings()
    assert settings.retrieval.top_k == 9
    assert settings.retrieval.candidates == 20
    assert settings.slack.mode == "http"


def test_missing_config_file_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("OPORA_CONFIG", str(tmp_path / "nope.yaml"))
    with pytest.raises(ValueError, match="not a file"):
        Settings()


def test_production_refuses_placeholder_secrets(monkeypatch):
    monkeypatch.setenv("OPORA_MODE", "production")
    monkeypatch.setenv("OPORA_SLACK__BOT_TOKEN", "changeme")
    with pytest.raises(ValidationError, match=r"slack\.bot_token"):
        Settings()


def test_local_mode_allows_placeholders_and_hides_secrets(monkeypatch):
    monkeypatch.setenv("OPORA_SLACK__BOT_TOKEN", "xoxb-real-looking-token")
    settings = Settings()
    assert "xoxb" not in repr(settings) and settings.slack.enabled


def test_database_defaults_to_sqlite_under_data_dir(tmp_path):
    settings = Settings(data_dir=tmp_path)
    assert settings.resolved_database_url == f"sqlite+aiosqlite:///{tmp_path / 'opora.db'}"


def test_production_refuses_name_sign_in_and_says_why(monkeypatch):
    monkeypatch.setenv("OPORA_MODE", "production")
    with pytest.raises(ValidationError, match=r"anyone sign in as anyone.*oidc.*proxy"):
        Settings()
    assert Settings(webchat={"auth": "proxy"}).webchat.auth == "proxy"
    assert Settings(webchat={"enabled": False}).mode == "production"
    oidc = {"auth": "oidc", "oidc": {"issuer": "https://sso.example.com", "client_id": "opora"}}
    assert Settings(webchat=oidc).webchat.oidc.client_id == "opora"
    with pytest.raises(ValidationError, match=r"webchat\.oidc\.issuer"):
        Settings(webchat={"auth": "oidc"})


def test_serve_refuses_name_sign_in_in_production(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from bot.cli import app as cli

    monkeypatch.setenv("OPORA_MODE", "production")
    monkeypatch.setenv("OPORA_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2 and "anyone sign in as anyone" in " ".join(result.output.split())
