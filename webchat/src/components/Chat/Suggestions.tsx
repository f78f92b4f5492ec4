import type { T } from "../../i18n";

export function Suggestions({ questions, onPick, t, company }: {
  questions: string[]; onPick: (q: string) => void; t: T; company: string;
}) {
  return (
    <div className="empty">
      <div className="logo" aria-hidden="true">{company.slice(0, 1)}</div>
      <h2>{t("emptyTitle")}</h2>
      <p>{t("emptyHint")}</p>
      <ul className="suggestions">
        {questions.map((q) => (
          <li key={q}><button type="button" onClick={() => onPick(q)}>{q}</button></li>
        ))}
      </ul>
    </div>
  );
}
