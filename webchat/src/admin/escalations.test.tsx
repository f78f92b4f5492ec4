import { renderToStaticMarkup } from "react-dom/server";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AdminApiError, adminApi } from "./api";
import { EscalationList } from "./Escalations";
import { dateTime } from "./format";
import { adminTranslator } from "./i18n";
import { countByState, ordered, questionLine, statesShown, stepNote, stepsFor } from "./lifecycle";
import { reviewError } from "./review";
import { adminPage, pageHash } from "./route";
import type { EscalationRow } from "./types";

const en = adminTranslator("en");
const ru = adminTranslator("ru");

const row = (over: Partial<EscalationRow> = {}): EscalationRow => ({
  id: 12, conversation_id: 40, platform: "slack", channel: "C0PAY", thread: "1732788000.1234", trigger: "detector",
  severity: "critical", reasons: ["classifier 0.97"], state: "open",
  question: "payments fail for everyone since 10:00, customers cannot check out",
  link: "https://slack.com/archives/C0PAY/p17327880001234", assignee: "Anna", acknowledged_by: null, resolved_by: null,
  repage_count: 0, ticket_key: null, ticket_url: null, created_at: "2026-11-28T10:05:00+00:00", paged_at: "2026-11-28T10:05:02+00:00",
  acknowledged_at: null, first_human_reply_at: null, resolved_at: null, ...over,
});

const render = (rows: EscalationRow[], t = en, lang: "en" | "ru" = "en", showResolved = false) => renderToStaticMarkup(
  <EscalationList rows={rows} showResolved={showResolved} onShowResolved={() => undefined} t={t} lang={lang}
    onStep={async () => true} />,
);

describe("escalations: the lifecycle without React", () => {
  it("asks for the active states, and the resolved ones only when the filter says so", () => {
    expect(statesShown(false)).toEqual(["open", "acknowledged"]);
    expect(statesShown(true)).toEqual(["open", "acknowledged", "resolved"]);
  });

  it("offers acknowledge and resolve while open, resolve once acknowledged, nothing once resolved", () => {
    expect(stepsFor(row())).toEqual(["acknowledge", "resolve"]);
    expect(stepsFor(row({ state: "acknowledged" }))).toEqual(["resolve"]);
    expect(stepsFor(row({ state: "resolved" }))).toEqual([]);
  });

  it("puts open ones first, then acknowledged, then resolved, the most recently escalated first within each", () => {
    const rows = [row({ id: 1, state: "resolved" }), row({ id: 2, state: "acknowledged" }), row({ id: 3 }),
      row({ id: 5, state: "acknowledged" }), row({ id: 4 }), row({ id: 6, created_at: "2026-11-28T09:00:00+00:00" }),
      row({ id: 7, created_at: "2026-11-28T11:00:00Z" })];
    expect(ordered(rows).map((r) => r.id)).toEqual([7, 4, 3, 6, 5, 2, 1]);
    expect(countByState(rows)).toEqual({ open: 4, acknowledged: 2, resolved: 1 });
  });

  it("says what a step did, or that someone else changed it first", () => {
    expect(stepNote(row(), "acknowledge", true, en)).toBe(
      "Acknowledged: #12 “payments fail for everyone since 10:00, customers cannot check out”.");
    expect(stepNote(row({ question: null }), "resolve", true, ru)).toBe("Закрыто: №12 «(текста вопроса нет)».");
    expect(stepNote(row(), "resolve", false, en)).toBe(
      "Escalation #12 had already been changed by someone else; the list is refreshed.");
    expect(stepNote(row(), "acknowledge", false, ru)).toBe("Эскалацию №12 уже изменил кто-то другой; список обновлён.");
    expect(questionLine(row({ question: "x ".repeat(100) }), en)).toHaveLength(80);
  });

  it("says why a step failed: admins only, the server's words, or no answer at all", () => {
    expect(reviewError(new AdminApiError(403, "Forbidden"), en)).toBe("Analytics is for admins only.");
    expect(reviewError(new AdminApiError(404, "Эскалация не настроена."), ru)).toBe("Не сохранено: Эскалация не настроена.");
    expect(reviewError(new TypeError("Failed to fetch"), ru)).toMatch(/^Сервер не ответил/);
  });
});

describe("escalations: the API calls", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("lists by state and posts a step with an empty body (the server records the signed-in admin)", async () => {
    const calls: [string, RequestInit | undefined][] = [];
    vi.stubGlobal("fetch", async (url: string, init?: RequestInit) => {
      calls.push([url, init]);
      if (url.endsWith("/13/resolve")) return new Response(JSON.stringify({ detail: "x" }), { status: 403, statusText: "Forbidden" });
      if (init?.method === "POST") return new Response(JSON.stringify({ escalation_id: 12, changed: false }), { status: 200 });
      return new Response(JSON.stringify({ escalations: [row()] }), { status: 200 });
    });
    await expect(adminApi.escalations(["open", "acknowledged"], "ru")).resolves.toEqual({ escalations: [row()] });
    expect(calls[0][0]).toBe("/api/v1/escalations?state=open&state=acknowledged");
    expect((calls[0][1]?.headers as Record<string, string>)["Accept-Language"]).toBe("ru");
    await expect(adminApi.step(12, "acknowledge", "en")).resolves.toEqual({ escalation_id: 12, changed: false });
    expect(calls[1][0]).toBe("/api/v1/escalations/12/acknowledge");
    expect(calls[1][1]?.method).toBe("POST");
    expect(calls[1][1]?.body).toBe("{}");
    expect((calls[1][1]?.headers as Record<string, string>)["Content-Type"]).toBe("application/json");
    await expect(adminApi.step(13, "resolve", "en")).rejects.toMatchObject({ status: 403 });
    expect(calls[2][0]).toBe("/api/v1/escalations/13/resolve");
  });
});

describe("EscalationList", () => {
  it("routes #/admin/escalations", () => {
    expect(adminPage("#/admin/escalations")).toBe("escalations");
    expect(pageHash("escalations")).toBe("#/admin/escalations");
  });

  it("shows severity, question, who is on call, when, state, the thread link and the steps each row offers", () => {
    const acked = row({ id: 9, state: "acknowledged", severity: "high", assignee: null, link: null, acknowledged_by: "Boris",
      acknowledged_at: "2026-11-28T10:09:00+00:00", repage_count: 2, question: "Can someone look at the deploy?",
      ticket_key: "OPS-7", ticket_url: "https://jira.example.com/browse/OPS-7" });
    const html = render([acked, row()]);
    expect(html.match(/data-testid="escalation"/g)).toHaveLength(2);
    expect(html.indexOf('data-id="12"')).toBeLessThan(html.indexOf('data-id="9"')); // open first
    expect(html).toContain("1 open, 1 acknowledged");
    expect(html).toContain(">critical<");
    expect(html).toContain(">high<");
    expect(html).toContain("payments fail for everyone since 10:00, customers cannot check out</p>");
    expect(html).toContain("On call: Anna");
    expect(html).toContain("On call: no rotation set");
    expect(html).toContain(`#12 · escalated ${dateTime(row().created_at, "en")}`);
    expect(html).toContain(`acknowledged by Boris, ${dateTime(acked.acknowledged_at, "en")}`);
    expect(html).toContain("re-paged 2×");
    expect(html).toContain('href="https://slack.com/archives/C0PAY/p17327880001234"');
    expect(html.match(/>Open the thread</g)).toHaveLength(1); // none for the row without a link
    expect(html).toContain('href="https://jira.example.com/browse/OPS-7"');
    expect(html.match(/>Acknowledge</g)).toHaveLength(1);
    expect(html.match(/>Resolve</g)).toHaveLength(2);
    expect(html).toContain(">Show resolved");
    expect(html).not.toContain("checked");
  });

  it("shows a resolved row without steps, and says when there is nothing, in Russian", () => {
    const done = row({ state: "resolved", acknowledged_by: "Анна", acknowledged_at: "2026-11-28T10:06:00+00:00",
      resolved_by: "Анна", resolved_at: "2026-11-28T11:00:00+00:00" });
    const html = render([done], ru, "ru", true);
    expect(html).toContain(">закрыта<");
    expect(html).toContain(`закрыл(а) Анна, ${dateTime(done.resolved_at, "ru")}`);
    expect(html).toContain("Дежурный: Anna");
    expect(html).not.toContain("<button");
    expect(html).toContain("checked");
    expect(html).toContain("Открыто: 0, в работе: 0");
    expect(render([], ru, "ru")).toContain("Открытых эскалаций нет.");
    expect(render([], ru, "ru", true)).toContain("Эскалаций пока нет.");
    expect(render([row()], ru, "ru")).toContain(">Взять в работу<");
  });
});
