"""One canonical answer (Markdown with [n] citations and sources) in each messenger's dialect.

Everything that is not the answer's own markup is text: document titles, user words echoed back, raw HTML,
mentions (``<!channel>``, ``@here``) come out inert. Long answers are split on paragraph and code-block
boundaries; a code block longer than a message is cut between lines and each piece is fenced again, so no
message ever holds half a fence.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass

from adapters.rendering import Draft
from bot.texts import t
from rag.urls import http_url

Render = Callable[[str], str]
TELEGRAM_LIMIT = 4096
MATTERMOST_LIMIT = 16383
SLACK_SECTION_LIMIT = 3000  # a Block Kit section's text
ZWSP = "\u200b"

_FENCE = re.compile(r"^\s*(```|~~~)(.*)$")
_MASS_MENTION = re.compile(r"@(?=(here|channel|everyone|all)\b)", re.IGNORECASE)
_ANY_MENTION = re.compile(r"(?<![\w/])@(?=[A-Za-z0-9_][\w.\-]*)")
_MD_SPECIALS = re.compile(r"([\\`*_\[\]()#+\-.!<>|~])")
_INLINE = re.compile(
    r"\\(?P<esc>[\\`*_{}\[\]()#+\-.!<>|~])"
    r"|`(?P<code>[^`\n]+)`"
    r"|!?\[(?P<ltext>[^\]\n]+)\]\((?P<url>(?:[^()\s]|\([^()\s]*\))+)\)"
    r"|\*\*(?P<bold>[^\n]+?)\*\*"
    r"|~~(?P<strike>[^\n]+?)~~"
    r"|(?<![\w*])\*(?P<ital>[^*\n]+?)\*(?![\w*])"
    r"|(?<![\w_])_(?P<ital2>[^_\n]+?)_(?![\w_])"
)
_MM_SPECIALS = re.compile(r"([\\`*_\[\]<>~|])")


@dataclass(frozen=True, slots=True)
class Block:
    kind: str  # "text" | "code"
    text: str  # a code block's body, without its fences
    lang: str = ""


def escape_markdown(text: str) -> str:
    """Plain text (a title, a user's words) as canonical Markdown that renders exactly as written."""
    return _MD_SPECIALS.sub(r"\\\1", text)


def blocks(markdown: str) -> list[Block]:
    """Paragraphs and fenced code blocks, in order (an unclosed fence runs to the end)."""
    out: list[Block] = []
    para: list[str] = []
    code: list[str] | None = None
    lang = ""

    def flush() -> None:
        if any(line.strip() for line in para):
            out.append(Block("text", "\n".join(para).strip("\n")))
        para.clear()

    for line in markdown.split("\n"):
        fence = _FENCE.match(line)
        if code is not None:
            if fence and not fence.group(2).strip():
                out.append(Block("code", "\n".join(code), lang))
                code = None
            else:
                code.append(line)
        elif fence:
            flush()
            code, lang = [], fence.group(2).strip().split(" ")[0]
        elif not line.strip():
            flush()
        else:
            para.append(line)
    if code is not None:
        out.append(Block("code", "\n".join(code), lang))
    flush()
    return out


def _pieces(block: Block, fits: Callable[[Block], bool]) -> list[Block]:
    """``block`` cut into pieces that fit: between lines, then after spaces, then anywhere."""
    if fits(block):
        return [block]
    lines = block.text.split("\n")
    sep, units = ("\n", lines) if len(lines) > 1 else ("", [w for w in re.split(r"(?<= )", block.text) if w])
    if len(units) == 1:
        return _hard(block, fits)
    out: list[Block] = []
    current: list[str] = []
    for unit in units:
        if current and not fits(Block(block.kind, sep.join([*current, unit]), block.lang)):
            out.extend(_pieces(Block(block.kind, sep.join(current), block.lang), fits))
            current = [unit]
        else:
            current.append(unit)
    out.extend(_pieces(Block(block.kind, sep.join(current), block.lang), fits))
    return out


def _hard(block: Block, fits: Callable[[Block], bool]) -> list[Block]:
    out, text = [], block.text
    while text:
        size = len(text)
        while size > 1 and not fits(Block(block.kind, text[:size], block.lang)):
            size = max(1, size * 3 // 4)
        out.append(Block(block.kind, text[:size], block.lang))
        text = text[size:]
    return out


def markdown_block(block: Block) -> str:
    """One block as canonical Markdown again (a code block re-fenced)."""
    return f"```{block.lang}\n{block.text}\n```" if block.kind == "code" else block.text


def split(markdown: str, limit: int, render_block: Callable[[Block], str], sep: str = "\n\n") -> list[str]:
    """Render ``markdown`` block by block and pack the results into messages of at most ``limit``."""
    parts: list[str] = []
    current = ""
    for block in blocks(markdown):
        for piece in _pieces(block, lambda b: len(render_block(b)) <= limit):
            rendered = render_block(piece)
            if current and len(current) + len(sep) + len(rendered) <= limit:
                current += sep + rendered
            else:
                if current:
                    parts.append(current)
                current = rendered
    if current or not parts:
        parts.append(current)
    return parts


# --- dialects ---------------------------------------------------------------------------------------


def _inline(text: str, esc: Render, fmt: dict[str, Callable[..., str]]) -> str:
    out: list[str] = []
    pos = 0
    for m in _INLINE.finditer(text):
        out.append(esc(text[pos : m.start()]))
        pos = m.end()
        if m.group("esc") is not None:
            out.append(fmt.get("literal", esc)(m.group("esc")))
        elif m.group("code") is not None:
            out.append(fmt["code"](m.group("code")))
        elif m.group("url") is not None:
            label, url = _inline(m.group("ltext"), esc, fmt), m.group("url")
            out.append(fmt["link"](label, url) if http_url(url) else label)
        else:
            kind = next(k for k in ("bold", "strike", "ital", "ital2") if m.group(k) is not None)
            out.append(fmt[kind.rstrip("2")](_inline(m.group(kind), esc, fmt)))
    out.append(esc(text[pos:]))
    return "".join(out)


def _lines(text: str, inline: Render, heading: Render, quote: Render) -> str:
    out = []
    for line in text.split("\n"):
        if m := re.match(r"^#{1,6}\s+(.*)$", line):
            out.append(heading(inline(m.group(1))))
        elif m := re.match(r"^(\s*)[-*+]\s+(.*)$", line):
            out.append(f"{m.group(1)}• {inline(m.group(2))}")
        elif m := re.match(r"^>\s?(.*)$", line):
            out.append(quote(inline(m.group(1))))
        else:
            out.append(inline(line))
    return "\n".join(out)


def _slack_esc(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MASS_MENTION.sub("@" + ZWSP, text)


_SLACK_FMT: dict[str, Callable[..., str]] = {
    # mrkdwn has no escapes: a zero-width space keeps a literal * _ ~ ` from pairing up as markup
    "literal": lambda s: ZWSP + s if s in "*_~`" else _slack_esc(s),
    "code": lambda s: f"`{_slack_esc(s)}`",
    "link": lambda label, url: f"<{url.replace('&', '&amp;')}|{label.replace('|', '¦')}>",
    "bold": lambda s: f"*{s}*",
    "strike": lambda s: f"~{s}~",
    "ital": lambda s: f"_{s}_",
}


def slack_block(block: Block) -> str:
    """One block as Slack mrkdwn (``&``, ``<``, ``>`` escaped: mentions and HTML stay text)."""
    if block.kind == "code":
        return "```\n" + _slack_esc(block.text).replace("```", "`\u200b``") + "\n```"
    return _lines(
        block.text, lambda s: _inline(s, _slack_esc, _SLACK_FMT), lambda s: f"*{s}*", lambda s: f">{s}"
    )


def _html_esc(text: str) -> str:
    return _ANY_MENTION.sub("@" + ZWSP, html.escape(text, quote=False))


_HTML_FMT: dict[str, Callable[..., str]] = {
    "code": lambda s: f"<code>{html.escape(s, quote=False)}</code>",
    "link": lambda label, url: f'<a href="{html.escape(url, quote=True)}">{label}</a>',
    "bold": lambda s: f"<b>{s}</b>",
    "strike": lambda s: f"<s>{s}</s>",
    "ital": lambda s: f"<i>{s}</i>",
}


def telegram_block(block: Block) -> str:
    """One block as Telegram HTML (parse_mode=HTML): only the tags Telegram knows, the rest escaped."""
    if block.kind == "code":
        attr = f' class="language-{html.escape(block.lang, quote=True)}"' if block.lang else ""
        return f"<pre><code{attr}>{html.escape(block.text, quote=False)}</code></pre>"
    return _lines(
        block.text,
        lambda s: _inline(s, _html_esc, _HTML_FMT),
        lambda s: f"<b>{s}</b>",
        lambda s: f"<blockquote>{s}</blockquote>",
    )


def _mm_esc(text: str) -> str:
    return _ANY_MENTION.sub("@" + ZWSP, _MM_SPECIALS.sub(r"\\\1", text))


_MM_FMT: dict[str, Callable[..., str]] = {
    "code": lambda s: f"`{s}`",
    "link": lambda label, url: f"[{label}]({url})",
    "bold": lambda s: f"**{s}**",
    "strike": lambda s: f"~~{s}~~",
    "ital": lambda s: f"_{s}_",
}


def mattermost_block(block: Block) -> str:
    """One block as Mattermost Markdown: the answer's markup kept, anything else escaped (no images)."""
    if block.kind == "code":
        fence = "````" if "```" in block.text else "```"
        return f"{fence}{block.lang}\n{block.text}\n{fence}"
    return _lines(
        block.text, lambda s: _inline(s, _mm_esc, _MM_FMT), lambda s: f"#### {s}", lambda s: f"> {s}"
    )


# --- whole answers ------------------------------------------------------------------------------------


def canonical(draft: Draft) -> str:
    """The draft as one Markdown text: notice, answer, numbered sources (titles and URLs as text)."""
    parts = [f"_{escape_markdown(draft.notice)}_"] if draft.notice else []
    parts.append(draft.text if draft.final else f"{draft.text} …")
    if draft.sources:
        lines = [f"**{t('sources', draft.lang)}**"]
        for n, src in enumerate(draft.sources, 1):
            sections = "; ".join(src.sections) if src.sections else src.section
            title = escape_markdown(src.title + (f" — {sections}" if sections else ""))
            url = http_url(src.url)
            lines.append(f"\\[{n}\\] [{title}]({url})" if url else f"\\[{n}\\] {title}")
        parts.append("\n".join(lines))
    return "\n\n".join(p for p in parts if p.strip())


def telegram_parts(draft: Draft, limit: int = TELEGRAM_LIMIT) -> list[str]:
    return split(canonical(draft), limit, telegram_block)


def mattermost_parts(draft: Draft, limit: int = MATTERMOST_LIMIT) -> list[str]:
    return split(canonical(draft), limit, mattermost_block)


def slack_sections(draft: Draft, limit: int = SLACK_SECTION_LIMIT) -> list[str]:
    return split(canonical(draft), limit, slack_block)
