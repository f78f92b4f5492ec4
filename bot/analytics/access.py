"""Who may see which page in analytics: restricted-page details never reach an admin who could not read them.

Analytics shows page titles and links (most cited, most 👎, nearest pages of a gap), never page text. A
``PageVisibility`` says which of those documents a viewer may read; the default ``OpenPages`` admits all
(folder sources have no permissions). The Confluence source plugs its read restrictions in here: a page the
viewer may not read is listed as "restricted page", without its title, link or path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Viewer:
    """The person looking at analytics: a web chat admin, or an API token holder (``email`` unknown)."""

    name: str
    email: str | None = None


class PageVisibility(Protocol):
    async def readable(self, viewer: Viewer, doc_ids: Sequence[str]) -> set[str]:
        """The subset of ``doc_ids`` that ``viewer`` may read."""
        ...


class OpenPages:
    """Every page is readable (sources without permissions)."""

    async def readable(self, viewer: Viewer, doc_ids: Sequence[str]) -> set[str]:
        return set(doc_ids)


RESTRICTED = {"title": None, "url": None, "path": None, "restricted": True}


async def redact_pages(
    visibility: PageVisibility, viewer: Viewer, rows: Iterable[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``rows`` (each with a ``doc_id``) with the details of pages ``viewer`` may not read blanked out."""
    rows = list(rows)
    ids = [str(r["doc_id"]) for r in rows if r.get("doc_id")]
    allowed = await visibility.readable(viewer, ids) if ids else set()
    out = []
    for row in rows:
        if row.get("doc_id") and str(row["doc_id"]) not in allowed:
            out.append({**row, **RESTRICTED, "doc_id": None})
        else:
            out.append({**row, "restricted": False})
    return out
