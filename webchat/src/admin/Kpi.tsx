/** One KPI card: the value, what it means, and whether it meets its goal. */
export function Kpi({ label, value, hint, state = "none", testId }: {
  label: string; value: string; hint?: string; state?: "good" | "bad" | "none"; testId?: string;
}) {
  return (
    <div className={`kpi kpi-${state}`} data-testid={testId}>
      <div className="kpi-label">{label}</div>
      <div className="kpi-value">{value}</div>
      {hint && <div className="kpi-hint">{hint}</div>}
    </div>
  );
}

/** A section with a title and a CSV link for its table. */
export function Section({ title, csv, csvLabel, children, hint }: {
  title: string; csv?: string; csvLabel?: string; children: React.ReactNode; hint?: string;
}) {
  return (
    <section className="admin-section">
      <header>
        <h2>{title}</h2>
        {csv && <a className="csv" href={csv} download>{csvLabel ?? "CSV"}</a>}
      </header>
      {hint && <p className="hint">{hint}</p>}
      {children}
    </section>
  );
}
