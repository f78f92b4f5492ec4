"""Restricted pages in analytics: never shown to an admin who could not read them.

Analytics shows page titles and links (most cited, most 👎, nearest pages of a gap), never page text. Every
page row carries the page's readers as the answer stored them (``access``: principals of ``rag.access``;
empty for a public page). A viewer holds an ``AccessScope`` — for a web chat admin the one Confluence gives
their e-mail (``ConfluenceAccess``), for an API token public pages only — and a page the scope may not read
is listed as "restricted page", without its title, link or path. The readers themselves are never shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rag.access import AccessScope, allowed


@dataclass(frozen=True, slots=True)
class Viewer:
    """The person looking at analytics, with the pages they may read."""

    name: str
    email: str | None = None
    scope: AccessScope = field(default_factory=AccessScope)


RESTRICTED = {"doc_id": None, "title": None, "url": None, "path": None, "restricted": True}


def redact_pages(viewer: Viewer, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` with the details of pages ``viewer`` may not read blanked out, and readers dropped."""
    out = []
    for row in rows:
        readers = row.get("access") or None
        clean = {k: v for k, v in row.items() if k != "access"}
        if allowed(list(readers) if readers else None, viewer.scope):
            out.append({**clean, "restricted": False})
        else:
            out.append({**clean, **RESTRICTED})
    return out
