import { useEffect, useRef } from "react";
import type { T } from "../../i18n";
import type { ChatState } from "../../types/chat.types";
import { Composer } from "./Composer";
import { MessageView } from "./MessageView";
import { Suggestions } from "./Suggestions";

export function ChatView({ state, t, suggestions, company, onAsk, onVote, onHuman }: {
  state: ChatState;
  t: T;
  suggestions: string[];
  company: string;
  onAsk: (text: string) => void;
  onVote: (messageId: number, value: -1 | 0 | 1, comment: string | null) => Promise<void>;
  onHuman: (messageId: number) => Promise<void>;
}) {
  const end = useRef<HTMLDivElement>(null);
  const last = state.messages[state.messages.length - 1];
  useEffect(() => {
    end.current?.scrollIntoView?.({ block: "end" });
  }, [state.messages.length, last?.text.length]);
  return (
    <main className="chat" aria-label={t("messages")}>
      <div className="messages" role="log" aria-live="polite" aria-relevant="additions text">
        {state.messages.length === 0 ? (
          <Suggestions questions={suggestions} onPick={onAsk} t={t} company={company} />
        ) : (
          state.messages.map((m) => <MessageView key={m.key} message={m} t={t} onVote={onVote} onHuman={onHuman} />)
        )}
        {state.inProgress && <p className="notice" role="status">{t("stillWriting")}</p>}
        <div ref={end} />
      </div>
      <Composer onSend={onAsk} t={t} />
    </main>
  );
}
