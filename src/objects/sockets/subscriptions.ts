// WebSocket subscriptions to join and to live stats, on the Hibernation API so idle subscribers cost no memory.
//
// A hibernated object is rebuilt from scratch when a message or a queue call wakes it, and only what was given
// to `serializeAttachment` comes back with each socket. So every session's subscriptions live in its attachment,
// and the in-memory map below is only a cache, refilled from `ctx.getWebSockets()` on first use after waking.

import { LIMITS } from "../../contract/limits.ts";
import { problem } from "../../contract/problems.ts";
import type { Right } from "../../contract/rights.ts";
import type { SubscriberMessage } from "../../contract/schemas.ts";
import type { JoinableQueue } from "../../core/queue.ts";
import type { JoinResult, Outcome, Stats } from "../../core/types.ts";
import { closeBack, direct, error, type Post, send } from "./frames.ts";

/** A join subscription: told when unfinished_tasks reaches 0; a repeating one re-arms when work arrives. */
interface JoinSubscription {
  id: string | null;
  repeat: boolean;
  armed: boolean;
  /** Told when this group drains (absent: the whole queue). */
  group?: string;
}

/** A delivery a consumer holds: its receipt, and when its lease ends (null: never), when its credit comes back. */
export type Held = [receipt: string, until: number | null];

/**
 * A consumer on a socket (see work.ts): up to `prefetch` deliveries unfinished at once, which it holds until they
 * end by any door; `since` orders waiting consumers across a hibernation as they arrived.
 */
export interface Consumer {
  id: string | number;
  prefetch: number;
  lease_seconds?: number;
  since: number;
  held: Held[];
}

export interface Session {
  /** Names the socket among the queue's, across hibernation (a consumer's wait in the core is named by it). */
  key: string;
  /** What the socket's credentials allow (a ticket carries the rights of the token that asked for it). */
  rights: Right[];
  consumers: Consumer[];
  joins: JoinSubscription[];
  watch: boolean;
  /** Set once a consuming socket (which stays open) has been told of the shutdown. */
  toldShutdown?: boolean;
  /** When stats were last sent, and what they were, for coalescing. */
  sentAt: number;
  sent: string;
}

export const WATCH_INTERVAL_MS = 100;
/** How often a sharded queue's totals are read for its watchers. */
export const TOTALS_INTERVAL_MS = 1000;
/** Close codes (4000-4999 are the application's): the queue was shut down, or deleted. */
export const CLOSE_SHUTDOWN = 4001;
export const CLOSE_DELETED = 4004;

/** What a sharded queue's sockets ask across its shards. */
export interface Across {
  /** A join, proven across the shards by the coordinator (shards/coordinator.ts). */
  join(request: { group?: string; since?: number }): Promise<Outcome<JoinResult & { puts: number }>>;
  /** The queue's stats: every shard's, added up (shards/totals.ts). */
  totals(): Promise<Outcome<{ stats: Stats }>>;
}

export class Subscriptions {
  private cache: Map<WebSocket, Session> | undefined;
  /**
   * Set on a sharded queue: its joins wait on the coordinator, each a call held open until a drain is proven, and
   * a watch reports the queue's totals, read from every shard while anyone watches.
   */
  across: Across | undefined;
  private polling: ReturnType<typeof setInterval> | undefined;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly queue: () => JoinableQueue | undefined,
    private readonly maxSubscribers: number,
    /** The queue's stats as the object answers them (with push state where the queue pushes). */
    private readonly statsOf: (q: JoinableQueue, now: number) => Stats,
    /** Runs an effect a client sees (a frame, a close) once the write that recorded what it tells has run. */
    private readonly later: (effect: () => void) => void,
  ) {
    // Keep-alive pings are answered by the runtime without waking the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /** How this queue's frames leave: after the write that recorded what they tell. */
  readonly post: Post = (ws, text) => this.later(() => direct(ws, text));

  accept(request: Request, path: string, rights: Right[]): Response {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return problem("invalid_request", "this endpoint needs a WebSocket upgrade ('Upgrade: websocket')", path);
    }
    if (this.ctx.getWebSockets().length >= this.maxSubscribers) {
      const detail = `this queue already has ${this.maxSubscribers} WebSocket subscribers (the cap); retry later`;
      return problem("limit_exceeded", detail, path, { "retry-after": "5" });
    }
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server);
    const key = crypto.randomUUID().slice(0, 8);
    this.save(server, { key, rights, consumers: [], joins: [], watch: false, sentAt: 0, sent: "" });
    const q = this.queue();
    if (q?.isShutdown) this.end(server, "shutdown", this.statsOf(q, Date.now()));
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Every open socket's session, as its attachment says (after a hibernation too). */
  sessions(): Map<WebSocket, Session> {
    return this.all();
  }

  message(ws: WebSocket, session: Session, msg: SubscriberMessage, now: number): void {
    const q = this.queue();
    if (!q) return;
    if (msg.op === "join") {
      // Every subscription lives in the socket's attachment, which the runtime caps at 16 KiB.
      if (session.joins.length >= LIMITS.maxJoinsPerSocket) {
        const detail = `a socket may hold at most ${LIMITS.maxJoinsPerSocket} join subscriptions`;
        return error(ws, "limit_exceeded", detail, undefined, this.post);
      }
      const group = msg.group === undefined ? {} : { group: msg.group };
      const sub: JoinSubscription = { id: msg.id ?? null, repeat: msg.repeat ?? false, armed: true, ...group };
      if (this.across) {
        session.joins.push(sub);
        void this.joinAcross(ws, session.key, sub, 0);
      } else if (!this.fireJoin(ws, sub, q) || sub.repeat) session.joins.push(sub);
    } else if (msg.op === "unjoin") {
      session.joins = session.joins.filter((j) => msg.id !== undefined && j.id !== msg.id);
    } else if (msg.op === "watch") {
      session.watch = true;
      session.sent = "";
      session.sentAt = 0;
      if (this.across) this.poll();
      else this.sendStats(ws, session, this.statsOf(q, now), now);
    } else {
      session.watch = false;
    }
    this.save(ws, session);
  }

  /** After waking: the joins of a sharded queue's sockets wait on the coordinator again. */
  resumeAcross(): void {
    if (!this.across) return;
    for (const [ws, session] of this.all())
      for (const sub of session.joins) void this.joinAcross(ws, session.key, sub, 0);
    if ([...this.all().values()].some((s) => s.watch)) this.poll();
  }

  /**
   * A sharded queue's watchers: the queue's totals, read from every shard now and then each TOTALS_INTERVAL_MS
   * while anyone watches, sent to each watcher when they changed (the object stays awake meanwhile).
   */
  private poll(): void {
    const tick = async () => {
      const watching = [...this.all()].filter(([, s]) => s.watch);
      if (watching.length === 0) {
        clearInterval(this.polling);
        this.polling = undefined;
        return;
      }
      const read = await this.across!.totals().catch(() => undefined);
      const stats = read?.ok ? read.stats : undefined;
      const json = JSON.stringify(stats);
      for (const [ws, session] of watching) {
        if (!stats || json === session.sent || !session.watch) continue;
        this.sendStats(ws, session, stats, Date.now());
        this.save(ws, session);
      }
    };
    void tick();
    this.polling ??= setInterval(() => void tick(), TOTALS_INTERVAL_MS);
  }

  /** Waits for a drain the coordinator proves; a repeating join then waits for the next one (more puts). */
  private async joinAcross(ws: WebSocket, key: string, sub: JoinSubscription, since: number): Promise<void> {
    for (;;) {
      const joined = await this.across!.join({ ...(sub.group === undefined ? {} : { group: sub.group }), since });
      const session = this.all().get(ws);
      if (session?.key !== key || !session.joins.includes(sub)) return; // closed, or unjoined meanwhile
      if (!joined.ok && joined.code === "poll_again") continue;
      if (!joined.ok) return error(ws, joined.code, joined.message, sub.id ?? undefined, this.post);
      const { puts, ok: _, drained: __, ...answer } = joined;
      send(ws, { type: "joined", id: sub.id, ...answer }, this.post);
      if (!sub.repeat) {
        session.joins.splice(session.joins.indexOf(sub), 1);
        return this.save(ws, session);
      }
      since = puts + 1;
    }
  }

  closed(ws: WebSocket, code: number): void {
    this.all().delete(ws);
    closeBack(ws, code);
  }

  /** Called after every queue operation, in the same turn: joins fire at once, stats are coalesced. */
  changed(now: number): void {
    const q = this.queue();
    if (!q) return;
    const sessions = this.all();
    if (sessions.size === 0) return;
    if (q.isShutdown) return this.close("shutdown");
    // A sharded queue's watchers are sent its totals by `poll`, not this shard's own stats.
    const stats = !this.across && [...sessions.values()].some((s) => s.watch) ? this.statsOf(q, now) : undefined;
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
    for (const sub of this.across ? [] : [...session.joins]) {
      if (q.unfinishedOf(sub.group) > 0 && !sub.armed) {
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

  /**
   * Tells every subscriber why, then closes its socket with the matching close code. At a shutdown a socket that
   * consumes or holds deliveries stays open: as in Python, consumers drain the queue and finish their tasks.
   */
  close(reason: "shutdown" | "deleted"): void {
    const q = this.queue();
    const stats = reason === "shutdown" && q ? this.statsOf(q, Date.now()) : undefined; // once, not per socket
    for (const [ws, session] of this.all()) {
      if (reason === "shutdown" && session.consumers.length > 0) {
        if (session.toldShutdown) continue;
        send(ws, { type: "shutdown", stats }, this.post);
        this.save(ws, { ...session, toldShutdown: true });
      } else {
        this.end(ws, reason, stats);
        this.all().delete(ws);
      }
    }
  }

  private end(ws: WebSocket, reason: "shutdown" | "deleted", stats: Stats | undefined): void {
    send(ws, { type: reason, stats }, this.post);
    this.later(() => {
      try {
        if (reason === "shutdown") ws.close(CLOSE_SHUTDOWN, "queue shut down");
        else ws.close(CLOSE_DELETED, "queue deleted");
      } catch {
        // the peer closed first
      }
    });
  }

  private fireJoin(ws: WebSocket, sub: JoinSubscription, q: JoinableQueue): boolean {
    if (!sub.armed || q.unfinishedOf(sub.group) > 0) return false;
    sub.armed = false;
    const cancelled = sub.group === undefined ? undefined : q.cancelledOf(sub.group);
    const group =
      sub.group === undefined ? {} : { group: sub.group, ...(cancelled === undefined ? {} : { cancelled }) };
    send(
      ws,
      { type: "joined", id: sub.id, ...group, unfinished_tasks: 0, dead_lettered: q.deadLetteredOf(sub.group) },
      this.post,
    );
    return true;
  }

  private sendStats(ws: WebSocket, session: Session, stats: Stats, now: number): void {
    session.sent = JSON.stringify(stats);
    session.sentAt = now;
    send(ws, { type: "stats", stats }, this.post);
  }

  private all(): Map<WebSocket, Session> {
    this.cache ??= new Map(this.ctx.getWebSockets().map((ws) => [ws, ws.deserializeAttachment() as Session]));
    return this.cache;
  }

  /**
   * Keeps a session, and writes its attachment once, with the queue's next flush: the steps a flush writes may change
   * a socket's session many times (deliveries, completions, its credit), and the runtime needs the attachment only
   * once the object may hibernate, which it cannot do while a flush is due.
   */
  save(ws: WebSocket, session: Session): void {
    this.all().set(ws, session);
    if (this.unsaved.size === 0) this.later(() => this.flush()); // never ahead of what the storage holds
    this.unsaved.add(ws);
  }

  private readonly unsaved = new Set<WebSocket>();

  private flush(): void {
    const all = this.all();
    for (const ws of this.unsaved) {
      const session = all.get(ws);
      if (session) ws.serializeAttachment(session);
    }
    this.unsaved.clear();
  }
}
