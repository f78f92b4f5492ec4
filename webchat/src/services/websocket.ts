/** A WebSocket that reconnects with exponential backoff and jitter, keeps a heartbeat and an outbox. */
import type { ClientMessage, ConnectionState, ServerEvent } from "../types/chat.types";

export interface SocketLike {
  readyState: number;
  send(data: string): void;
  close(code?: number): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number }) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export interface SocketOptions {
  onEvent: (event: ServerEvent) => void;
  onState: (state: ConnectionState) => void;
  onReconnected?: () => void;
  create?: (url: string) => SocketLike;
  baseDelayMs?: number;
  maxDelayMs?: number;
  heartbeatMs?: number;
  random?: () => number;
  timers?: { set: (fn: () => void, ms: number) => unknown; clear: (id: unknown) => void };
}

export const CLOSE_UNAUTHORIZED = 4401;
const OPEN = 1;

/** The wait before reconnect attempt ``attempt`` (0-based): doubling, capped, with 50–100 % jitter. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 16));
  return Math.round(ceiling * (0.5 + random() / 2));
}

export function socketUrl(path = "/api/v1/web/ws", loc: { protocol: string; host: string } = window.location): string {
  return `${loc.protocol === "https:" ? "wss" : "ws"}://${loc.host}${path}`;
}

export class ChatSocket {
  private ws: SocketLike | null = null;
  private attempt = 0;
  private retryTimer: unknown = null;
  private beatTimer: unknown = null;
  private awaitingPong = false;
  private stopped = false;
  private everOpened = false;
  private outbox: string[] = [];
  state: ConnectionState = "connecting";

  constructor(private readonly url: string, private readonly opts: SocketOptions) {}

  private get timers() {
    return this.opts.timers ?? {
      set: (fn: () => void, ms: number) => setTimeout(fn, ms),
      clear: (id: unknown) => clearTimeout(id as ReturnType<typeof setTimeout>),
    };
  }

  private setState(state: ConnectionState): void {
    this.state = state;
    this.opts.onState(state);
  }

  connect(): void {
    this.stopped = false;
    this.setState(this.everOpened ? "reconnecting" : "connecting");
    const ws = (this.opts.create ?? ((u) => new WebSocket(u) as unknown as SocketLike))(this.url);
    this.ws = ws;
    ws.onopen = () => {
      const reconnected = this.everOpened;
      this.attempt = 0;
      this.everOpened = true;
      this.setState("open");
      for (const data of this.outbox.splice(0)) ws.send(data);
      this.awaitingPong = false;
      this.heartbeat();
      if (reconnected) this.opts.onReconnected?.();
    };
    ws.onmessage = (ev) => {
      let event: ServerEvent;
      try {
        event = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      if (event.type === "pong") this.awaitingPong = false;
      else this.opts.onEvent(event);
    };
    ws.onerror = () => undefined; // onclose follows and decides
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.stopHeartbeat();
      if (this.stopped) return this.setState("offline");
      if (ev.code === CLOSE_UNAUTHORIZED) return this.setState("unauthorized");
      this.setState("reconnecting");
      const delay = backoffDelay(this.attempt++, this.opts.baseDelayMs ?? 500, this.opts.maxDelayMs ?? 15000,
        this.opts.random ?? Math.random);
      this.retryTimer = this.timers.set(() => this.connect(), delay);
    };
  }

  /** Send now when open, else when the socket is back (questions asked offline are not lost). */
  send(message: ClientMessage): void {
    const data = JSON.stringify(message);
    if (this.ws && this.ws.readyState === OPEN) this.ws.send(data);
    else this.outbox.push(data);
  }

  get isOpen(): boolean {
    return !!this.ws && this.ws.readyState === OPEN;
  }

  close(): void {
    this.stopped = true;
    this.timers.clear(this.retryTimer);
    this.stopHeartbeat();
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000);
    this.setState("offline");
  }

  private heartbeat(): void {
    this.timers.clear(this.beatTimer);
    this.beatTimer = this.timers.set(() => {
      const ws = this.ws;
      if (!ws) return;
      if (this.awaitingPong) {
        ws.close(4000); // no pong for a whole period: the connection is dead, start over
        ws.onclose?.({ code: 4000 });
        return;
      }
      this.awaitingPong = true;
      ws.send(JSON.stringify({ type: "ping", ts: Date.now() }));
      this.heartbeat();
    }, this.opts.heartbeatMs ?? 20000);
  }

  private stopHeartbeat(): void {
    this.timers.clear(this.beatTimer);
    this.beatTimer = null;
    this.awaitingPong = false;
  }
}
