import { useState, type KeyboardEvent } from "react";
import type { T } from "../../i18n";

export function Composer({ onSend, t, disabled }: { onSend: (text: string) => void; t: T; disabled?: boolean }) {
  const [text, setText] = useState("");
  const submit = () => {
    if (!text.trim() || disabled) return;
    onSend(text);
    setText("");
  };
  const onKey = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      submit();
    }
  };
  return (
    <form className="composer" onSubmit={(e) => { e.preventDefault(); submit(); }}>
      <label htmlFor="question" className="sr-only">{t("placeholder")}</label>
      <textarea id="question" rows={2} value={text} placeholder={t("placeholder")} maxLength={4000}
        onChange={(e) => setText(e.target.value)} onKeyDown={onKey} />
      <button type="submit" className="send" disabled={!text.trim() || disabled} aria-label={t("send")}>
        ➤
      </button>
    </form>
  );
}
