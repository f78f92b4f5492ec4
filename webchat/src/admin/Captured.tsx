import { useState } from "react";
import type { Lang } from "../types/chat.types";
import { type Edit, editProblem, isEdited, MAX_ANSWER, MAX_QUESTION, reviewBody, reviewError, short } from "./review";
import type { AT } from "./i18n";
import type { CapturedEntry, ReviewBody } from "./types";

type Review = (id: number, body: ReviewBody) => Promise<void>;

/** The review queue of captured answers: edit, approve or reject each draft; export the approved ones. */
export function CapturedReview({ entries, t, lang, markdown, onReview }: {
  entries: CapturedEntry[]; t: AT; lang: Lang; markdown: string; onReview: Review;
}) {
  const [message, setMessage] = useState<string | null>(null);
  return (
    <div className="captured">
      <div className="gaps-head">
        <p className="hint">{t("capturedIntro")}</p>
        <span className="count" data-testid="draft-count">{t("drafts", { n: entries.length })}</span>
        <a className="csv" href={markdown} download="captured-answers.md">{t("exportMd")}</a>
      </div>
      {message && <p className="saved" role="status">{message}</p>}
      {entries.length === 0 ? <p className="empty-note">{t("noDrafts")}</p> : (
        <ol className="draft-list">
          {entries.map((e) => (
            <DraftCard key={e.id} entry={e} t={t} lang={lang} onDone={setMessage}
              onReview={async (body) => { setMessage(null); await onReview(e.id, body); }} />
          ))}
        </ol>
      )}
    </div>
  );
}

function DraftCard({ entry, t, lang, onReview, onDone }: {
  entry: CapturedEntry; t: AT; lang: Lang; onReview: (body: ReviewBody) => Promise<void>; onDone: (text: string) => void;
}) {
  const [edit, setEdit] = useState<Edit>({ question: entry.question, answer: entry.answer });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const problem = editProblem(edit);
  const when = entry.answered_at
    ? new Intl.DateTimeFormat(lang === "ru" ? "ru-RU" : "en-US", { day: "numeric", month: "short", year: "numeric" })
      .format(new Date(entry.answered_at))
    : "—";

  const act = async (action: ReviewBody["action"]) => {
    if (action === "reject" && !window.confirm(t("confirmReject"))) return;
    setBusy(true);
    setError(null);
    try {
      await onReview(reviewBody(entry, edit, action));
      onDone(t(action === "approve" ? "approved" : "rejected", { q: short(edit.question) }));
    } catch (e) {
      setError(reviewError(e, t));
      setBusy(false);
    }
  };

  return (
    <li className="draft" data-testid="draft" aria-busy={busy}>
      <div className="gap-meta">
        <span className={`tag ${entry.summarised ? "tag-low" : ""}`}>{t(entry.summarised ? "summarised" : "verbatim")}</span>
        <span>{t("answeredBy", { who: entry.answered_by || t("someone"), date: when })}</span>
        {entry.escalation_id !== null && <span className="when">{t("fromEscalation", { id: entry.escalation_id })}</span>}
        {isEdited(entry, edit) && <span className="tag tag-abstained">{t("edited")}</span>}
      </div>
      <label className="field">
        <span>{t("question")}</span>
        <textarea rows={2} maxLength={MAX_QUESTION} value={edit.question} disabled={busy}
          onChange={(e) => setEdit({ ...edit, question: e.target.value })} />
      </label>
      <label className="field">
        <span>{t("answerLabel")}</span>
        <textarea rows={6} maxLength={MAX_ANSWER} value={edit.answer} disabled={busy}
          onChange={(e) => setEdit({ ...edit, answer: e.target.value })} />
      </label>
      {problem && <p className="field-problem" role="alert">{t(problem)}</p>}
      {error && <p className="review-error" role="alert">{error}</p>}
      <div className="variant-actions">
        <button type="button" className="primary" disabled={busy || problem !== null} onClick={() => void act("approve")}>
          {busy ? t("saving") : t("approve")}
        </button>
        <button type="button" disabled={busy} onClick={() => void act("reject")}>{t("reject")}</button>
      </div>
    </li>
  );
}
