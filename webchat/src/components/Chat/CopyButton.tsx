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
      {done ? "✓" : "⧉"}
      {!small && <span>{done ? t("copied") : t("copy")}</span>}
    </button>
  );
}
