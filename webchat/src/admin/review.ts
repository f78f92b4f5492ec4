/** The review of captured answers without React: what to send, what blocks approval, what to say on failure. */
import { AdminApiError } from "./api";
import type { AdminKey, AT } from "./i18n";
import type { CapturedEntry, ReviewBody } from "./types";

/** The reviewer's copy of an entry's question and answer. */
export interface Edit { question: string; answer: string }

export const MAX_QUESTION = 4000; // the API's limits (adapters/escalation_api.py ReviewBody)
export const MAX_ANSWER = 20000;

/** The request body: the action and, on approval, each field the reviewer changed (trimmed). */
export function reviewBody(entry: CapturedEntry, edit: Edit, action: ReviewBody["action"]): ReviewBody {
  const body: ReviewBody = { action };
  if (action !== "approve") return body;
  const question = edit.question.trim();
  const answer = edit.answer.trim();
  if (question !== entry.question.trim()) body.question = question;
  if (answer !== entry.answer.trim()) body.answer = answer;
  return body;
}

/** Why the edit cannot be approved as it stands (the server would silently keep an emptied field). */
export function editProblem(edit: Edit): AdminKey | null {
  return edit.question.trim() && edit.answer.trim() ? null : "emptyField";
}

/** Whether the reviewer changed anything. */
export function isEdited(entry: CapturedEntry, edit: Edit): boolean {
  return edit.question !== entry.question || edit.answer !== entry.answer;
}

/** What to tell the reviewer when a review failed: the server's own words, or that it did not answer. */
export function reviewError(error: unknown, t: AT): string {
  if (error instanceof AdminApiError) {
    if (error.status === 401 || error.status === 403) return t("forbidden");
    return t("reviewFailed", { message: error.message || String(error.status) });
  }
  return t("networkError");
}

/** A question cut for a one-line confirmation. */
export function short(text: string, limit = 80): string {
  const one = text.replace(/\s+/g, " ").trim();
  return one.length > limit ? `${one.slice(0, limit - 1)}…` : one;
}
