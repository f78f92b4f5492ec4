"""Web chat channel: a WebSocket JSON protocol and REST routes for the React front end (``webchat/``).

``create(services)`` returns the channel, or ``None`` when ``webchat.enabled`` is false. The protocol and
the routes are documented in ``docs/api.md``.
"""

from __future__ import annotations

from adapters.webchat.chat import WebChat
from bot.services import Services

__all__ = ["WebChat", "create"]


def create(services: Services) -> WebChat | None:
    if not services.settings.webchat.enabled:
        return None
    return WebChat(services)
