/** Every text of the admin section in Russian and English. */
import type { Lang } from "../types/chat.types";

const en = {
  analytics: "Analytics", dashboard: "Dashboard", gaps: "Documentation gaps", ab: "A/B tests", backToChat: "Back to chat",
  period: "Period", last7: "7 days", last30: "30 days", last90: "90 days", custom: "Dates", from: "From", to: "To",
  channel: "Channel", allChannels: "All channels", loading: "Loading…", noData: "No data for this period",
  forbidden: "Analytics is for admins only.", exportCsv: "CSV", retry: "Retry",
  questions: "Questions", deflection: "Closed without a human", deflectionHint: "answered, no escalation, no 👎 within 24 h; goal {goal}",
  satisfaction: "Satisfaction", satisfactionHint: "👍 share of {votes} votes", voteRate: "Vote rate", voteRateHint: "answers with a vote",
  latency: "Full answer", ttft: "First token", p95Hint: "median; p95 {value}",
  answered: "Answered", abstained: "Abstained", escalated: "Escalated", noAnswer: "No answer",
  questionsPerDay: "Questions per day by channel", ratesPerDay: "Deflection and satisfaction per day", latencyPerDay: "Answer time per day (p50, p95)",
  byChannel: "By channel", byRole: "By role", role: "Role", topCited: "Most cited pages", topDown: "Most 👎 pages",
  page: "Page", cited: "Cited", down: "👎", up: "👍", restricted: "Restricted page",
  comments: "👎 comments", when: "When", question: "Question", comment: "Comment", user: "User (hashed)", none: "None yet",
  escalations: "Escalations: time to a human", escalationsHint: "{n} escalated threads; baseline {baseline}, goal {goal}",
  step: "Step", acknowledge: "Acknowledged", first_reply: "First human reply", resolve: "Resolved",
  reached: "Reached", p50: "p50", p95: "p95", withinBaseline: "Within baseline",
  gapsIntro: "Questions Opora could not answer, or answered with little confidence, grouped by meaning. Largest first.",
  gapQuestions: "{n} questions", gapSize: "{n}×", lowConfidence: "low confidence", examples: "Examples", nearestPages: "Nearest pages",
  lastAsked: "last asked {date}", noGaps: "No gaps in this period: every question found its page.",
  abIntro: "Each variant against the baseline ({baseline}): satisfaction with 95% intervals and a two-proportion z-test.",
  variant: "Variant", status: "Status", answers: "Answers", votes: "Votes", verdict: "Verdict", actions: "Actions",
  active: "active", stopped: "stopped", promoted: "promoted", baseline: "baseline",
  stop: "Stop", promote: "Promote", resume: "Resume", confirmStop: "Stop variant {v}? It gets no new conversations.",
  confirmPromote: "Promote variant {v}? Every new conversation will use it.", saved: "Saved: {v} is {s}.",
  goal: "goal",
  captured: "Captured answers", capturedIntro: "Answers people gave in escalated threads, drafted when the thread was resolved. Fix them if needed, then approve (Opora answers near-duplicate questions with them, naming the person) or reject.",
  exportMd: "Export Markdown", noDrafts: "No drafts to review.", drafts: "{n} to review", answerLabel: "Answer",
  answeredBy: "Answered by {who}, {date}", someone: "someone", summarised: "LLM summary", verbatim: "verbatim",
  fromEscalation: "escalation #{id}", approve: "Approve", reject: "Reject", saving: "Saving…", edited: "edited",
  approved: "Approved: “{q}” now answers near-duplicate questions.", rejected: "Rejected: “{q}”.",
  confirmReject: "Reject this draft? It will not be used in answers.",
  emptyField: "The question and the answer must not be empty.", reviewFailed: "Not saved: {message}",
  networkError: "The server did not answer. Check the connection and try again.",
};
type Key = keyof typeof en;
const ru: Record<Key, string> = {
  analytics: "Аналитика", dashboard: "Сводка", gaps: "Пробелы в документации", ab: "A/B-тесты", backToChat: "Вернуться в чат",
  period: "Период", last7: "7 дней", last30: "30 дней", last90: "90 дней", custom: "Даты", from: "С", to: "По",
  channel: "Канал", allChannels: "Все каналы", loading: "Загрузка…", noData: "Нет данных за период",
  forbidden: "Аналитика доступна только администраторам.", exportCsv: "CSV", retry: "Повторить",
  questions: "Вопросы", deflection: "Закрыто без человека", deflectionHint: "ответ без эскалации и без 👎 за 24 ч; цель {goal}",
  satisfaction: "Удовлетворённость", satisfactionHint: "доля 👍 из {votes} оценок", voteRate: "Доля оценённых", voteRateHint: "ответы с оценкой",
  latency: "Полный ответ", ttft: "Первый токен", p95Hint: "медиана; p95 {value}",
  answered: "Отвечено", abstained: "Нет ответа в документации", escalated: "Эскалировано", noAnswer: "Без ответа",
  questionsPerDay: "Вопросы по дням и каналам", ratesPerDay: "Закрытые без человека и удовлетворённость по дням", latencyPerDay: "Время ответа по дням (p50, p95)",
  byChannel: "По каналам", byRole: "По ролям", role: "Роль", topCited: "Чаще всего цитируемые страницы", topDown: "Страницы с 👎",
  page: "Страница", cited: "Цитирований", down: "👎", up: "👍", restricted: "Страница с ограниченным доступом",
  comments: "Комментарии к 👎", when: "Когда", question: "Вопрос", comment: "Комментарий", user: "Пользователь (хеш)", none: "Пока нет",
  escalations: "Эскалации: время до человека", escalationsHint: "{n} эскалированных тредов; было {baseline}, цель {goal}",
  step: "Этап", acknowledge: "Принято", first_reply: "Первый ответ человека", resolve: "Решено",
  reached: "Дошло", p50: "p50", p95: "p95", withinBaseline: "Быстрее прежнего",
  gapsIntro: "Вопросы, на которые Opora не нашла ответа или ответила неуверенно, сгруппированные по смыслу. Крупные группы — первыми.",
  gapQuestions: "{n} вопросов", gapSize: "{n}×", lowConfidence: "неуверенно", examples: "Примеры", nearestPages: "Ближайшие страницы",
  lastAsked: "последний раз {date}", noGaps: "Пробелов за период нет: каждый вопрос нашёл свою страницу.",
  abIntro: "Каждый вариант против базового ({baseline}): удовлетворённость с 95% интервалами и z-тест двух долей.",
  variant: "Вариант", status: "Статус", answers: "Ответов", votes: "Оценок", verdict: "Вывод", actions: "Действия",
  active: "работает", stopped: "остановлен", promoted: "основной", baseline: "базовый",
  stop: "Остановить", promote: "Сделать основным", resume: "Вернуть", confirmStop: "Остановить вариант {v}? Новые разговоры его не получат.",
  confirmPromote: "Сделать вариант {v} основным? Все новые разговоры пойдут на него.", saved: "Сохранено: {v} — {s}.",
  goal: "цель",
  captured: "Собранные ответы", capturedIntro: "Ответы людей в эскалированных тредах, собранные в черновики, когда тред закрыли. Поправьте при необходимости, затем одобрите (Opora будет отвечать ими на похожие вопросы, называя автора) или отклоните.",
  exportMd: "Экспорт в Markdown", noDrafts: "Черновиков на проверку нет.", drafts: "На проверке: {n}", answerLabel: "Ответ",
  answeredBy: "Ответил(а) {who}, {date}", someone: "кто-то", summarised: "сводка LLM", verbatim: "дословно",
  fromEscalation: "эскалация №{id}", approve: "Одобрить", reject: "Отклонить", saving: "Сохранение…", edited: "изменено",
  approved: "Одобрено: «{q}» теперь отвечает на похожие вопросы.", rejected: "Отклонено: «{q}».",
  confirmReject: "Отклонить черновик? Он не будет использоваться в ответах.",
  emptyField: "Вопрос и ответ не должны быть пустыми.", reviewFailed: "Не сохранено: {message}",
  networkError: "Сервер не ответил. Проверьте соединение и попробуйте ещё раз.",
};
export const ADMIN_TEXTS: Record<Lang, Record<Key, string>> = { en, ru };
export type AdminKey = Key;
export type AT = (key: Key, vars?: Record<string, string | number>) => string;

export function adminTranslator(lang: Lang): AT {
  return (key, vars) => {
    let text = ADMIN_TEXTS[lang][key];
    for (const [k, v] of Object.entries(vars ?? {})) text = text.replace(`{${k}}`, String(v));
    return text;
  };
}
