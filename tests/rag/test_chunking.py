from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from rag.chunking import ChunkingConfig, chunk_document, count_tokens, parse_blocks
from rag.types import SourceDocument

CFG = ChunkingConfig(target_tokens=60, max_tokens=90, overlap_tokens=10, min_tokens=15)


def _doc(text: str, kind: str = "markdown") -> SourceDocument:
    return SourceDocument(
        source="folder:t", external_id="a/b.md", title="Title", text=text, kind=kind, lang="en"
    )


_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzабвгд", min_size=1, max_size=12)
_sentence = st.lists(_word, min_size=1, max_size=40).map(lambda ws: " ".join(ws) + ".")
_para = st.lists(_sentence, min_size=1, max_size=8).map(" ".join)
_heading = st.tuples(st.integers(1, 4), st.lists(_word, min_size=1, max_size=4)).map(
    lambda t: "#" * t[0] + " " + " ".join(t[1])
)
_code = st.lists(st.lists(_word, min_size=0, max_size=10).map(" ".join), min_size=1, max_size=60).map(
    lambda lines: "```\n" + "\n".join(lines) + "\n```"
)
_table = st.lists(st.lists(_word, min_size=2, max_size=3), min_size=1, max_size=30).map(
    lambda rows: "| a | b |\n|---|---|\n" + "\n".join("| " + " | ".join(r) + " |" for r in rows)
)
_markdown = st.lists(st.one_of(_para, _heading, _code, _table, _para), min_size=1, max_size=25).map(
    "\n\n".join
)


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def _assert_invariants(text: str, kind: str) -> None:
    chunks = chunk_document(_doc(text, kind), cfg=CFG)
    joined = "\n".join(c.text for c in chunks)
    # no text lost: every line of the source (whitespace-normalised) is in some chunk, in order of words
    for line in text.splitlines():
        for piece in re.split(r"(?<=[.!?…])\s+", line.strip()):
            if piece.strip():
                assert " ".join(piece.split()) in " ".join(joined.split()), piece
    # no chunk over the limit, except one holding a single oversized code block
    for c in chunks:
        if count_tokens(c.text) > CFG.max_tokens:
            codes = [b for b in parse_blocks(c.text) if b.kind == "code"]
            assert len(codes) == 1 and count_tokens(codes[0].text) > CFG.max_tokens, c.text
    assert len({c.chunk_id for c in chunks}) == len(chunks)


@settings(max_examples=150, deadline=None)
@given(_markdown)
def test_markdown_no_text_lost_and_limits(text: str) -> None:
    _assert_invariants(text, "markdown")


@settings(max_examples=60, deadline=None)
@given(_markdown)
def test_faq_no_text_lost_and_limits(text: str) -> None:
    _assert_invariants(text, "faq")


@settings(max_examples=60, deadline=None)
@given(st.lists(_para, min_size=1, max_size=20).map("\n\n".join))
def test_plain_text_no_text_lost_and_limits(text: str) -> None:
    _assert_invariants(text, "text")


def test_code_block_and_table_kept_whole_with_breadcrumb() -> None:
    code = "```bash\n" + "\n".join(f"werf converge --step {i}" for i in range(40)) + "\n```"
    table = "| flag | meaning |\n|---|---|\n| --dev | dev mode |"
    text = f"# Title\n\n## Deploy\n\nSome intro text.\n\n### Flags\n\n{code}\n\n{table}\n"
    chunks = chunk_document(_doc(text), cfg=CFG)
    holding = [c for c in chunks if "werf converge --step 0" in c.text]
    assert len(holding) == 1 and code in holding[0].text
    assert holding[0].breadcrumb == ["Deploy", "Flags"]  # the H1 equal to the title is dropped
    assert any(table in c.text for c in chunks)
    assert all(c.index_text().startswith("Title") for c in chunks)


def test_faq_one_question_per_chunk() -> None:
    text = "## FAQ\n\n### How do I install?\n\nRun the script.\n\n### How do I remove it?\n\nDelete it.\n"
    chunks = chunk_document(_doc(text, "faq"), cfg=CFG)
    assert [c.breadcrumb[-1] for c in chunks] == ["How do I install?", "How do I remove it?"]
    assert "Run the script." in chunks[0].text and "Delete it." in chunks[1].text


def test_chunk_ids_are_deterministic_uuids() -> None:
    text = "# A\n\npara one.\n\n# B\n\npara two."
    a = chunk_document(_doc(text), doc_id="doc-1")
    b = chunk_document(_doc(text), doc_id="doc-1")
    c = chunk_document(_doc(text), doc_id="doc-2")
    assert [x.chunk_id for x in a] == [x.chunk_id for x in b]
    assert not {x.chunk_id for x in a} & {x.chunk_id for x in c}
    assert all(re.fullmatch(r"[0-9a-f-]{36}", x.chunk_id) for x in a)
