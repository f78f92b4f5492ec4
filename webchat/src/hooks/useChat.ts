/** The chat of the current conversation: socket, state, history reload after reconnects. */
import { useCallback, useEffect, useReducer, useRef, useState } from "react";
import { api } from "../services/api";
import { ChatSocket, socketUrl } from "../services/websocket";
import { chatReducer, initialState } from "../state/chatReducer";
import type { ConnectionState, Lang, Role, ServerEvent } from "../types/chat.types";

export function newId(): string {
  const c = globalThis.crypto;
  return c && "randomUUID" in c ? c.randomUUID().replace(/-/g, "") : `${Date.now()}${Math.random()}`.replace(".", "");
}

export interface UseChatOptions {
  enabled: boolean;
  lang: Lang;
  role: Role;
  onAnswered: () => void;
  onUnauthorized: () => void;
}

export function useChat({ enabled, lang, role, onAnswered, onUnauthorized }: UseChatOptions) {
  const [state, dispatch] = useReducer(chatReducer, newId(), initialState);
  const [connection, setConnection] = useState<ConnectionState>("connecting");
  const socket = useRef<ChatSocket | null>(null);
  const stateRef = useRef(state);
  stateRef.current = state;
  const callbacks = useRef({ onAnswered, onUnauthorized });
  callbacks.current = { onAnswered, onUnauthorized };

  const load = useCallback(async (conversationId: number) => {
    const body = await api.messages(conversationId);
    dispatch({ type: "loaded", conversationId, messages: body.messages, inProgress: body.in_progress });
    return body.in_progress;
  }, []);

  useEffect(() => {
    if (!enabled) return;
    const s = new ChatSocket(socketUrl(), {
      onEvent: (event: ServerEvent) => {
        dispatch({ type: "server", event });
        if (event.type === "answer.end") callbacks.current.onAnswered();
      },
      onState: (st) => {
        setConnection(st);
        if (st === "reconnecting") dispatch({ type: "interrupted" });
        if (st === "unauthorized") callbacks.current.onUnauthorized();
      },
      onReconnected: () => {
        const id = stateRef.current.conversationId;
        if (id !== null) void load(id).catch(() => undefined);
      },
    });
    socket.current = s;
    s.connect();
    return () => {
      s.close();
      socket.current = null;
    };
  }, [enabled, load]);

  // after a reconnect the answer may still be written server-side: poll history until it is stored
  useEffect(() => {
    if (!state.inProgress || state.conversationId === null || connection !== "open") return;
    const id = state.conversationId;
    const timer = setInterval(() => void load(id).catch(() => undefined), 1500);
    return () => clearInterval(timer);
  }, [state.inProgress, state.conversationId, connection, load]);

  const ask = useCallback(
    (text: string) => {
      const trimmed = text.trim();
      if (!trimmed || !socket.current) return;
      const requestId = newId().slice(0, 16);
      const { conversationId, thread } = stateRef.current;
      dispatch({ type: "asked", requestId, text: trimmed });
      socket.current.send({
        type: "ask", request_id: requestId, text: trimmed, conversation_id: conversationId ?? thread,
        role: role === "default" ? null : role, lang,
      });
    },
    [lang, role],
  );

  const vote = useCallback(
    async (messageId: number, value: -1 | 0 | 1, comment: string | null) => {
      if (socket.current?.isOpen) socket.current.send({ type: "feedback", message_id: messageId, value, comment, lang });
      else await api.vote(messageId, value, comment);
      dispatch({ type: "voted", messageId, value, comment });
    },
    [lang],
  );

  const callHuman = useCallback(
    async (messageId: number) => {
      const id = stateRef.current.conversationId;
      if (id === null) return;
      const { text } = await api.human(id, lang);
      dispatch({ type: "notice", messageId, text });
    },
    [lang],
  );

  const reset = useCallback(() => dispatch({ type: "reset", thread: newId() }), []);

  return { state, connection, ask, vote, callHuman, load, reset };
}
