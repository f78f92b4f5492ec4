from __future__ import annotations

import hashlib
from pathlib import Path

from rag.loaders import FolderLoader


async def _load(root: Path, **kw: object) -> dict:
    return {d.external_id: d async for d in FolderLoader(root, **kw).load()}  # type: ignore[arg-type]


async def test_front_matter_shortcodes_and_comments(tmp_path: Path) -> None:
    page = tmp_path / "werf" / "en" / "usage" / "deploy" / "values.md"
    page.parent.mkdir(parents=True)
    page.write_text(
        "---\ntitle: Values\nsource_url: https://werf.io/values.html\nlang: en\n---\n"
        "# Values\n<!-- hidden note -->\n{{< alert >}}Be careful{{< /alert >}} {{% note %}}\n"
        "```yaml\nreplicas: {{ .Values.replicas }}\n```\n## Storage backends {#storage-backends}\n"
        "A set {#like-this} in prose stays.\n"
    )
    docs = await _load(tmp_path)
    doc = docs["werf/en/usage/deploy/values.md"]
    assert (doc.title, doc.url, doc.lang, doc.path) == (
        "Values",
        "https://werf.io/values.html",
        "en",
        doc.external_id,
    )
    assert "hidden note" not in doc.text and "{{<" not in doc.text and "{{%" not in doc.text
    assert "Be careful" in doc.text and "{{ .Values.replicas }}" in doc.text  # Go templates stay
    assert "## Storage backends\n" in doc.text and "{#like-this}" in doc.text  # heading attributes go
    assert doc.content_hash == hashlib.sha256(page.read_bytes()).hexdigest()
    assert doc.source == f"folder:{tmp_path.name}"


async def test_lang_fallbacks_html_text_and_size_limit(tmp_path: Path) -> None:
    (tmp_path / "ru").mkdir()
    (tmp_path / "ru" / "a.md").write_text("# Заголовок\nТекст без front matter.\n")
    (tmp_path / "notes.txt").write_text("Как настроить деплой? Это русский текст.\n")
    (tmp_path / "page.html").write_text(
        "<html><head><title>Page</title><script>x()</script></head>"
        "<body><h2>Install</h2><p>Run &amp; go</p><pre>helm install x</pre></body></html>"
    )
    (tmp_path / "big.md").write_text("x" * 5000)
    docs = await _load(tmp_path, max_file_bytes=4000)
    assert docs["ru/a.md"].lang == "ru" and docs["ru/a.md"].title == "Заголовок"
    assert docs["notes.txt"].lang == "ru" and docs["notes.txt"].kind == "text"
    html = docs["page.html"]
    assert html.title == "Page" and "## Install" in html.text and "Run & go" in html.text
    assert "```\nhelm install x\n```" in html.text and "x()" not in html.text
    assert "big.md" not in docs


async def test_faq_pages_get_faq_kind(small_kb: Path) -> None:
    docs = await _load(small_kb)
    assert docs["helm/en/faq/uninstalling.md"].kind == "faq"
    assert docs["helm/en/intro/using_helm.md"].kind == "markdown"
    assert docs["werf/ru/reference/debug_env_vars.md"].lang == "ru"
