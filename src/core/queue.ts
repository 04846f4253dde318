// CPython's queue.Queue as a single-threaded state machine: items in SQLite, waiters in memory, time passed in.
//
// The caller (a Durable Object, or a test) plays CPython's mutex: it calls one method at a time. CPython's three
// conditions become three FIFO waiter lists; instead of waking a thread to re-check, `settle` hands each waiter
// its answer directly, in arrival order, as soon as its condition holds. The core never reads a clock or sets a
// timer: every method takes `now` (ms), and `nextDeadline` / `nextDurableDeadline` tell the caller when to call
// `tick`.
import { decodeKey, encodeKey } from "./priority.ts";
import { formatReceipt, parseReceipt, randomHex } from "./receipt.ts";
import type { ItemRow, Store } from "./store.ts";
import {
  type Delivery,
  fail,
  type GetRequest,
  type JoinResult,
  type Outcome,
  type PutRequest,
  type PutResult,
  type QueueConfig,
  type QueueError,
  type Stats,
  type WaitOptions,
} from "./types.ts";

export interface Limits {
  /** The longest one call waits before it is answered `poll_again`. */
  maxWaitMs: number;
  /** How long a put's idempotency key is remembered. */
  idempotencyMs: number;
  /** How long a completed delivery is remembered, so repeating its task_done is recognised. */
  ackKeepMs: number;
  /** Calls that may wait at once (get + put + join): each holds a connection and memory. */
  maxWaiters: number;
}

/** What survives a restart besides the item rows. */
interface Meta {
  config: QueueConfig;
  /** Random per queue incarnation: a receipt from another queue (or a deleted one) never matches. */
  tag: string;
  unfinished_tasks: number;
  shutdown: boolean;
  immediate: boolean;
  deliveries: number;
  redeliveries: number;
  /** Items put and task_dones since creation, for rates. */
  puts: number;
  completed: number;
  /** Rows per state, saved with the rest so that waking costs no count over the items. */
  counts: { ready: number; leased: number; dead: number };
}

/** The meta row as stored: queues created before these fields existed lack them (`open` fills them in). */
type StoredMeta = Omit<Meta, "puts" | "completed" | "counts"> & Partial<Pick<Meta, "puts" | "completed" | "counts">>;

interface Waiter<R> {
  id: string | undefined;
  /** When the wait ends: the caller's timeout or the poll cap, whichever is first. */
  deadline: number;
  /** When the caller's own timeout ends (Infinity for none). */
  timeoutAt: number;
  reply: (outcome: R) => void;
  timedOut: () => R;
}
type PutWaiter = Waiter<Outcome<PutResult>> & { request: PutRequest };
type GetWaiter = Waiter<Outcome<{ deliveries: Delivery[] }>> & { request: GetRequest };
type JoinWaiter = Waiter<Outcome<JoinResult>>;

/** An open lease (`row`), a delivery already completed (`acked`), or, for an anonymous task_done, possibly neither. */
type Lease = { row?: ItemRow; acked?: true };

const SHUTDOWN = fail("shutdown", "the queue has been shut down");
const TOO_MANY = fail("task_done_too_many", "task_done() called too many times");

export class JoinableQueue {
  private readonly putters: PutWaiter[] = [];
  private readonly getters: GetWaiter[] = [];
  private readonly joiners: JoinWaiter[] = [];
  private saved = "";

  private constructor(
    private readonly store: Store,
    private readonly meta: Meta,
    private readonly limits: Limits,
  ) {
    this.save();
  }

  /** The queue stored in `store`, or undefined if none was created there. */
  static open(store: Store, limits: Limits): JoinableQueue | undefined {
    const stored = store.loadMeta<StoredMeta>();
    if (!stored) return undefined;
    // An old store is counted once; the counts are saved with the meta row from then on.
    const counts = stored.counts ?? {
      ready: store.count("ready"),
      leased: store.count("leased"),
      dead: store.count("dead"),
    };
    return new JoinableQueue(store, { puts: 0, completed: 0, ...stored, counts }, limits);
  }

  static create(store: Store, config: QueueConfig, limits: Limits): JoinableQueue {
    const meta: Meta = {
      config,
      tag: randomHex(4),
      unfinished_tasks: 0,
      shutdown: false,
      immediate: false,
      deliveries: 0,
      redeliveries: 0,
      puts: 0,
      completed: 0,
      counts: { ready: 0, leased: 0, dead: 0 },
    };
    return new JoinableQueue(store, meta, limits);
  }

  // Row counts, kept in the meta row so that qsize and full cost no query and waking no count.
  private get ready(): number {
    return this.meta.counts.ready;
  }
  private set ready(n: number) {
    this.meta.counts.ready = n;
  }
  private get leased(): number {
    return this.meta.counts.leased;
  }
  private set leased(n: number) {
    this.meta.counts.leased = n;
  }
  private get dead(): number {
    return this.meta.counts.dead;
  }
  private set dead(n: number) {
    this.meta.counts.dead = n;
  }

  get config(): QueueConfig {
    return this.meta.config;
  }

  get unfinishedTasks(): number {
    return this.meta.unfinished_tasks;
  }

  get deadLettered(): number {
    return this.dead;
  }

  get isShutdown(): boolean {
    return this.meta.shutdown;
  }

  /** CPython's get raises ShutDown only once a shut-down queue is empty: until then it keeps draining. */
  private get shutDownAndEmpty(): boolean {
    return this.meta.shutdown && this.ready === 0;
  }

  /** Items waiting in the queue, delayed ones included (taken items are not in it, as in Python). */
  get qsize(): number {
    return this.ready;
  }

  put(request: PutRequest, now: number, reply: (o: Outcome<PutResult>) => void, waiterId?: string): void {
    this.expireLeases(now);
    const invalid = this.validatePut(request);
    const replayed = this.replay(request.idempotency_key, now);
    if (replayed) reply(replayed);
    else if (invalid) reply(invalid);
    else if (this.meta.shutdown) reply(SHUTDOWN);
    else if (this.fits(request.items.length)) reply(this.insert(request, now));
    else
      this.block(
        this.putters,
        { id: waiterId, reply, request, timedOut: () => fail("full", "the queue is full") },
        request,
        now,
      );
    this.settle(now);
  }

  get(
    request: GetRequest,
    now: number,
    reply: (o: Outcome<{ deliveries: Delivery[] }>) => void,
    waiterId?: string,
  ): void {
    this.expireLeases(now);
    const taken = this.shutDownAndEmpty ? undefined : this.take(request, now);
    if (!taken) reply(SHUTDOWN);
    else if (taken.length > 0) reply({ ok: true, deliveries: taken });
    else
      this.block(
        this.getters,
        { id: waiterId, reply, request, timedOut: () => fail("empty", "the queue is empty") },
        request,
        now,
      );
    this.settle(now);
  }

  join(options: { timeout?: number }, now: number, reply: (o: Outcome<JoinResult>) => void, waiterId?: string): void {
    this.expireLeases(now);
    if (this.meta.unfinished_tasks === 0) reply(this.joined(true));
    else this.block(this.joiners, { id: waiterId, reply, timedOut: () => this.joined(false) }, options, now);
    this.settle(now);
  }

  /**
   * Completes one task. With a receipt, exactly that delivery, once (a repeat succeeds and changes nothing).
   * Without one, CPython's anonymous task_done, which also closes the oldest open lease so it is not redelivered.
   */
  taskDone(receipt: string | undefined, now: number): Outcome<{ unfinished_tasks: number; replayed: boolean }> {
    this.expireLeases(now);
    const lease = receipt === undefined ? { row: this.store.oldestLeased() } : this.findLease(receipt);
    if ("code" in lease) return lease;
    if (lease.acked) return { ok: true, unfinished_tasks: this.meta.unfinished_tasks, replayed: true };
    if (this.meta.unfinished_tasks <= 0) return TOO_MANY;
    if (lease.row) {
      this.store.delete(lease.row.id);
      this.store.recordAck(lease.row.id, lease.row.deliveries, lease.row.token!, now, this.limits.ackKeepMs);
      this.leased--;
    }
    this.meta.unfinished_tasks--;
    this.meta.completed++;
    this.settle(now);
    return { ok: true, unfinished_tasks: this.meta.unfinished_tasks, replayed: false };
  }

  /** Python 3.13's shutdown: putters and (once the queue is empty) getters get ShutDown; immediate drains too. */
  shutdown(immediate: boolean, now: number): void {
    this.expireLeases(now);
    this.meta.shutdown = true;
    if (immediate) {
      this.meta.immediate = true;
      const drained = this.store.deleteAll("ready");
      this.ready -= drained;
      // As CPython: one task_done per drained item, never below zero.
      this.meta.unfinished_tasks = Math.max(0, this.meta.unfinished_tasks - drained);
    }
    this.settle(now);
  }

  /**
   * Changes the settings Python lets a program change (`q.maxsize = n`) and the service's own. Growing maxsize
   * releases waiting putters at once; shrinking it below qsize only makes the queue full until it drains.
   */
  configure(changes: Partial<Omit<QueueConfig, "order">>, now: number): void {
    this.expireLeases(now);
    this.meta.config = { ...this.meta.config, ...changes };
    this.settle(now);
  }

  /** Pushes a lease's expiry to `seconds` from now (a heartbeat for long jobs). */
  extend(receipt: string, seconds: number, now: number): Outcome<{ lease_expires_at: number }> {
    this.expireLeases(now);
    const lease = this.openLease(receipt);
    if ("ok" in lease) return lease;
    const expires = now + seconds * 1000;
    this.store.extend(lease.row.id, expires);
    this.save(); // expiring other leases above changed the counts
    return { ok: true, lease_expires_at: expires };
  }

  /** Gives a leased item back (a nack), visible again after `delay` seconds; it counts as a failed delivery. */
  release(receipt: string, delay: number, now: number): Outcome<{ dead_lettered: boolean }> {
    this.expireLeases(now);
    const lease = this.openLease(receipt);
    if ("ok" in lease) return lease;
    this.leased--;
    const dead = this.requeue(lease.row, now + delay * 1000);
    this.settle(now);
    return { ok: true, dead_lettered: dead };
  }

  deadLetters(limit: number): Delivery[] {
    return this.store.deadLetters(limit).map((row) => this.delivery(row, null, null));
  }

  /** Puts dead letters back as fresh work: they count in unfinished_tasks again, so join waits for them. */
  redrive(limit: number, now: number): { ids: number[] } {
    const ids = this.store.redrive(limit);
    this.dead -= ids.length;
    this.ready += ids.length;
    this.meta.unfinished_tasks += ids.length;
    this.settle(now);
    return { ids };
  }

  purgeDeadLetters(now: number): { purged: number } {
    const purged = this.store.deleteAll("dead");
    this.dead -= purged;
    this.settle(now);
    return { purged };
  }

  stats(now: number): Stats {
    const { config, unfinished_tasks } = this.meta;
    return {
      ...config,
      qsize: this.ready,
      empty: this.ready === 0,
      full: config.maxsize > 0 && this.ready >= config.maxsize,
      unfinished_tasks,
      in_flight: Math.max(0, unfinished_tasks - this.ready),
      leased: this.leased,
      delayed: this.store.countDelayed(now),
      dead_lettered: this.dead,
      deliveries: this.meta.deliveries,
      redeliveries: this.meta.redeliveries,
      puts: this.meta.puts,
      completed: this.meta.completed,
      shutdown: this.meta.shutdown,
      immediate: this.meta.immediate,
      waiting: { getters: this.getters.length, putters: this.putters.length, joiners: this.joiners.length },
    };
  }

  /** Takes back a waiting call whose client went away, before anything is handed to it. */
  withdraw(waiterId: string): boolean {
    for (const list of [this.putters, this.getters, this.joiners] as Waiter<unknown>[][]) {
      const waiter = list.find((w) => w.id === waiterId);
      if (waiter) {
        this.answer(list, waiter, fail("poll_again", "the call was withdrawn"));
        return true;
      }
    }
    return false;
  }

  /** Answers every waiter (used when the queue is deleted) and forgets them. */
  abandon(outcome: QueueError): void {
    for (const list of [this.putters, this.getters, this.joiners] as Waiter<unknown>[][]) {
      for (const w of list.splice(0)) w.reply(outcome);
    }
  }

  /** Called when a deadline passes: expires leases, hands out what became visible, ends waits that ran out. */
  tick(now: number): void {
    this.expireLeases(now);
    this.settle(now);
    for (const list of [this.putters, this.getters, this.joiners] as Waiter<unknown>[][]) {
      for (const w of list.filter((w) => w.deadline <= now)) {
        this.answer(
          list,
          w,
          w.timeoutAt <= now ? w.timedOut() : fail("poll_again", "the wait reached the server's cap; call again"),
        );
      }
    }
  }

  /** Spends a single-use ticket (one WebSocket each); false when it was already spent. */
  spendTicket(id: string, expiresAt: number, now: number): boolean {
    return expiresAt > now && this.store.spendTicket(id, expiresAt, now);
  }

  /** When the earliest in-memory wait ends. */
  nextDeadline(): number | undefined {
    const deadlines = [...this.putters, ...this.getters, ...this.joiners].map((w) => w.deadline);
    return deadlines.length > 0 ? Math.min(...deadlines) : undefined;
  }

  /** When the earliest stored lease expires or delayed item becomes visible: must survive eviction. */
  nextDurableDeadline(now: number): number | undefined {
    return this.store.nextDeadline(now);
  }

  // ---- the state machine's moves

  /** Hands every waiter whose condition now holds its answer, in arrival order; then persists the counters. */
  private settle(now: number): void {
    for (let progress = true; progress; ) {
      progress = false;
      for (const putter of [...this.putters]) {
        if (this.meta.shutdown) this.answer(this.putters, putter, SHUTDOWN);
        else if (this.fits(putter.request.items.length)) {
          this.answer(this.putters, putter, this.insert(putter.request, now));
          progress = true;
        }
      }
      for (const getter of [...this.getters]) {
        if (this.shutDownAndEmpty) {
          this.answer(this.getters, getter, SHUTDOWN);
          continue;
        }
        const taken = this.take(getter.request, now);
        if (taken.length === 0) break; // nothing visible for anyone
        this.answer(this.getters, getter, { ok: true, deliveries: taken });
        progress = true;
      }
    }
    // Invariant: no joiner waits while unfinished_tasks is 0.
    if (this.meta.unfinished_tasks === 0) for (const joiner of this.joiners.splice(0)) joiner.reply(this.joined(true));
    this.save();
  }

  /** Queues a call that must wait, or answers at once when it may not (CPython's block / timeout rules). */
  private block<W extends PutWaiter | GetWaiter | JoinWaiter>(
    list: W[],
    waiter: NoInfer<Omit<W, "deadline" | "timeoutAt">>,
    options: WaitOptions,
    now: number,
  ): void {
    const { reply, timedOut } = waiter as unknown as Waiter<unknown>;
    if (options.block === false) return reply(timedOut());
    if (options.timeout !== undefined && !(options.timeout >= 0)) {
      return reply(fail("invalid_request", "'timeout' must be a non-negative number"));
    }
    const timeoutAt = options.timeout === undefined ? Infinity : now + options.timeout * 1000;
    if (timeoutAt <= now) return reply(timedOut());
    if (this.putters.length + this.getters.length + this.joiners.length >= this.limits.maxWaiters) {
      return reply(
        fail(
          "limit_exceeded",
          `this queue already has ${this.limits.maxWaiters} waiting calls (the cap); retry shortly`,
        ),
      );
    }
    list.push({ ...waiter, timeoutAt, deadline: Math.min(timeoutAt, now + this.limits.maxWaitMs) } as W);
  }

  private answer<R>(list: Waiter<R>[], waiter: Waiter<R>, outcome: R): void {
    list.splice(list.indexOf(waiter), 1);
    waiter.reply(outcome);
  }

  private fits(n: number): boolean {
    const { maxsize } = this.meta.config;
    return maxsize <= 0 || this.ready + n <= maxsize;
  }

  private validatePut({ items, delay }: PutRequest): QueueError | undefined {
    const { maxsize, order } = this.meta.config;
    if (items.length === 0) return fail("invalid_request", "a put needs at least one item");
    if (maxsize > 0 && items.length > maxsize) {
      return fail("batch_too_large", `a batch of ${items.length} items can never fit in a queue of maxsize ${maxsize}`);
    }
    if (order !== "priority" && items.some((i) => i.priority !== undefined)) {
      return fail("invalid_request", `'priority' only applies to priority queues; this queue is ${order}`);
    }
    if (delay !== undefined && !(delay >= 0)) return fail("invalid_request", "'delay' must be a non-negative number");
    return undefined;
  }

  private replay(key: string | undefined, now: number): Outcome<PutResult> | undefined {
    const earlier = key === undefined ? undefined : this.store.idempotent(key, now);
    return earlier === undefined ? undefined : { ok: true, ids: JSON.parse(earlier) as number[], replayed: true };
  }

  private insert(request: PutRequest, now: number): Outcome<PutResult> {
    const replayed = this.replay(request.idempotency_key, now); // a waiting twin may have landed first
    if (replayed) return replayed;
    const visibleAt = now + (request.delay ?? 0) * 1000;
    const ids = request.items.map((item) => this.store.insert(item.json, encodeKey(item.priority ?? 0), visibleAt));
    this.ready += ids.length;
    this.meta.unfinished_tasks += ids.length;
    this.meta.puts += ids.length;
    if (request.idempotency_key !== undefined) {
      this.store.remember(request.idempotency_key, JSON.stringify(ids), now + this.limits.idempotencyMs);
    }
    return { ok: true, ids, replayed: false };
  }

  /** Takes up to `max` visible items, recording each delivery (and its lease) in the same step. */
  private take(request: GetRequest, now: number): Delivery[] {
    const leaseSeconds = request.lease_seconds ?? this.meta.config.lease_seconds;
    return this.store.nextVisible(this.meta.config.order, now, request.max ?? 1).map((row) => {
      const deliveries = row.deliveries + 1;
      this.ready--;
      this.meta.deliveries++;
      if (deliveries > 1) this.meta.redeliveries++;
      if (leaseSeconds === null) {
        this.store.delete(row.id);
        return this.delivery({ ...row, deliveries }, null, null);
      }
      const token = randomHex(8);
      const expires = now + leaseSeconds * 1000;
      this.store.lease(row.id, deliveries, token, expires);
      this.leased++;
      return this.delivery(
        { ...row, deliveries },
        formatReceipt({ tag: this.meta.tag, id: row.id, delivery: deliveries, token }),
        expires,
      );
    });
  }

  private delivery(row: ItemRow, receipt: string | null, leaseExpires: number | null): Delivery {
    return {
      id: row.id,
      json: row.value,
      priority: decodeKey(row.sort_key),
      deliveries: row.deliveries,
      receipt,
      lease_expires_at: leaseExpires,
    };
  }

  /** Returns expired leases to the queue (or the dead letters). Idempotent: a late or repeated call finds nothing. */
  private expireLeases(now: number): void {
    if (this.leased === 0) return; // the common case costs no query
    for (const row of this.store.expiredLeases(now)) {
      this.leased--;
      if (this.meta.immediate) {
        // An immediate shutdown discards what is not being worked on; an abandoned item counts as drained.
        this.store.delete(row.id);
        this.meta.unfinished_tasks = Math.max(0, this.meta.unfinished_tasks - 1);
      } else {
        this.requeue(row, now);
      }
    }
  }

  /** Back to the queue, or to the dead letters once it used up its deliveries (then it counts as done for join). */
  private requeue(row: ItemRow, visibleAt: number): boolean {
    const { max_deliveries } = this.meta.config;
    const dead = max_deliveries !== null && row.deliveries >= max_deliveries;
    this.store.unlease(row.id, dead ? "dead" : "ready", visibleAt);
    if (dead) {
      this.dead++;
      this.meta.unfinished_tasks = Math.max(0, this.meta.unfinished_tasks - 1);
    } else {
      this.ready++;
    }
    return dead;
  }

  /** The open lease a receipt names, or that delivery's completion (for idempotent repeats), or why neither. */
  private findLease(receipt: string): Lease | QueueError {
    const r = parseReceipt(receipt);
    if (!r || r.tag !== this.meta.tag) return fail("invalid_receipt", "this receipt was not issued by this queue");
    const row = this.store.item(r.id);
    if (row?.state === "leased" && row.deliveries === r.delivery) {
      return row.token === r.token ? { row } : fail("invalid_receipt", "this receipt does not match its delivery");
    }
    const ack = this.store.ack(r.id);
    if (ack && ack.delivery === r.delivery && ack.token === r.token) return { acked: true };
    if ((row && r.delivery <= row.deliveries) || (ack && r.delivery < ack.delivery) || (!row && !ack)) {
      return fail(
        "stale_receipt",
        "this delivery is no longer open: its lease expired or the item was taken, completed or removed",
      );
    }
    return fail("invalid_receipt", "this receipt does not match any delivery");
  }

  private openLease(receipt: string): { row: ItemRow } | QueueError {
    const lease = this.findLease(receipt);
    if ("code" in lease) return lease;
    return lease.row ? { row: lease.row } : fail("stale_receipt", "this delivery was already completed");
  }

  private joined(drained: boolean): Outcome<JoinResult> {
    return { ok: true, drained, unfinished_tasks: this.meta.unfinished_tasks, dead_lettered: this.dead };
  }

  private save(): void {
    const json = JSON.stringify(this.meta);
    if (json !== this.saved) this.store.saveMeta(json);
    this.saved = json;
  }
}
