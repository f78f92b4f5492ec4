import { describe, expect, it } from "vitest";
import { ChatSocket, CLOSE_UNAUTHORIZED, backoffDelay, type SocketLike } from "./websocket";
import type { ConnectionState, ServerEvent } from "../types/chat.types";

class FakeSocket implements SocketLike {
  readyState = 0;
  sent: string[] = [];
  onopen: SocketLike["onopen"] = null;
  onclose: SocketLike["onclose"] = null;
  onmessage: SocketLike["onmessage"] = null;
  onerror: SocketLike["onerror"] = null;
  send(data: string) { this.sent.push(data); }
  close() { this.readyState = 3; }
  open() { this.readyState = 1; this.onopen?.({}); }
  drop(code = 1006) { this.readyState = 3; this.onclose?.({ code }); }
}

function harness() {
  const sockets: FakeSocket[] = [];
  const timers: { fn: () => void; ms: number; id: number }[] = [];
  let next = 0;
  const states: ConnectionState[] = [];
  const events: ServerEvent[] = [];
  let reconnected = 0;
  const socket = new ChatSocket("ws://x/ws", {
    onEvent: (e) => events.push(e),
    onState: (s) => states.push(s),
    onReconnected: () => reconnected++,
    create: () => { const s = new FakeSocket(); sockets.push(s); return s; },
    random: () => 1,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    heartbeatMs: 50,
    timers: {
      set: (fn, ms) => { timers.push({ fn, ms, id: ++next }); return next; },
      clear: (id) => { const i = timers.findIndex((t) => t.id === id); if (i >= 0) timers.splice(i, 1); },
    },
  });
  const fire = (pred: (ms: number) => boolean) => {
    const i = timers.findIndex((t) => pred(t.ms));
    const [t] = timers.splice(i, 1);
    t.fn();
    return t.ms;
  };
  return { socket, sockets, timers, states, events, fire, reconnected: () => reconnected };
}

describe("backoffDelay", () => {
  it("doubles up to the cap with jitter between half and all of it", () => {
    expect(backoffDelay(0, 500, 15000, () => 1)).toBe(500);
    expect(backoffDelay(3, 500, 15000, () => 1)).toBe(4000);
    expect(backoffDelay(10, 500, 15000, () => 1)).toBe(15000);
    expect(backoffDelay(3, 500, 15000, () => 0)).toBe(2000);
  });
});

describe("ChatSocket", () => {
  it("reconnects with growing delays, flushes the outbox and reports the states", () => {
    const h = harness();
    h.socket.connect();
    h.socket.send({ type: "ask", request_id: "r", text: "early" });
    h.sockets[0].open();
    expect(h.sockets[0].sent[0]).toContain("early");
    h.sockets[0].drop();
    expect(h.fire((ms) => ms === 100)).toBe(100);
    h.sockets[1].drop();
    expect(h.fire((ms) => ms !== 50)).toBe(200);
    h.socket.send({ type: "ask", request_id: "r2", text: "while away" });
    h.sockets[2].open();
    expect(h.sockets[2].sent[0]).toContain("while away");
    expect(h.reconnected()).toBe(1);
    expect(h.states).toEqual(["connecting", "open", "reconnecting", "reconnecting", "reconnecting", "reconnecting", "open"]);
  });

  it("stops on 4401 and drops a connection whose pong never comes", () => {
    const h = harness();
    h.socket.connect();
    h.sockets[0].open();
    h.fire((ms) => ms === 50); // ping sent
    expect(h.sockets[0].sent.at(-1)).toContain("ping");
    h.fire((ms) => ms === 50); // no pong: reconnect
    expect(h.states.at(-1)).toBe("reconnecting");
    h.fire((ms) => ms === 100);
    h.sockets[1].open();
    h.sockets[1].onmessage?.({ data: JSON.stringify({ type: "answer.delta", request_id: "a", text: "x" }) });
    expect(h.events).toHaveLength(1);
    h.sockets[1].drop(CLOSE_UNAUTHORIZED);
    expect(h.states.at(-1)).toBe("unauthorized");
    expect(h.timers.filter((t) => t.ms !== 50)).toHaveLength(0);
  });
});
