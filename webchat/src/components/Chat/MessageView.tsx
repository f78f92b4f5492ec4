import type { T } from "../../i18n";
import type { UiMessage } from "../../types/chat.types";
import { FeedbackBar } from "../Feedback/FeedbackBar";
import { Markdown } from "./Markdown";

export function MessageView({ message, t, onVote, onHuman }: {
  message: UiMessage;
  t: T;
  onVote: (messageId: number, value: -1 | 0 | 1, comment: string | null) => Promise<void>;
  onHuman: (messageId: number) => Promise<void>;
}) {
  if (message.kind === "question") {
    return (
      <article className="msg msg-question" aria-label={t("you")}>
        <div className="bubble">{message.text}</div>
      </article>
    );
  }
  const anchor = (n: number) => `src-${message.key}-${n}`;
  const streaming = message.status === "streaming";
  return (
    <article className="msg msg-answer" aria-label={t("bot")} aria-busy={streaming}>
      <div className="answer">
        {message.text ? (
          <Markdown text={message.text} t={t} anchor={anchor} sourceCount={message.sources.length} />
        ) : streaming ? (
          <p className="thinking">{t("thinking")}</p>
        ) : null}
        {message.error && <p className="error" role="alert">{message.error}</p>}
        {message.notices.map((n, i) => <p key={i} className="notice" role="status">{n}</p>)}
        {message.sources.length > 0 && (
          <section className="sources" aria-label={t("sources")}>
            <h3>{t("sources")}</h3>
            <ol>
              {message.sources.map((s) => (
                <li key={s.n} id={anchor(s.n)} value={s.n}>
                  {s.url && /^https?:\/\//i.test(s.url) ? <a href={s.url} target="_blank" rel="noopener noreferrer">{s.title}</a> : <span>{s.title}</span>}
                  {(s.sections?.length ? s.sections : s.section ? [s.section] : []).length > 0 && (
                    <span className="section"> › {(s.sections?.length ? s.sections : [s.section]).join("; ")}</span>
                  )}
                  {s.path && <span className="path">{s.path}</span>}
                </li>
              ))}
            </ol>
          </section>
        )}
        {message.status === "done" && message.messageId !== undefined && (
          <div className="answer-footer">
            <FeedbackBar vote={message.vote} t={t} onVote={(v, c) => onVote(message.messageId!, v, c)} />
            {message.abstained && !message.escalated && (
              <button type="button" className="human" onClick={() => void onHuman(message.messageId!)}>
                🙋 {t("callHuman")}
              </button>
            )}
            {message.escalated && <span className="badge">{t("escalated")}</span>}
            {message.latencyMs !== undefined && (
              <span className="latency">{t("latency", { s: (message.latencyMs / 1000).toFixed(1) })}</span>
            )}
          </div>
        )}
      </div>
    </article>
  );
}
