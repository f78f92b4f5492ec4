/** The web chat protocol (see docs/api.md) and the UI's own state. */

export type Lang = "ru" | "en";
export type Role = "default" | "frontend" | "backend" | "devops" | "qa";

export interface Source {
  n: number;
  title: string;
  url: string | null;
  path: string | null;
  section: string | null;
  score: number | null;
  doc_id: string | null;
  /** every section of the page the answer drew on (older answers: absent) */
  sections?: string[];
  /** why the page moved in the ranking beyond its text (a vote, the asker's role) */
  why?: string[];
}

// client → server
export interface AskMessage {
  type: "ask";
  request_id: string;
  text: string;
  conversation_id?: number | string | null;
  role?: Role | null;
  lang?: Lang;
}
export interface FeedbackMessage {
  type: "feedback";
  request_id?: string;
  message_id: number;
  value: -1 | 0 | 1;
  comment?: string | null;
  lang?: Lang;
}
export interface PingMessage {
  type: "ping";
  ts?: number;
}
export type ClientMessage = AskMessage | FeedbackMessage | PingMessage;

// server → client
export interface AnswerStartEvent { type: "answer.start"; request_id: string; conversation_id: number; lang: Lang }
export interface AnswerDeltaEvent { type: "answer.delta"; request_id: string; text: string }
export interface AnswerNoticeEvent { type: "answer.notice"; request_id: string; text: string }
export interface AnswerSourcesEvent { type: "answer.sources"; request_id: string; sources: Source[] }
export interface AnswerEndEvent {
  type: "answer.end";
  request_id: string;
  conversation_id: number;
  message_id: number;
  latency_ms: number;
  abstained: boolean;
  escalated: boolean;
}
export interface ErrorEvent {
  type: "error";
  request_id: string | null;
  code: string;
  message: string;
  retry_after?: number;
}
export interface FeedbackOkEvent { type: "feedback.ok"; request_id: string | null; message_id: number; value: number }
export interface PongEvent { type: "pong"; ts?: number }
export type ServerEvent =
  | AnswerStartEvent
  | AnswerDeltaEvent
  | AnswerNoticeEvent
  | AnswerSourcesEvent
  | AnswerEndEvent
  | ErrorEvent
  | FeedbackOkEvent
  | PongEvent;

// REST
export interface User { id: number; name: string; email: string | null; is_admin: boolean }
export interface ChatConfig {
  company_name: string;
  accent_color: string;
  auth: "name" | "proxy" | "oidc";
  roles: Role[];
  languages: Lang[];
}
export interface Conversation { id: number; title: string; created_at: string | null; updated_at: string | null }
export interface Vote { value: number; comment: string | null }
export interface StoredMessage {
  id: number;
  kind: "question" | "answer";
  text: string;
  lang: Lang | null;
  reply_to: number | null;
  created_at: string | null;
  sources: Source[];
  latency_ms: number | null;
  abstained: boolean;
  escalated: boolean;
  vote: Vote | null;
}
export interface ConversationMessages { conversation: Conversation; messages: StoredMessage[]; in_progress: boolean }

// UI state
export type ConnectionState = "connecting" | "open" | "reconnecting" | "offline" | "unauthorized";

export interface UiMessage {
  key: string;
  kind: "question" | "answer";
  text: string;
  status: "streaming" | "done" | "error";
  requestId?: string;
  messageId?: number;
  sources: Source[];
  notices: string[];
  abstained: boolean;
  escalated: boolean;
  latencyMs?: number;
  vote?: Vote | null;
  error?: string;
}

export interface ChatState {
  conversationId: number | null;
  thread: string; // the client's id for a new conversation, until the server names it
  messages: UiMessage[];
  pending: Record<string, string>; // request id → answer key
  inProgress: boolean; // an answer is still being written server-side (after a reconnect)
}
