import { useState } from "react";
import type { T } from "../i18n";

export function SignIn({ onSignIn, t, company, error }: {
  onSignIn: (name: string) => Promise<void>; t: T; company: string; error: string | null;
}) {
  const [name, setName] = useState("");
  return (
    <main className="signin">
      <form onSubmit={(e) => { e.preventDefault(); void onSignIn(name); }}>
        <div className="logo" aria-hidden="true">{company.slice(0, 1)}</div>
        <h1>{company}</h1>
        <h2>{t("signInTitle")}</h2>
        <p>{t("signInHint")}</p>
        <label htmlFor="name">{t("name")}</label>
        <input id="name" autoFocus autoComplete="name" value={name} maxLength={64} onChange={(e) => setName(e.target.value)} />
        {error && <p className="error" role="alert">{error}</p>}
        <button type="submit" disabled={!name.trim()}>{t("signIn")}</button>
      </form>
    </main>
  );
}
