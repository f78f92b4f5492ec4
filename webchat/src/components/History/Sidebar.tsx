/** Conversation history: grouped by date, searchable, rename and delete. */
import { useState } from "react";
import type { T, TextKey } from "../../i18n";
import type { Conversation } from "../../types/chat.types";

export function dateGroup(iso: string | null, now = new Date()): TextKey {
  if (!iso) return "older";
  const day = (d: Date) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const diff = Math.round((day(now) - day(new Date(iso))) / 86_400_000);
  return diff <= 0 ? "today" : diff === 1 ? "yesterday" : diff <= 7 ? "week" : "older";
}

export function Sidebar({ conversations, activeId, search, onSearch, onOpen, onNew, onRename, onDelete, t, open, onClose }: {
  conversations: Conversation[];
  activeId: number | null;
  search: string;
  onSearch: (q: string) => void;
  onOpen: (id: number) => void;
  onNew: () => void;
  onRename: (id: number, title: string) => Promise<void>;
  onDelete: (id: number) => Promise<void>;
  t: T;
  open: boolean;
  onClose: () => void;
}) {
  const [editing, setEditing] = useState<number | null>(null);
  const [title, setTitle] = useState("");
  const groups: [TextKey, Conversation[]][] = [];
  for (const c of conversations) {
    const g = dateGroup(c.updated_at);
    const found = groups.find(([k]) => k === g);
    if (found) found[1].push(c);
    else groups.push([g, [c]]);
  }
  return (
    <nav className={open ? "sidebar open" : "sidebar"} aria-label={t("history")}>
      <div className="sidebar-top">
        <button type="button" className="new-chat" onClick={onNew}>+ {t("newChat")}</button>
        <button type="button" className="close-menu" aria-label={t("close")} onClick={onClose}>✕</button>
      </div>
      <label className="sr-only" htmlFor="search">{t("search")}</label>
      <input id="search" type="search" className="search" placeholder={t("search")} value={search}
        onChange={(e) => onSearch(e.target.value)} />
      {conversations.length === 0 && <p className="muted">{t("noConversations")}</p>}
      {groups.map(([group, items]) => (
        <section key={group} className="group">
          <h2>{t(group)}</h2>
          <ul>
            {items.map((c) => (
              <li key={c.id} className={c.id === activeId ? "conv active" : "conv"}>
                {editing === c.id ? (
                  <form onSubmit={async (e) => {
                    e.preventDefault();
                    if (title.trim()) await onRename(c.id, title.trim());
                    setEditing(null);
                  }}>
                    <label className="sr-only" htmlFor={`rename-${c.id}`}>{t("rename")}</label>
                    <input id={`rename-${c.id}`} autoFocus value={title} maxLength={200}
                      onChange={(e) => setTitle(e.target.value)}
                      onKeyDown={(e) => e.key === "Escape" && setEditing(null)} />
                    <button type="submit" aria-label={t("save")}>✓</button>
                  </form>
                ) : (
                  <>
                    <button type="button" className="conv-open" aria-current={c.id === activeId ? "page" : undefined}
                      onClick={() => onOpen(c.id)}>{c.title || "…"}</button>
                    <span className="conv-actions" role="group" aria-label={t("conversationActions")}>
                      <button type="button" aria-label={`${t("rename")}: ${c.title}`} title={t("rename")}
                        onClick={() => { setEditing(c.id); setTitle(c.title); }}>✎</button>
                      <button type="button" aria-label={`${t("delete")}: ${c.title}`} title={t("delete")}
                        onClick={async () => { if (window.confirm(t("confirmDelete"))) await onDelete(c.id); }}>✕</button>
                    </span>
                  </>
                )}
              </li>
            ))}
          </ul>
        </section>
      ))}
    </nav>
  );
}
