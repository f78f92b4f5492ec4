/** Bodies of the analytics API (/api/v1/analytics, see docs/analytics.md). */

export interface Kpis {
  questions: number;
  answered: number;
  abstained: number;
  escalated: number;
  no_answer: number;
  votes_up: number;
  votes_down: number;
  vote_rate: number | null;
  satisfaction: number | null;
  deflected: number;
  deflection_rate: number | null;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  ttft_p50_ms: number | null;
  ttft_p95_ms: number | null;
}
export interface Summary extends Kpis { by_channel: Record<string, Kpis> }
export interface Day extends Kpis { date: string; by_channel: Record<string, number> }
export interface DocRow {
  doc_id: string | null; title: string | null; url: string | null; path: string | null;
  cited: number; votes_up: number; votes_down: number; restricted: boolean;
}
export interface CommentRow { at: string; channel: string; question: string; comment: string; user: string | null; sources: PageRef[] }
export interface RoleRow extends Kpis { role: string }
export interface EscalationStep {
  reached: number; p50_minutes: number | null; p95_minutes: number | null;
  within_baseline: number; within_baseline_rate: number | null;
}
export interface Escalations {
  escalations: number; baseline_minutes: number; steps: Record<"acknowledge" | "first_reply" | "resolve", EscalationStep>;
  by_severity: Record<string, number>;
}
export interface Overview {
  since: string; until: string; channel: string | null;
  summary: Summary; daily: Day[]; roles: RoleRow[];
  documents: { most_cited: DocRow[]; most_downvoted: DocRow[] };
  comments: CommentRow[]; escalations: Escalations;
}
export interface PageRef { doc_id: string | null; title: string | null; url: string | null; path: string | null; score?: number; restricted: boolean }
export interface Gap {
  size: number; abstained: number; low_confidence: number; examples: string[];
  channels: Record<string, number>; last_asked: string; pages: PageRef[];
}
export interface Gaps { since: string; until: string; questions: number; groups: Gap[] }
export type VariantStatus = "active" | "stopped" | "promoted";
export interface VariantRow {
  variant: string; status: VariantStatus; configured: boolean; answers: number; voted_answers: number;
  votes_up: number; votes_down: number; vote_rate: number | null; vote_rate_ci: [number, number] | null;
  satisfaction: number | null; satisfaction_ci: [number, number] | null;
  verdict: "baseline" | "better" | "worse" | "no_difference" | "not_enough_data";
  p_value: number | null; more_votes: number | null; verdict_en: string; verdict_ru: string;
}
export interface AbResults { baseline: string; variants: VariantRow[] }

/** The period and channel every admin page shows. */
export interface Filter { days: number; from: string | null; to: string | null; channel: string | null }

/** A Q&A entry drafted from a resolved escalation (/api/v1/escalations/captured, see docs/oncall.md). */
export interface CapturedEntry {
  id: number; escalation_id: number | null; question: string; answer: string; lang: string | null;
  answered_by: string | null; status: "draft" | "approved" | "rejected"; summarised: boolean; answered_at: string | null;
}
export interface ReviewBody { action: "approve" | "reject"; question?: string; answer?: string }

/** An escalated thread (/api/v1/escalations, see docs/oncall.md "Lifecycle"). */
export type EscalationState = "open" | "acknowledged" | "resolved";
export interface EscalationRow {
  id: number; conversation_id: number | null; platform: string; channel: string; thread: string;
  trigger: string; severity: "critical" | "high" | "normal"; reasons: string[]; state: EscalationState;
  question: string | null; link: string | null; assignee: string | null;
  acknowledged_by: string | null; resolved_by: string | null; repage_count: number;
  ticket_key: string | null; ticket_url: string | null;
  created_at: string; paged_at: string | null; acknowledged_at: string | null;
  first_human_reply_at: string | null; resolved_at: string | null;
}
/** A lifecycle step the page can take (POST /api/v1/escalations/{id}/acknowledge | /resolve). */
export type LifecycleStep = "acknowledge" | "resolve";
