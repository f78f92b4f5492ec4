/** The chat's state machine: pure, so the protocol handling is tested without a browser. */
import type { ChatState, ServerEvent, StoredMessage, UiMessage } from "../types/chat.types";

export type ChatAction =
  | { type: "reset"; thread: string }
  | { type: "loaded"; conversationId: number; messages: StoredMessage[]; inProgress: boolean }
  | { type: "asked"; requestId: string; text: string }
  | { type: "server"; event: ServerEvent }
  | { type: "voted"; messageId: number; value: number; comment: string | null }
  | { type: "notice"; messageId: number; text: string }
  | { type: "interrupted" };

export function initialState(thread: string): ChatState {
  return { conversationId: null, thread, messages: [], pending: {}, inProgress: false };
}

export function fromStored(m: StoredMessage): UiMessage {
  return {
    key: `m${m.id}`,
    kind: m.kind,
    text: m.text,
    status: "done",
    messageId: m.id,
    sources: m.sources ?? [],
    notices: [],
    abstained: m.abstained,
    escalated: m.escalated,
    latencyMs: m.latency_ms ?? undefined,
    vote: m.vote,
  };
}

function omit(map: Record<string, string>, key: string): Record<string, string> {
  const copy = { ...map };
  delete copy[key];
  return copy;
}

function patch(state: ChatState, key: string, fn: (m: UiMessage) => UiMessage): ChatState {
  return { ...state, messages: state.messages.map((m) => (m.key === key ? fn(m) : m)) };
}

export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case "reset":
      return initialState(action.thread);
    case "loaded":
      return {
        ...state,
        conversationId: action.conversationId,
        messages: action.messages.map(fromStored),
        pending: {},
        inProgress: action.inProgress,
      };
    case "asked": {
      const answerKey = `a-${action.requestId}`;
      const question: UiMessage = {
        key: `q-${action.requestId}`, kind: "question", text: action.text, status: "done",
        sources: [], notices: [], abstained: false, escalated: false,
      };
      const answer: UiMessage = {
        key: answerKey, kind: "answer", text: "", status: "streaming", requestId: action.requestId,
        sources: [], notices: [], abstained: false, escalated: false,
      };
      return {
        ...state,
        messages: [...state.messages, question, answer],
        pending: { ...state.pending, [action.requestId]: answerKey },
      };
    }
    case "voted":
      return {
        ...state,
        messages: state.messages.map((m) =>
          m.messageId === action.messageId ? { ...m, vote: action.value ? { value: action.value, comment: action.comment } : null } : m,
        ),
      };
    case "notice":
      return {
        ...state,
        messages: state.messages.map((m) => (m.messageId === action.messageId ? { ...m, notices: [...m.notices, action.text] } : m)),
      };
    case "interrupted":
      // the socket dropped: what is still streaming will be read from history on reconnect
      return { ...state, inProgress: state.inProgress || Object.keys(state.pending).length > 0 };
    case "server":
      return onServerEvent(state, action.event);
  }
}

function onServerEvent(state: ChatState, event: ServerEvent): ChatState {
  if (!("request_id" in event) || !event.request_id) return state;
  const key = state.pending[event.request_id];
  if (!key) return state; // an answer for a chat that is no longer shown
  switch (event.type) {
    case "answer.start":
      return { ...state, conversationId: event.conversation_id };
    case "answer.delta":
      return patch(state, key, (m) => ({ ...m, text: m.text + event.text }));
    case "answer.notice":
      return patch(state, key, (m) => ({ ...m, notices: [...m.notices, event.text] }));
    case "answer.sources":
      return patch(state, key, (m) => ({ ...m, sources: event.sources }));
    case "answer.end": {
      const pending = omit(state.pending, event.request_id);
      const next = patch(state, key, (m) => ({
        ...m, status: "done", messageId: event.message_id, abstained: event.abstained,
        escalated: event.escalated, latencyMs: event.latency_ms, vote: null,
      }));
      return { ...next, pending, conversationId: event.conversation_id };
    }
    case "error": {
      const pending = omit(state.pending, event.request_id);
      return { ...patch(state, key, (m) => ({ ...m, status: "error", error: event.message })), pending };
    }
    default:
      return state;
  }
}
