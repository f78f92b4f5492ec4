"""OpenID Connect sign-in for the web chat: the authorization code flow with PKCE (S256), via authlib.

``GET /api/v1/web/oidc/login?next=/path`` sends the browser to the provider with a fresh ``state``, ``nonce``
and PKCE challenge, kept in a short-lived signed cookie. ``GET /api/v1/web/oidc/callback`` checks ``state``,
trades the code (with the PKCE verifier) for tokens, verifies the ID token (signature against the provider's
JWKS, issuer, audience, expiry, nonce), then sets the web chat's session cookie for ``oidc:<sub>`` and sends
the browser back to ``next`` (a local path only).
"""

from __future__ import annotations

import hmac
import time
from typing import TYPE_CHECKING, Any

import httpx
import structlog
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from itsdangerous import BadSignature
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from adapters.webchat.auth import COOKIE, COOKIE_MAX_AGE, clean_name
from adapters.webchat.texts import both
from bot.config import OidcSettings
from bot.errors import OporaError

if TYPE_CHECKING:
    from adapters.webchat.chat import WebChat

log = structlog.get_logger(__name__)
FLOW_COOKIE = "opora_oidc"
FLOW_MAX_AGE = 600  # seconds a sign-in may take at the provider
METADATA_TTL = 3600.0
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]


class SignInFailed(OporaError):
    code = "unauthorized"
    status = 401


def local_path(value: str | None) -> str:
    """``value`` when it is a path on this site, else ``/`` (no open redirects: ``//evil``, ``https://``)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


class OidcClient:
    """The provider's metadata and keys (cached), and the two halves of the flow."""

    def __init__(self, settings: OidcSettings) -> None:
        assert settings.issuer and settings.client_id
        self.settings = settings
        self.issuer = settings.issuer.rstrip("/")
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._fetched = 0.0

    async def metadata(self, *, refresh: bool = False) -> dict[str, Any]:
        if refresh or self._metadata is None or time.monotonic() - self._fetched > METADATA_TTL:
            async with httpx.AsyncClient(timeout=self.settings.timeout) as http:
                meta = (await http.get(f"{self.issuer}/.well-known/openid-configuration")).raise_for_status()
                self._metadata = meta.json()
                jwks = (await http.get(self._metadata["jwks_uri"])).raise_for_status()
                self._keys = KeySet.import_key_set(jwks.json())
            self._fetched = time.monotonic()
        assert self._metadata is not None
        return self._metadata

    def _client(self, redirect_uri: str) -> AsyncOAuth2Client:
        secret = self.settings.client_secret
        return AsyncOAuth2Client(
            client_id=self.settings.client_id,
            client_secret=secret.get_secret_value() if secret else None,
            scope=self.settings.scopes,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic" if secret else "none",
            timeout=self.settings.timeout,
        )

    async def authorization_url(self, redirect_uri: str) -> tuple[str, dict[str, str]]:
        """Where to send the browser, and the flow's secrets to keep until the callback."""
        meta = await self.metadata()
        verifier, nonce = generate_token(64), generate_token(24)
        async with self._client(redirect_uri) as client:
            url, state = client.create_authorization_url(
                meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce
            )
        return url, {"state": state, "verifier": verifier, "nonce": nonce, "redirect_uri": redirect_uri}

    async def finish(self, code: str, flow: dict[str, str]) -> dict[str, Any]:
        """Trade ``code`` for tokens and return the verified ID token's claims."""
        meta = await self.metadata()
        async with self._client(flow["redirect_uri"]) as client:
            token = await client.fetch_token(
                meta["token_endpoint"],
                code=code,
                code_verifier=flow["verifier"],
                grant_type="authorization_code",
            )
        id_token = token.get("id_token")
        if not id_token:
            raise ValueError("the provider returned no id_token")
        try:
            claims = self._verify(id_token, flow["nonce"])
        except JoseError:  # perhaps the provider rotated its keys: fetch them once more
            await self.metadata(refresh=True)
            claims = self._verify(id_token, flow["nonce"])
        return claims

    def _verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        assert self._keys is not None
        decoded = jwt.decode(id_token, self._keys, algorithms=ALGORITHMS)
        jwt.JWTClaimsRegistry(
            leeway=60,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.settings.client_id},
            sub={"essential": True},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(decoded.claims)
        return dict(decoded.claims)


def build_router(chat: WebChat, route_class: type[APIRoute]) -> APIRouter:
    """The two OIDC routes, under the web chat's router (mounted only in ``oidc`` mode)."""
    router = APIRouter(prefix="/oidc", route_class=route_class, include_in_schema=False)
    settings = chat.settings.oidc
    client = OidcClient(settings)

    def redirect_uri(request: Request) -> str:
        return settings.redirect_url or str(request.url_for("oidc_callback"))

    @router.get("/login")
    async def login(request: Request, next: str | None = None) -> RedirectResponse:
        url, flow = await client.authorization_url(redirect_uri(request))
        flow["next"] = local_path(next)
        response = RedirectResponse(url, status_code=302)
        response.set_cookie(
            FLOW_COOKIE,
            (await chat.auth.serializer()).dumps(flow, salt="opora-oidc-flow"),
            max_age=FLOW_MAX_AGE,
            httponly=True,
            samesite="lax",  # the provider's redirect back is a top-level GET: Lax cookies come along
            secure=request.url.scheme == "https",
            path="/api/v1/web/oidc",
        )
        return response

    @router.get("/callback", name="oidc_callback")
    async def callback(
        request: Request, code: str | None = None, state: str | None = None, error: str | None = None
    ) -> RedirectResponse:
        try:
            flow = (await chat.auth.serializer()).loads(
                request.cookies.get(FLOW_COOKIE, ""), salt="opora-oidc-flow", max_age=FLOW_MAX_AGE
            )
        except BadSignature:
            flow = None
        if error or not code or not state or not isinstance(flow, dict):
            log.info("webchat.oidc_refused", reason=error or "no code, state or flow cookie")
            raise SignInFailed(*both("oidc_failed"))
        if not hmac.compare_digest(str(flow.get("state", "")), state):
            log.warning("webchat.oidc_state_mismatch")
            raise SignInFailed(*both("oidc_failed"))
        try:
            claims = await client.finish(code, flow)
        except Exception as exc:  # the provider's answer is not trusted: any failure is a refusal
            log.warning("webchat.oidc_failed", error=type(exc).__name__, detail=str(exc)[:200])
            raise SignInFailed(*both("oidc_failed")) from exc
        email = claims.get("email") if isinstance(claims.get("email"), str) else None
        shown = next(
            (claims[k] for k in (settings.name_claim, "name", "email") if isinstance(claims.get(k), str)),
            str(claims["sub"]),
        )
        name = clean_name(shown) or str(claims["sub"])[:64]
        external = f"oidc:{claims['sub']}"[:255]
        user = await chat.auth.user_for(external, name, email)
        log.info("webchat.oidc_signed_in", user_id=user.id)
        response = RedirectResponse(local_path(flow.get("next")), status_code=302)
        response.set_cookie(
            COOKIE,
            await chat.auth.cookie_for_oidc(external, name, email),
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )
        response.delete_cookie(FLOW_COOKIE, path="/api/v1/web/oidc")
        return response

    return router
