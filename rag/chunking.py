"""Structure-aware chunking: Markdown by headings, plain text by paragraphs, FAQ pages by Q/A pair.

Fenced code blocks and tables are atomic blocks; every chunk carries the page title and its heading path
(breadcrumb). Sizes are counted in approximate model tokens (words and punctuation marks).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass

from rag.types import Chunk, SourceDocument

CHUNK_NAMESPACE = uuid.UUID("7b0f7c64-3f0c-4e53-9a55-3f1f2f4a0c11")
_TOKEN = re.compile(r"\w+|[^\w\s]")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_SENTENCE = re.compile(r"(?<=[.!?…])\s+|\n")


def count_tokens(text: str) -> int:
    """Approximate model tokens: words and punctuation marks."""
    return len(_TOKEN.findall(text))


@dataclass(frozen=True, slots=True)
class ChunkingConfig:
    target_tokens: int = 300
    max_tokens: int = 400
    overlap_tokens: int = 40
    min_tokens: int = 60  # a smaller section is merged with the next one


@dataclass(slots=True)
class Block:
    text: str
    kind: str  # "heading" | "code" | "table" | "para"
    path: tuple[str, ...]  # heading path this block lives under


def parse_blocks(text: str) -> list[Block]:
    """Split Markdown into headings, fenced code, tables and paragraphs, each with its heading path."""
    blocks: list[Block] = []
    path: list[tuple[int, str]] = []
    lines = text.splitlines()
    para: list[str] = []

    def crumbs() -> tuple[str, ...]:
        return tuple(t for _, t in path)

    def flush() -> None:
        if any(s.strip() for s in para):
            blocks.append(Block("\n".join(para).strip("\n"), "para", crumbs()))
        para.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            flush()
            mark, j = fence.group(1), i + 1
            while j < len(lines) and not lines[j].lstrip().startswith(mark):
                j += 1
            blocks.append(Block("\n".join(lines[i : j + 1]), "code", crumbs()))
            i = j + 1
            continue
        heading = _HEADING.match(line)
        if heading and heading.group(2):
            flush()
            level = len(heading.group(1))
            while path and path[-1][0] >= level:
                path.pop()
            path.append((level, heading.group(2).strip()))
            blocks.append(Block(line.strip(), "heading", crumbs()))
        elif line.lstrip().startswith("|"):
            flush()
            j = i
            while j < len(lines) and lines[j].lstrip().startswith("|"):
                j += 1
            blocks.append(Block("\n".join(lines[i:j]), "table", crumbs()))
            i = j
            continue
        elif not line.strip():
            flush()
        else:
            para.append(line)
        i += 1
    flush()
    return blocks


def _split_long(block: Block, cfg: ChunkingConfig) -> list[Block]:
    """Split an oversized paragraph by sentences/lines, a table by rows (header repeated)."""
    if block.kind == "code" or count_tokens(block.text) <= cfg.max_tokens:
        return [block]
    if block.kind == "table":
        rows = block.text.split("\n")
        head = rows[:2] if len(rows) > 2 and set(rows[1].replace("|", "").strip()) <= set("-: ") else rows[:1]
        pieces: list[Block] = []
        cur: list[str] = []
        for row in rows[len(head) :]:
            if cur and count_tokens("\n".join(head + cur + [row])) > cfg.max_tokens:
                pieces.append(Block("\n".join(head + cur), "table", block.path))
                cur = []
            cur.append(row)
        pieces.append(Block("\n".join(head + cur), "table", block.path))
        return [p for p in pieces if count_tokens(p.text) <= cfg.max_tokens] or [block]
    units: list[str] = []  # lines; an overlong line by sentences; an endless sentence by words
    for line in block.text.split("\n"):
        if count_tokens(line) <= cfg.max_tokens:
            units.append(line)
            continue
        for sentence in (s for s in re.split(r"(?<=[.!?…])\s+", line) if s.strip()):
            words = sentence.split(" ")
            while count_tokens(" ".join(words)) > cfg.max_tokens:
                k = len(words) // 2
                while k > 1 and count_tokens(" ".join(words[:k])) > cfg.max_tokens:
                    k //= 2
                units.append(" ".join(words[:k]))
                words = words[k:]
            units.append(" ".join(words))
    out: list[Block] = []
    cur: list[str] = []
    for unit in units:
        if cur and count_tokens("\n".join([*cur, unit])) > cfg.target_tokens:
            out.append(Block("\n".join(cur), "para", block.path))
            cur = []
        cur.append(unit)
    if cur:
        out.append(Block("\n".join(cur), "para", block.path))
    return out


def _tail(text: str, tokens: int) -> str:
    """The last sentence(s) of ``text`` within ``tokens``, for overlap."""
    sentences = [s for s in _SENTENCE.split(text) if s.strip()]
    out: list[str] = []
    for s in reversed(sentences):
        if count_tokens(" ".join([s, *out])) > tokens:
            break
        out.insert(0, s)
    return " ".join(out)


def pack(
    blocks: list[Block], cfg: ChunkingConfig, *, hard_breaks: bool = False
) -> list[tuple[tuple[str, ...], str]]:
    """Greedily pack blocks into ``(breadcrumb, text)`` pieces of about ``target_tokens``.

    A heading starts a new piece unless the current one is still under ``min_tokens`` (then small sections
    merge, their heading lines kept in the text); with ``hard_breaks`` (FAQ) every heading does.
    Overlap: the tail of the previous piece when a paragraph is cut.
    """
    pieces: list[tuple[tuple[str, ...], str]] = []
    cur: list[Block] = []

    def size(bs: list[Block]) -> int:
        return count_tokens("\n\n".join(b.text for b in bs))

    def emit() -> None:
        if cur:
            path = next((b.path for b in cur if b.kind != "heading"), cur[0].path)
            pieces.append((path, "\n\n".join(b.text for b in cur)))
        cur.clear()

    for raw in blocks:
        for block in _split_long(raw, cfg):
            has_body = any(b.kind != "heading" for b in cur)
            if block.kind == "heading" and has_body and (hard_breaks or size(cur) >= cfg.min_tokens):
                emit()
            if cur and size([*cur, block]) > cfg.max_tokens:
                heads: list[Block] = []
                while cur and cur[-1].kind == "heading":  # a heading travels with its body
                    heads.insert(0, cur.pop())
                prev = cur[-1] if cur else None
                emit()
                cur.extend(heads)
                if prev and prev.kind == "para" and block.kind == "para" and prev.path == block.path:
                    tail = _tail(prev.text, cfg.overlap_tokens)
                    if tail and size([Block(tail, "para", block.path), block]) <= cfg.max_tokens:
                        cur.append(Block(tail, "para", block.path))
                oversized_code = block.kind == "code" and count_tokens(block.text) > cfg.max_tokens
                if cur and size([*cur, block]) > cfg.max_tokens and not oversized_code:
                    emit()  # only headings left and the block is near the limit on its own
            cur.append(block)
    emit()
    return pieces


def _plain_blocks(text: str) -> list[Block]:
    return [Block(p.strip("\n"), "para", ()) for p in re.split(r"\n\s*\n", text) if p.strip()]


def chunk_document(
    doc: SourceDocument, doc_id: str | None = None, cfg: ChunkingConfig | None = None
) -> list[Chunk]:
    """Chunk one document with the strategy of its ``kind`` (markdown/html, text, faq).

    Args:
        doc: The loaded document.
        doc_id: The catalog's id for it (default: ``external_id``); part of every chunk id.
        cfg: Sizes; defaults target ~300 tokens, at most 400.
    """
    cfg = cfg or ChunkingConfig()
    doc_id = doc_id or doc.external_id
    if doc.kind == "text":
        pieces = pack(_plain_blocks(doc.text), cfg)
    else:
        pieces = pack(parse_blocks(doc.text), cfg, hard_breaks=doc.kind == "faq")
    chunks: list[Chunk] = []
    for ordinal, (path, text) in enumerate(pieces):
        crumbs = list(path)
        if crumbs and crumbs[0].strip().lower() == doc.title.strip().lower():
            crumbs = crumbs[1:]  # an H1 repeating the title adds nothing
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        chunks.append(
            Chunk(
                chunk_id=str(uuid.uuid5(CHUNK_NAMESPACE, f"{doc_id}:{ordinal}:{digest}")),
                doc_id=doc_id,
                ordinal=ordinal,
                text=text,
                title=doc.title,
                breadcrumb=crumbs,
                lang=doc.lang,
                url=doc.url,
                path=doc.path,
                source=doc.source,
            )
        )
    return chunks


CARD_TOKENS = 160


def document_card(doc: SourceDocument, chunks: list[Chunk], max_tokens: int = CARD_TOKENS) -> Chunk | None:
    """A page's card: its title, heading outline and first paragraph, as one extra point for ranking.

    The card lets a page whose title and headings match the question win over a broad page that merely
    mentions the terms. It shares the page's ``doc_id`` (deleted with it) and is never shown as a passage.
    """
    if not chunks or doc.kind == "text":
        return None
    blocks = parse_blocks(doc.text)
    title = doc.title.strip().lower()
    heads = list(
        dict.fromkeys(
            b.path[-1] for b in blocks if b.kind == "heading" and b.path and b.path[-1].lower() != title
        )
    )
    first = next((b.text for b in blocks if b.kind == "para"), "")
    parts = [" · ".join(heads), first]
    text = ""
    for part in (p for p in parts if p.strip()):
        room = max_tokens - count_tokens(text)
        if room <= 0:
            break
        words = part.split()
        while words and count_tokens(" ".join(words)) > room:
            words = words[: len(words) * 9 // 10]
        if words:
            text = f"{text}\n{' '.join(words)}" if text else " ".join(words)
    doc_id = chunks[0].doc_id
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return Chunk(
        chunk_id=str(uuid.uuid5(CHUNK_NAMESPACE, f"{doc_id}:card:{digest}")),
        doc_id=doc_id,
        ordinal=-1,
        text=text,
        title=doc.title,
        breadcrumb=[],
        lang=doc.lang,
        url=doc.url,
        path=doc.path,
        source=doc.source,
        version=chunks[0].version,
        kind="card",
    )
