/** Text helpers for answers: citation links and copy-worthy commands. */

const FENCE = /(```[\s\S]*?(?:```|$)|`[^`\n]*`)/g;

/** ``[n]`` outside code becomes a link to source ``n`` of the answer (only for sources that exist). */
export function linkCitations(text: string, anchor: (n: number) => string, count: number): string {
  return text
    .split(FENCE)
    .map((part, i) =>
      i % 2 === 1
        ? part
        : part.replace(/\[(\d{1,2})\](?!\()/g, (whole, n: string) =>
            Number(n) >= 1 && Number(n) <= count ? `[\\[${n}\\]](#${anchor(Number(n))})` : whole,
          ),
    )
    .join("");
}

const SHELL = /^(\$\s+)?(helm|kubectl|werf|npm|npx|pip|docker|git|curl|make|yarn|apt-get|brew|go|cargo|python3?)\s/;

/** An inline code span that is a shell command gets its own copy button. */
export function isShellCommand(code: string): boolean {
  return SHELL.test(code.trim());
}

export function commandText(code: string): string {
  return code.trim().replace(/^\$\s+/, "");
}
