/** The escalation lifecycle page without React: what to ask for, which steps a row offers, what to say after. */
import type { AT } from "./i18n";
import { short } from "./review";
import type { EscalationRow, EscalationState, LifecycleStep } from "./types";

/** The states the list asks for: the active ones, and the resolved ones too when the filter says so. */
export function statesShown(showResolved: boolean): EscalationState[] {
  return showResolved ? ["open", "acknowledged", "resolved"] : ["open", "acknowledged"];
}

/** The steps a row offers: open → acknowledge or resolve; acknowledged → resolve; resolved → none. */
export function stepsFor(row: EscalationRow): LifecycleStep[] {
  if (row.state === "open") return ["acknowledge", "resolve"];
  return row.state === "acknowledged" ? ["resolve"] : [];
}

const RANK: Record<EscalationState, number> = { open: 0, acknowledged: 1, resolved: 2 };

/** Open ones first, then acknowledged, then resolved; the most recently escalated first within each. */
export function ordered(rows: EscalationRow[]): EscalationRow[] {
  const at = (r: EscalationRow) => Date.parse(r.created_at);
  return [...rows].sort((a, b) => RANK[a.state] - RANK[b.state] || at(b) - at(a) || b.id - a.id);
}

/** How many rows are in each state. */
export function countByState(rows: EscalationRow[]): Record<EscalationState, number> {
  const out: Record<EscalationState, number> = { open: 0, acknowledged: 0, resolved: 0 };
  for (const r of rows) out[r.state] += 1;
  return out;
}

/** The row's question cut for one line, or a note that it has none. */
export function questionLine(row: EscalationRow, t: AT): string {
  return row.question?.trim() ? short(row.question) : t("noQuestion");
}

/** What the admin is told once a step came back: done, or someone else changed it first (the list reloads). */
export function stepNote(row: EscalationRow, step: LifecycleStep, changed: boolean, t: AT): string {
  if (!changed) return t("alreadyChanged", { id: row.id });
  return t(step === "acknowledge" ? "acknowledgedNote" : "resolvedNote", { id: row.id, q: questionLine(row, t) });
}
