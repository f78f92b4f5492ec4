"""Storage format → Markdown: every macro the answers need survives, nothing is dropped with its body."""

from __future__ import annotations

from pathlib import Path

from rag.loaders.confluence_markup import ConvertContext, storage_to_markdown

MACROS = (Path(__file__).resolve().parents[1] / "fakes" / "confluence_pages" / "macros.xml").read_text()
BASE = "https://wiki.example.com/wiki"
PAGES = {
    ("OPS", "Common steps"): "<p>Common: check the <strong>dashboard</strong>.</p>"
    '<ac:structured-macro ac:name="include"><ac:parameter ac:name=""><ac:link>'
    '<ri:page ri:content-title="Deploy runbook" /></ac:link></ac:parameter></ac:structured-macro>',
    ("OPS", "Release checklist"): "<p>not in the excerpt</p>"
    '<ac:structured-macro ac:name="excerpt"><ac:rich-text-body><p>Checklist excerpt: bump the version.</p>'
    "</ac:rich-text-body></ac:structured-macro>",
}


def convert(storage: str = MACROS) -> tuple[str, ConvertContext]:
    ctx = ConvertContext(
        base_url=BASE,
        space="OPS",
        user_name={"acc-anna": "Anna Petrova"}.get,
        page_body=PAGES.get,
        attachment_url=lambda n: f"{BASE}/download/attachments/1/{n}" if n.endswith(".pdf") else None,
        seen=[("OPS", "Deploy runbook")],
    )
    return storage_to_markdown(storage, ctx), ctx


def test_the_macro_page_keeps_what_answers_need() -> None:
    md, ctx = convert()
    assert "# Deploy runbook" in md and "## Prerequisites" in md and "## Ports" in md
    assert "Owner: Anna Petrova." in md  # a mention is the person's name
    assert "[rollback](https://wiki.example.com/display/OPS/Rollback)" in md  # relative link made absolute
    assert f"[the checklist]({BASE}/display/OPS/Release+checklist)" in md
    assert "- access to the **prod** cluster\n  - via VPN" in md and "1. Build\n2. Deploy" in md
    assert "> **Info:** Deploys are frozen on Fridays after 16:00." in md
    assert "> **Warning: Data loss:** Never run `migrate --reset` on prod." in md
    assert "> **Note:**" in md and "> **Tip:**" in md
    assert "```bash\nkubectl -n prod rollout restart deploy/api\n" in md  # code keeps its language
    assert "**Troubleshooting**\n\nIf pods crash-loop" in md  # expand: title and content kept
    assert "| api | 8080 |" in md
    assert "Common: check the **dashboard**." in md  # include resolved
    assert "not repeated: it includes itself" in md  # ... and its include of this page is not followed
    assert "Checklist excerpt: bump the version." in md and "not in the excerpt" not in md
    assert "This runbook deploys the API to production." in md  # the excerpt macro's own body stays
    assert "[image: architecture]" in md
    assert f"[attachment: runbook.pdf]({BASE}/download/attachments/1/runbook.pdf)" in md
    assert "Vendor macro body: the on-call rota is in PagerDuty." in md  # unknown macro unwrapped
    assert "- [x] Tag the release" in md and "- [ ] Announce in #releases" in md
    assert "ac:" not in md and "ri:" not in md and "CDATA" not in md
    assert ctx.includes == [("OPS", "Release checklist"), ("OPS", "Common steps")]


def test_an_include_cycle_stops_and_a_missing_page_is_noted() -> None:
    loop = (
        '<ac:structured-macro ac:name="include"><ac:parameter ac:name=""><ac:link>'
        '<ri:page ri:content-title="{}" /></ac:link></ac:parameter></ac:structured-macro>'
    )
    pages = {("OPS", "A"): "<p>in A</p>" + loop.format("B"), ("OPS", "B"): "<p>in B</p>" + loop.format("A")}
    ctx = ConvertContext(base_url=BASE, space="OPS", page_body=pages.get, seen=[("OPS", "A")])
    md = storage_to_markdown(pages[("OPS", "A")], ctx)
    assert md.count("in A") == 1 and md.count("in B") == 1
    md = storage_to_markdown(loop.format("Gone"), ConvertContext(base_url=BASE, space="OPS"))
    assert "“Gone” is not available" in md
