/** Every UI text in Russian and English. */
import type { Lang } from "./types/chat.types";

const en = {
  signInTitle: "Sign in", signInHint: "Enter your name to start. Your conversations are visible only to you.",
  signInSso: "Sign in with your company account",
  name: "Name", signIn: "Sign in", signOut: "Sign out", newChat: "New chat", search: "Search conversations",
  history: "History", today: "Today", yesterday: "Yesterday", week: "Previous 7 days", older: "Older",
  rename: "Rename", delete: "Delete", save: "Save", cancel: "Cancel", confirmDelete: "Delete this conversation?",
  noConversations: "No conversations yet", emptyTitle: "How can I help?",
  emptyHint: "Ask about the company's documentation. Popular questions:", placeholder: "Ask a question…",
  send: "Send", role: "Role", language: "Language", theme: "Theme", dark: "Dark", light: "Light",
  roleDefault: "Any role", frontend: "Frontend", backend: "Backend", devops: "DevOps", qa: "QA",
  sources: "Sources", copy: "Copy", copied: "Copied", helpful: "Helpful", notHelpful: "Not helpful",
  commentPlaceholder: "What was wrong or missing? (optional)", sendFeedback: "Send feedback",
  thanks: "Thank you for the feedback!", callHuman: "Call a human", thinking: "Writing the answer…",
  conn_connecting: "Connecting…", conn_open: "Connected", conn_reconnecting: "Reconnecting…",
  conn_offline: "Offline", conn_unauthorized: "Signed out", menu: "Conversations", close: "Close",
  stillWriting: "The answer is still being written; it will appear here.", you: "You", bot: "Assistant",
  latency: "answered in {s} s", escalated: "Flagged for escalation",
  messages: "Conversation", conversationActions: "Conversation actions", analytics: "Analytics",
};
type Key = keyof typeof en;
const ru: Record<Key, string> = {
  signInTitle: "Вход", signInHint: "Введите имя, чтобы начать. Ваши разговоры видите только вы.",
  signInSso: "Войти через корпоративную учётную запись",
  name: "Имя", signIn: "Войти", signOut: "Выйти", newChat: "Новый чат", search: "Поиск по разговорам",
  history: "История", today: "Сегодня", yesterday: "Вчера", week: "Предыдущие 7 дней", older: "Ранее",
  rename: "Переименовать", delete: "Удалить", save: "Сохранить", cancel: "Отмена", confirmDelete: "Удалить этот разговор?",
  noConversations: "Разговоров пока нет", emptyTitle: "Чем помочь?",
  emptyHint: "Спросите о документации компании. Частые вопросы:", placeholder: "Задайте вопрос…",
  send: "Отправить", role: "Роль", language: "Язык", theme: "Тема", dark: "Тёмная", light: "Светлая",
  roleDefault: "Любая роль", frontend: "Frontend", backend: "Backend", devops: "DevOps", qa: "QA",
  sources: "Источники", copy: "Копировать", copied: "Скопировано", helpful: "Полезно", notHelpful: "Бесполезно",
  commentPlaceholder: "Что было не так или чего не хватило? (необязательно)", sendFeedback: "Отправить отзыв",
  thanks: "Спасибо за отзыв!", callHuman: "Позвать человека", thinking: "Пишу ответ…",
  conn_connecting: "Подключение…", conn_open: "Подключено", conn_reconnecting: "Переподключение…",
  conn_offline: "Нет связи", conn_unauthorized: "Вы вышли", menu: "Разговоры", close: "Закрыть",
  stillWriting: "Ответ ещё пишется и появится здесь.", you: "Вы", bot: "Ассистент",
  latency: "ответ за {s} с", escalated: "Отмечено для эскалации",
  messages: "Разговор", conversationActions: "Действия с разговором", analytics: "Аналитика",
};
export const TEXTS: Record<Lang, Record<Key, string>> = { en, ru };
export type TextKey = Key;
export type T = (key: Key, vars?: Record<string, string | number>) => string;

export function translator(lang: Lang): T {
  return (key, vars) => {
    let text = TEXTS[lang][key];
    for (const [k, v] of Object.entries(vars ?? {})) text = text.replace(`{${k}}`, String(v));
    return text;
  };
}
