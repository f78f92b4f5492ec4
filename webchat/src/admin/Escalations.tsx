import { useState } from "react";
import type { Lang } from "../types/chat.types";
import { dateTime } from "./format";
import type { AT } from "./i18n";
import { countByState, ordered, questionLine, stepNote, stepsFor } from "./lifecycle";
import { reviewError } from "./review";
import type { EscalationRow, LifecycleStep } from "./types";

/** Take a step on an escalation; resolves to whether it changed anything (false: someone else was first). */
type Step = (id: number, step: LifecycleStep) => Promise<boolean>;
interface Note { text: string; stale: boolean }

/** Escalated threads, open ones first: acknowledge or resolve each; the resolved ones on request. */
export function EscalationList({ rows, showResolved, onShowResolved, t, lang, onStep }: {
  rows: EscalationRow[]; showResolved: boolean; onShowResolved: (show: boolean) => void; t: AT; lang: Lang; onStep: Step;
}) {
  const [note, setNote] = useState<Note | null>(null);
  const counts = countByState(rows);
  return (
    <div className="escalations">
      <div className="gaps-head">
        <p className="hint">{t("escalationsIntro")}</p>
        <span className="count" data-testid="escalation-count">{t("activeCount", counts)}</span>
        <label className="toggle">
          <input type="checkbox" checked={showResolved} onChange={(e) => onShowResolved(e.target.checked)} />
          {t("showResolved")}
        </label>
      </div>
      {note && <p className={note.stale ? "stale-note" : "saved"} role="status">{note.text}</p>}
      {rows.length === 0 ? <p className="empty-note">{t(showResolved ? "noEscalations" : "noActive")}</p> : (
        <ol className="escalation-list">
          {ordered(rows).map((r) => (
            <EscalationCard key={r.id} row={r} t={t} lang={lang} onDone={setNote}
              onStep={async (step) => { setNote(null); return onStep(r.id, step); }} />
          ))}
        </ol>
      )}
    </div>
  );
}

function EscalationCard({ row, t, lang, onStep, onDone }: {
  row: EscalationRow; t: AT; lang: Lang; onStep: (step: LifecycleStep) => Promise<boolean>; onDone: (note: Note) => void;
}) {
  const [busy, setBusy] = useState<LifecycleStep | null>(null);
  const [error, setError] = useState<string | null>(null);

  const act = async (step: LifecycleStep) => {
    if (step === "resolve" && !window.confirm(t("confirmResolve", { id: row.id, q: questionLine(row, t) }))) return;
    setBusy(step);
    setError(null);
    try {
      const changed = await onStep(step);
      onDone({ text: stepNote(row, step, changed, t), stale: !changed });
    } catch (e) {
      setError(reviewError(e, t));
    }
    setBusy(null);
  };

  const who = (name: string | null) => name || t("someone");
  return (
    <li className={`escalation escalation-${row.state}`} data-testid="escalation" data-id={row.id} aria-busy={busy !== null}>
      <div className="gap-meta">
        <span className={`tag sev-${row.severity}`}>{t(`sev_${row.severity}` as const)}</span>
        <span className={`status status-${row.state}`} data-testid="escalation-state">{t(`state_${row.state}` as const)}</span>
        <span className="when">{t("escalationNo", { id: row.id })} · {t("escalatedAt", { date: dateTime(row.created_at, lang) })}</span>
        <span className="when">{row.platform} · {row.channel}</span>
      </div>
      <p className="escalation-question" title={row.question ?? undefined}>{row.question?.trim() || t("noQuestion")}</p>
      <div className="gap-meta">
        <span>{row.assignee ? t("onCall", { who: row.assignee }) : t("noRotation")}</span>
        {row.repage_count > 0 && <span className="tag tag-abstained">{t("repaged", { n: row.repage_count })}</span>}
        {row.acknowledged_at && (
          <span>{t("acknowledgedBy", { who: who(row.acknowledged_by), date: dateTime(row.acknowledged_at, lang) })}</span>
        )}
        {row.resolved_at && <span>{t("resolvedBy", { who: who(row.resolved_by), date: dateTime(row.resolved_at, lang) })}</span>}
        {row.link && <a href={row.link} target="_blank" rel="noreferrer">{t("openThread")}</a>}
        {row.ticket_url && <a href={row.ticket_url} target="_blank" rel="noreferrer">{t("ticket", { key: row.ticket_key ?? "" })}</a>}
      </div>
      {error && <p className="review-error" role="alert">{error}</p>}
      {stepsFor(row).length > 0 && (
        <div className="variant-actions">
          {stepsFor(row).map((step) => (
            <button key={step} type="button" className={step === "acknowledge" ? "primary" : undefined} disabled={busy !== null}
              onClick={() => void act(step)}>
              {busy === step ? t("saving") : t(step === "acknowledge" ? "ackAction" : "resolveAction")}
            </button>
          ))}
        </div>
      )}
    </li>
  );
}
