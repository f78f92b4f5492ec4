/** The dashboard's charts (recharts): questions per day by channel, rates per day, answer time per day. */
import {
  Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis,
} from "recharts";
import type { Day } from "./types";

const COLORS: Record<string, string> = {
  web: "#2563eb", slack: "#7c3aed", telegram: "#0ea5e9", mattermost: "#0f766e", api: "#b45309", cli: "#6b7280",
};
const color = (c: string) => COLORS[c] ?? "#9ca3af";
const short = (iso: string) => iso.slice(5);

export function QuestionsChart({ days }: { days: Day[] }) {
  const channels = [...new Set(days.flatMap((d) => Object.keys(d.by_channel)))].sort();
  const data = days.map((d) => ({ date: short(d.date), ...d.by_channel }));
  return (
    <ResponsiveContainer width="100%" height={240}>
      <BarChart data={data} margin={{ top: 8, right: 8, bottom: 0, left: -16 }}>
        <CartesianGrid strokeDasharray="3 3" vertical={false} />
        <XAxis dataKey="date" fontSize={11} minTickGap={12} />
        <YAxis allowDecimals={false} fontSize={11} />
        <Tooltip />
        <Legend wrapperStyle={{ fontSize: 12 }} />
        {channels.map((c) => <Bar key={c} dataKey={c} stackId="q" fill={color(c)} isAnimationActive={false} />)}
      </BarChart>
    </ResponsiveContainer>
  );
}

export function RatesChart({ days, labels }: { days: Day[]; labels: [string, string] }) {
  const data = days.map((d) => ({ date: short(d.date), deflection: d.deflection_rate, satisfaction: d.satisfaction }));
  const fmt = (v: number) => `${Math.round(v * 100)}%`;
  return (
    <ResponsiveContainer width="100%" height={220}>
      <LineChart data={data} margin={{ top: 8, right: 8, bottom: 0, left: -8 }}>
        <CartesianGrid strokeDasharray="3 3" vertical={false} />
        <XAxis dataKey="date" fontSize={11} minTickGap={12} />
        <YAxis domain={[0, 1]} tickFormatter={fmt} fontSize={11} />
        <Tooltip formatter={(v) => (typeof v === "number" ? fmt(v) : String(v))} />
        <Legend wrapperStyle={{ fontSize: 12 }} />
        <Line type="monotone" dataKey="deflection" name={labels[0]} stroke="#15803d" dot={false} connectNulls isAnimationActive={false} />
        <Line type="monotone" dataKey="satisfaction" name={labels[1]} stroke="#2563eb" dot={false} connectNulls isAnimationActive={false} />
      </LineChart>
    </ResponsiveContainer>
  );
}

export function LatencyChart({ days, unit }: { days: Day[]; unit: string }) {
  const data = days.map((d) => ({
    date: short(d.date),
    p50: d.latency_p50_ms === null ? null : d.latency_p50_ms / 1000,
    p95: d.latency_p95_ms === null ? null : d.latency_p95_ms / 1000,
  }));
  return (
    <ResponsiveContainer width="100%" height={220}>
      <LineChart data={data} margin={{ top: 8, right: 8, bottom: 0, left: -16 }}>
        <CartesianGrid strokeDasharray="3 3" vertical={false} />
        <XAxis dataKey="date" fontSize={11} minTickGap={12} />
        <YAxis fontSize={11} unit={unit} />
        <Tooltip />
        <Legend wrapperStyle={{ fontSize: 12 }} />
        <Line type="monotone" dataKey="p50" stroke="#2563eb" dot={false} connectNulls isAnimationActive={false} />
        <Line type="monotone" dataKey="p95" stroke="#b45309" dot={false} connectNulls isAnimationActive={false} />
      </LineChart>
    </ResponsiveContainer>
  );
}
