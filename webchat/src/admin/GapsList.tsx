import type { Lang } from "../types/chat.types";
import type { AT } from "./i18n";
import type { Gaps } from "./types";

/** The documentation gaps a docs owner works through: group size, examples, nearest pages. */
export function GapsList({ data, t, lang, csv }: { data: Gaps; t: AT; lang: Lang; csv: string }) {
  const dateFmt = new Intl.DateTimeFormat(lang === "ru" ? "ru-RU" : "en-US", { day: "numeric", month: "short" });
  return (
    <div className="gaps">
      <div className="gaps-head">
        <p className="hint">{t("gapsIntro")}</p>
        <span className="count">{t("gapQuestions", { n: data.questions })}</span>
        <a className="csv" href={csv} download>{t("exportCsv")}</a>
      </div>
      {data.groups.length === 0 ? <p className="empty-note">{t("noGaps")}</p> : (
        <ol className="gap-list">
          {data.groups.map((g, i) => (
            <li key={i} className="gap" data-testid="gap">
              <div className="gap-title">
                <span className="size" aria-label={t("gapQuestions", { n: g.size })}>{t("gapSize", { n: g.size })}</span>
                <strong>{g.examples[0]}</strong>
              </div>
              <div className="gap-meta">
                {g.abstained > 0 && <span className="tag tag-abstained">{t("abstained")} {g.abstained}</span>}
                {g.low_confidence > 0 && <span className="tag tag-low">{t("lowConfidence")} {g.low_confidence}</span>}
                {Object.entries(g.channels).map(([c, n]) => <span key={c} className="tag">{c} {n}</span>)}
                <span className="when">{t("lastAsked", { date: dateFmt.format(new Date(g.last_asked)) })}</span>
              </div>
              {g.examples.length > 1 && (
                <details>
                  <summary>{t("examples")} ({g.examples.length})</summary>
                  <ul>{g.examples.map((e) => <li key={e}>{e}</li>)}</ul>
                </details>
              )}
              {g.pages.length > 0 && (
                <div className="pages">
                  <span>{t("nearestPages")}:</span>
                  {g.pages.map((p, j) => p.restricted
                    ? <em key={`r${j}`} className="restricted">{t("restricted")}</em>
                    : p.url ? <a key={p.doc_id ?? j} href={p.url} target="_blank" rel="noreferrer">{p.title}</a>
                      : <span key={p.doc_id ?? j}>{p.title}</span>)}
                </div>
              )}
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
