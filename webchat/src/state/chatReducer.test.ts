import { describe, expect, it } from "vitest";
import { chatReducer, initialState } from "./chatReducer";
import type { ChatState, ServerEvent } from "../types/chat.types";

const run = (state: ChatState, ...events: ServerEvent[]) =>
  events.reduce((s, event) => chatReducer(s, { type: "server", event }), state);

describe("chatReducer", () => {
  it("streams deltas, sources and the end into the answer of its request", () => {
    let s = chatReducer(initialState("t1"), { type: "asked", requestId: "a", text: "how?" });
    s = chatReducer(s, { type: "asked", requestId: "b", text: "and?" });
    s = run(
      s,
      { type: "answer.start", request_id: "a", conversation_id: 7, lang: "en" },
      { type: "answer.delta", request_id: "b", text: "B1 " },
      { type: "answer.delta", request_id: "a", text: "Use " },
      { type: "answer.delta", request_id: "a", text: "`helm rollback` [1]" },
      { type: "answer.sources", request_id: "a", sources: [{ n: 1, title: "Helm", url: null, path: "x.md", section: null, score: 1, doc_id: "d" }] },
      { type: "answer.end", request_id: "a", conversation_id: 7, message_id: 42, latency_ms: 12, abstained: false, escalated: false },
    );
    const [, a, , b] = s.messages;
    expect(s.conversationId).toBe(7);
    expect(a).toMatchObject({ text: "Use `helm rollback` [1]", status: "done", messageId: 42, latencyMs: 12 });
    expect(a.sources).toHaveLength(1);
    expect(b).toMatchObject({ text: "B1 ", status: "streaming" });
    expect(Object.keys(s.pending)).toEqual(["b"]);
  });

  it("marks an error on its request only and ignores events of other chats", () => {
    let s = chatReducer(initialState("t"), { type: "asked", requestId: "a", text: "q" });
    s = run(
      s,
      { type: "error", request_id: "a", code: "rate_limited", message: "Слишком много вопросов" },
      { type: "answer.delta", request_id: "zzz", text: "stray" },
    );
    expect(s.messages[1]).toMatchObject({ status: "error", error: "Слишком много вопросов" });
    expect(s.pending).toEqual({});
  });

  it("loads history with votes and notes an interrupted answer", () => {
    let s = chatReducer(initialState("t"), { type: "asked", requestId: "a", text: "q" });
    s = chatReducer(s, { type: "interrupted" });
    expect(s.inProgress).toBe(true);
    s = chatReducer(s, {
      type: "loaded", conversationId: 3, inProgress: false,
      messages: [
        { id: 1, kind: "question", text: "q", lang: "en", reply_to: null, created_at: null, sources: [], latency_ms: null, abstained: false, escalated: false, vote: null },
        { id: 2, kind: "answer", text: "a", lang: "en", reply_to: 1, created_at: null, sources: [], latency_ms: 5, abstained: true, escalated: false, vote: { value: -1, comment: "no" } },
      ],
    });
    expect(s.inProgress).toBe(false);
    expect(s.messages[1]).toMatchObject({ messageId: 2, abstained: true, vote: { value: -1, comment: "no" } });
    s = chatReducer(s, { type: "voted", messageId: 2, value: 0, comment: null });
    expect(s.messages[1].vote).toBeNull();
  });
});
