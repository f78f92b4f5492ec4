import { renderToStaticMarkup } from "react-dom/server";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AdminApiError, adminApi } from "./api";
import { CapturedReview } from "./Captured";
import { editProblem, isEdited, reviewBody, reviewError, short } from "./review";
import { adminTranslator } from "./i18n";
import { adminPage, pageHash } from "./route";
import type { CapturedEntry } from "./types";

const en = adminTranslator("en");
const ru = adminTranslator("ru");

const entry = (over: Partial<CapturedEntry> = {}): CapturedEntry => ({
  id: 7, escalation_id: 3, question: "How do contractors get VPN access?",
  answer: "Open a ticket in #it-helpdesk with the contract number.", lang: "en", answered_by: "Anna",
  status: "draft", summarised: false, answered_at: "2026-11-28T10:00:00+00:00", ...over,
});

describe("captured answers: what is sent", () => {
  it("approves with only the fields the reviewer changed, trimmed", () => {
    const e = entry();
    expect(reviewBody(e, { question: e.question, answer: e.answer }, "approve")).toEqual({ action: "approve" });
    expect(reviewBody(e, { question: ` ${e.question} `, answer: " Ask Anna.\n" }, "approve"))
      .toEqual({ action: "approve", answer: "Ask Anna." });
    expect(reviewBody(e, { question: "VPN for contractors?", answer: e.answer }, "approve"))
      .toEqual({ action: "approve", question: "VPN for contractors?" });
  });

  it("rejects without edits", () => {
    expect(reviewBody(entry(), { question: "changed", answer: "changed" }, "reject")).toEqual({ action: "reject" });
  });

  it("refuses to approve an emptied field (the server would keep the old text silently)", () => {
    expect(editProblem({ question: "  ", answer: "x" })).toBe("emptyField");
    expect(editProblem({ question: "q", answer: "\n" })).toBe("emptyField");
    expect(editProblem({ question: "q", answer: "a" })).toBeNull();
    expect(isEdited(entry(), { question: entry().question, answer: "other" })).toBe(true);
    expect(short("a ".repeat(100), 10)).toBe("a a a a a…");
  });

  it("says why a review failed: forbidden, the server's words, or no answer at all", () => {
    expect(reviewError(new AdminApiError(403, "Forbidden"), en)).toBe("Analytics is for admins only.");
    expect(reviewError(new AdminApiError(404, "No captured entry 7."), en)).toBe("Not saved: No captured entry 7.");
    expect(reviewError(new AdminApiError(422, "answer: too long"), ru)).toBe("Не сохранено: answer: too long");
    expect(reviewError(new TypeError("Failed to fetch"), en)).toMatch(/^The server did not answer/);
  });
});

describe("captured answers: the API calls", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("posts the review to the escalation API and surfaces its error message", async () => {
    const calls: [string, RequestInit | undefined][] = [];
    vi.stubGlobal("fetch", async (url: string, init?: RequestInit) => {
      calls.push([url, init]);
      if (url.endsWith("/captured/8")) {
        return new Response(JSON.stringify({ error: { code: "not_found", message: "Записи 8 нет." } }), { status: 404 });
      }
      return new Response(JSON.stringify({ id: 7, status: "approved" }), { status: 200 });
    });
    await expect(adminApi.review(7, { action: "approve", answer: "Ask Anna." }, "en")).resolves.toEqual({ id: 7, status: "approved" });
    expect(calls[0][0]).toBe("/api/v1/escalations/captured/7");
    expect(calls[0][1]?.method).toBe("POST");
    expect(JSON.parse(String(calls[0][1]?.body))).toEqual({ action: "approve", answer: "Ask Anna." });
    expect((calls[0][1]?.headers as Record<string, string>)["Content-Type"]).toBe("application/json");
    const failed = adminApi.review(8, { action: "reject" }, "ru");
    await expect(failed).rejects.toMatchObject({ status: 404, message: "Записи 8 нет." });
    expect(adminApi.capturedMarkdownUrl).toBe("/api/v1/escalations/captured.md");
  });
});

describe("CapturedReview", () => {
  it("routes #/admin/captured", () => {
    expect(adminPage("#/admin/captured")).toBe("captured");
    expect(pageHash("captured")).toBe("#/admin/captured");
  });

  it("shows each draft editable, with who answered, the actions and the Markdown export", () => {
    const html = renderToStaticMarkup(
      <CapturedReview entries={[entry(), entry({ id: 8, summarised: true, answered_by: null, escalation_id: null })]}
        t={en} lang="en" markdown="/api/v1/escalations/captured.md" onReview={async () => undefined} />,
    );
    expect(html.match(/data-testid="draft"/g)).toHaveLength(2);
    expect(html).toContain("How do contractors get VPN access?</textarea>");
    expect(html).toContain("Answered by Anna, Nov 28, 2026");
    expect(html).toContain("Answered by someone");
    expect(html).toContain("LLM summary");
    expect(html).toContain("escalation #3");
    expect(html.match(/>Approve</g)).toHaveLength(2);
    expect(html.match(/>Reject</g)).toHaveLength(2);
    expect(html).toContain('href="/api/v1/escalations/captured.md"');
    expect(html).toContain("2 to review");
  });

  it("says when the queue is empty, in Russian too", () => {
    const html = renderToStaticMarkup(
      <CapturedReview entries={[]} t={ru} lang="ru" markdown="/x.md" onReview={async () => undefined} />,
    );
    expect(html).toContain("Черновиков на проверку нет.");
    expect(html).toContain("Экспорт в Markdown");
  });
});
