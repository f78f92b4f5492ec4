"""A folder of Markdown, text and HTML files as ``SourceDocument``s."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import frontmatter
import structlog

from rag.language import lang_by_letters
from rag.loaders.html import html_to_markdown
from rag.loaders.markup import clean_html
from rag.types import SourceDocument
from rag.urls import http_url

log = structlog.get_logger(__name__)

SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".html": "html", ".htm": "html"}
_SHORTCODE = re.compile(r"\{\{[<%].*?[%>]\}\}", re.DOTALL)  # Hugo {{< x >}} / {{% x %}}, not Go {{ .X }}
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
# Markdown heading attributes: "## Storage backends {#storage-backends}" (Hugo, Pandoc, kramdown)
_HEADING_ATTRS = re.compile(r"^(#{1,6}\s.*?)\s*\{[#.][^{}\n]*\}[ \t]*$", re.MULTILINE)
_H1 = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)
_LANGS = {"en", "ru"}


def detect_lang(text: str) -> str:
    """Guess ``ru`` or ``en`` from the share of Cyrillic among the letters."""
    return lang_by_letters(text) or "en"


def _lang_from_path(rel: Path) -> str | None:
    for part in rel.parts[:-1]:
        if part.lower() in _LANGS:
            return part.lower()
    return None


def _is_faq(rel: Path, meta: dict[str, object]) -> bool:
    if str(meta.get("kind", "")).lower() == "faq" or str(meta.get("type", "")).lower() == "faq":
        return True
    return any(p.lower() in {"faq", "faqs"} for p in rel.parts[:-1]) or rel.stem.lower() in {"faq", "faqs"}


def clean_markup(text: str) -> str:
    """Strip Hugo shortcodes, HTML comments, heading attributes ``{#id}`` and embedded HTML widgets
    (``rag.loaders.markup``); Go template ``{{ .Values.x }}`` stays."""
    text = _COMMENT.sub("", text)
    text = _SHORTCODE.sub("", text)
    text = clean_html(text)
    text = _HEADING_ATTRS.sub(r"\1", text)
    return text.strip() + "\n"


def parse_file(root: Path, file: Path, source: str, raw: bytes) -> SourceDocument:
    """Turn one file's bytes into a ``SourceDocument`` (pure, runs in a worker thread)."""
    rel = file.relative_to(root)
    kind = SUFFIXES[file.suffix.lower()]
    decoded = raw.decode("utf-8", errors="replace")
    meta: dict[str, object] = {}
    title: str | None = None
    if kind == "html":
        title, body = html_to_markdown(decoded)
        kind = "markdown"
    elif kind == "markdown" or decoded.startswith("---\n"):
        post = frontmatter.loads(decoded)
        meta, body = dict(post.metadata), post.content
    else:
        body = decoded
    body = clean_markup(body)
    title = str(meta.get("title") or title or "").strip() or None
    if title is None and kind == "markdown" and (m := _H1.search(body)):
        title = m.group(1).strip()
    lang = str(meta.get("lang") or "").lower() or _lang_from_path(rel) or detect_lang(body)
    if _is_faq(rel, meta):
        kind = "faq"
    url = http_url(meta.get("source_url")) or http_url(meta.get("url"))  # javascript:, data:, ... never links
    return SourceDocument(
        source=source,
        external_id=rel.as_posix(),
        title=title or rel.stem.replace("_", " ").replace("-", " "),
        text=body,
        kind=kind,
        lang=lang,
        url=url,
        path=rel.as_posix(),
        content_hash=hashlib.sha256(raw).hexdigest(),
        meta={k: v for k, v in meta.items() if isinstance(v, str | int | float | bool)},
    )


class FolderLoader:
    """Loads every Markdown/text/HTML file under ``root`` (recursively, in path order).

    Args:
        root: The folder; ``external_id`` and ``path`` are relative to it.
        source: Source name; default ``folder:<root name>``.
        max_file_bytes: Larger files are skipped with a warning.
    """

    def __init__(self, root: Path | str, *, source: str | None = None, max_file_bytes: int = 2_000_000):
        self.root = Path(root).resolve()
        self.source = source or f"folder:{self.root.name}"
        self.max_file_bytes = max_file_bytes

    def _files(self) -> list[Path]:
        return sorted(p for p in self.root.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)

    def _read(self, file: Path) -> SourceDocument | None:
        size = file.stat().st_size
        if size > self.max_file_bytes:
            log.warning("loader.file_too_large", path=str(file), bytes=size, limit=self.max_file_bytes)
            return None
        return parse_file(self.root, file, self.source, file.read_bytes())

    async def load(self) -> AsyncIterator[SourceDocument]:
        """Yield the folder's documents; file I/O and parsing run in a worker thread."""
        if not self.root.is_dir():
            raise FileNotFoundError(f"knowledge base folder not found: {self.root}")
        files = await asyncio.to_thread(self._files)
        for file in files:
            doc = await asyncio.to_thread(self._read, file)
            if doc is not None and doc.text.strip():
                yield doc
