// CPython's queue.Queue as a single-threaded state machine: items in SQLite, waiters in memory, time passed in.
//
// The caller (a Durable Object, or a test) plays CPython's mutex: it calls one method at a time. CPython's three
// conditions become three FIFO waiter lists; instead of waking a thread to re-check, `settle` hands each waiter
// its answer directly, in arrival order, as soon as its condition holds. The core never reads a clock or sets a
// timer: every method takes `now` (ms), and `nextDeadline` / `nextDurableDeadline` tell the caller when to call
// `tick`. Leases are leases.ts; what survives a restart, persistence.ts; the order of items, the store's.
import { msAfter } from "./clock.ts";
import { Dispatch } from "./dispatch.ts";
import { Leases } from "./leases.ts";
import type { Limits } from "./limits.ts";
import { Persistence, type QueueState } from "./persistence.ts";
import { encodeKey } from "./priority.ts";
import { T_DEAD, T_LEASED, T_READY } from "./segment.ts";
import type { Store } from "./store.ts";
import {
  type Delivery,
  fail,
  type GetRequest,
  type GroupGauges,
  type GroupSettings,
  type GroupStats,
  type JoinResult,
  type Outcome,
  type PutRequest,
  type PutResult,
  type QueueConfig,
  type QueueError,
  type Stats,
  type TaskDoneResult,
} from "./types.ts";
import { invalidPut } from "./validate.ts";
import { Waiters } from "./waiters.ts";

export type { Limits } from "./limits.ts";

type Got = Outcome<{ deliveries: Delivery[] }>;
type TaskDone = { unfinished_tasks: number; replayed: boolean; cancelled?: true };

/** How many items these waiting getters would take. */
const demand = (getters: { request: GetRequest }[]) => getters.reduce((n, g) => n + (g.request.max ?? 1), 0);

const SHUTDOWN = fail("shutdown", "the queue has been shut down");
const FULL = fail("full", "the queue is full");
const EMPTY = fail("empty", "the queue is empty");

export class JoinableQueue {
  private readonly waiting: Waiters;
  private readonly meta: QueueState;
  private readonly leases: Leases;
  private readonly dispatch: Dispatch;
  /** Set by `groupWrites`: steps leave their writes to `flush`, and when the last step ran. */
  private grouped: { steppedAt: number } | undefined;

  private constructor(
    private readonly store: Store,
    private readonly saved: Persistence,
    private readonly limits: Limits,
  ) {
    this.meta = saved.state;
    this.waiting = new Waiters(limits);
    this.leases = new Leases(store, this.meta, limits, saved);
    this.dispatch = new Dispatch(store, saved);
  }

  /** The queue stored in `store`, or undefined if none was created there. */
  static open(store: Store, limits: Limits): JoinableQueue | undefined {
    const saved = Persistence.open(store, limits);
    return saved && new JoinableQueue(store, saved, limits);
  }

  static create(store: Store, config: QueueConfig, limits: Limits): JoinableQueue {
    return new JoinableQueue(store, Persistence.create(store, config, limits), limits);
  }

  get config(): QueueConfig {
    return this.meta.config;
  }

  /**
   * From now on a step changes the queue in memory only, and `flush` writes what every step since the last flush
   * changed, at once: the owner's group commit (a Durable Object answers each step's caller after that write).
   */
  groupWrites(): void {
    this.grouped = { steppedAt: 0 };
  }

  /** Writes what the steps since the last write changed: each changed segment once, the meta row if need be. */
  flush(): void {
    if (this.grouped) this.saved.save(this.grouped.steppedAt);
  }

  /** Ends a step: written now, or (grouped) left to the next flush. */
  private stepped(now: number): void {
    if (this.grouped) this.grouped.steppedAt = Math.max(this.grouped.steppedAt, now);
    else this.saved.save(now);
  }

  get unfinishedTasks(): number {
    return this.meta.unfinished_tasks;
  }

  get deadLettered(): number {
    return this.store.totals.dead;
  }

  /** How many groups the queue holds, as its cap counts them (live, or drained and not yet forgotten). */
  get groupCount(): number {
    return this.saved.groupCount;
  }

  /** The groups' gauges: a walk over the live groups, for observers (the catalog asks at most once a second). */
  groupGauges(): GroupGauges {
    let [open, atCap] = [0, 0];
    for (const [g, t] of this.store.groups) {
      if (t[T_READY] + t[T_LEASED] > 0) open++;
      const cap = this.saved.capOf(g);
      if (cap !== null && t[T_LEASED] >= cap) atCap++;
    }
    const cancelled = Object.values(this.meta.group_settings).filter((s) => s.cancelled !== undefined).length;
    return { groups: this.groupCount, groups_open: open, groups_at_cap: atCap, groups_cancelled: cancelled };
  }

  get isShutdown(): boolean {
    return this.meta.shutdown;
  }

  /** Items waiting in the queue, delayed ones included (taken items are not in it, as in Python). */
  get qsize(): number {
    return this.store.totals.ready;
  }

  /** CPython's get raises ShutDown only once a shut-down queue is empty: until then it keeps draining. */
  private get shutDownAndEmpty(): boolean {
    return this.meta.shutdown && this.qsize === 0;
  }

  put(request: PutRequest, now: number, reply: (o: Outcome<PutResult>) => void, waiterId?: string): void {
    this.leases.expire(now);
    const invalid = invalidPut(request, this.meta.config) ?? this.tooManyGroups(request) ?? this.cancelledIn(request);
    const replayed = this.replay(request.idempotency_key, now);
    if (replayed) reply(replayed);
    else if (invalid) reply(invalid);
    else if (this.meta.shutdown) reply(SHUTDOWN);
    else if (this.fits(request.items.length)) reply(this.insert(request, now));
    else this.waiting.block(this.waiting.putters, { id: waiterId, reply, request, timedOut: () => FULL }, request, now);
    this.settle(now);
  }

  get(request: GetRequest, now: number, reply: (o: Got) => void, waiterId?: string): void {
    this.leases.expire(now);
    const taken = this.shutDownAndEmpty ? undefined : this.take(request, now);
    if (!taken) reply(SHUTDOWN);
    else if (taken.length > 0) reply({ ok: true, deliveries: taken });
    else
      this.waiting.block(this.waiting.getters, { id: waiterId, reply, request, timedOut: () => EMPTY }, request, now);
    this.settle(now);
  }

  /** Waits until every task is done: of the whole queue, or (`group`) of that group only. */
  join(
    options: { timeout?: number; group?: string },
    now: number,
    reply: (o: Outcome<JoinResult>) => void,
    waiterId?: string,
  ): void {
    this.leases.expire(now);
    const { group } = options;
    if (this.unfinishedOf(group) === 0) reply(this.joined(true, group));
    else
      this.waiting.block(
        this.waiting.joiners,
        { id: waiterId, reply, group, timedOut: () => this.joined(false, group) },
        options,
        now,
      );
    this.settle(now);
  }

  /** One group's counters; undefined for a group the queue does not know or has forgotten. */
  group(name: string, now: number): GroupStats | undefined {
    return this.saved.group(name, now);
  }

  /** The groups the queue holds, in name order, after `after`, up to `limit`. */
  groups(limit: number, after: string | undefined, now: number): GroupStats[] {
    const names = this.saved
      .groupNames()
      .filter((g) => after === undefined || g > after)
      .sort();
    const found: GroupStats[] = [];
    for (const g of names) {
      if (found.length >= limit) break;
      const stats = this.saved.group(g, now);
      if (stats) found.push(stats);
    }
    return found;
  }

  /** A group's dead letters (none: the queue's). */
  deadLetteredOf(group: string | undefined): number {
    return group === undefined ? this.store.totals.dead : (this.store.groups.get(group)?.[T_DEAD] ?? 0);
  }

  /** A cancelled group's items its cancel removed (and its deliveries ended since); undefined: not cancelled. */
  cancelledOf(group: string): number | undefined {
    return this.saved.cancelledOf(group);
  }

  /** A group's unfinished tasks (none: the queue's): its items ready or leased, counted in their segments. */
  unfinishedOf(group: string | undefined): number {
    if (group === undefined) return this.meta.unfinished_tasks;
    const t = this.store.groups.get(group);
    return t ? t[T_READY] + t[T_LEASED] : 0;
  }

  /**
   * What a sharded join adds up (Mattern's counters): every rise of the unfinished count so far, and the count now.
   * `puts - unfinished` only grows, so two waves of reads across shards can prove an instant when all were 0.
   */
  counts(group: string | undefined, now: number): { puts: number; unfinished: number } {
    const unfinished = this.unfinishedOf(group);
    if (group === undefined) return { puts: this.meta.puts + this.meta.redriven, unfinished };
    return { puts: this.saved.group(group, now)?.puts ?? unfinished, unfinished };
  }

  /** How many items the waiting getters would take now: what a shard asks its siblings for when it has none. */
  get wanted(): number {
    return demand(this.waiting.getters);
  }

  /**
   * Hands deliveries taken from another shard, leased for `lease_seconds`, to the waiting getters that asked for that
   * lease, in the order they came, each up to its max; answers those no getter was left to take.
   */
  serve(deliveries: Delivery[], lease_seconds: number | undefined): Delivery[] {
    const left = [...deliveries];
    for (const getter of this.waiting.getters.filter((g) => g.request.lease_seconds === lease_seconds)) {
      if (left.length === 0) break;
      const taken = left.splice(0, getter.request.max ?? 1);
      this.waiting.answer(this.waiting.getters, getter, { ok: true, deliveries: taken });
    }
    return left;
  }

  /** The lease the first waiting getter asked for (undefined: the queue's), and how many getters asking it want. */
  get firstWanted(): { lease_seconds: number | undefined; count: number } {
    const lease_seconds = this.waiting.getters[0]?.request.lease_seconds;
    const alike = this.waiting.getters.filter((g) => g.request.lease_seconds === lease_seconds);
    return { lease_seconds, count: demand(alike) };
  }

  /**
   * Items a get could take now: ready and not delayed; 0 when every one is of a group at its cap (a sharded queue's
   * shard then asks its siblings for items, and tells them it has some when a slot frees).
   */
  visible(now: number): number {
    const n = this.qsize - this.store.countDelayed(now);
    return n > 0 && this.dispatch.capped() && !this.dispatch.anyEligible(now) ? 0 : n;
  }

  /**
   * Completes one task. With a receipt, exactly that delivery, once (a repeat succeeds and changes nothing).
   * Without one, CPython's anonymous task_done, which also closes the oldest open lease so it is not redelivered.
   */
  taskDone(receipt: string | undefined, now: number): Outcome<TaskDone> {
    this.leases.expire(now);
    const done = this.leases.complete(receipt, now);
    this.settle(now);
    if (!done.ok) return done;
    return {
      ok: true,
      unfinished_tasks: this.meta.unfinished_tasks,
      replayed: done.replayed,
      ...this.told(done.group),
    };
  }

  /**
   * Completes many deliveries in one step (one write of each segment they are in), each by its receipt, answering
   * each one's outcome in order: a receipt that is stale or invalid fails alone, the others still complete.
   */
  taskDoneMany(receipts: string[], now: number): { unfinished_tasks: number; results: TaskDoneResult[] } {
    this.leases.expire(now);
    const results = receipts.map((receipt): TaskDoneResult => {
      const done = this.leases.complete(receipt, now);
      if (done.ok) return done.replayed ? "replayed" : "done";
      return done.code === "stale_receipt" ? "stale" : "invalid";
    });
    this.settle(now);
    return { unfinished_tasks: this.meta.unfinished_tasks, results };
  }

  /** Python 3.13's shutdown: putters and (once the queue is empty) getters get ShutDown; immediate drains too. */
  shutdown(immediate: boolean, now: number): void {
    this.leases.expire(now);
    this.meta.shutdown = true;
    if (immediate) {
      this.meta.immediate = true;
      const drained = this.store.deleteAll("ready");
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
    this.leases.expire(now);
    this.meta.config = { ...this.meta.config, ...changes };
    this.settle(now);
  }

  /** Pushes a lease's expiry to `seconds` from now (a heartbeat for long jobs). */
  extend(receipt: string, seconds: number, now: number): Outcome<{ lease_expires_at: number; cancelled?: true }> {
    this.leases.expire(now);
    const extended = this.leases.extend(receipt, seconds, now);
    this.stepped(now); // expiring other leases above changed the counts
    return extended.ok
      ? { ok: true, lease_expires_at: extended.lease_expires_at, ...this.told(extended.group) }
      : extended;
  }

  /** What the holder of a delivery of `group` is told beside its answer: that the group was cancelled. */
  private told(group: string | null): { cancelled?: true } {
    return group !== null && this.cancelledOf(group) !== undefined ? { cancelled: true } : {};
  }

  /**
   * Cancels a group: its waiting and delayed items are removed (each lowering the unfinished count, as an immediate
   * shutdown does), later puts naming it are refused, and its deliveries in flight may still finish; a release or an
   * expired lease of one removes it too. Undefined for a group the queue does not hold, unless `evenIfUnknown` (a
   * sharded queue's shards that hold none of it yet must refuse its puts too).
   */
  cancel(
    group: string,
    now: number,
    evenIfUnknown = false,
  ): { group: string; cancelled: number; in_flight: number } | undefined {
    this.leases.expire(now);
    if (!evenIfUnknown && !this.saved.holds(group)) return undefined;
    const removed = this.store.deleteAll("ready", group);
    this.meta.unfinished_tasks = Math.max(0, this.meta.unfinished_tasks - removed);
    this.saved.countCancelled(group, removed, now);
    this.settle(now);
    return { group, cancelled: removed, in_flight: this.store.groups.get(group)?.[T_LEASED] ?? 0 };
  }

  /**
   * Sets a group's weight and cap (`max_in_flight` null: the queue's again); a group nothing was put to yet may be
   * set up ahead. A raised cap serves waiting getters at once.
   */
  configureGroup(
    group: string,
    changes: { weight?: number; max_in_flight?: number | null },
    now: number,
  ): Outcome<{ stats: GroupStats }> {
    this.leases.expire(now);
    const tooMany = this.saved.holds(group) ? undefined : this.groupCapReached(1);
    if (tooMany) return tooMany;
    this.saved.setGroup(group, now, (s: GroupSettings) => {
      if (changes.weight !== undefined) s.weight = changes.weight;
      if (changes.max_in_flight === null) delete s.max_in_flight;
      else if (changes.max_in_flight !== undefined) s.max_in_flight = changes.max_in_flight;
    });
    this.settle(now);
    return { ok: true, stats: this.saved.group(group, now)! };
  }

  /** Gives a leased item back (a nack), visible again after `delay` seconds; it counts as a failed delivery. */
  release(receipt: string, delay: number, now: number): Outcome<{ dead_lettered: boolean }> {
    this.leases.expire(now);
    const released = this.leases.release(receipt, delay, now);
    this.settle(now);
    return released;
  }

  deadLetters(limit: number): Delivery[] {
    return this.leases.deadLetters(limit);
  }

  /**
   * Puts dead letters back as fresh work: they count in unfinished_tasks again, so join waits for them. A cancelled
   * group's dead letters stay where they are (purge removes them).
   */
  redrive(limit: number, now: number): { ids: number[] } {
    const ids = this.store.redrive(limit, now, (g) => g !== null && this.cancelledOf(g) !== undefined);
    this.meta.unfinished_tasks += ids.length;
    this.meta.redriven += ids.length;
    this.settle(now);
    return { ids };
  }

  purgeDeadLetters(now: number): { purged: number } {
    const purged = this.store.deleteAll("dead");
    this.settle(now);
    return { purged };
  }

  stats(now: number): Stats {
    return this.saved.stats(this.store.countDelayed(now), this.waiting.counts);
  }

  /** Called when a deadline passes: expires leases, hands out what became visible, ends waits that ran out. */
  tick(now: number): void {
    this.leases.expire(now);
    this.settle(now);
    this.waiting.expire(now);
  }

  /** Takes back a waiting call whose client went away, before anything is handed to it. */
  withdraw(waiterId: string): boolean {
    return this.waiting.withdraw(waiterId);
  }

  /** Answers every waiter (used when the queue is deleted) and forgets them. */
  abandon(outcome: QueueError): void {
    this.waiting.abandon(outcome);
  }

  /** When the earliest in-memory wait ends. */
  nextDeadline(): number | undefined {
    return this.waiting.nextDeadline();
  }

  /** When the earliest stored lease expires or delayed item becomes visible: must survive eviction. */
  nextDurableDeadline(now: number): number | undefined {
    return this.store.nextDeadline(now);
  }

  /** Hands every waiter whose condition now holds its answer, in arrival order; then ends the step. */
  private settle(now: number): void {
    for (let progress = true; progress; ) {
      progress = false;
      for (const putter of [...this.waiting.putters]) {
        const cancelled = this.cancelledIn(putter.request);
        if (this.meta.shutdown || cancelled) this.waiting.answer(this.waiting.putters, putter, cancelled ?? SHUTDOWN);
        else if (this.fits(putter.request.items.length)) {
          this.waiting.answer(this.waiting.putters, putter, this.insert(putter.request, now));
          progress = true;
        }
      }
      for (const getter of [...this.waiting.getters]) {
        if (this.shutDownAndEmpty) {
          this.waiting.answer(this.waiting.getters, getter, SHUTDOWN);
          continue;
        }
        const taken = this.take(getter.request, now);
        if (taken.length === 0) break; // nothing visible for anyone
        this.waiting.answer(this.waiting.getters, getter, { ok: true, deliveries: taken });
        progress = true;
      }
    }
    // Invariant: no joiner waits while its count (the queue's, or its group's) is 0.
    for (const joiner of [...this.waiting.joiners])
      if (this.unfinishedOf(joiner.group) === 0)
        this.waiting.answer(this.waiting.joiners, joiner, this.joined(true, joiner.group));
    this.stepped(now);
  }

  private fits(n: number): boolean {
    const { maxsize } = this.meta.config;
    return maxsize <= 0 || this.qsize + n <= maxsize;
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
    const items = request.items.map((item) => ({
      value: item.json,
      sortKey: encodeKey(item.priority ?? 0),
      group: item.group ?? null,
    }));
    this.store.insert(first, items, visibleAt, now);
    this.meta.next_id += ids.length;
    this.meta.unfinished_tasks += ids.length;
    this.meta.puts += ids.length;
    const key = request.idempotency_key;
    if (key !== undefined) this.store.remember(key, first, JSON.stringify(ids), now + this.limits.idempotencyMs, now);
    return { ok: true, ids, replayed: false };
  }

  private take(request: GetRequest, now: number): Delivery[] {
    const lease = request.lease_seconds ?? this.meta.config.lease_seconds;
    return this.leases.take(this.dispatch.next(request.max ?? 1, now), lease, now);
  }

  private joined(drained: boolean, group?: string): Outcome<JoinResult> {
    if (group === undefined)
      return { ok: true, drained, unfinished_tasks: this.meta.unfinished_tasks, dead_lettered: this.store.totals.dead };
    const t = this.store.groups.get(group);
    const cancelled = this.cancelledOf(group);
    return {
      ...{ ok: true, drained, group, unfinished_tasks: this.unfinishedOf(group), dead_lettered: t ? t[T_DEAD] : 0 },
      ...(cancelled === undefined ? {} : { cancelled }),
    };
  }

  /** A put naming a cancelled group is refused whole. */
  private cancelledIn(request: PutRequest): QueueError | undefined {
    const g = request.items.find((i) => i.group !== undefined && this.cancelledOf(i.group) !== undefined)?.group;
    return g === undefined
      ? undefined
      : fail("group_cancelled", `the group '${g}' was cancelled: it takes no more items`);
  }

  /** A put that would make the queue hold more groups than its cap is refused whole. */
  private tooManyGroups(request: PutRequest): QueueError | undefined {
    const added = new Set(
      request.items.flatMap((i) => (i.group === undefined || this.saved.holds(i.group) ? [] : [i.group])),
    );
    return added.size === 0 ? undefined : this.groupCapReached(added.size);
  }

  private groupCapReached(added: number): QueueError | undefined {
    const cap = this.limits.maxGroups ?? 10_000;
    if (this.saved.groupCount + added <= cap) return undefined;
    return fail("limit_exceeded", `this queue already holds ${this.saved.groupCount} groups (the cap is ${cap})`);
  }
}
