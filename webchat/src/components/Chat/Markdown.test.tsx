import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { translator } from "../../i18n";
import { Markdown } from "./Markdown";
import { isShellCommand, linkCitations } from "./markdown";

const render = (text: string, sources = 2) =>
  renderToStaticMarkup(<Markdown text={text} t={translator("en")} anchor={(n) => `src-${n}`} sourceCount={sources} />);

describe("Markdown", () => {
  it("renders raw HTML as text, never as elements", () => {
    const html = render('Hi <img src=x onerror="alert(1)"> <script>alert(2)</script> [x](javascript:alert(3))');
    expect(html).not.toMatch(/<img|<script/);
    expect(html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
    expect(html).not.toContain('href="javascript:');
  });

  it("renders GFM tables, lists, highlighted code with a copy button and shell commands", () => {
    const html = render("| a | b |\n|---|---|\n| 1 | 2 |\n\n- one\n- two\n\nRun `helm rollback web 2`.\n\n```yaml\nkey: value\n```");
    expect(html).toContain("<table>");
    expect(html).toContain("<li>one</li>");
    expect(html).toContain('class="hljs-attr"');
    expect(html.match(/class="copy/g)).toHaveLength(2);
  });

  it("links citations to existing sources only, not inside code", () => {
    expect(linkCitations("see [1] and [3], `arr[1]`", (n) => `s${n}`, 2)).toBe("see [\\[1\\]](#s1) and [3], `arr[1]`");
    expect(render("see [2]")).toContain('href="#src-2"');
    expect(isShellCommand("$ kubectl get pods")).toBe(true);
    expect(isShellCommand("values.yaml")).toBe(false);
  });
});
