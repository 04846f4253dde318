// WebSocket subscriptions to join and to live stats, on the Hibernation API so idle subscribers cost no memory.
//
// A hibernated object is rebuilt from scratch when a message or a queue call wakes it, and only what was given
// to `serializeAttachment` comes back with each socket. So every session's subscriptions live in its attachment,
// and the in-memory map below is only a cache, refilled from `ctx.getWebSockets()` on first use after waking.

import { LIMITS } from "../contract/limits.ts";
import { type ProblemCode, problem, problemStatus } from "../contract/problems.ts";
import { describeIssues, SubscriberMessage } from "../contract/schemas.ts";
import type { JoinableQueue } from "../core/queue.ts";
import type { Stats } from "../core/types.ts";

/** A join subscription: told when unfinished_tasks reaches 0; a repeating one re-arms when work arrives. */
interface JoinSubscription {
  id: string | null;
  repeat: boolean;
  armed: boolean;
}

interface Session {
  joins: JoinSubscription[];
  watch: boolean;
  /** When stats were last sent, and what they were, for coalescing. */
  sentAt: number;
  sent: string;
}

export const WATCH_INTERVAL_MS = 100;
/** Close codes (4000-4999 are the application's): the queue was shut down, or deleted. */
export const CLOSE_SHUTDOWN = 4001;
export const CLOSE_DELETED = 4004;

export class Subscriptions {
  private sessions: Map<WebSocket, Session> | undefined;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly queue: () => JoinableQueue | undefined,
    private readonly maxSubscribers: number,
  ) {
    // Keep-alive pings are answered by the runtime without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  accept(request: Request, path: string): Response {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return problem("invalid_request", "this endpoint needs a WebSocket upgrade ('Upgrade: websocket')", path);
    }
    if (this.ctx.getWebSockets().length >= this.maxSubscribers) {
      const detail = `this queue already has ${this.maxSubscribers} WebSocket subscribers (the cap); retry later`;
      return problem("limit_exceeded", detail, path, { "retry-after": "5" });
    }
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server);
    this.save(server, { joins: [], watch: false, sentAt: 0, sent: "" });
    const q = this.queue();
    if (q?.isShutdown) this.end(server, "shutdown", q.stats(Date.now()));
    return new Response(null, { status: 101, webSocket: client });
  }

  message(ws: WebSocket, data: string | ArrayBuffer, now: number): void {
    const session = this.all().get(ws);
    const q = this.queue();
    if (!session || !q) return;
    const parsed = parse(data);
    if ("code" in parsed) return error(ws, parsed.code, parsed.detail);
    const msg = parsed.message;
    if (msg.op === "join") {
      // Every subscription lives in the socket's attachment, which the runtime caps at 16 KiB.
      if (session.joins.length >= LIMITS.maxJoinsPerSocket) {
        return error(ws, "limit_exceeded", `a socket may hold at most ${LIMITS.maxJoinsPerSocket} join subscriptions`);
      }
      const sub = { id: msg.id ?? null, repeat: msg.repeat ?? false, armed: true };
      if (!this.fireJoin(ws, sub, q) || sub.repeat) session.joins.push(sub);
    } else if (msg.op === "unjoin") {
      session.joins = session.joins.filter((j) => msg.id !== undefined && j.id !== msg.id);
    } else if (msg.op === "watch") {
      session.watch = true;
      session.sent = "";
      session.sentAt = 0;
      this.sendStats(ws, session, q.stats(now), now);
    } else {
      session.watch = false;
    }
    this.save(ws, session);
  }

  closed(ws: WebSocket, code: number): void {
    this.all().delete(ws);
    try {
      ws.close(code === 1005 ? 1000 : code, "bye");
    } catch {
      // already closed
    }
  }

  /** Called after every queue operation, in the same turn: joins fire at once, stats are coalesced. */
  changed(now: number): void {
    const q = this.queue();
    if (!q) return;
    const sessions = this.all();
    if (sessions.size === 0) return;
    if (q.isShutdown) return this.close("shutdown");
    const stats = [...sessions.values()].some((s) => s.watch) ? q.stats(now) : undefined;
    const statsJson = JSON.stringify(stats);
    let due = Infinity;
    for (const [ws, session] of sessions) {
      try {
        due = Math.min(due, this.notify(ws, session, q, stats, statsJson, now));
      } catch (e) {
        // One socket's trouble (say, its attachment) must not keep the others from being told.
        console.error("notifying a subscriber failed", e);
      }
    }
    // A burst is coalesced into at most one message per interval; the trailing flush sends the final state.
    if (due !== Infinity && this.flushTimer === undefined) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        this.changed(Date.now());
      }, due - now);
    }
  }

  /** Tells one socket what changed; answers when its next coalesced stats message is due (Infinity: not needed). */
  private notify(
    ws: WebSocket,
    session: Session,
    q: JoinableQueue,
    stats: Stats | undefined,
    statsJson: string,
    now: number,
  ): number {
    let dirty = false;
    let due = Infinity;
    for (const sub of [...session.joins]) {
      if (q.unfinishedTasks > 0 && !sub.armed) {
        sub.armed = true;
        dirty = true;
      } else if (this.fireJoin(ws, sub, q)) {
        dirty = true;
        if (!sub.repeat) session.joins.splice(session.joins.indexOf(sub), 1);
      }
    }
    if (stats && session.watch && statsJson !== session.sent) {
      if (now - session.sentAt >= WATCH_INTERVAL_MS) {
        this.sendStats(ws, session, stats, now);
        dirty = true;
      } else {
        due = session.sentAt + WATCH_INTERVAL_MS;
      }
    }
    if (dirty) this.save(ws, session);
    return due;
  }

  /** Tells every subscriber why, then closes its socket with the matching close code. */
  close(reason: "shutdown" | "deleted"): void {
    const stats = reason === "shutdown" ? this.queue()?.stats(Date.now()) : undefined; // once, not per socket
    for (const ws of this.ctx.getWebSockets()) this.end(ws, reason, stats);
    this.sessions = new Map();
  }

  private end(ws: WebSocket, reason: "shutdown" | "deleted", stats: Stats | undefined): void {
    send(ws, { type: reason, stats });
    try {
      if (reason === "shutdown") ws.close(CLOSE_SHUTDOWN, "queue shut down");
      else ws.close(CLOSE_DELETED, "queue deleted");
    } catch {
      // the peer closed first
    }
  }

  private fireJoin(ws: WebSocket, sub: JoinSubscription, q: JoinableQueue): boolean {
    if (!sub.armed || q.unfinishedTasks > 0) return false;
    sub.armed = false;
    send(ws, { type: "joined", id: sub.id, unfinished_tasks: 0, dead_lettered: q.deadLettered });
    return true;
  }

  private sendStats(ws: WebSocket, session: Session, stats: Stats, now: number): void {
    session.sent = JSON.stringify(stats);
    session.sentAt = now;
    send(ws, { type: "stats", stats });
  }

  private all(): Map<WebSocket, Session> {
    this.sessions ??= new Map(this.ctx.getWebSockets().map((ws) => [ws, ws.deserializeAttachment() as Session]));
    return this.sessions;
  }

  private save(ws: WebSocket, session: Session): void {
    this.all().set(ws, session);
    ws.serializeAttachment(session);
  }
}

function send(ws: WebSocket, message: unknown): void {
  try {
    ws.send(JSON.stringify(message));
  } catch {
    // The peer is gone; webSocketClose will clean up.
  }
}

function error(ws: WebSocket, code: ProblemCode, detail: string): void {
  send(ws, { type: "error", code, status: problemStatus(code), detail });
}

function parse(data: string | ArrayBuffer): { message: SubscriberMessage } | { code: ProblemCode; detail: string } {
  if (typeof data !== "string")
    return { code: "invalid_request", detail: "binary frames are not supported; send JSON text" };
  // The cap is in bytes of UTF-8, as the frame travels: a character may take up to three of them.
  if (data.length * 3 > LIMITS.maxFrameBytes && new TextEncoder().encode(data).byteLength > LIMITS.maxFrameBytes) {
    return { code: "payload_too_large", detail: `a frame may be at most ${LIMITS.maxFrameBytes} bytes of UTF-8` };
  }
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return { code: "invalid_request", detail: "the frame is not JSON" };
  }
  const result = SubscriberMessage.safeParse(value);
  return result.success ? { message: result.data } : { code: "invalid_request", detail: describeIssues(result.error) };
}
