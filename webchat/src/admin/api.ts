/** Calls of the analytics and escalation APIs; the web chat session cookie identifies the admin. */
import type {
  AbResults, CapturedEntry, EscalationRow, EscalationState, Filter, Gaps, LifecycleStep, Overview, ReviewBody, Summary,
  VariantStatus,
} from "./types";

const BASE = "/api/v1/analytics";
const ESCALATIONS = "/api/v1/escalations";

export class AdminApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** The query string of a filter: from/to when both are set, else the last N days; the channel if any. */
export function query(filter: Filter): string {
  const params = new URLSearchParams();
  if (filter.from && filter.to) {
    params.set("from", filter.from);
    params.set("to", filter.to);
  } else {
    params.set("days", String(filter.days));
  }
  if (filter.channel) params.set("channel", filter.channel);
  return params.toString();
}

async function call<T>(path: string, lang: string, init?: RequestInit, base: string = BASE): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    credentials: "same-origin",
    ...init,
    headers: { "Accept-Language": lang, ...(init?.body ? { "Content-Type": "application/json" } : {}) },
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new AdminApiError(res.status, data?.error?.message ?? data?.message ?? res.statusText);
  return data as T;
}

export const adminApi = {
  summary: (f: Filter, lang: string) => call<Summary>(`/summary?${query(f)}`, lang),
  overview: (f: Filter, lang: string) => call<Overview>(`/overview?${query(f)}`, lang),
  gaps: (f: Filter, lang: string) => call<Gaps>(`/gaps?${query(f)}`, lang),
  ab: (f: Filter, lang: string) => call<AbResults>(`/ab?${query(f)}`, lang),
  setVariant: (name: string, status: VariantStatus, lang: string) =>
    call<{ variant: string; status: VariantStatus }>(`/ab/${encodeURIComponent(name)}`, lang, {
      method: "PUT",
      body: JSON.stringify({ status }),
    }),
  csvUrl: (table: string, f: Filter) => `${BASE}/export/${table}.csv?${query(f)}`,
  /** The review queue of captured answers (drafts). */
  captured: (lang: string) => call<{ entries: CapturedEntry[] }>("/captured?status=draft", lang, undefined, ESCALATIONS),
  /** Approve or reject one entry, with the reviewer's edits. */
  review: (id: number, body: ReviewBody, lang: string) =>
    call<{ id: number; status: string }>(`/captured/${id}`, lang, { method: "POST", body: JSON.stringify(body) }, ESCALATIONS),
  capturedMarkdownUrl: `${ESCALATIONS}/captured.md`,
  /** Escalations of the given states, newest first. */
  escalations: (states: EscalationState[], lang: string) =>
    call<{ escalations: EscalationRow[] }>(`?${states.map((s) => `state=${s}`).join("&")}`, lang, undefined, ESCALATIONS),
  /** Acknowledge or resolve one; the server records the signed-in admin. ``changed: false``: it was no longer
   * in a state the step applies to (someone else got there first). */
  step: (id: number, step: LifecycleStep, lang: string) =>
    call<{ escalation_id: number; changed: boolean }>(`/${id}/${step}`, lang, { method: "POST", body: "{}" }, ESCALATIONS),
};
