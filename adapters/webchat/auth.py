"""Who is asking: a signed session cookie (embedded default) or an authenticating reverse proxy's headers.

``name`` mode: the user signs in with a name and gets a cookie signed with ``itsdangerous``; the secret comes
from config or is generated once and stored in the database (``kv_settings``) so replicas share it. This is
identification, not authentication: it suits a trusted network or a single developer.

``proxy`` mode: an authenticating proxy (oauth2-proxy, ...) in front of Opora sets ``X-Forwarded-User`` and
``X-Forwarded-Email``; they are believed only when the TCP peer (``adapters.edge.peer_of``, recorded before
any forwarded header is applied) is one of ``trusted_proxies``.

``oidc`` mode: the user signs in at the company's OpenID Connect provider (``adapters/webchat/oidc.py``);
the same signed cookie then carries the provider's subject, and only cookies minted by that flow count.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

import structlog
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import HTTPConnection

from adapters.edge import TrustedProxies, peer_of
from bot.config import WebChatSettings
from bot.types import Platform, UserRef
from storage.db import Database
from storage.repositories import kv, users

log = structlog.get_logger(__name__)
COOKIE = "opora_session"
COOKIE_MAX_AGE = 30 * 24 * 3600
SECRET_KEY = "webchat.session_secret"
MAX_NAME = 64


@dataclass(frozen=True, slots=True)
class WebUser:
    """A signed-in web chat user (``id`` is the ``users`` row)."""

    id: int
    external_id: str
    name: str
    email: str | None
    is_admin: bool

    def ref(self) -> UserRef:
        name, email = self.name, self.email
        return UserRef(platform=Platform.WEB, external_id=self.external_id, display_name=name, email=email)

    def public(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "email": self.email, "is_admin": self.is_admin}


def clean_name(name: str) -> str | None:
    """The name as it will be shown, or ``None`` when it is empty or too long."""
    cleaned = " ".join(name.replace("\x00", "").split())
    return cleaned if 0 < len(cleaned) <= MAX_NAME else None


class Auth:
    def __init__(self, settings: WebChatSettings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self._serializer: URLSafeTimedSerializer | None = None
        self._lock = asyncio.Lock()
        self._users: dict[tuple[str, str, str | None], WebUser] = {}
        self._proxies = TrustedProxies(settings.trusted_proxies)
        self._admins = {a.strip().casefold() for a in settings.admins}

    @property
    def mode(self) -> str:
        return self.settings.auth

    async def serializer(self) -> URLSafeTimedSerializer:
        """The cookie signer; the secret is read (or generated and stored) once."""
        if self._serializer is None:
            async with self._lock:
                if self._serializer is None:
                    configured = self.settings.session_secret
                    if configured is not None:
                        secret = configured.get_secret_value()
                    else:
                        async with self.db.session() as s:
                            secret = await kv.get_or_set(s, key=SECRET_KEY, default=secrets.token_urlsafe(32))
                        log.info("webchat.secret_loaded", source="database")
                    self._serializer = URLSafeTimedSerializer(secret, salt="opora-webchat")
        return self._serializer

    async def cookie_for(self, name: str) -> str:
        return (await self.serializer()).dumps({"u": name.casefold(), "n": name})

    async def cookie_for_oidc(self, external_id: str, name: str, email: str | None) -> str:
        return (await self.serializer()).dumps({"u": external_id, "n": name, "e": email, "m": "oidc"})

    def trusted(self, host: str | None) -> bool:
        return host in self._proxies

    def trusted_peer(self, conn: HTTPConnection) -> bool:
        """Whether the TCP peer of ``conn`` is a trusted reverse proxy."""
        return self.trusted(peer_of(conn))

    async def identify(self, conn: HTTPConnection) -> WebUser | None:
        """The user behind a request or WebSocket handshake, or ``None``."""
        if self.mode == "proxy":
            host = peer_of(conn)
            external = (conn.headers.get("x-forwarded-user") or "").strip()
            if not external:
                return None
            if not self.trusted(host):
                log.warning("webchat.untrusted_proxy_headers", peer=host)
                return None
            email = (conn.headers.get("x-forwarded-email") or "").strip() or None
            name = clean_name(conn.headers.get("x-forwarded-preferred-username") or external) or external[:64]
            return await self.user_for(external[:255], name, email)
        token = conn.cookies.get(COOKIE)
        if not token:
            return None
        try:
            data = (await self.serializer()).loads(token, max_age=COOKIE_MAX_AGE)
        except BadSignature:
            return None
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("u"), str)
            or not isinstance(data.get("n"), str)
        ):
            return None
        if (self.mode == "oidc") != (data.get("m") == "oidc"):  # a cookie counts only in its own mode
            return None
        email = data.get("e") if isinstance(data.get("e"), str) else None
        return await self.user_for(data["u"], data["n"], email)

    async def user_for(self, external_id: str, name: str, email: str | None) -> WebUser:
        key = (external_id, name, email)
        cached = self._users.get(key)
        if cached is not None:
            return cached
        is_admin = bool(self._admins & {external_id.casefold(), name.casefold(), (email or "").casefold()})
        async with self.db.session() as s:
            row = await users.get_or_create_user(
                s,
                platform=Platform.WEB,
                external_id=external_id,
                display_name=name,
                email=email,
                is_admin=is_admin,
            )
            user = WebUser(row.id, external_id, name, email, is_admin)
        if len(self._users) > 5000:
            self._users.clear()
        self._users[key] = user
        return user
