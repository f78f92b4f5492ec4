import { useState } from "react";
import type { T } from "../../i18n";

export async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
}

function CopyIcon() {
  return (
    <svg width="13" height="13" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" aria-hidden="true">
      <rect x="9" y="9" width="12" height="12" rx="2" />
      <path d="M5 15H4a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v1" />
    </svg>
  );
}

export function CopyButton({ getText, t, small }: { getText: () => string; t: T; small?: boolean }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      className={small ? "copy copy-small" : "copy"}
      aria-label={done ? t("copied") : t("copy")}
      title={t("copy")}
      onClick={async () => {
        await copyText(getText());
        setDone(true);
        setTimeout(() => setDone(false), 1500);
      }}
    >
      {done ? "✓" : <CopyIcon />}
      {!small && <span>{done ? t("copied") : t("copy")}</span>}
    </button>
  );
}
