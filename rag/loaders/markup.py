"""Raw HTML inside Markdown pages, turned into text or dropped.

Documentation sites embed HTML widgets in their Markdown: tab buttons (``<a href="javascript:void(0)"
class="tabs__btn">werf.yaml</a>``), collapsible summaries, empty ``<img src="">`` placeholders, layout
``<div>``s, ``<link>`` tags and whole jQuery ``<script>``s. Left as they are, they are embedded, matched by
BM25 and quoted to users. Here every tag outside code is resolved: scripts, styles and images are dropped,
links keep their text (and their target when it is http(s)), list items stay list items, and every other tag
disappears while its text stays. Code (fenced blocks and inline spans) is never touched: ``<image>`` in a
YAML example is not HTML.
"""

from __future__ import annotations

import html
import re

from rag.urls import http_url

# elements whose whole content is dropped
_DROP_BLOCK = re.compile(
    r"<(script|style|noscript|svg|iframe|template|button|select)\b[^>]*>.*?</\1\s*>",
    re.IGNORECASE | re.DOTALL,
)
# void or self-contained elements that carry no text
_DROP_TAG = re.compile(r"<(img|link|meta|input|source|video|audio|embed|hr|col|wbr)\b[^>]*/?>", re.IGNORECASE)
_ANCHOR = re.compile(r"<a\b([^>]*)>(.*?)</a\s*>", re.IGNORECASE | re.DOTALL)
_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_CLASS = re.compile(r"""\bclass\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_LI = re.compile(r"<li\b[^>]*>", re.IGNORECASE)
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_BLOCK_TAG = re.compile(
    r"</?(div|p|ul|ol|li|section|article|table|thead|tbody|tr|td|th|details|summary|figure|figcaption|"
    r"span|center|label|form|nav|header|footer|aside|main|dl|dt|dd|blockquote|em|strong|b|i|u|small|sup|"
    r"sub|font|h[1-6])\b[^>]*>",
    re.IGNORECASE,
)
# only real HTML element names: "<environment_name>" in prose is a placeholder, not a tag
_HTML_NAMES = (
    "a|abbr|b|bdi|big|blockquote|br|caption|center|cite|code|col|colgroup|dd|del|details|dfn|div|dl|dt|em|"
    "figcaption|figure|font|footer|form|h[1-6]|header|i|img|ins|kbd|label|li|main|mark|nav|ol|p|pre|q|s|"
    "samp|section|small|span|strike|strong|sub|summary|sup|table|tbody|td|tfoot|th|thead|tr|tt|u|ul|var"
)
_ANY_TAG = re.compile(rf"</?({_HTML_NAMES})\b(\s[^<>]*)?/?>", re.IGNORECASE)
_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE_CODE = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_EMPTY_FENCE = re.compile(r"^[ \t]*(```|~~~)[\w+-]*[ \t]*\n(?:[ \t]*\n)*[ \t]*\1[ \t]*$", re.MULTILINE)
_HTMLISH = re.compile(
    rf"</?({_HTML_NAMES}|script|style|noscript|svg|iframe|template|button|select|link|meta|input|source|video|"
    r"audio|embed|hr|wbr)\b[^<>]*>",
    re.IGNORECASE,
)


def _anchor(match: re.Match[str]) -> str:
    attrs, inner = match.group(1), match.group(2)
    text = " ".join(_ANY_TAG.sub(" ", inner).split())
    if not text:
        return ""
    href = _HREF.search(attrs)
    target = http_url(next((g for g in href.groups() if g is not None), "")) if href else None
    cls = _CLASS.search(attrs)
    classes = (next((g for g in cls.groups() if g is not None), "") if cls else "").split()
    if any("summary" in c for c in classes):  # a collapsible section's title
        return f"\n\n{text if '*' in text else f'**{text}**'}\n\n"
    if any(c.startswith("tabs__btn") or c.endswith("-btn") for c in classes):  # a tab's label
        return f"\n\n{text if '*' in text else f'*{text}*'}\n\n"
    return f"[{text}]({target})" if target else text


def _clean_prose(text: str) -> str:
    """Resolve the HTML of a stretch of Markdown that holds no fenced code."""
    if not _HTMLISH.search(text):
        return text
    spans: list[str] = []

    def keep(m: re.Match[str]) -> str:
        spans.append(m.group(0))
        return f"\x00{len(spans) - 1}\x00"

    text = _INLINE_CODE.sub(keep, text)
    text = _DROP_BLOCK.sub("", text)
    text = _DROP_TAG.sub("", text)
    text = _ANCHOR.sub(_anchor, text)
    text = _BR.sub("\n", text)
    text = _LI.sub("\n- ", text)
    text = _BLOCK_TAG.sub("\n", text)
    text = _ANY_TAG.sub("", text)
    # HTML indentation would read as an indented code block once the tags are gone
    text = "\n".join(line.strip() for line in text.split("\n") if line.strip() not in ("-", "*"))
    text = re.sub(r"\n{3,}", "\n\n", text)
    text = re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m.group(1))], text)
    return html.unescape(text) if "&" in text else text


def _has_html(segment: list[str]) -> bool:
    return any(_HTMLISH.search(_INLINE_CODE.sub("", line)) for line in segment)


def clean_html(markdown: str) -> str:
    """``markdown`` with its embedded HTML resolved (see the module docstring); code stays verbatim.

    Only stretches that contain HTML are rewritten, so pure Markdown comes back unchanged.
    """
    if not _HTMLISH.search(markdown):
        return markdown
    out: list[str] = []
    prose: list[str] = []
    fence: str | None = None

    def flush() -> None:
        # paragraph by paragraph: one holding HTML is rewritten, the others (nested lists) stay as written
        if not prose:
            return
        text = "\n".join(prose)
        if _has_html(prose):  # a script or style may span blank lines
            text = _DROP_BLOCK.sub("", text)
        paragraphs = [_clean_prose(p) if _has_html([p]) else p for p in re.split(r"\n[ \t]*\n", text)]
        out.append("\n\n".join(p for p in paragraphs if p.strip()))
        prose.clear()

    for line in markdown.split("\n"):
        m = _FENCE.match(line)
        if fence is None:
            if m:
                flush()
                fence = m.group(1)
                out.append(line)
            else:
                prose.append(line)
        else:
            out.append(line)
            if m and m.group(1) == fence and line.strip().strip("`~") == "":
                fence = None
    flush()
    text = "\n".join(out)
    # site templates leave empty code blocks behind once their loops are rendered without data
    text = _EMPTY_FENCE.sub("", text)
    return re.sub(r"\n{3,}", "\n\n", text)
