from __future__ import annotations

from pathlib import Path

import pytest

from rag.loaders import FolderLoader
from rag.loaders.markup import clean_html
from rag.urls import http_url

WIDGETS = """Intro paragraph.

<a href="javascript:void(0)" class="details__summary">How assembly works</a>

  <a href="javascript:void(0)" class="tabs__btn active" onclick="openTab(event, 'a')">stapel-образ</a>
  <a href="javascript:void(0)" class="tabs__btn" onclick="openTab(event, 'b')">Stapel Artifact</a>

<a class="google-drawings" href="" data-featherlight="image">
<img src="">
</a>

    References:
    <ul>

        <li><a href=""></a></li>

    </ul>

<link rel="stylesheet" type="text/css" href="" />
<script src="https://cdn.example.com/jquery.min.js"></script>
<script>
function application() {
  $(".image").addClass('hidden');

}
</script>

See <a href="https://werf.io/docs">the docs</a> and <a href="javascript:alert(1)">this</a>.

```yaml
image: <image>
html: <div class="x">kept</div>
```

```yaml

```

Use `<img src="">` in prose code and the <version> placeholder.
"""


def test_widgets_become_text_or_are_dropped() -> None:
    out = clean_html(WIDGETS).split("```yaml")[0]  # the prose before the code examples
    for gone in ("<a", "<img", "<script", "<link", "<ul", "<li", "javascript:", "openTab", "$(", "jquery"):
        assert gone not in out, gone
    assert "**How assembly works**" in out
    assert "*stapel-образ*" in out and "*Stapel Artifact*" in out
    assert "[the docs](https://werf.io/docs)" in out and " this." in out and "Intro paragraph." in out
    assert "References:" in out and "\n    References" not in out  # no indented code block left behind


def test_code_and_placeholders_stay_verbatim() -> None:
    out = clean_html(WIDGETS)
    assert '```yaml\nimage: <image>\nhtml: <div class="x">kept</div>\n```' in out
    assert '`<img src="">`' in out and "<version> placeholder" in out
    assert "```yaml\n\n```" not in out  # an empty code block the site template left behind


def test_pure_markdown_is_unchanged() -> None:
    text = "# T\n\n- a\n  - nested\n\n    indented code\n\ntext with a < b and `<x>`\n"
    assert clean_html(text) == text


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://werf.io/a.html", True),
        ("http://x.example/a?b=1", True),
        ("javascript:alert(1)", False),
        ("JavaScript:alert(1)", False),
        ("data:text/html,<script>", False),
        ("/relative/path", False),
        ("", False),
        ("https://", False),
        (42, False),
    ],
)
def test_http_url_accepts_only_http(url: object, ok: bool) -> None:
    assert (http_url(url) is not None) is ok


async def test_loader_quotes_no_html_and_refuses_unsafe_urls(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "a.md").write_text(f"---\ntitle: A\nsource_url: javascript:alert(1)\n---\n{WIDGETS}")
    (tmp_path / "en" / "b.md").write_text("---\ntitle: B\nurl: https://ok.example/b\n---\nBody.\n")
    docs = {d.external_id: d async for d in FolderLoader(tmp_path).load()}
    assert docs["en/a.md"].url is None and docs["en/b.md"].url == "https://ok.example/b"
    assert "<a " not in docs["en/a.md"].text and "**How assembly works**" in docs["en/a.md"].text
