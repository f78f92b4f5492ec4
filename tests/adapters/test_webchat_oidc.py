"""Web chat OIDC sign-in (authorization code + PKCE) against a fake OpenID Connect provider over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.testclient import TestClient

from adapters.webchat.auth import COOKIE
from adapters.webchat.oidc import local_path
from tests.adapters.test_webchat import WEB, make_app
from tests.fakes.oidc_server import FakeOidcProvider


@pytest.fixture
def idp() -> Iterator[FakeOidcProvider]:
    fake = FakeOidcProvider()
    fake.start_in_thread()
    yield fake
    fake.stop_thread()


def oidc_app(tmp_path: Path, idp: FakeOidcProvider, **oidc: object):
    settings = {"issuer": idp.issuer, "client_id": "opora", "client_secret": "s3cret-client", **oidc}
    return make_app(tmp_path, auth="oidc", oidc=settings)


def sign_in(client: TestClient, next_path: str = "/") -> httpx.Response:
    """Start at Opora, let the browser visit the provider, come back to the callback."""
    start = client.get(f"{WEB}/oidc/login", params={"next": next_path}, follow_redirects=False)
    assert start.status_code == 302, start.text
    at_idp = httpx.get(start.headers["location"], follow_redirects=False)  # the provider auto-approves
    assert at_idp.status_code == 302, at_idp.text
    back = urlsplit(at_idp.headers["location"])
    return client.get(f"{back.path}?{back.query}", follow_redirects=False)


def test_oidc_sign_in_with_pkce_sets_the_session(tmp_path: Path, idp: FakeOidcProvider) -> None:
    with TestClient(oidc_app(tmp_path, idp), base_url="http://chat.test") as client:
        assert client.get(f"{WEB}/me").status_code == 401
        assert client.get(f"{WEB}/config").json()["auth"] == "oidc"
        done = sign_in(client, "/c/42")
        assert done.status_code == 302 and done.headers["location"] == "/c/42"
        me = client.get(f"{WEB}/me").json()
        assert me["name"] == "anna" and me["email"] == "anna@example.com"
        # the provider saw a PKCE S256 challenge and a nonce; the token request carried the verifier
        sent = idp.authorize_requests[-1]
        assert sent["code_challenge_method"] == "S256" and len(sent["code_challenge"]) >= 43 and sent["nonce"]
        assert sent["redirect_uri"] == "http://chat.test/api/v1/web/oidc/callback"
        assert idp.token_requests[-1]["code_verifier"]
        # name sign-in is closed in this mode, and a name-mode cookie is not accepted
        assert client.post(f"{WEB}/session", json={"name": "anna"}).status_code == 403


def test_oidc_refuses_a_forged_state_and_a_replayed_code(tmp_path: Path, idp: FakeOidcProvider) -> None:
    with TestClient(oidc_app(tmp_path, idp)) as client:
        start = client.get(f"{WEB}/oidc/login", follow_redirects=False)
        at_idp = httpx.get(start.headers["location"], follow_redirects=False)
        query = parse_qs(urlsplit(at_idp.headers["location"]).query)
        forged = client.get(f"{WEB}/oidc/callback", params={"code": query["code"][0], "state": "attacker"})
        assert forged.status_code == 401 and forged.json()["code"] == "unauthorized"
        assert COOKIE not in client.cookies
        # a callback without the flow cookie (another browser: login CSRF) is refused too
        with TestClient(oidc_app(tmp_path / "other", idp)) as other:
            r = other.get(
                f"{WEB}/oidc/callback", params={"code": query["code"][0], "state": query["state"][0]}
            )
            assert r.status_code == 401
        r = client.get(
            f"{WEB}/oidc/callback", params={"error": "access_denied"}, headers={"accept-language": "ru"}
        )
        assert r.status_code == 401 and "не удался" in r.json()["message"]


@pytest.mark.parametrize(
    "tamper",
    [
        {"claims_override": {"aud": "someone-else"}},
        {"claims_override": {"nonce": "replayed-nonce"}},
        {"claims_override": {"iss": "https://evil.example"}},
        {"claims_override": {"exp": 1_000_000}},
        {"sign_with_stranger": True},
    ],
)
def test_oidc_refuses_bad_id_tokens(tmp_path: Path, idp: FakeOidcProvider, tamper: dict) -> None:
    for name, value in tamper.items():
        setattr(idp, name, value)
    with TestClient(oidc_app(tmp_path, idp)) as client:
        done = sign_in(client)
        assert done.status_code == 401, done.text
        assert client.get(f"{WEB}/me").status_code == 401


def test_oidc_refuses_a_wrong_client_secret(tmp_path: Path, idp: FakeOidcProvider) -> None:
    with TestClient(oidc_app(tmp_path, idp, client_secret="wrong")) as client:
        assert sign_in(client).status_code == 401


@pytest.mark.parametrize(
    ("given", "safe"),
    [("/c/1", "/c/1"), ("//evil.example", "/"), ("https://evil.example", "/"), ("/\\evil", "/"), (None, "/")],
)
def test_next_is_always_a_local_path(given: str | None, safe: str) -> None:
    assert local_path(given) == safe
