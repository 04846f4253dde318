// Producers and consumers over the queue's hibernatable WebSocket: put, consume with a prefetch, task_done,
// extend, release — each the HTTP call's semantics, answered on the socket with the frame's id.
//
// A consumer is a getter that never times out (a "standing" wait): it holds no timer, so with consumers waiting
// and nothing else to do the object may hibernate. What it needs survives in the socket's attachment — its
// prefetch, the receipts it holds, when it began waiting — and the constructor lines the consumers up again in
// that order, so the next put, waking the object, reaches the one that has waited longest. Credit works as AMQP's
// basic.qos: a consumer holds at most `prefetch` unfinished deliveries; a task_done or release gives one back.
import { LIMITS } from "../../contract/limits.ts";
import { putRequest, type QueueCalls, taskDone } from "../../contract/requests.ts";
import type { JoinableQueue } from "../../core/queue.ts";
import type { Delivery, Outcome, QueueError } from "../../core/types.ts";
import { error, send, type WorkFrame } from "./frames.ts";
import type { Consumer, Held, Session, Subscriptions } from "./subscriptions.ts";

/** What the queue object lends this layer: its queue operations, and its way of running a step of the core. */
export interface Door {
  calls: QueueCalls;
  queue(): JoinableQueue | undefined;
  run<T extends { ok: boolean }>(step: (q: JoinableQueue, now: number) => T): T | QueueError;
}

/**
 * Runs `then` on a value now, or once its promise settles: an answer known in the step is posted in the same turn,
 * so it goes out with the flush the turn ends with, in the order of the frames it answers.
 */
function whenever<T>(value: T | Promise<T>, then: (v: T) => void): void | Promise<void> {
  return value instanceof Promise ? value.then(then) : then(value);
}

export class SocketWork {
  /** Consumers with a standing wait in the core right now (memory only: rebuilt by `resume` after waking). */
  private readonly waiting = new Set<string>();

  constructor(
    private readonly door: Door,
    private readonly sockets: Subscriptions,
  ) {}

  /** After waking: every consumer with credit waits again, the longest-waiting first. */
  resume(): void {
    const all = [...this.sockets.sessions()].flatMap(([ws, s]) => s.consumers.map((c) => ({ ws, c })));
    const lines = all.sort((a, b) => a.c.since - b.c.since).flatMap(({ ws, c }) => this.line(ws, c.id) ?? []);
    // One step for them all: the core lines them up in this order, and timers are re-armed once.
    if (lines.length > 0) this.door.run((q, now) => this.wait(q, now, lines));
  }

  async frame(ws: WebSocket, session: Session, frame: WorkFrame): Promise<void> {
    const { id } = frame;
    const answer = <T extends object>(type: string, outcome: Outcome<T> | QueueError, fields: (o: T) => object) => {
      if (!outcome.ok) return error(ws, outcome.code, outcome.message, id, this.sockets.post);
      const { ok: _, ...answered } = fields(outcome) as { ok?: true };
      send(ws, { type, id, ...answered }, this.sockets.post);
    };
    const calls = this.door.calls;
    switch (frame.op) {
      case "put": {
        const prepared = putRequest(frame.body, frame.text);
        if (!prepared.ok) return error(ws, prepared.code, prepared.message, id, this.sockets.post);
        return whenever(calls.put(prepared.request), (o) =>
          answer("put", o, (p) => ({ ids: p.ids, replayed: p.replayed })),
        );
      }
      case "consume":
        return this.consume(ws, session, id, frame.body.prefetch, frame.body.lease_seconds);
      case "cancel":
        return this.cancel(ws, session, id);
      // Whichever door ends a delivery, the queue object tells `ended`, which gives its consumer the credit back.
      case "task_done":
        return whenever(taskDone(calls, frame.body), (o) => answer("task_done", o, (d) => d));
      case "extend":
        return whenever(calls.extend(frame.body.receipt, frame.body.lease_seconds), (o) =>
          answer("extend", o, (e) => e),
        );
      case "release":
        return whenever(calls.release(frame.body.receipt, frame.body.delay), (o) => answer("release", o, (r) => r));
    }
  }

  /** Deliveries ended by any door (completed, released, or their receipts found stale): their credit comes back. */
  ended(receipts: string[]): void {
    const { holders } = this.held();
    const sockets = new Set(receipts.flatMap((r) => holders.get(r) ?? []));
    if (sockets.size === 0) return; // the common case: no socket consumer held them
    const ended = new Set(receipts);
    this.drop(([receipt]) => ended.has(receipt), sockets);
  }

  /** Deliveries whose lease has run out (redelivered, or dead-lettered): called after every step. */
  expired(now: number): void {
    if (now < this.held().soonest) return; // called after every step: most find no lease ended
    this.index = undefined; // rebuilt below, with the soonest lease end exact again
    this.drop(([, until]) => until !== null && until <= now);
  }

  /** A lease extended by any door: its consumer's credit comes back at the lease's new end. */
  extended(receipt: string, until: number): void {
    const ws = this.held().holders.get(receipt);
    const session = ws && this.sockets.sessions().get(ws);
    const holder = session?.consumers.find((c) => c.held.some(([r]) => r === receipt));
    if (!ws || !session || !holder) return;
    holder.held = holder.held.map((h) => (h[0] === receipt ? [receipt, until] : h));
    this.hold(ws, receipt, until);
    this.sockets.save(ws, session);
  }

  /**
   * Which socket holds each delivery, and the soonest lease end among them (a bound: it may be earlier than the
   * true one), kept in memory so that a step that ends no held delivery costs no look through every socket.
   * Rebuilt from the sockets' attachments after waking, or when it may be stale.
   */
  private index: { holders: Map<string, WebSocket>; soonest: number } | undefined;

  private held() {
    if (this.index) return this.index;
    const holders = new Map<string, WebSocket>();
    let soonest = Infinity;
    for (const [ws, session] of this.sockets.sessions()) {
      for (const [receipt, until] of session.consumers.flatMap((c) => c.held)) {
        holders.set(receipt, ws);
        if (until !== null) soonest = Math.min(soonest, until);
      }
    }
    this.index = { holders, soonest };
    return this.index;
  }

  /** Notes in the index that `ws` holds a delivery until `until` (null: a lease that never ends). */
  private hold(ws: WebSocket, receipt: string, until: number | null): void {
    const index = this.held();
    index.holders.set(receipt, ws);
    if (until !== null) index.soonest = Math.min(index.soonest, until);
  }

  /** A socket that closes gives back what its consumers hold at once, each counted as a delivery. */
  closed(session: Session): void {
    for (const consumer of session.consumers) {
      this.withdraw(session, consumer);
      for (const [receipt] of consumer.held) void this.door.calls.release(receipt, 0); // its outcome changes nothing here
    }
  }

  private consume(ws: WebSocket, session: Session, id: string | number, prefetch: number, lease?: number): void {
    const others = session.consumers.filter((c) => c.id !== id);
    if (others.length >= LIMITS.maxConsumersPerSocket) {
      const detail = `a socket may hold at most ${LIMITS.maxConsumersPerSocket} consumers`;
      return error(ws, "limit_exceeded", detail, id, this.sockets.post);
    }
    // The receipts a socket holds live in its attachment (16 KiB), so its consumers share one prefetch budget.
    const budget = others.reduce((n, c) => n + Math.max(c.prefetch, c.held.length), 0) + prefetch;
    if (budget > LIMITS.maxPrefetchPerSocket) {
      const detail = `the consumers of one socket may prefetch at most ${LIMITS.maxPrefetchPerSocket} in all`;
      return error(ws, "limit_exceeded", detail, id, this.sockets.post);
    }
    const existing = session.consumers.find((c) => c.id === id);
    const consumer: Consumer = { id, prefetch, lease_seconds: lease, since: Date.now(), held: existing?.held ?? [] };
    if (existing) this.withdraw(session, existing);
    this.sockets.save(ws, { ...session, consumers: [...others, consumer] });
    send(ws, { type: "consume", id, prefetch }, this.sockets.post);
    this.serve(ws, id);
  }

  /** Stops a consumer; what it holds stays its own until it is task_done'd or released (or the socket closes). */
  private cancel(ws: WebSocket, session: Session, id: string | number): void {
    const consumer = session.consumers.find((c) => c.id === id);
    if (!consumer) return error(ws, "not_found", `this socket has no consumer '${id}'`, id, this.sockets.post);
    this.withdraw(session, consumer);
    consumer.prefetch = 0;
    this.sockets.save(ws, {
      ...session,
      consumers: session.consumers.filter((c) => c.held.length > 0 || c !== consumer),
    });
    send(ws, { type: "cancel", id }, this.sockets.post);
  }

  /** Forgets the held deliveries that have `ended`, and lets their consumers take more, once this step is over. */
  private drop(ended: (held: Held) => boolean, only?: Set<WebSocket>): void {
    const sessions = this.sockets.sessions();
    for (const ws of only ?? sessions.keys()) {
      const session = sessions.get(ws);
      if (!session?.consumers.some((c) => c.held.some(ended))) continue;
      for (const [receipt] of session.consumers.flatMap((c) => c.held.filter(ended)))
        this.index?.holders.delete(receipt);
      const consumers = session.consumers
        .map((c) => ({ ...c, held: c.held.filter((h) => !ended(h)) }))
        .filter((c) => c.prefetch > 0 || c.held.length > 0);
      this.sockets.save(ws, { ...session, consumers });
      queueMicrotask(() => {
        for (const c of consumers) this.serve(ws, c.id);
      });
    }
  }

  /** Puts a consumer with credit in the core's line of getters, if it is not there already. */
  private serve(ws: WebSocket, id: string | number): void {
    const line = this.line(ws, id);
    if (line) this.door.run((q, now) => this.wait(q, now, [line]));
  }

  /** A consumer's standing get, if it has credit and is not waiting already. */
  private line(ws: WebSocket, id: string | number) {
    const session = this.sockets.sessions().get(ws);
    const consumer = session?.consumers.find((c) => c.id === id);
    if (!session || !consumer) return undefined;
    const credit = consumer.prefetch - consumer.held.length;
    const waiter = this.waiterOf(session, consumer);
    if (credit <= 0 || this.waiting.has(waiter)) return undefined;
    return { ws, id, waiter, request: { max: credit, lease_seconds: consumer.lease_seconds, standing: true } };
  }

  private wait(q: JoinableQueue, now: number, lines: NonNullable<ReturnType<SocketWork["line"]>>[]) {
    for (const { ws, id, waiter, request } of lines) {
      this.waiting.add(waiter);
      q.get(request, now, (outcome) => this.delivered(ws, waiter, id, outcome), waiter);
    }
    return { ok: true };
  }

  private delivered(ws: WebSocket, waiter: string, id: string | number, got: Outcome<{ deliveries: Delivery[] }>) {
    this.waiting.delete(waiter);
    const session = this.sockets.sessions().get(ws);
    const consumer = session?.consumers.find((c) => c.id === id);
    if (!got.ok) {
      if (got.code !== "poll_again") error(ws, got.code, got.message, id, this.sockets.post); // poll_again: withdrawn, by us
      return;
    }
    if (!session || !consumer) {
      // The socket went while the core answered: give the deliveries back, after the core's turn.
      queueMicrotask(() => {
        for (const d of got.deliveries) if (d.receipt) void this.door.calls.release(d.receipt, 0);
      });
      return;
    }
    for (const d of got.deliveries) {
      if (d.receipt) {
        consumer.held.push([d.receipt, d.lease_expires_at]);
        this.hold(ws, d.receipt, d.lease_expires_at);
      }
      const { json, ...rest } = d;
      // The item's stored text is spliced in as it is, never parsed and encoded again.
      const text = `{"type":"delivery","consumer":${JSON.stringify(id)},"item":${json},${JSON.stringify(rest).slice(1)}`;
      this.sockets.post(ws, text);
    }
    consumer.since = Date.now();
    this.sockets.save(ws, session);
    // Back of the line for what credit is left, once the core has finished handing out (never from inside it).
    queueMicrotask(() => this.serve(ws, id));
  }

  private withdraw(session: Session, consumer: Consumer): void {
    const waiter = this.waiterOf(session, consumer);
    if (this.waiting.has(waiter)) this.door.queue()?.withdraw(waiter);
  }

  private waiterOf(session: Session, consumer: Consumer): string {
    return `socket:${session.key}:${consumer.id}`;
  }
}
