/** REST calls of the web chat (``/api/v1/web``); errors carry the server's code and localized message. */
import type { ChatConfig, Conversation, ConversationMessages, Lang, User } from "../types/chat.types";

const BASE = "/api/v1/web";

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

let uiLang: Lang = "en";
export function setApiLang(lang: Lang): void {
  uiLang = lang;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${BASE}${path}`, {
    method,
    credentials: "same-origin",
    headers: { "Accept-Language": uiLang, ...(body !== undefined ? { "Content-Type": "application/json" } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  if (res.status === 204) return undefined as T;
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, data.code ?? "error", data.message ?? res.statusText);
  return data as T;
}

export const api = {
  config: () => call<ChatConfig>("GET", "/config"),
  me: () => call<User>("GET", "/me"),
  signIn: (name: string) => call<User>("POST", "/session", { name }),
  signOut: () => call<void>("DELETE", "/session"),
  conversations: (search?: string) =>
    call<Conversation[]>("GET", `/conversations${search ? `?search=${encodeURIComponent(search)}` : ""}`),
  messages: (id: number) => call<ConversationMessages>("GET", `/conversations/${id}/messages`),
  rename: (id: number, title: string) => call<Conversation>("PATCH", `/conversations/${id}`, { title }),
  remove: (id: number) => call<void>("DELETE", `/conversations/${id}`),
  popular: (limit = 4) => call<{ questions: string[]; from_history: number }>("GET", `/popular?limit=${limit}`),
  vote: (message_id: number, value: number, comment?: string | null) =>
    call<{ message_id: number; value: number }>("POST", "/feedback", { message_id, value, comment: comment || null }),
  human: (id: number, lang: Lang) => call<{ text: string }>("POST", `/conversations/${id}/human`, { lang }),
};
