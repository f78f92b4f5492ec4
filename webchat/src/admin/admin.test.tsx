import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { AbTests, CiBar } from "./AbTests";
import { query } from "./api";
import { Dashboard } from "./Dashboard";
import { duration, goalState, interval, minutes, pct } from "./format";
import { GapsList } from "./GapsList";
import { ADMIN_TEXTS, adminTranslator } from "./i18n";
import { adminPage } from "./route";
import type { AbResults, Gaps, Kpis, Overview } from "./types";

const en = adminTranslator("en");
const ru = adminTranslator("ru");

const kpis = (over: Partial<Kpis> = {}): Kpis => ({
  questions: 10, answered: 6, abstained: 2, escalated: 1, no_answer: 1, votes_up: 4, votes_down: 2,
  vote_rate: 0.5556, satisfaction: 0.6667, deflected: 5, deflection_rate: 0.5, latency_p50_ms: 3000,
  latency_p95_ms: 7200, ttft_p50_ms: 300, ttft_p95_ms: 720, ...over,
});

const overview: Overview = {
  since: "2026-11-01T00:00:00+00:00", until: "2026-11-30T00:00:00+00:00", channel: null,
  summary: { ...kpis(), by_channel: { slack: kpis({ questions: 5, deflection_rate: 0.4 }) } },
  daily: [{ date: "2026-11-28", ...kpis(), by_channel: { slack: 3, web: 2 } }],
  roles: [{ role: "backend", ...kpis({ questions: 3, satisfaction: 0.5 }) }],
  documents: {
    most_cited: [
      { doc_id: "a", title: "Deploying with werf", url: "https://x/a", path: null, cited: 4, votes_up: 2, votes_down: 2, restricted: false },
      { doc_id: null, title: null, url: null, path: null, cited: 3, votes_up: 0, votes_down: 0, restricted: true },
    ],
    most_downvoted: [],
  },
  comments: [{ at: "2026-11-28T10:00:00+00:00", channel: "slack", question: "How?", comment: "outdated", user: "u_1", sources: [] }],
  escalations: {
    escalations: 2, baseline_minutes: 120, by_severity: {},
    steps: {
      acknowledge: { reached: 2, p50_minutes: 10, p95_minutes: 14.5, within_baseline: 2, within_baseline_rate: 1 },
      first_reply: { reached: 2, p50_minutes: 12, p95_minutes: 70, within_baseline: 2, within_baseline_rate: 1 },
      resolve: { reached: 1, p50_minutes: 130, p95_minutes: 130, within_baseline: 0, within_baseline_rate: 0 },
    },
  },
};

describe("admin formatting and routes", () => {
  it("formats percents, durations, minutes and intervals in both languages", () => {
    expect(pct(0.5, "en")).toBe("50%");
    expect(pct(null, "en")).toBe("—");
    expect(pct(0.6667, "ru", 1)).toMatch(/^66,7\s?%$/);
    expect(duration(850, "en")).toBe("850 ms");
    expect(duration(7200, "en")).toBe("7.2 s");
    expect(duration(7200, "ru")).toBe("7,2 с");
    expect(minutes(125, "en")).toBe("2 h 5 min");
    expect(minutes(120, "ru")).toBe("2 ч");
    expect(minutes(14.6, "en")).toBe("15 min");
    expect(interval([0.657, 0.8245], "en")).toBe("66%–82%");
    expect(goalState(0.5, 0.3)).toBe("good");
    expect(goalState(20, 15, false)).toBe("bad");
    expect(goalState(null, 15)).toBe("none");
  });

  it("routes #/admin pages and builds the filter query", () => {
    expect(adminPage("#/admin")).toBe("dashboard");
    expect(adminPage("#/admin/gaps")).toBe("gaps");
    expect(adminPage("#/admin/ab/")).toBe("ab");
    expect(adminPage("#/administrator")).toBeNull();
    expect(adminPage("")).toBeNull();
    expect(query({ days: 7, from: null, to: null, channel: null })).toBe("days=7");
    expect(query({ days: 7, from: "2026-11-01", to: "2026-11-15", channel: "slack" }))
      .toBe("from=2026-11-01&to=2026-11-15&channel=slack");
  });

  it("has every admin text in Russian and English", () => {
    expect(Object.keys(ADMIN_TEXTS.ru).sort()).toEqual(Object.keys(ADMIN_TEXTS.en).sort());
    for (const value of Object.values(ADMIN_TEXTS.ru)) expect(value.trim()).not.toBe("");
  });
});

describe("Dashboard", () => {
  it("shows the KPIs against their goals, restricted pages without details, and CSV links", () => {
    const html = renderToStaticMarkup(
      <Dashboard data={overview} filter={{ days: 30, from: null, to: null, channel: null }} t={en} lang="en" />,
    );
    expect(html).toContain('data-testid="kpi-deflection"');
    expect(html).toMatch(/kpi-good[^>]*data-testid="kpi-deflection"|data-testid="kpi-deflection"[^>]*kpi-good/);
    expect(html).toContain("50%");
    expect(html).toContain("median; p95 7.2 s");
    expect(html).toContain("Deploying with werf");
    expect(html).toContain("Restricted page");
    expect(html).toContain("/api/v1/analytics/export/comments.csv?days=30");
    expect(html).toContain("outdated");
    expect(html).toContain("2 h 10 min"); // resolve p50 130 min
  });

  it("speaks Russian", () => {
    const html = renderToStaticMarkup(
      <Dashboard data={overview} filter={{ days: 7, from: null, to: null, channel: "slack" }} t={ru} lang="ru" />,
    );
    expect(html).toContain("Закрыто без человека");
    expect(html).toContain("channel=slack");
  });
});

describe("GapsList", () => {
  const gaps: Gaps = {
    since: "", until: "", questions: 3,
    groups: [
      { size: 2, abstained: 2, low_confidence: 0, examples: ["How do I rotate the database password?", "How to rotate the db password?"],
        channels: { slack: 1, telegram: 1 }, last_asked: "2026-11-27T10:00:00+00:00",
        pages: [{ doc_id: "a", title: "Secrets", url: "https://x/s", path: null, restricted: false },
          { doc_id: null, title: null, url: null, path: null, restricted: true }] },
    ],
  };
  it("lists each group with its size, examples and nearest pages", () => {
    const html = renderToStaticMarkup(<GapsList data={gaps} t={en} lang="en" csv="/x.csv" />);
    expect(html).toContain("2×");
    expect(html).toContain("How do I rotate the database password?");
    expect(html).toContain('href="https://x/s"');
    expect(html).toContain("Restricted page");
    expect(html).toContain("Abstained 2");
  });
  it("says so when there are no gaps", () => {
    const html = renderToStaticMarkup(<GapsList data={{ ...gaps, questions: 0, groups: [] }} t={ru} lang="ru" csv="/x.csv" />);
    expect(html).toContain("Пробелов за период нет");
  });
});

describe("AbTests", () => {
  const ab: AbResults = {
    baseline: "control",
    variants: [
      { variant: "control", status: "active", configured: true, answers: 120, voted_answers: 100, votes_up: 60, votes_down: 40,
        vote_rate: 0.8333, vote_rate_ci: [0.76, 0.89], satisfaction: 0.6, satisfaction_ci: [0.502, 0.6906], verdict: "baseline",
        p_value: null, more_votes: null, verdict_en: "baseline", verdict_ru: "базовый вариант" },
      { variant: "concise", status: "stopped", configured: true, answers: 120, voted_answers: 100, votes_up: 75, votes_down: 25,
        vote_rate: 0.8333, vote_rate_ci: [0.76, 0.89], satisfaction: 0.75, satisfaction_ci: [0.657, 0.8245], verdict: "better",
        p_value: 0.0235, more_votes: 0, verdict_en: "concise better, p = 0.02", verdict_ru: "concise лучше, p = 0.02" },
    ],
  };
  it("shows intervals, the verdict and the actions a status allows", () => {
    const html = renderToStaticMarkup(<AbTests data={ab} t={en} lang="en" csv="/ab.csv" onSet={async () => undefined} />);
    expect(html).toContain("concise better, p = 0.02");
    expect(html).toContain("66%–82%");
    expect(html).toContain(">Resume<"); // the stopped variant can be resumed
    expect(html.match(/>Stop</g)).toHaveLength(1); // only the active one can be stopped
    expect(html.match(/>Promote</g)).toHaveLength(2);
    expect(renderToStaticMarkup(<AbTests data={ab} t={ru} lang="ru" csv="/ab.csv" onSet={async () => undefined} />))
      .toContain("concise лучше, p = 0.02");
  });
  it("draws the interval where it lies", () => {
    const html = renderToStaticMarkup(<CiBar value={0.75} ci={[0.5, 0.9]} />);
    expect(html).toContain("left:50%");
    expect(html).toMatch(/width:40(\.0+\d*)?%/);
    expect(renderToStaticMarkup(<CiBar value={null} ci={null} />)).toContain("—");
  });
});
