"""Confluence storage format (XHTML with ``ac:``/``ri:`` elements) → Markdown that keeps what answers need.

Confluence elements are first rewritten into plain HTML (BeautifulSoup, ``html.parser``, which keeps CDATA
and the namespaced tag names), then a ``markdownify`` subclass writes Markdown:

- headings, lists, tables, links (made absolute), bold/italic as Markdown;
- ``code``/``noformat`` macros → fenced blocks with their language;
- ``info``/``note``/``warning``/``tip``/``panel`` → a labelled quote (``> **Warning:** …``);
- ``expand`` → its title in bold, its content kept;
- user mentions → the person's name; page links → the page's URL;
- ``include`` / ``excerpt-include`` → the other page's content (or excerpt), cycle-safe;
- images and attachments → ``[image: name]`` / ``[attachment: name](url)``;
- any other macro is unwrapped: its body is kept, its parameters dropped (``toc`` and the like have none).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote, urljoin

from bs4 import BeautifulSoup, CData, NavigableString, Tag
from markdownify import MarkdownConverter

PANELS = {"info": "Info", "note": "Note", "warning": "Warning", "tip": "Tip", "panel": "Panel"}
CODE_MACROS = {"code", "noformat", "code-block"}
SILENT_MACROS = {"toc", "children", "anchor", "recently-updated", "pagetree", "contentbylabel"}
PageRef = tuple[str | None, str]  # (space key or None for the current space, title)


@dataclass
class ConvertContext:
    """What the converter needs from outside: base URL, names, other pages' bodies (for include).

    Args:
        base_url: The site's base (``https://x.atlassian.net/wiki`` or ``https://confluence.example.com``).
        space: The page's space key (page links without a space point into it).
        user_name: Display name for a user reference (account id, user key or username); ``None`` → unknown.
        page_body: Storage body of another page (for include / excerpt-include); ``None`` when not found.
        attachment_url: URL of an attachment of the current page by file name.
    """

    base_url: str
    space: str
    user_name: Callable[[str], str | None] = lambda _key: None
    page_body: Callable[[PageRef], str | None] = lambda _ref: None
    attachment_url: Callable[[str], str | None] = lambda _name: None
    seen: list[PageRef] = field(default_factory=list)  # the include chain (cycle guard)
    includes: list[PageRef] = field(default_factory=list)  # pages whose content was pulled in
    max_depth: int = 5


def page_url(base_url: str, space: str, title: str) -> str:
    return f"{base_url.rstrip('/')}/display/{quote(space)}/{quote(title.replace(' ', '+'), safe='+')}"


def heading_anchor(page_title: str, heading: str) -> str:
    """Confluence's heading anchor: ``PageTitle-Heading`` with spaces removed."""
    return re.sub(r"\s+", "", page_title) + "-" + re.sub(r"\s+", "", heading)


def _param(macro: Tag, name: str) -> str | None:
    for p in macro.find_all("ac:parameter", recursive=False):
        if p.get("ac:name") == name:
            return p.get_text()
    return None


def _body(macro: Tag) -> Tag | None:
    return macro.find("ac:rich-text-body", recursive=False)


def _page_ref(el: Tag, ctx: ConvertContext) -> PageRef | None:
    page = el.find("ri:page")
    if page is None:
        return None
    return (page.get("ri:space-key") or ctx.space, page.get("ri:content-title") or "")


class _Markdown(MarkdownConverter):
    """markdownify with Confluence's leftovers: labelled panels and fenced code with a language."""

    def convert_div(self, el, text, parent_tags):  # type: ignore[no-untyped-def]
        label = el.get("data-panel")
        if not label:
            return super().convert_div(el, text, parent_tags)
        title = el.get("data-title")
        head = f"**{label}{': ' + title if title else ''}:**"
        lines = [f"> {line}" if line else ">" for line in f"{head} {text.strip()}".splitlines()]
        return "\n\n" + "\n".join(lines) + "\n\n"


def _markdown(soup: BeautifulSoup) -> str:
    md = _Markdown(
        heading_style="ATX",
        bullets="-",
        code_language_callback=lambda el: el.get("data-language") or None,
        escape_underscores=False,
        escape_asterisks=False,
        escape_misc=False,
    ).convert_soup(soup)
    md = re.sub(r"[ \t]+\n", "\n", md)
    return re.sub(r"\n{3,}", "\n\n", md).strip() + "\n"


def storage_to_markdown(storage: str, ctx: ConvertContext) -> str:
    """Convert one page's storage-format body to Markdown."""
    soup = BeautifulSoup(f"<div>{storage}</div>", "html.parser")
    _rewrite(soup, ctx)
    return _markdown(soup)


def _new(soup: BeautifulSoup, name: str, text: str | None = None, **attrs: str) -> Tag:
    tag = soup.new_tag(name, attrs=attrs)
    if text is not None:
        tag.string = text
    return tag


def _rewrite(soup: BeautifulSoup, ctx: ConvertContext) -> None:
    # Innermost macros first, so an outer macro sees its body already rewritten.
    for macro in reversed(soup.find_all("ac:structured-macro")):
        _macro(soup, macro, ctx)
    for link in soup.find_all("ac:link"):
        _link(soup, link, ctx)
    for image in soup.find_all("ac:image"):
        _image(soup, image, ctx)
    for a in soup.find_all("a", href=True):
        a["href"] = urljoin(ctx.base_url.rstrip("/") + "/", a["href"])
    for task in soup.find_all("ac:task"):
        done = (task.find("ac:task-status") or Tag(name="x")).get_text() == "complete"
        body = task.find("ac:task-body")
        li = _new(soup, "li")
        li.append(NavigableString("[x] " if done else "[ ] "))
        if body is not None:
            li.extend(list(body.contents))
        task.replace_with(li)
    for tl in soup.find_all("ac:task-list"):
        tl.name = "ul"
    for t in soup.find_all("time"):
        t.replace_with(NavigableString(t.get("datetime") or t.get_text()))
    for el in soup.find_all(["ac:emoticon", "ac:placeholder", "ac:parameter"]):
        el.decompose()
    for el in soup.find_all(re.compile(r"^(ac|ri):")):
        el.unwrap()  # anything left (adf fallbacks, layouts): keep the content


def _macro(soup: BeautifulSoup, macro: Tag, ctx: ConvertContext) -> None:
    name = (macro.get("ac:name") or "").lower()
    body = _body(macro)
    if name in CODE_MACROS:
        plain = macro.find("ac:plain-text-body", recursive=False)
        parts = plain.contents if plain is not None else []
        code = "".join(str(c) for c in parts if isinstance(c, CData | NavigableString))
        pre = _new(soup, "pre")
        code_tag = _new(soup, "code", code.strip("\n"))
        language = _param(macro, "language")
        if language:
            pre["data-language"] = language
        pre.append(code_tag)
        title = _param(macro, "title")
        if title:
            wrapper = _new(soup, "div")
            wrapper.append(_new(soup, "p", title))
            wrapper.append(pre)
            macro.replace_with(wrapper)
        else:
            macro.replace_with(pre)
    elif name in PANELS:
        div = _new(soup, "div")
        div["data-panel"] = PANELS[name]
        if title := _param(macro, "title"):
            div["data-title"] = title
        if body is not None:
            div.extend(list(body.contents))
        macro.replace_with(div)
    elif name == "expand":
        div, head = _new(soup, "div"), _new(soup, "p")
        head.append(_new(soup, "strong", _param(macro, "title") or "Details"))
        div.append(head)
        if body is not None:
            div.extend(list(body.contents))
        macro.replace_with(div)
    elif name in ("include", "excerpt-include"):
        macro.replace_with(_included(soup, macro, ctx, excerpt=name == "excerpt-include"))
    elif name == "status":
        macro.replace_with(NavigableString(f"[{_param(macro, 'title') or _param(macro, 'colour') or ''}]"))
    elif name in ("jira", "jiraissues"):
        macro.replace_with(NavigableString(_param(macro, "key") or ""))
    elif name in ("view-file", "viewpdf", "viewdoc", "viewxls", "viewppt"):
        att = macro.find("ri:attachment")
        file = att.get("ri:filename") if att else _param(macro, "name")
        macro.replace_with(_attachment(soup, file or "file", ctx))
    elif name in SILENT_MACROS and body is None:
        macro.decompose()
    else:  # excerpt, section, column, details and any unknown macro: keep the body
        keep = body or macro.find("ac:plain-text-body", recursive=False)
        div = _new(soup, "div")
        if keep is not None:
            div.extend(list(keep.contents))
        macro.replace_with(div)


def _included(soup: BeautifulSoup, macro: Tag, ctx: ConvertContext, *, excerpt: bool) -> Tag:
    ref = _page_ref(macro, ctx)
    if ref is None:
        return _new(soup, "div")
    if ref in ctx.seen or len(ctx.seen) >= ctx.max_depth:
        return _new(soup, "p", f"(included page “{ref[1]}” — not repeated: it includes itself)")
    storage = ctx.page_body(ref)
    if storage is None:
        return _new(soup, "p", f"(included page “{ref[1]}” is not available)")
    inner = BeautifulSoup(f"<div>{storage}</div>", "html.parser")
    if excerpt:
        found = next(
            (m for m in inner.find_all("ac:structured-macro") if (m.get("ac:name") or "") == "excerpt"), None
        )
        if found is None:
            return _new(soup, "div")
        body = _body(found)
        kept = "".join(str(c) for c in (body.contents if body else []))
        inner = BeautifulSoup(f"<div>{kept}</div>", "html.parser")
    ctx.includes.append(ref)
    sub = ConvertContext(
        base_url=ctx.base_url,
        space=ref[0] or ctx.space,
        user_name=ctx.user_name,
        page_body=ctx.page_body,
        attachment_url=lambda _n: None,
        seen=[*ctx.seen, ref],
        includes=ctx.includes,
        max_depth=ctx.max_depth,
    )
    _rewrite(inner, sub)
    div = inner.div or _new(soup, "div")
    div.extract()
    return div


def _link(soup: BeautifulSoup, link: Tag, ctx: ConvertContext) -> None:
    body = link.find(["ac:link-body", "ac:plain-text-link-body"])
    text = body.get_text() if body is not None else ""
    user = link.find("ri:user")
    if user is not None:
        key = user.get("ri:account-id") or user.get("ri:userkey") or user.get("ri:username") or ""
        link.replace_with(NavigableString(ctx.user_name(key) or text or "(unknown user)"))
        return
    att = link.find("ri:attachment")
    if att is not None:
        link.replace_with(_attachment(soup, att.get("ri:filename") or text or "file", ctx, text=text))
        return
    ref = _page_ref(link, ctx)
    anchor = link.get("ac:anchor")
    if ref is not None:
        url = page_url(ctx.base_url, ref[0] or ctx.space, ref[1])
        if anchor:
            url += "#" + heading_anchor(ref[1], anchor)
        link.replace_with(_new(soup, "a", text or ref[1], href=url))
        return
    link.replace_with(NavigableString(text))


def _attachment(
    soup: BeautifulSoup, name: str, ctx: ConvertContext, *, text: str = ""
) -> Tag | NavigableString:
    url = ctx.attachment_url(name)
    label = f"attachment: {text or name}"
    return _new(soup, "a", label, href=url) if url else NavigableString(f"[{label}]")


def _image(soup: BeautifulSoup, image: Tag, ctx: ConvertContext) -> None:
    att = image.find("ri:attachment")
    url = image.find("ri:url")
    alt = image.get("ac:alt") or image.get("ac:title") or ""
    if url is not None:
        image.replace_with(NavigableString(f"[image: {alt or url.get('ri:value')}]({url.get('ri:value')})"))
    elif att is not None:
        name = att.get("ri:filename") or "image"
        image.replace_with(NavigableString(f"[image: {alt or name}]"))
    else:
        image.decompose()
