import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from "react";
import { adminPage } from "./admin/route";
import { ChatView } from "./components/Chat/ChatView";
import { Sidebar } from "./components/History/Sidebar";
import { SignIn } from "./components/SignIn";
import { useChat } from "./hooks/useChat";
import { translator } from "./i18n";
import { ApiError, api, setApiLang } from "./services/api";
import type { ChatConfig, Conversation, Lang, Role, User } from "./types/chat.types";

const AdminApp = lazy(() => import("./admin/AdminApp")); // its own chunk: the chat never loads it
const stored = (key: string, fallback: string) => localStorage.getItem(`opora.${key}`) ?? fallback;
const ROLES: Role[] = ["default", "frontend", "backend", "devops", "qa"];

function initialLang(): Lang {
  const saved = localStorage.getItem("opora.lang");
  if (saved === "ru" || saved === "en") return saved;
  return navigator.language.toLowerCase().startsWith("ru") ? "ru" : "en";
}

export function App() {
  const [config, setConfig] = useState<ChatConfig | null>(null);
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const [lang, setLang] = useState<Lang>(initialLang);
  const [theme, setTheme] = useState(() =>
    stored("theme", window.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light"));
  const [role, setRole] = useState<Role>(() => stored("role", "default") as Role);
  const [conversations, setConversations] = useState<Conversation[]>([]);
  const [search, setSearch] = useState("");
  const [suggestions, setSuggestions] = useState<string[]>([]);
  const [menuOpen, setMenuOpen] = useState(false);
  const [signInError, setSignInError] = useState<string | null>(null);
  const [hash, setHash] = useState(() => window.location.hash);
  const t = useMemo(() => translator(lang), [lang]);
  setApiLang(lang);

  useEffect(() => {
    document.documentElement.lang = lang;
    localStorage.setItem("opora.lang", lang);
  }, [lang]);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem("opora.theme", theme);
  }, [theme]);
  useEffect(() => localStorage.setItem("opora.role", role), [role]);
  useEffect(() => {
    const onHash = () => setHash(window.location.hash);
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);

  useEffect(() => {
    api.config().then((c) => {
      setConfig(c);
      document.title = c.company_name;
      document.documentElement.style.setProperty("--accent", c.accent_color);
    }).catch(() => undefined);
    api.me().then(setUser).catch(() => setUser(null));
  }, []);

  const refresh = useCallback(() => {
    api.conversations(search.trim() || undefined).then(setConversations).catch(() => undefined);
  }, [search]);

  const chat = useChat({ enabled: !!user, lang, role, onAnswered: refresh, onUnauthorized: () => setUser(null) });

  useEffect(() => {
    if (!user) return;
    const timer = setTimeout(refresh, search ? 250 : 0);
    return () => clearTimeout(timer);
  }, [user, search, refresh]);
  useEffect(() => {
    if (user) api.popular(4).then((p) => setSuggestions(p.questions)).catch(() => undefined);
  }, [user, lang]);

  const signIn = async (name: string) => {
    try {
      setUser(await api.signIn(name));
      setSignInError(null);
    } catch (e) {
      setSignInError(e instanceof ApiError ? e.message : String(e));
    }
  };

  const company = config?.company_name ?? "Opora";
  if (user === undefined) return <div className="loading" aria-busy="true" />;
  if (user === null) {
    if (config?.auth === "oidc") {
      const next = encodeURIComponent(window.location.pathname);
      return (
        <main className="signin">
          <a className="sso" href={`/api/v1/web/oidc/login?next=${next}`}>{t("signInSso")}</a>
        </main>
      );
    }
    return config?.auth === "proxy" ? (
      <main className="signin"><p>{t("conn_unauthorized")}</p></main>
    ) : (
      <SignIn onSignIn={signIn} t={t} company={company} error={signInError} />
    );
  }

  const admin = user.is_admin ? adminPage(hash) : null;
  if (admin) {
    return (
      <Suspense fallback={<div className="loading" aria-busy="true" />}>
        <AdminApp lang={lang} page={admin} onExit={() => { window.location.hash = ""; }} />
      </Suspense>
    );
  }

  const openConversation = async (id: number) => {
    setMenuOpen(false);
    await chat.load(id).catch(() => refresh());
  };

  return (
    <div className="app">
      <a className="skip" href="#question">{t("placeholder")}</a>
      <header className="topbar">
        <button type="button" className="menu" aria-label={t("menu")} aria-expanded={menuOpen}
          onClick={() => setMenuOpen(!menuOpen)}>☰</button>
        <div className="brand"><span className="logo small" aria-hidden="true">{company.slice(0, 1)}</span>{company}</div>
        <span className={`conn conn-${chat.connection}`} role="status" aria-live="polite" data-testid="connection">
          <span className="dot" aria-hidden="true" />{t(`conn_${chat.connection}`)}
        </span>
        <div className="controls">
          <label>
            <span className="sr-only">{t("role")}</span>
            <select aria-label={t("role")} value={role} onChange={(e) => setRole(e.target.value as Role)}>
              {ROLES.map((r) => <option key={r} value={r}>{r === "default" ? t("roleDefault") : t(r)}</option>)}
            </select>
          </label>
          <label>
            <span className="sr-only">{t("language")}</span>
            <select aria-label={t("language")} value={lang} onChange={(e) => setLang(e.target.value as Lang)}>
              <option value="ru">RU</option>
              <option value="en">EN</option>
            </select>
          </label>
          <button type="button" className="theme" aria-label={`${t("theme")}: ${theme === "dark" ? t("dark") : t("light")}`}
            onClick={() => setTheme(theme === "dark" ? "light" : "dark")}>{theme === "dark" ? "☾" : "☀"}</button>
          {user.is_admin && <a className="admin-link" href="#/admin">{t("analytics")}</a>}
          <span className="user" title={user.email ?? user.name}>{user.name}</span>
          {config?.auth !== "proxy" && (
            <button type="button" className="signout" onClick={async () => {
              await api.signOut();
              chat.reset();
              setUser(null);
            }}>{t("signOut")}</button>
          )}
        </div>
      </header>
      <div className="body">
        <Sidebar
          conversations={conversations} activeId={chat.state.conversationId} search={search} onSearch={setSearch}
          onOpen={(id) => void openConversation(id)}
          onNew={() => { chat.reset(); setMenuOpen(false); }}
          onRename={async (id, title) => { await api.rename(id, title); refresh(); }}
          onDelete={async (id) => {
            await api.remove(id);
            if (chat.state.conversationId === id) chat.reset();
            refresh();
          }}
          t={t} open={menuOpen} onClose={() => setMenuOpen(false)}
        />
        <ChatView state={chat.state} t={t} suggestions={suggestions} company={company} onAsk={chat.ask}
          onVote={chat.vote} onHuman={chat.callHuman} />
      </div>
    </div>
  );
}
