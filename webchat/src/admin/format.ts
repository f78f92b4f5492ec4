/** Number formatting for the admin pages (locale-aware, "—" for no data). */
import type { Lang } from "../types/chat.types";

export const DASH = "—";

export function pct(value: number | null | undefined, lang: Lang, digits = 0): string {
  if (value === null || value === undefined) return DASH;
  return new Intl.NumberFormat(lang === "ru" ? "ru-RU" : "en-US", {
    style: "percent",
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(value);
}

/** Milliseconds as seconds ("1.2 s"), or as ms under one second ("850 ms"). */
export function duration(ms: number | null | undefined, lang: Lang): string {
  if (ms === null || ms === undefined) return DASH;
  const ru = lang === "ru";
  if (ms < 1000) return `${Math.round(ms)} ${ru ? "мс" : "ms"}`;
  const s = new Intl.NumberFormat(ru ? "ru-RU" : "en-US", { maximumFractionDigits: 1 }).format(ms / 1000);
  return `${s} ${ru ? "с" : "s"}`;
}

/** Minutes as "45 min" or "2 h 5 min". */
export function minutes(value: number | null | undefined, lang: Lang): string {
  if (value === null || value === undefined) return DASH;
  const ru = lang === "ru";
  const total = Math.round(value);
  const h = Math.floor(total / 60);
  const m = total % 60;
  const mu = ru ? "мин" : "min";
  if (h === 0) return `${m} ${mu}`;
  return m === 0 ? `${h} ${ru ? "ч" : "h"}` : `${h} ${ru ? "ч" : "h"} ${m} ${mu}`;
}

export function interval(ci: [number, number] | null | undefined, lang: Lang): string {
  if (!ci) return DASH;
  return `${pct(ci[0], lang)}–${pct(ci[1], lang)}`;
}

/** Status of a KPI against its goal: "good" when met, "bad" when not, "none" without data. */
export function goalState(value: number | null | undefined, goal: number, higherIsBetter = true): "good" | "bad" | "none" {
  if (value === null || value === undefined) return "none";
  return (higherIsBetter ? value >= goal : value <= goal) ? "good" : "bad";
}

export function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** An ISO timestamp as a short local date and time ("Nov 28, 10:05"), "—" without one. */
export function dateTime(iso: string | null | undefined, lang: Lang): string {
  if (!iso) return DASH;
  return new Intl.DateTimeFormat(lang === "ru" ? "ru-RU" : "en-US", {
    day: "numeric", month: "short", hour: "numeric", minute: "2-digit",
  }).format(new Date(iso));
}
