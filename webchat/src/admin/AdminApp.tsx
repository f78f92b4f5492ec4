/** The admin section of the web chat (lazy-loaded): dashboard, documentation gaps, A/B tests. */
import { useCallback, useEffect, useMemo, useState } from "react";
import type { Lang } from "../types/chat.types";
import { AbTests } from "./AbTests";
import { AdminApiError, adminApi } from "./api";
import { Dashboard } from "./Dashboard";
import { Filters } from "./Filters";
import { GapsList } from "./GapsList";
import { adminTranslator } from "./i18n";
import { type AdminPage, pageHash } from "./route";
import type { AbResults, Filter, Gaps, Overview } from "./types";
import "./admin.css";

const PAGES: AdminPage[] = ["dashboard", "gaps", "ab"];

type Loaded =
  | { page: "dashboard"; data: Overview }
  | { page: "gaps"; data: Gaps }
  | { page: "ab"; data: AbResults };

export default function AdminApp({ lang, page, onExit }: { lang: Lang; page: AdminPage; onExit: () => void }) {
  const t = useMemo(() => adminTranslator(lang), [lang]);
  const [filter, setFilter] = useState<Filter>({ days: 30, from: null, to: null, channel: null });
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<{ status: number; message: string } | null>(null);

  const load = useCallback(async () => {
    setError(null);
    try {
      if (page === "dashboard") setLoaded({ page, data: await adminApi.overview(filter, lang) });
      else if (page === "gaps") setLoaded({ page, data: await adminApi.gaps(filter, lang) });
      else setLoaded({ page, data: await adminApi.ab(filter, lang) });
    } catch (e) {
      setError(e instanceof AdminApiError ? { status: e.status, message: e.message } : { status: 0, message: String(e) });
    }
  }, [page, filter, lang]);

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
              {t(p === "dashboard" ? "dashboard" : p === "gaps" ? "gaps" : "ab")}
            </a>
          ))}
        </nav>
      </header>
      <Filters filter={filter} onChange={setFilter} t={t} />
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
        ) : (
          <AbTests data={current.data} t={t} lang={lang} csv={adminApi.csvUrl("ab", filter)}
            onSet={async (name, status) => { await adminApi.setVariant(name, status, lang); await load(); }} />
        )}
      </main>
    </div>
  );
}
