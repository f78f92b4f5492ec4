"""The canonical answer in each dialect: escaping, splitting, code blocks intact."""

from __future__ import annotations

import html
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.formatting import (
    TELEGRAM_LIMIT,
    blocks,
    canonical,
    markdown_block,
    mattermost_parts,
    slack_sections,
    split,
    telegram_parts,
)
from adapters.rendering import Draft
from bot.types import Source

HOSTILE = "Try <!channel> and <@U123> or @here, <script>alert(1)</script> & [x](javascript:alert(1))"


def _draft(text: str, **kwargs: object) -> Draft:
    return Draft(text=text, lang="en", final=True, **kwargs)  # type: ignore[arg-type]


def _fences_balanced(part: str) -> bool:
    return sum(1 for line in part.split("\n") if line.lstrip().startswith("```")) % 2 == 0


def _letters(text: str) -> str:
    kept = [line for line in text.split("\n") if not line.lstrip().startswith("```")]
    return re.sub(r"\s", "", "".join(kept))


def test_slack_escapes_mentions_html_and_bad_links() -> None:
    (out,) = slack_sections(_draft(HOSTILE))
    assert "<!channel>" not in out and "<@U123>" not in out and "<script>" not in out
    assert "&lt;!channel&gt;" in out and "&lt;script&gt;" in out and "&amp;" in out
    assert "@here" not in out  # a zero-width space breaks the mass mention
    assert "javascript:" not in out.split("|")[0] and "<javascript" not in out


def test_telegram_escapes_html_and_keeps_markup() -> None:
    (out,) = telegram_parts(_draft("**Bold** `a<b` " + HOSTILE))
    assert "<b>Bold</b>" in out and "<code>a&lt;b</code>" in out
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert 'href="javascript' not in out and "@here" not in out


def test_mattermost_escapes_html_and_mentions() -> None:
    (out,) = mattermost_parts(_draft(HOSTILE + " ![img](https://tracker.example/p.png)"))
    assert "<script>" not in out and "\\<script\\>" in out
    assert "@here" not in out and "![" not in out


def test_sources_titles_are_text_and_numbered() -> None:
    src = Source(title="Helm *guide* <b>", url="https://docs.example/helm", path=None, score=1.0)
    bad = Source(title="Evil", url="javascript:alert(1)", path=None, score=0.5)
    draft = _draft("Use helm [1].", sources=[src, bad])
    (slack,) = slack_sections(draft)
    assert "<https://docs.example/helm|" in slack and "&lt;b&gt;" in slack
    assert "*Helm" not in slack  # the title's asterisks are not bold markup
    (tg,) = telegram_parts(draft)
    assert '<a href="https://docs.example/helm">' in tg and "[2] Evil" in tg and "javascript" not in tg


def test_code_block_kept_whole_and_unescaped_in_mattermost() -> None:
    text = "Run:\n\n```bash\nhelm upgrade --install app ./chart <name>\n```\n\nDone."
    (out,) = mattermost_parts(_draft(text))
    assert "```bash\nhelm upgrade --install app ./chart <name>\n```" in out
    (tg,) = telegram_parts(_draft(text))
    expected = "helm upgrade --install app ./chart &lt;name&gt;"
    assert f'<pre><code class="language-bash">{expected}</code></pre>' in tg


def test_telegram_long_answer_split_at_4096_on_paragraphs() -> None:
    paragraphs = [f"Paragraph {i} " + "word " * 150 for i in range(12)]
    code = "```python\n" + "\n".join(f"x{i} = {i}" for i in range(400)) + "\n```"
    parts = telegram_parts(_draft("\n\n".join([*paragraphs, code, "The end."])))
    assert len(parts) > 2
    assert all(len(p) <= TELEGRAM_LIMIT for p in parts)
    assert all(p.count("<pre>") == p.count("</pre>") for p in parts)
    joined = html.unescape(re.sub(r"<[^>]+>", "", "".join(parts)))
    assert all(f"Paragraph {i} " in joined for i in range(12)) and "x399 = 399" in joined


def test_streaming_draft_marks_unfinished() -> None:
    assert canonical(Draft(text="Partial", lang="en")).endswith("…")


_word = st.text(alphabet="abcXYZ<>&*_", min_size=1, max_size=30)
_line = st.lists(_word, min_size=1, max_size=12).map(" ".join)
_paragraph = st.lists(_line, min_size=1, max_size=5).map("\n".join)
_code = st.tuples(st.sampled_from(["", "python", "bash"]), st.lists(_line, min_size=0, max_size=15)).map(
    lambda c: f"```{c[0]}\n" + "\n".join(c[1]) + "\n```"
)
_document = st.lists(st.one_of(_paragraph, _code), min_size=1, max_size=12).map("\n\n".join)


@settings(max_examples=300, deadline=None)
@given(text=_document, limit=st.integers(min_value=40, max_value=400))
def test_split_loses_no_text_and_never_cuts_inside_code(text: str, limit: int) -> None:
    parts = split(text, limit, markdown_block)
    assert all(len(p) <= limit for p in parts)
    assert all(_fences_balanced(p) for p in parts)
    assert _letters("\n".join(parts)) == _letters(text)
    code_in = [b.text for b in blocks(text) if b.kind == "code"]
    code_out = [b.text for p in parts for b in blocks(p) if b.kind == "code"]
    assert _letters("\n".join(code_out)) == _letters("\n".join(code_in))  # code stays code


@settings(max_examples=100, deadline=None)
@given(text=_document)
def test_telegram_parts_fit_and_balance(text: str) -> None:
    parts = telegram_parts(_draft(text), limit=300)
    assert all(len(p) <= 300 for p in parts)
    assert all(p.count("<pre>") == p.count("</pre>") for p in parts)
