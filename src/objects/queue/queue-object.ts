// One Durable Object per queue: SQLite storage, timers and suspended calls around the pure core.
//
// A Durable Object runs one event at a time, which is exactly the mutex CPython's queue needs: each RPC method
// below runs a step of the core synchronously, in memory. The steps' writes are grouped (group-commit.ts): what the
// calls that arrive while a write is out changed is written once, and each answer, socket frame or delivery waits
// for the write that recorded it; the runtime's output gate then holds it until that write is durable, so an
// acknowledged put survives any crash that follows it.
import { DurableObject } from "cloudflare:workers";
import { cap, coreLimits, LIMITS } from "../../contract/limits.ts";
import { problem } from "../../contract/problems.ts";
import type { QueueConfig } from "../../contract/queue-config.ts";
import { mayWait, type QueueCalls, type Waiting } from "../../contract/requests.ts";
import { isRight, NEEDS, RIGHTS_HEADER, type Right, TICKET_HEADER } from "../../contract/rights.ts";
import { JoinableQueue, type Limits } from "../../core/queue.ts";
import { shardOf } from "../../core/receipt.ts";
import { type Sql, Store } from "../../core/store.ts";
import { Tickets } from "../../core/tickets.ts";
import {
  type Delivery,
  fail,
  type GetRequest,
  type GroupGauges,
  type GroupStats,
  type JoinResult,
  type Outcome,
  type PutRequest,
  type PutResult,
  type QueueError,
  type Stats,
  type TaskDoneResult,
} from "../../core/types.ts";
import { Headlines } from "../catalog/headlines.ts";
import { Push } from "../push/push.ts";
import type { Api } from "../rpc.ts";
import type { Joined, Read, ShardJoinRequest, Target } from "../shards/coordinator.ts";
import type { Handed } from "../shards/handoff.ts";
import { homeOf, Shard, type ShardCalls } from "../shards/shards.ts";
import { error, parse } from "../sockets/frames.ts";
import { Subscriptions } from "../sockets/subscriptions.ts";
import { SocketWork } from "../sockets/work.ts";
import { alarmTime } from "./alarm-time.ts";
import { GroupCommit } from "./group-commit.ts";
import { type Peeked, type PeekState, peekItems } from "./peek.ts";

const NOT_FOUND = fail("not_found", "no such queue: create it first with PUT /v1/queues/{name}");
const ANONYMOUS = fail(
  "invalid_request",
  "a sharded queue's task_done needs the delivery's receipt: it names the shard that holds the item",
);
type Sync<T> = T | Promise<T>;

/** What this object has done that Cloudflare bills by the row, since it woke: counted by the platform, per cursor. */
export interface Meter {
  /** When this instance was constructed: a later value means the object was evicted and woke again. */
  woke_at: number;
  rows_written: number;
  rows_read: number;
  /** Each setAlarm is billed as a row written too. */
  alarms_set: number;
  /** Steps of the core run: about one per request, socket frame or alarm (how busy the object is). */
  steps: number;
  /** Writes of what the steps changed (group-commit.ts): one per step for a lone caller, fewer under load. */
  flushes: number;
}

export class QueueObject extends DurableObject<Env> implements QueueCalls, ShardCalls {
  private readonly sql: Sql;
  private queue: JoinableQueue | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The time the stored alarm is set for, as this instance set or found it (null: none). */
  private alarmAt: number | null = null;
  /** While the alarm handler runs: the time that alarm was set for (see `afterChange`). */
  private firing: number | undefined;
  private readonly subscriptions: Subscriptions;
  private readonly work: SocketWork;
  private readonly headlines = new Headlines(
    this.ctx,
    this.env,
    () => this.queue,
    (q, now) => ({ ...this.statsAt(q, now), ...q.groupGauges() }),
  );
  private readonly limits: Limits;
  /** The meter's counts as steps run (its flushes are the group commit's own count). */
  private readonly metered: Omit<Meter, "flushes"> = {
    woke_at: Date.now(),
    rows_written: 0,
    rows_read: 0,
    alarms_set: 0,
    steps: 0,
  };
  private readonly commit = new GroupCommit(
    () => this.write(),
    () => this.ctx.storage.sync(),
    (e) => {
      // Memory is ahead of storage: start again from what is stored. No call that waited on this write was answered.
      this.ctx.abort(`a write failed: ${e}`);
      throw e;
    },
  );
  /** Push delivery and join callbacks (push.ts): a plain queue never reaches past its first line. */
  private readonly push: Push;
  /** Where the queue is sharded: this object's part in it (shards/shards.ts). */
  private shard: Shard | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.limits = coreLimits(
      cap(env.MAX_WAIT_SECONDS, LIMITS.maxWaitSeconds),
      cap(env.MAX_WAITERS, LIMITS.maxWaiters),
      cap(env.MAX_GROUPS, LIMITS.maxGroups),
    );
    this.sql = {
      exec: (query, ...params) => {
        const cursor = ctx.storage.sql.exec(query, ...params);
        const rows = cursor.toArray();
        this.metered.rows_written += cursor.rowsWritten;
        this.metered.rows_read += cursor.rowsRead;
        return rows as never;
      },
    };
    // Until the queue is created the object writes nothing, so asking about any name leaves no storage behind.
    const store = Store.open(this.sql);
    this.queue = store && JoinableQueue.open(store, this.limits);
    this.queue?.groupWrites();
    const subscribers = cap(env.MAX_SUBSCRIBERS, LIMITS.maxSubscribers);
    this.subscriptions = new Subscriptions(
      ctx,
      () => this.queue,
      subscribers,
      (q, now) => this.statsAt(q, now),
      (effect) => this.commit.after(effect),
    );
    this.push = new Push(
      ctx,
      env,
      this.sql,
      () => this.queue,
      this,
      () => this.afterChange(),
    );
    this.work = new SocketWork(
      { calls: this.applied, queue: () => this.queue, run: (step) => this.apply(step) },
      this.subscriptions,
    );
    this.sharded();
    ctx.blockConcurrencyWhile(async () => {
      this.alarmAt = await ctx.storage.getAlarm();
      this.subscriptions.resumeAcross();
      // Consumers that waited through a hibernation wait again, in the order they came; after the alarm is
      // known, so that re-arming timers does not set an alarm that is already set (each setAlarm is a row).
      this.work.resume();
    });
  }

  /** Creates the queue; repeating it with the same configuration is a no-op, with another one a conflict. */
  create(config: QueueConfig): Outcome<{ created: boolean }> {
    if (this.queue) {
      const same = JSON.stringify(this.queue.config) === JSON.stringify(config);
      return same
        ? { ok: true, created: false }
        : fail("conflict", `the queue exists with another configuration: ${JSON.stringify(this.publicConfig)}`);
    }
    this.queue = JoinableQueue.create(Store.create(this.sql), config, this.limits);
    this.queue.groupWrites();
    this.sharded();
    return { ok: true, created: true, ...this.push.configured(config.push) };
  }

  /** The queue's configuration as its owner set it (a shard's place among the others is the service's own). */
  private get publicConfig(): object {
    const { shard: _, ...config } = this.queue!.config;
    return config;
  }

  /** Deletes the queue and everything in it; waiting calls and subscribers are told so. */
  async destroy(): Promise<boolean> {
    const existed = this.queue !== undefined;
    this.queue?.abandon(fail("not_found", "the queue was deleted"));
    this.subscriptions.close("deleted");
    this.queue = undefined;
    this.sharded();
    this.push.reset();
    clearTimeout(this.timer);
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.alarmAt = null;
    return existed;
  }

  /** The billable work counted so far (the bench's meter and the cost tests read it). */
  meter(): Meter {
    return { ...this.metered, flushes: this.commit.flushes };
  }

  stats(): Promise<Outcome<{ stats: Stats } & GroupGauges>> {
    return this.commit.answer(this.ownStats());
  }

  /** A sharded queue's stats, every shard's added up (shards/totals.ts); a queue of one object's own. */
  async totals(): Promise<Outcome<{ stats: Stats } & GroupGauges>> {
    return this.shard ? this.shard.totals() : this.stats();
  }

  private ownStats(): Outcome<{ stats: Stats } & GroupGauges> {
    return this.apply((q, now) => ({ ok: true, stats: this.statsAt(q, now), ...q.groupGauges() }));
  }

  /** How many objects hold this queue (the Worker spreads calls over them); 0: there is no such queue. */
  shardCount(): number {
    return this.queue ? (this.queue.config.shards ?? 1) : 0;
  }

  // ---- The work. Each RPC method answers once the write that records its step has run; the object's own sockets
  // call `applied`, which answers as soon as the step is applied: they hold their frames themselves, in order.

  put(request: Waiting<PutRequest & { shard_key?: string }>): Promise<Outcome<PutResult>> {
    return this.held(this.applied.put(request));
  }

  get(request: Waiting<GetRequest>): Promise<Outcome<{ deliveries: Delivery[] }>> {
    return this.held(this.applied.get(request));
  }

  join(request: Waiting<{ timeout?: number; group?: string }>): Promise<Outcome<JoinResult>> {
    return this.held(this.applied.join(request));
  }

  taskDone(receipt: string | undefined): Promise<Outcome<{ unfinished_tasks: number; replayed: boolean }>> {
    return this.held(this.applied.taskDone(receipt));
  }

  taskDoneMany(receipts: string[]): Promise<Outcome<{ unfinished_tasks: number; results: TaskDoneResult[] }>> {
    return this.held(this.applied.taskDoneMany(receipts));
  }

  extend(receipt: string, seconds: number): Promise<Outcome<{ lease_expires_at: number }>> {
    return this.held(this.applied.extend(receipt, seconds));
  }

  release(receipt: string, delay: number): Promise<Outcome<{ dead_lettered: boolean }>> {
    return this.held(this.applied.release(receipt, delay));
  }

  private readonly applied: QueueCalls = {
    put: (request) => this.putNow(request),
    get: (request) => this.getNow(request),
    join: (request) => this.joinNow(request),
    taskDone: (receipt) => this.taskDoneNow(receipt),
    taskDoneMany: (receipts) => this.taskDoneManyNow(receipts),
    extend: (receipt, seconds) => this.extendNow(receipt, seconds),
    release: (receipt, delay) => this.releaseNow(receipt, delay),
  };

  private putNow(request: Waiting<PutRequest & { shard_key?: string }>): Sync<Outcome<PutResult>> {
    const { shard_key: _, ...put } = request;
    const home = this.shard && homeOf(request, this.shard.count);
    if (home !== undefined && home !== this.shard!.index) return this.shard!.sibling<QueueObject>(home).put(request);
    return this.wait((q, now, reply) => q.put(put, now, reply, request.waiter));
  }

  private getNow(request: Waiting<GetRequest>): Sync<Outcome<{ deliveries: Delivery[] }>> {
    const here = () =>
      this.wait<{ deliveries: Delivery[] }>((q, now, reply) => q.get(request, now, reply, request.waiter));
    // A get that cannot wait, or a shut-down shard's, takes a sibling's items before it answers empty or ShutDown.
    if (this.shard && (!mayWait(request) || this.queue?.isShutdown)) {
      return this.shard.handoff.elsewhere(request).then((there) => (there ? { ok: true, deliveries: there } : here()));
    }
    return here();
  }

  private joinNow(request: Waiting<{ timeout?: number; group?: string }>): Sync<Outcome<JoinResult>> {
    if (!this.shard) return this.wait((q, now, reply) => q.join(request, now, reply, request.waiter));
    return this.joinAcross(request).then((joined) => {
      if (!joined.ok) return joined;
      const { puts: _, ...result } = joined;
      return result;
    });
  }

  /** A sharded queue's join: proven by the coordinator's waves across every shard (shards/coordinator.ts). */
  joinAcross(request: ShardJoinRequest): Promise<Outcome<Joined>> {
    if (!this.queue || !this.shard) return Promise.resolve(NOT_FOUND);
    return this.shard.joins?.join(request) ?? this.shard.coordinator().joinAcross(request);
  }

  /** A sibling shard asks for deliveries for its waiting getters (shards/handoff.ts). */
  handOut(from: number, max: number, lease_seconds?: number): Promise<Outcome<Handed>> {
    return this.run((q, now) => ({
      ok: true,
      ...(this.shard?.handoff.handOut(from, max, lease_seconds, q, now) ?? { deliveries: [], visible: 0 }),
    }));
  }

  /** A sibling that was asked for items has some now. */
  poke(from: number): void {
    this.shard?.handoff.poke(from);
  }

  /** One shard's part of a join wave: its counts for each target, watched from now on. */
  readCounts(targets: Target[]): Promise<Outcome<Read>> {
    return this.run((q, now) => ({ ok: true, ...this.shard!.watch.read(q, targets, now) }));
  }

  /** A shard reports a zero the coordinator's joins may be waiting for (shards/coordinator.ts). */
  zero(from: number, fell: Target[] | null): void {
    this.shard?.joins?.zero(from, fell);
  }

  /** One group's counters (not_found: a group the queue does not know, or has forgotten). */
  groupStats(group: string): Promise<Outcome<{ stats: GroupStats }>> {
    return this.run((q, now) => {
      const stats = q.group(group, now);
      return stats ? { ok: true, stats } : fail("not_found", `this queue holds no group '${group}'`);
    });
  }

  /** The groups the queue holds, in name order, from after `after`: a page of `limit`, and where the next starts. */
  groups(limit: number, after?: string): Promise<Outcome<{ groups: GroupStats[]; next: string | null }>> {
    return this.run((q, now) => {
      const page = q.groups(limit + 1, after, now);
      const groups = page.slice(0, limit);
      return { ok: true, groups, next: page.length > limit ? groups.at(-1)!.group : null };
    });
  }

  /**
   * Cancels a group (the core's `cancel`): not_found for a group the queue does not hold, unless `evenIfUnknown` (a
   * sharded queue's shard that holds none of it yet, so that it refuses the group's puts too).
   */
  cancelGroup(
    group: string,
    evenIfUnknown = false,
  ): Promise<Outcome<{ group: string; cancelled: number; in_flight: number }>> {
    return this.run((q, now) => {
      const done = q.cancel(group, now, evenIfUnknown);
      return done ? { ok: true, ...done } : fail("not_found", `this queue holds no group '${group}'`);
    });
  }

  /** A group's weight and cap (the core's `configureGroup`). */
  configureGroup(
    group: string,
    changes: { weight?: number; max_in_flight?: number | null },
  ): Promise<Outcome<{ stats: GroupStats }>> {
    return this.run((q, now) => q.configureGroup(group, changes, now));
  }

  private taskDoneNow(receipt: string | undefined): Sync<Outcome<{ unfinished_tasks: number; replayed: boolean }>> {
    if (this.shard && receipt === undefined) return ANONYMOUS;
    const other = this.elsewhere(receipt);
    if (other) return this.ended([receipt!], other.taskDone(receipt));
    return this.ending(receipt === undefined ? [] : [receipt], (q, now) => q.taskDone(receipt, now));
  }

  private taskDoneManyNow(receipts: string[]): Sync<Outcome<{ unfinished_tasks: number; results: TaskDoneResult[] }>> {
    const shard = this.shard;
    const batches = new Map<number, string[]>();
    for (const r of receipts) {
      const i = shard ? shardOf(r) : 0;
      if (!batches.has(i)) batches.set(i, []);
      batches.get(i)!.push(r);
    }
    const mine = batches.get(shard?.index ?? 0) ?? [];
    const here = this.ending(mine, (q, now) => ({ ok: true, ...q.taskDoneMany(mine, now) }));
    if (!here.ok || mine.length === receipts.length) return here;
    // A batch across shards: each shard completes its own receipts; the results keep the batch's order.
    const results = new Map(mine.map((r, i) => [r, here.results[i]!]));
    return (async () => {
      for (const [i, batch] of batches) {
        if (i === shard!.index) continue;
        const done = await this.ended(batch, shard!.sibling<QueueObject>(i).taskDoneMany(batch));
        for (const [k, r] of batch.entries()) results.set(r, done.ok ? done.results[k]! : "invalid");
      }
      return { ...here, results: receipts.map((r) => results.get(r)!) };
    })();
  }

  configure(changes: Partial<Omit<QueueConfig, "order">>): Promise<Outcome<{ stats: Stats; webhook_secret?: string }>> {
    return this.run((q, now) => {
      q.configure(changes, now);
      return { ok: true, stats: this.statsAt(q, now), ...this.push.configured(changes.push) };
    });
  }

  /** Join callbacks and the webhook secret (push/push.ts; docs/push-and-callbacks.md). */
  addJoinCallback(request: Parameters<Push["addCallback"]>[0]): Promise<ReturnType<Push["addCallback"]>> {
    const added = this.run(() => this.push.addCallback(request));
    this.shard?.joins?.wave(); // a sharded queue's drains are proven across its shards, starting now
    return added;
  }

  removeJoinCallback(id: string): Promise<Outcome<{ removed: boolean }>> {
    return this.run(() => ({ ok: true, removed: this.push.removeCallback(id) }));
  }

  rotateWebhookSecret(): Promise<Outcome<ReturnType<Push["rotateSecret"]>>> {
    return this.run((_, now) => ({ ok: true, ...this.push.rotateSecret(now) }));
  }

  shutdown(immediate: boolean): Promise<Outcome<{ stats: Stats }>> {
    return this.run((q, now) => {
      q.shutdown(immediate, now);
      return { ok: true, stats: q.stats(now) };
    });
  }

  private extendNow(receipt: string, seconds: number): Sync<Outcome<{ lease_expires_at: number }>> {
    const other = this.elsewhere(receipt);
    if (other) {
      return other.extend(receipt, seconds).then((o) => {
        if (o.ok) this.work.extended(receipt, o.lease_expires_at);
        return o;
      });
    }
    const extended = this.apply((q, now) => q.extend(receipt, seconds, now));
    if (extended.ok) this.work.extended(receipt, extended.lease_expires_at);
    return extended;
  }

  private releaseNow(receipt: string, delay: number): Sync<Outcome<{ dead_lettered: boolean }>> {
    const other = this.elsewhere(receipt);
    if (other) return this.ended([receipt], other.release(receipt, delay));
    return this.ending([receipt], (q, now) => q.release(receipt, delay, now));
  }

  deadLetters(limit: number): Promise<Outcome<{ deliveries: Delivery[] }>> {
    return this.run((q) => ({ ok: true, deliveries: q.deadLetters(limit) }));
  }

  redrive(limit: number): Promise<Outcome<{ ids: number[] }>> {
    return this.run((q, now) => ({ ok: true, ...q.redrive(limit, now) }));
  }

  purgeDeadLetters(): Promise<Outcome<{ purged: number }>> {
    return this.run((q, now) => ({ ok: true, ...q.purgeDeadLetters(now) }));
  }

  /** Items as they stand, for observers (peek.ts): read from the rows, once what changed is written to them. */
  peek(state: PeekState, limit: number): Outcome<{ items: Peeked[] }> {
    if (!this.queue) return NOT_FOUND;
    this.commit.flush();
    return { ok: true, items: peekItems(Store.open(this.sql)!, this.queue.config.order, state, limit, Date.now()) };
  }

  /** The Worker calls this when a waiting client disconnects, so no item is handed to a caller who is gone. */
  withdraw(waiter: string): boolean {
    const withdrawn = (this.queue?.withdraw(waiter) || this.shard?.joins?.withdraw(waiter)) ?? false;
    this.afterChange();
    return withdrawn;
  }

  /** WebSocket upgrades (the only fetch this object serves; the Worker has authenticated and validated it). */
  override async fetch(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (!this.queue) return problem("not_found", NOT_FOUND.message, path);
    const ticket = request.headers.get(TICKET_HEADER)?.split(" ");
    if (ticket && !new Tickets(this.sql).spend(ticket[0]!, Number(ticket[1]), Date.now())) {
      return problem("unauthorized", "this ticket was already used: get a new one for each socket", path);
    }
    const rights = (request.headers.get(RIGHTS_HEADER) ?? "").split(",").filter((r): r is Right => isRight(r));
    return this.subscriptions.accept(request, path, rights);
  }

  /** One frame: join and watch go to the subscriptions, work to the socket's producers and consumers. */
  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const session = this.subscriptions.sessions().get(ws);
    if (!session || !this.queue) return;
    const parsed = parse(message);
    const post = this.subscriptions.post; // after the answers to the frames before it
    if ("code" in parsed) return error(ws, parsed.code, parsed.detail, parsed.id, post);
    const { op, id } = "work" in parsed ? parsed.work : { op: parsed.message.op, id: undefined };
    if (!session.rights.includes(NEEDS[op])) {
      const detail = `this socket's credentials lack the '${NEEDS[op]}' right (they have: ${session.rights.join(", ")})`;
      return error(ws, "forbidden", detail, id, post);
    }
    if ("work" in parsed) await this.work.frame(ws, session, parsed.work);
    else this.subscriptions.message(ws, session, parsed.message, Date.now());
  }

  override webSocketClose(ws: WebSocket, code: number): void {
    const session = this.subscriptions.sessions().get(ws);
    if (session) this.work.closed(session);
    this.subscriptions.closed(ws, code);
  }

  /** Lease expiries and delayed items are stored, so they are driven by the alarm, which survives eviction. */
  override alarm(): void {
    this.firing = this.alarmAt ?? Date.now();
    this.alarmAt = null;
    try {
      this.tick();
      this.commit.flush(); // before the handler returns: the next alarm must be set while `firing` is known
    } finally {
      this.firing = undefined;
    }
  }

  private tick(): void {
    this.apply((q, now) => {
      q.tick(now);
      return { ok: true };
    });
  }

  /** A sharded queue's part in this object, once the queue exists (its configuration says how many shards). */
  private sharded(): void {
    this.shard = Shard.of(this.env, this.ctx.id.name, this.queue, {
      queue: () => this.queue,
      stats: () => this.ownStats(),
      run: (step) => this.apply(step),
      maxWaitMs: this.limits.maxWaitMs,
      callbackTargets: () => this.push.callbackTargets(),
      afterChange: () => this.afterChange(),
    });
    this.push.view = this.shard?.joins && (() => this.shard!.joins!.view());
    this.subscriptions.across = this.shard && {
      join: (request) => this.joinAcross(request),
      totals: () => this.totals(),
    };
  }

  /**
   * A sibling ended deliveries of its own that a socket consumer here may hold (handed to it by handoff.ts): the
   * consumer's credit comes back once the sibling has answered.
   */
  private async ended<T>(receipts: string[], answer: Promise<T>): Promise<T> {
    const o = await answer;
    this.work.ended(receipts);
    return o;
  }

  /** The sibling shard that holds a receipt's item, when it is not this one. */
  private elsewhere(receipt: string | undefined): Api<QueueObject> | undefined {
    const i = receipt === undefined || !this.shard ? this.shard?.index : shardOf(receipt);
    return this.shard && i !== this.shard.index ? this.shard.sibling<QueueObject>(i!) : undefined;
  }

  /** The stats every door and socket answers: the core's, with push state where the queue pushes. */
  private statsAt(q: JoinableQueue, now: number): Stats {
    const stats = this.push.stats(q.stats(now), now);
    // A sharded queue's joins wait in its coordinator's waves, not in the core.
    if (this.shard?.joins) stats.waiting.joiners += this.shard.joins.waiting;
    return stats;
  }

  /** A step that ends deliveries, by whichever door: a socket consumer holding one gets its credit back. */
  private ending<T extends { ok: boolean }>(receipts: string[], step: (q: JoinableQueue, now: number) => T) {
    const outcome = this.apply(step);
    this.work.ended(receipts);
    return outcome;
  }

  /**
   * Runs one non-blocking step of the core in memory, then re-arms timers and tells subscribers what changed; what
   * it changed is written by the next flush.
   */
  private apply<T extends { ok: boolean }>(step: (q: JoinableQueue, now: number) => T): T | QueueError {
    const q = this.queue;
    if (!q) return NOT_FOUND;
    this.metered.steps++;
    const outcome = step(q, Date.now());
    this.afterChange();
    return outcome;
  }

  /** A step whose outcome is answered once the flush that writes it has run. */
  private run<T extends { ok: boolean }>(step: (q: JoinableQueue, now: number) => T): Promise<T | QueueError> {
    return this.commit.answer(this.apply(step));
  }

  /**
   * A step's answer, given once the write that records it has run (the runtime holds it until that is durable). An
   * answer known now waits for the flush this turn ends with; one that comes later, for the flush after it.
   */
  private held<T>(answer: Sync<T>): Promise<T> {
    return answer instanceof Promise ? answer.then((o) => this.commit.answer(o)) : this.commit.answer(answer);
  }

  /** Runs a step that may block: its answer, now if the core replied in the step, else a promise of it. */
  private wait<T>(step: (q: JoinableQueue, now: number, reply: (o: Outcome<T>) => void) => void): Sync<Outcome<T>> {
    let answered: Outcome<T> | undefined;
    let reply = (o: Outcome<T>) => {
      answered = o;
    };
    const outcome = this.apply((q, now) => {
      step(q, now, (o) => reply(o));
      return { ok: true };
    });
    if (!outcome.ok) return outcome;
    return answered ?? new Promise((resolve) => (reply = resolve));
  }

  /** The flush: every segment the steps since the last one changed, the meta row if need be, the alarm. */
  private write(): void {
    const q = this.queue;
    q?.flush();
    const durable = [q?.nextDurableDeadline(Date.now()), q && this.push.nextDeadline()].reduce(
      (a, b) => (b === undefined || (a !== undefined && a <= b) ? a : b),
      undefined,
    );
    const at = alarmTime(durable, this.alarmAt, this.firing);
    if (at !== undefined) {
      this.alarmAt = at;
      this.metered.alarms_set++;
      void this.ctx.storage.setAlarm(at);
    }
  }

  /** After every step: subscribers hear of it (once written), timers are re-armed, and a flush is due. */
  private afterChange(): void {
    const q = this.queue;
    try {
      if (q && this.shard) this.shard.changed(q, Date.now());
      this.push.changed(Date.now()); // first: the pushes it starts take leases, which the flush's alarm must cover
      this.work.expired(Date.now()); // a lease that ran out in this step frees its socket consumer's credit
      this.subscriptions.changed(Date.now());
      this.headlines.changed(Date.now()); // the catalog's live feed and metrics, at most once a second
    } catch (e) {
      // The queue step is already applied: a subscriber's trouble must not turn it into an error.
      console.error("notifying subscribers failed", e);
    }
    clearTimeout(this.timer);
    const next = q?.nextDeadline();
    // Waits live only in memory, so an in-memory timer is enough for them.
    if (next !== undefined) {
      this.timer = setTimeout(() => this.tick(), Math.max(0, Math.ceil(next - Date.now())));
    }
    this.commit.changed(); // written by the next flush, with the alarm
  }
}
