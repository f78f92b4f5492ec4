import type { Lang } from "../types/chat.types";
import { LatencyChart, QuestionsChart, RatesChart } from "./Charts";
import { duration, goalState, minutes, pct } from "./format";
import type { AT } from "./i18n";
import { Kpi, Section } from "./Kpi";
import type { DocRow, Filter, Overview } from "./types";
import { adminApi } from "./api";

export const DEFLECTION_GOAL = 0.3;
export const RESPONSE_GOAL_MINUTES = 15;

function DocTable({ rows, t, metric }: { rows: DocRow[]; t: AT; metric: "cited" | "votes_down" }) {
  if (!rows.length) return <p className="empty-note">{t("none")}</p>;
  return (
    <div className="table-wrap">
      <table>
        <thead><tr><th>{t("page")}</th><th className="num">{t("cited")}</th><th className="num">{t("up")}</th><th className="num">{t("down")}</th></tr></thead>
        <tbody>
          {rows.map((d, i) => (
            <tr key={d.doc_id ?? `r${i}`} className={metric === "votes_down" && d.votes_down > 0 ? "warn-row" : undefined}>
              <td>{d.restricted ? <em className="restricted">{t("restricted")}</em>
                : d.url ? <a href={d.url} target="_blank" rel="noreferrer">{d.title}</a> : d.title}</td>
              <td className="num">{d.cited}</td><td className="num">{d.votes_up}</td><td className="num">{d.votes_down}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The KPI dashboard: the business goal first (deflection, time to a human), then the detail. */
export function Dashboard({ data, filter, t, lang }: { data: Overview; filter: Filter; t: AT; lang: Lang }) {
  const s = data.summary;
  const votes = s.votes_up + s.votes_down;
  const esc = data.escalations;
  const csv = (table: string) => adminApi.csvUrl(table, filter);
  const channels = Object.entries(s.by_channel);
  return (
    <div className="dashboard">
      <div className="kpis">
        <Kpi testId="kpi-questions" label={t("questions")} value={String(s.questions)}
          hint={`${t("answered")} ${s.answered} · ${t("abstained")} ${s.abstained} · ${t("escalated")} ${s.escalated}`} />
        <Kpi testId="kpi-deflection" label={t("deflection")} value={pct(s.deflection_rate, lang)}
          hint={t("deflectionHint", { goal: pct(DEFLECTION_GOAL, lang) })} state={goalState(s.deflection_rate, DEFLECTION_GOAL)} />
        <Kpi testId="kpi-satisfaction" label={t("satisfaction")} value={pct(s.satisfaction, lang)}
          hint={t("satisfactionHint", { votes })} />
        <Kpi label={t("voteRate")} value={pct(s.vote_rate, lang)} hint={t("voteRateHint")} />
        <Kpi testId="kpi-ttft" label={t("ttft")} value={duration(s.ttft_p50_ms, lang)}
          hint={t("p95Hint", { value: duration(s.ttft_p95_ms, lang) })} />
        <Kpi testId="kpi-latency" label={t("latency")} value={duration(s.latency_p50_ms, lang)}
          hint={t("p95Hint", { value: duration(s.latency_p95_ms, lang) })} />
        <Kpi testId="kpi-first-reply" label={t("first_reply")} value={minutes(esc.steps.first_reply.p50_minutes, lang)}
          hint={`p50 · ${t("goal")} ${minutes(RESPONSE_GOAL_MINUTES, lang)}`}
          state={goalState(esc.steps.first_reply.p50_minutes, RESPONSE_GOAL_MINUTES, false)} />
      </div>

      <div className="charts">
        <Section title={t("questionsPerDay")} csv={csv("daily")} csvLabel={t("exportCsv")}>
          <QuestionsChart days={data.daily} />
        </Section>
        <Section title={t("ratesPerDay")}>
          <RatesChart days={data.daily} labels={[t("deflection"), t("satisfaction")]} />
        </Section>
        <Section title={t("latencyPerDay")}>
          <LatencyChart days={data.daily} unit={lang === "ru" ? " с" : " s"} />
        </Section>
      </div>

      <div className="grid2">
        <Section title={t("byChannel")} csv={csv("summary")} csvLabel={t("exportCsv")}>
          <div className="table-wrap">
            <table>
              <thead><tr><th>{t("channel")}</th><th className="num">{t("questions")}</th><th className="num">{t("deflection")}</th>
                <th className="num">{t("satisfaction")}</th><th className="num">p95</th></tr></thead>
              <tbody>
                {channels.map(([name, c]) => (
                  <tr key={name}><td>{name}</td><td className="num">{c.questions}</td><td className="num">{pct(c.deflection_rate, lang)}</td>
                    <td className="num">{pct(c.satisfaction, lang)}</td><td className="num">{duration(c.latency_p95_ms, lang)}</td></tr>
                ))}
              </tbody>
            </table>
          </div>
        </Section>
        <Section title={t("byRole")} csv={csv("roles")} csvLabel={t("exportCsv")}>
          <div className="table-wrap">
            <table>
              <thead><tr><th>{t("role")}</th><th className="num">{t("questions")}</th><th className="num">{t("satisfaction")}</th>
                <th className="num">{t("deflection")}</th></tr></thead>
              <tbody>
                {data.roles.map((r) => (
                  <tr key={r.role}><td>{r.role}</td><td className="num">{r.questions}</td><td className="num">{pct(r.satisfaction, lang)}</td>
                    <td className="num">{pct(r.deflection_rate, lang)}</td></tr>
                ))}
              </tbody>
            </table>
          </div>
        </Section>
        <Section title={t("escalationTimes")} csv={csv("escalations")} csvLabel={t("exportCsv")}
          hint={t("escalationsHint", { n: esc.escalations, baseline: minutes(esc.baseline_minutes, lang), goal: minutes(RESPONSE_GOAL_MINUTES, lang) })}>
          <div className="table-wrap">
            <table>
              <thead><tr><th>{t("step")}</th><th className="num">{t("reached")}</th><th className="num">{t("p50")}</th>
                <th className="num">{t("p95")}</th><th className="num">{t("withinBaseline")}</th></tr></thead>
              <tbody>
                {(["acknowledge", "first_reply", "resolve"] as const).map((k) => {
                  const step = esc.steps[k];
                  return (
                    <tr key={k}><td>{t(k)}</td><td className="num">{step.reached}</td><td className="num">{minutes(step.p50_minutes, lang)}</td>
                      <td className="num">{minutes(step.p95_minutes, lang)}</td><td className="num">{pct(step.within_baseline_rate, lang)}</td></tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </Section>
        <Section title={t("topCited")} csv={csv("documents")} csvLabel={t("exportCsv")}>
          <DocTable rows={data.documents.most_cited.slice(0, 8)} t={t} metric="cited" />
        </Section>
        <Section title={t("topDown")}>
          <DocTable rows={data.documents.most_downvoted.slice(0, 8)} t={t} metric="votes_down" />
        </Section>
        <Section title={t("comments")} csv={csv("comments")} csvLabel={t("exportCsv")}>
          {data.comments.length === 0 ? <p className="empty-note">{t("none")}</p> : (
            <ul className="comments">
              {data.comments.slice(0, 10).map((c, i) => (
                <li key={`${c.at}-${i}`}>
                  <q>{c.comment}</q>
                  <div className="meta">{c.question} · {c.channel} · {c.at.slice(0, 10)}</div>
                </li>
              ))}
            </ul>
          )}
        </Section>
      </div>
    </div>
  );
}
