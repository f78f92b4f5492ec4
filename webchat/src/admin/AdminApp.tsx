/** The admin section of the web chat (lazy-loaded): dashboard, documentation gaps, A/B tests, captured answers,
 * escalations. */
import { useCallback, useEffect, useMemo, useState } from "react";
import type { Lang } from "../types/chat.types";
import { AbTests } from "./AbTests";
import { AdminApiError, adminApi } from "./api";
import { CapturedReview } from "./Captured";
import { Dashboard } from "./Dashboard";
import { EscalationList } from "./Escalations";
import { Filters } from "./Filters";
import { GapsList } from "./GapsList";
import { adminTranslator } from "./i18n";
import { statesShown } from "./lifecycle";
import { type AdminPage, pageHash } from "./route";
import type { AbResults, CapturedEntry, EscalationRow, Filter, Gaps, LifecycleStep, Overview, ReviewBody } from "./types";
import "./admin.css";

const PAGES: AdminPage[] = ["dashboard", "gaps", "ab", "captured", "escalations"];
/** The pages that show the period and channel filter. */
const FILTERED: AdminPage[] = ["dashboard", "gaps", "ab"];

type Loaded =
  | { page: "dashboard"; data: Overview }
  | { page: "gaps"; data: Gaps }
  | { page: "ab"; data: AbResults }
  | { page: "captured"; data: CapturedEntry[] }
  | { page: "escalations"; data: EscalationRow[] };

export default function AdminApp({ lang, page, onExit }: { lang: Lang; page: AdminPage; onExit: () => void }) {
  const t = useMemo(() => adminTranslator(lang), [lang]);
  const [filter, setFilter] = useState<Filter>({ days: 30, from: null, to: null, channel: null });
  const [showResolved, setShowResolved] = useState(false);
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<{ status: number; message: string } | null>(null);

  const load = useCallback(async () => {
    setError(null);
    try {
      if (page === "dashboard") setLoaded({ page, data: await adminApi.overview(filter, lang) });
      else if (page === "gaps") setLoaded({ page, data: await adminApi.gaps(filter, lang) });
      else if (page === "ab") setLoaded({ page, data: await adminApi.ab(filter, lang) });
      else if (page === "captured") setLoaded({ page, data: (await adminApi.captured(lang)).entries });
      else setLoaded({ page, data: (await adminApi.escalations(statesShown(showResolved), lang)).escalations });
    } catch (e) {
      setError(e instanceof AdminApiError ? { status: e.status, message: e.message } : { status: 0, message: t("networkError") });
    }
  }, [page, filter, lang, showResolved, t]);

  /** Approve or reject a draft; once stored it leaves the queue (a failure is the card's to show). */
  const review = useCallback(async (id: number, body: ReviewBody) => {
    await adminApi.review(id, body, lang);
    setLoaded((prev) => (prev?.page === "captured" ? { page: "captured", data: prev.data.filter((e) => e.id !== id) } : prev));
  }, [lang]);

  /** Acknowledge or resolve; whether it changed or someone else was first, the list is reloaded. */
  const step = useCallback(async (id: number, s: LifecycleStep) => {
    const { changed } = await adminApi.step(id, s, lang);
    void load();
    return changed;
  }, [lang, load]);

  useEffect(() => {
    setLoaded((prev) => (prev?.page === page ? prev : null));
    void load();
  }, [load, page]);

  const current = loaded?.page === page ? loaded : null;
  return (
    <div className="admin" data-testid="admin">
      <header className="admin-top">
        <button type="button" className="back" onClick={onExit}>← {t("backToChat")}</button>
        <h1>{t("analytics")}</h1>
        <nav aria-label={t("analytics")}>
          {PAGES.map((p) => (
            <a key={p} href={pageHash(p)} aria-current={p === page ? "page" : undefined}>
              {t(p)}
            </a>
          ))}
        </nav>
      </header>
      {FILTERED.includes(page) && <Filters filter={filter} onChange={setFilter} t={t} />}
      <main className="admin-main">
        {error ? (
          <div className="admin-error" role="alert">
            <p>{error.status === 403 || error.status === 401 ? t("forbidden") : error.message}</p>
            {error.status !== 403 && <button type="button" onClick={() => void load()}>{t("retry")}</button>}
          </div>
        ) : !current ? (
          <p className="loading-note" aria-busy="true">{t("loading")}</p>
        ) : current.page === "dashboard" ? (
          current.data.summary.questions === 0 ? <p className="empty-note">{t("noData")}</p>
            : <Dashboard data={current.data} filter={filter} t={t} lang={lang} />
        ) : current.page === "gaps" ? (
          <GapsList data={current.data} t={t} lang={lang} csv={adminApi.csvUrl("gaps", filter)} />
        ) : current.page === "ab" ? (
          <AbTests data={current.data} t={t} lang={lang} csv={adminApi.csvUrl("ab", filter)}
            onSet={async (name, status) => { await adminApi.setVariant(name, status, lang); await load(); }} />
        ) : current.page === "captured" ? (
          <CapturedReview entries={current.data} t={t} lang={lang} markdown={adminApi.capturedMarkdownUrl} onReview={review} />
        ) : (
          <EscalationList rows={current.data} showResolved={showResolved} onShowResolved={setShowResolved} t={t} lang={lang}
            onStep={step} />
        )}
      </main>
    </div>
  );
}
