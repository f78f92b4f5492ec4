import { useState } from "react";
import type { Lang } from "../types/chat.types";
import { interval, pct } from "./format";
import type { AT } from "./i18n";
import type { AbResults, VariantRow, VariantStatus } from "./types";

/** An interval drawn on a 0–100% track, with the point estimate. */
export function CiBar({ value, ci }: { value: number | null; ci: [number, number] | null }) {
  if (value === null || !ci) return <span className="ci-empty">—</span>;
  return (
    <span className="ci" aria-hidden="true">
      <span className="ci-range" style={{ left: `${ci[0] * 100}%`, width: `${(ci[1] - ci[0]) * 100}%` }} />
      <span className="ci-point" style={{ left: `${value * 100}%` }} />
    </span>
  );
}

function verdictClass(v: VariantRow): string {
  return v.verdict === "better" ? "good" : v.verdict === "worse" ? "bad" : "neutral";
}

/** Per prompt variant: answers, vote rate, satisfaction with 95% intervals, the verdict, stop / promote. */
export function AbTests({ data, t, lang, csv, onSet }: {
  data: AbResults; t: AT; lang: Lang; csv: string; onSet: (name: string, status: VariantStatus) => Promise<void>;
}) {
  const [busy, setBusy] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const act = async (v: VariantRow, status: VariantStatus) => {
    if (status === "stopped" && !window.confirm(t("confirmStop", { v: v.variant }))) return;
    if (status === "promoted" && !window.confirm(t("confirmPromote", { v: v.variant }))) return;
    setBusy(v.variant);
    try {
      await onSet(v.variant, status);
      setMessage(t("saved", { v: v.variant, s: t(status) }));
    } catch (e) {
      setMessage(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(null);
    }
  };
  return (
    <div className="ab">
      <div className="gaps-head">
        <p className="hint">{t("abIntro", { baseline: data.baseline })}</p>
        <a className="csv" href={csv} download>{t("exportCsv")}</a>
      </div>
      {message && <p className="saved" role="status">{message}</p>}
      <div className="variant-cards">
        {data.variants.map((v) => (
          <article key={v.variant} className={`variant variant-${v.status}`} data-testid="variant">
            <header>
              <h3>{v.variant}</h3>
              <span className={`status status-${v.status}`}>{v.variant === data.baseline && v.status === "active" ? t("baseline") : t(v.status)}</span>
            </header>
            <dl>
              <div><dt>{t("answers")}</dt><dd>{v.answers}</dd></div>
              <div><dt>{t("votes")}</dt><dd>{v.votes_up + v.votes_down} ({v.votes_up} 👍 / {v.votes_down} 👎)</dd></div>
              <div><dt>{t("voteRate")}</dt><dd>{pct(v.vote_rate, lang)} <small>{interval(v.vote_rate_ci, lang)}</small></dd></div>
              <div><dt>{t("satisfaction")}</dt><dd>{pct(v.satisfaction, lang)} <small>{interval(v.satisfaction_ci, lang)}</small></dd></div>
            </dl>
            <CiBar value={v.satisfaction} ci={v.satisfaction_ci} />
            <p className={`verdict verdict-${verdictClass(v)}`} data-testid="verdict">
              {lang === "ru" ? v.verdict_ru : v.verdict_en}
            </p>
            <div className="variant-actions">
              {v.status !== "stopped" && (
                <button type="button" disabled={busy !== null} onClick={() => void act(v, "stopped")}>{t("stop")}</button>
              )}
              {v.status !== "promoted" && (
                <button type="button" className="primary" disabled={busy !== null} onClick={() => void act(v, "promoted")}>{t("promote")}</button>
              )}
              {v.status !== "active" && (
                <button type="button" disabled={busy !== null} onClick={() => void act(v, "active")}>{t("resume")}</button>
              )}
            </div>
          </article>
        ))}
      </div>
    </div>
  );
}
