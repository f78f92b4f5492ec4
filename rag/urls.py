"""The one rule for links we render: absolute ``http(s)`` URLs only (no ``javascript:``, ``data:``, ...)."""

from __future__ import annotations

import re

# scheme, then a host; no whitespace, quotes, angle brackets or control characters anywhere
_HTTP_URL = re.compile(r"^https?://[^\s<>\"'`|\\\x00-\x1f\x7f]+$", re.IGNORECASE)
MAX_URL = 2048


def http_url(value: object) -> str | None:
    """``value`` when it is a plain absolute http(s) URL, else ``None`` (the source is shown unlinked)."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    if len(url) > MAX_URL or not _HTTP_URL.match(url):
        return None
    return url
