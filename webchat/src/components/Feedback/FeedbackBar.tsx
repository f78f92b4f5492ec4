/** 👍/👎 on an answer, with an optional comment; shows the stored vote after a reload. */
import { useState } from "react";
import type { T } from "../../i18n";
import type { Vote } from "../../types/chat.types";

export function FeedbackBar({ vote, onVote, t }: {
  vote: Vote | null | undefined;
  onVote: (value: -1 | 0 | 1, comment: string | null) => Promise<void>;
  t: T;
}) {
  const [commenting, setCommenting] = useState<-1 | 1 | null>(null);
  const [comment, setComment] = useState("");
  const [thanked, setThanked] = useState(false);
  const current = vote?.value ?? 0;

  const choose = async (value: -1 | 1) => {
    const next = current === value ? 0 : value;
    await onVote(next, null);
    setThanked(false);
    setCommenting(next === 0 ? null : next);
    setComment("");
  };

  return (
    <div className="feedback">
      <button type="button" className="vote" aria-pressed={current === 1} aria-label={t("helpful")}
        title={t("helpful")} onClick={() => void choose(1)}>👍</button>
      <button type="button" className="vote" aria-pressed={current === -1} aria-label={t("notHelpful")}
        title={t("notHelpful")} onClick={() => void choose(-1)}>👎</button>
      {commenting !== null && (
        <form className="feedback-comment" onSubmit={async (e) => {
          e.preventDefault();
          await onVote(commenting, comment.trim() || null);
          setCommenting(null);
          setThanked(true);
        }}>
          <label className="sr-only" htmlFor="fb-comment">{t("commentPlaceholder")}</label>
          <input id="fb-comment" value={comment} maxLength={2000} placeholder={t("commentPlaceholder")}
            onChange={(e) => setComment(e.target.value)} />
          <button type="submit">{t("sendFeedback")}</button>
        </form>
      )}
      {thanked && <span role="status" className="thanks">{t("thanks")}</span>}
    </div>
  );
}
