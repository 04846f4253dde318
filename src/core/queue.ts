// CPython's queue.Queue as a single-threaded state machine: items in SQLite, waiters in memory, time passed in.
//
// The caller (a Durable Object, or a test) plays CPython's mutex: it calls one method at a time. CPython's three
// conditions become three FIFO waiter lists; instead of waking a thread to re-check, `settle` hands each waiter
// its answer directly, in arrival order, as soon as its condition holds. The core never reads a clock or sets a
// timer: every method takes `now` (ms), and `nextDeadline` / `nextDurableDeadline` tell the caller when to call
// `tick`.
import { msAfter } from "./clock.ts";
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
  type TaskDoneResult,
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
  /** The next item's id: ids are never reused, so an old receipt can never name a newer item. */
  next_id: number;
  /** When completions, keys and tickets past their time were last deleted. */
  forgot_at: number;
}

/** The meta row as stored: queues created before these fields existed lack them (`open` fills them in). */
type StoredMeta = Omit<Meta, "puts" | "completed" | "counts" | "forgot_at"> &
  Partial<Pick<Meta, "puts" | "completed" | "counts" | "forgot_at">>;

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
  /** The meta row as last written, and how many items were put since (which the row need not say: see open). */
  private saved: Meta | undefined;
  private putSinceSaved = 0;

  private constructor(
    private readonly store: Store,
    private readonly meta: Meta,
    private readonly limits: Limits,
  ) {}

  /** The queue stored in `store`, or undefined if none was created there. */
  static open(store: Store, limits: Limits): JoinableQueue | undefined {
    const stored = store.loadMeta<StoredMeta>();
    if (!stored) return undefined;
    // A put writes its items but not the meta row (one row fewer per put): ids are consecutive from next_id, so
    // the items put since the row was written are exactly those from next_id to the highest id.
    const since = Math.max(0, (store.maxId() ?? 0) + 1 - stored.next_id);
    // An old store is counted once; the counts are saved with the meta row from then on.
    const counts = stored.counts ?? {
      ready: store.count("ready"),
      leased: store.count("leased"),
      dead: store.count("dead"),
    };
    const meta: Meta = {
      ...stored,
      puts: stored.puts ?? 0,
      completed: stored.completed ?? 0,
      forgot_at: stored.forgot_at ?? 0,
      counts,
    };
    const queue = new JoinableQueue(store, meta, limits);
    // Waking writes nothing, unless the row lacked a field (an older store's, written once with it from now on).
    if (JSON.stringify(meta) === JSON.stringify(stored)) queue.saved = structuredClone(meta);
    queue.putSinceSaved = since;
    queue.added(since);
    queue.save();
    return queue;
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
      next_id: 1,
      forgot_at: 0,
    };
    const queue = new JoinableQueue(store, meta, limits);
    queue.save();
    return queue;
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
    const done = this.complete(receipt, now);
    this.settle(now);
    return done.ok ? { ok: true, unfinished_tasks: this.meta.unfinished_tasks, replayed: done.replayed } : done;
  }

  /**
   * Completes many deliveries in one step (one write of the counters), each by its receipt, answering each one's
   * outcome in order: a receipt that is stale or invalid fails alone, the others still complete.
   */
  taskDoneMany(receipts: string[], now: number): { unfinished_tasks: number; results: TaskDoneResult[] } {
    this.expireLeases(now);
    const results = receipts.map((receipt): TaskDoneResult => {
      const done = this.complete(receipt, now);
      if (done.ok) return done.replayed ? "replayed" : "done";
      return done.code === "stale_receipt" ? "stale" : "invalid";
    });
    this.settle(now);
    return { unfinished_tasks: this.meta.unfinished_tasks, results };
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
    const lease = this.openLease(receipt, now);
    if ("ok" in lease) return lease;
    const expires = msAfter(now, seconds);
    this.store.extend(lease.row.id, expires);
    this.save(); // expiring other leases above changed the counts
    return { ok: true, lease_expires_at: expires };
  }

  /** Gives a leased item back (a nack), visible again after `delay` seconds; it counts as a failed delivery. */
  release(receipt: string, delay: number, now: number): Outcome<{ dead_lettered: boolean }> {
    this.expireLeases(now);
    const lease = this.openLease(receipt, now);
    if ("ok" in lease) return lease;
    this.leased--;
    const dead = this.requeue(lease.row, delay > 0 ? msAfter(now, delay) : 0);
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
    return expiresAt > now && this.store.spendTicket(id, expiresAt);
  }

  /** When the earliest in-memory wait ends. */
  nextDeadline(): number | undefined {
    const deadlines = [...this.putters, ...this.getters, ...this.joiners].map((w) => w.deadline);
    const next = Math.min(...deadlines);
    return next === Infinity ? undefined : next;
  }

  /** When the earliest stored lease expires or delayed item becomes visible: must survive eviction. */
  nextDurableDeadline(now: number): number | undefined {
    return this.store.nextDeadline(now);
  }

  // ---- the state machine's moves

  /** One task_done, without settling: by its receipt, or (none) the oldest open lease or an anonymous count. */
  private complete(receipt: string | undefined, now: number): Outcome<{ replayed: boolean }> {
    const lease = receipt === undefined ? { row: this.store.oldestLeased() } : this.findLease(receipt, now);
    if ("code" in lease) return lease;
    if (lease.acked) return { ok: true, replayed: true };
    if (this.meta.unfinished_tasks <= 0) return TOO_MANY;
    if (lease.row) {
      this.store.complete(lease.row.id, now);
      this.leased--;
    }
    this.meta.unfinished_tasks--;
    this.meta.completed++;
    return { ok: true, replayed: false };
  }

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
    // Forgetting scans, so it runs seldom: often enough that what is kept past its time stays a fraction of the rest.
    if (now - this.meta.forgot_at >= Math.min(this.limits.idempotencyMs, this.limits.ackKeepMs) / 2) {
      this.store.forget(now - this.limits.ackKeepMs, now);
      this.meta.forgot_at = now;
    }
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
    const timeoutAt = options.timeout === undefined ? Infinity : msAfter(now, options.timeout);
    if (timeoutAt <= now) return reply(timedOut());
    if (this.putters.length + this.getters.length + this.joiners.length >= this.limits.maxWaiters) {
      return reply(
        fail(
          "limit_exceeded",
          `this queue already has ${this.limits.maxWaiters} waiting calls (the cap); retry shortly`,
        ),
      );
    }
    const deadline = options.standing ? Infinity : Math.min(timeoutAt, now + this.limits.maxWaitMs);
    list.push({ ...waiter, timeoutAt, deadline } as W);
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
    const visibleAt = request.delay ? msAfter(now, request.delay) : 0;
    const first = this.meta.next_id;
    const ids = request.items.map((_, i) => first + i);
    this.store.insert(
      first,
      request.items.map((item) => ({ value: item.json, sortKey: encodeKey(item.priority ?? 0) })),
      visibleAt,
      now,
    );
    this.added(ids.length);
    this.putSinceSaved += ids.length;
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
      const expires = msAfter(now, leaseSeconds);
      this.store.lease(row.id, deliveries, token, expires, now);
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
        this.requeue(row, 0);
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
  private findLease(receipt: string, now: number): Lease | QueueError {
    const r = parseReceipt(receipt);
    if (!r || r.tag !== this.meta.tag) return fail("invalid_receipt", "this receipt was not issued by this queue");
    const found = this.store.item(r.id);
    // A completion older than the time it is kept counts as forgotten, whenever its row is actually deleted.
    const forgotten = found?.state === "done" && found.lease_expires! < now - this.limits.ackKeepMs;
    const row = forgotten ? undefined : found;
    if ((row?.state === "leased" || row?.state === "done") && row.deliveries === r.delivery) {
      if (row.token !== r.token) return fail("invalid_receipt", "this receipt does not match its delivery");
      return row.state === "leased" ? { row } : { acked: true };
    }
    if (!row || r.delivery <= row.deliveries) {
      return fail(
        "stale_receipt",
        "this delivery is no longer open: its lease expired or the item was taken, completed or removed",
      );
    }
    return fail("invalid_receipt", "this receipt does not match any delivery");
  }

  private openLease(receipt: string, now: number): { row: ItemRow } | QueueError {
    const lease = this.findLease(receipt, now);
    if ("code" in lease) return lease;
    return lease.row ? { row: lease.row } : fail("stale_receipt", "this delivery was already completed");
  }

  private joined(drained: boolean): Outcome<JoinResult> {
    return { ok: true, drained, unfinished_tasks: this.meta.unfinished_tasks, dead_lettered: this.dead };
  }

  /** What a put of `n` items changes in the meta row. */
  private added(n: number, meta = this.meta): void {
    meta.next_id += n;
    meta.counts.ready += n;
    meta.unfinished_tasks += n;
    meta.puts += n;
  }

  /** Writes the meta row, unless all that changed since it was written is what waking derives (puts). */
  private save(): void {
    const derivable = this.saved && structuredClone(this.saved);
    if (derivable) this.added(this.putSinceSaved, derivable);
    const json = JSON.stringify(this.meta);
    if (derivable && JSON.stringify(derivable) === json) return;
    this.store.saveMeta(json);
    this.saved = structuredClone(this.meta);
    this.putSinceSaved = 0;
  }
}
