/** Answer Markdown, rendered safely: GFM, highlighted code, no raw HTML (react-markdown escapes it). */
import { useRef, type ReactNode } from "react";
import ReactMarkdown, { type Components } from "react-markdown";
import rehypeHighlight from "rehype-highlight";
import remarkGfm from "remark-gfm";
import type { T } from "../../i18n";
import { CopyButton } from "./CopyButton";
import { commandText, isShellCommand, linkCitations } from "./markdown";

function CodeBlock({ children, t }: { children: ReactNode; t: T }) {
  const ref = useRef<HTMLPreElement>(null);
  return (
    <div className="code-block">
      <CopyButton t={t} getText={() => ref.current?.textContent ?? ""} />
      <pre ref={ref}>{children}</pre>
    </div>
  );
}

function textOf(node: ReactNode): string {
  if (typeof node === "string" || typeof node === "number") return String(node);
  if (Array.isArray(node)) return node.map(textOf).join("");
  return "";
}

export function Markdown({ text, t, anchor, sourceCount }: {
  text: string; t: T; anchor: (n: number) => string; sourceCount: number;
}) {
  const components: Components = {
    pre: ({ children }) => <CodeBlock t={t}>{children}</CodeBlock>,
    code: ({ className, children }) => {
      const inline = !className && !textOf(children).includes("\n");
      const code = textOf(children);
      if (inline && isShellCommand(code)) {
        return (
          <span className="shell">
            <code>{children}</code>
            <CopyButton t={t} small getText={() => commandText(code)} />
          </span>
        );
      }
      return <code className={className}>{children}</code>;
    },
    a: ({ href, children }) =>
      href?.startsWith("#") ? (
        <a href={href} className="cite">{children}</a>
      ) : (
        <a href={href} target="_blank" rel="noopener noreferrer">{children}</a>
      ),
    img: ({ alt }) => <span className="img-alt">{alt ?? ""}</span>, // no remote images in answers
  };
  return (
    <div className="markdown">
      <ReactMarkdown
        remarkPlugins={[remarkGfm]}
        rehypePlugins={[[rehypeHighlight, { detect: true }]]}
        skipHtml={false}
        components={components}
      >
        {linkCitations(text, anchor, sourceCount)}
      </ReactMarkdown>
    </div>
  );
}
