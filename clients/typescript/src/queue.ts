// One queue, with Python's names: put / get / task_done / join, their _nowait forms, and the service's leases,
// batches and dead letters. A wait longer than the server's cap is a loop of polls, invisible to the caller.
import { QueueError } from "./errors.ts";
import { Group } from "./group.ts";
import type { PutManyOptions, PutOptions, WaitOptions } from "./options.ts";
import { type Handler, type ProcessOptions, process } from "./process.ts";
import { QueueSocket } from "./socket.ts";
import { type SubscribeOptions, subscribeJoin, watch } from "./subscribe.ts";
import type { Transport } from "./transport.ts";
import {
  type Answer,
  type Delivery,
  type Job,
  type JoinResult,
  type QueueConfigChange,
  type Stats,
  type TaskDoneResult,
  toJob,
} from "./types.ts";

export type { PutManyOptions, PutOptions, WaitOptions } from "./options.ts";

export interface GetOptions extends WaitOptions {
  /** This delivery's lease, overriding the queue's (1-43,200 s). */
  leaseSeconds?: number;
}

/** The service's batch size: one put or get carries at most this many items. */
export const BATCH = 100;

/**
 * The longest timeout the service takes in one call (LIMITS.maxTimeoutSeconds). A longer wait is not an error: each
 * call asks for at most this, and the loop of polls goes on until the caller's own deadline, as in the Python client.
 */
export const MAX_TIMEOUT = 86_400;

export class Queue<T = unknown> {
  readonly name: string;
  /** @internal */
  readonly transport: Transport;
  private readonly path: string;

  constructor(transport: Transport, name: string) {
    this.transport = transport;
    this.name = name;
    this.path = `/v1/queues/${encodeURIComponent(name)}`;
  }

  /** Re-polls while the server answers `poll_again`, each time with what is left of the caller's timeout. */
  private async poll<R>(
    verb: string,
    body: Record<string, unknown>,
    options: WaitOptions,
    headers?: Record<string, string>,
  ): Promise<R> {
    const { block = true, timeout, signal } = options;
    const deadline = !block ? 0 : timeout === undefined ? Infinity : Date.now() + timeout * 1000;
    // Each attempt, a retry's included, asks for what is left of the timeout; each answer (poll_again too) is a
    // fresh request, so a wait of any length survives failures as long as fewer than `retries` come in a row.
    const left = () =>
      deadline === Infinity ? null : Math.min(Math.max(0, (deadline - Date.now()) / 1000), MAX_TIMEOUT);
    for (;;) {
      try {
        return await this.transport.request<R>("POST", `${this.path}/${verb}`, {
          bodyFor: () => ({ ...body, timeout: left() }),
          headers,
          signal,
        });
      } catch (e) {
        if (!(e instanceof QueueError && e.code === "poll_again")) throw e;
      }
    }
  }

  /** Python's put: waits while the queue is full (up to `timeout`); answers the item's id. */
  async put(item: T, options: PutOptions = {}): Promise<number> {
    const { priority, delay, idempotencyKey = crypto.randomUUID(), group, shardKey: shard_key } = options;
    const body = { item, priority, delay, group, shard_key, block: options.block };
    const added = await this.poll<{ id: number }>("put", body, options, { "idempotency-key": idempotencyKey });
    return added.id;
  }

  putNowait(item: T, options: Omit<PutOptions, "block" | "timeout"> = {}): Promise<number> {
    return this.put(item, { ...options, block: false });
  }

  /**
   * Puts many items, 100 to a request; each request is all-or-nothing against maxsize (on a sharded queue, each
   * request goes to one shard), and `timeout` bounds them all.
   * Batch `start` carries the key `<idempotencyKey>:<start>`, so a retried call adds no batch twice. Answers the ids.
   */
  async putMany(items: T[], options: PutManyOptions = {}): Promise<number[]> {
    const { priorities, delay, idempotencyKey = crypto.randomUUID(), timeout, group, shardKey: shard_key } = options;
    const deadline = timeout === undefined ? undefined : Date.now() + timeout * 1000;
    const ids: number[] = [];
    for (let start = 0; start < items.length; start += BATCH) {
      const batch = items.slice(start, start + BATCH).map((item, i) => ({ item, priority: priorities?.[start + i] }));
      const headers = { "idempotency-key": `${idempotencyKey}:${start}` };
      const left = deadline === undefined ? undefined : Math.max(0, (deadline - Date.now()) / 1000);
      const body = { items: batch, delay, group, shard_key, block: options.block };
      ids.push(...(await this.poll<{ ids: number[] }>("put", body, { ...options, timeout: left }, headers)).ids);
    }
    return ids;
  }

  /** Python's get: waits for an item (up to `timeout`); with leases, task_done it before the lease passes. */
  async get(options: GetOptions = {}): Promise<Job<T>> {
    return toJob<T>(
      await this.poll<Delivery>("get", { lease_seconds: options.leaseSeconds, block: options.block }, options),
    );
  }

  getNowait(options: Omit<GetOptions, "block" | "timeout"> = {}): Promise<Job<T>> {
    return this.get({ ...options, block: false });
  }

  /** Up to `max` (1-100) items in one call: waits for the first, then takes what is there. */
  async getMany(max: number, options: GetOptions = {}): Promise<Job<T>[]> {
    const body = { max, lease_seconds: options.leaseSeconds, block: options.block };
    const got = await this.poll<{ items: Delivery[] }>("get", body, options);
    return got.items.map((d) => toJob<T>(d));
  }

  /**
   * With a job: completes exactly that delivery, once (a repeat is answered `replayed`), retried as any call.
   * Without: Python's anonymous task_done, which names nothing a repeat could be told apart by, so it is retried
   * only after failures that show the service did nothing (no connection made, 429).
   */
  async taskDone(
    job?: Pick<Job, "receipt" | "cancelled">,
    options: { signal?: AbortSignal } = {},
  ): Promise<Extract<Answer<"taskDone">, { replayed: boolean }>> {
    const receipt = job?.receipt ?? undefined;
    const answer = await this.transport.request<Extract<Answer<"taskDone">, { replayed: boolean }>>(
      "POST",
      `${this.path}/task_done`,
      { body: { receipt }, signal: options.signal, retry: receipt === undefined ? "unsent" : "any" },
    );
    if (job && answer.cancelled) job.cancelled = true;
    return answer;
  }

  /**
   * Completes many jobs by their receipts, 100 to a request (each request one step on the server): answers each
   * job's outcome in order — `done`, `replayed` (completed before), `stale` or `invalid` — rather than throwing.
   */
  async taskDoneMany(
    jobs: Pick<Job, "receipt">[],
    options: { signal?: AbortSignal } = {},
  ): Promise<{ unfinished_tasks: number; results: TaskDoneResult[] }> {
    const answer = { unfinished_tasks: 0, results: [] as TaskDoneResult[] };
    for (let start = 0; start < jobs.length; start += BATCH) {
      const receipts = jobs.slice(start, start + BATCH).map(receiptOf);
      const { unfinished_tasks, results } = await this.transport.request<
        Extract<Answer<"taskDone">, { results: unknown }>
      >("POST", `${this.path}/task_done`, {
        body: { receipts },
        signal: options.signal,
      });
      answer.unfinished_tasks = unfinished_tasks;
      answer.results.push(...results);
    }
    return answer;
  }

  /** A nack: the job returns to the queue (after `delay` seconds), or to the dead letters at max_deliveries. */
  release(
    job: Pick<Job, "receipt">,
    options: { delay?: number; signal?: AbortSignal } = {},
  ): Promise<Answer<"releaseLease">> {
    const body = { receipt: receiptOf(job), delay: options.delay ?? 0 };
    return this.transport.request("POST", `${this.path}/release`, { body, signal: options.signal });
  }

  /**
   * A heartbeat: the lease now ends `seconds` from now; answers (and updates on the job) the new expiry. When the
   * job's group was cancelled, the lease is still extended and `job.cancelled` becomes true: the work may stop.
   */
  async extend(
    job: Pick<Job, "receipt" | "leaseExpiresAt" | "cancelled">,
    seconds: number,
    options: { signal?: AbortSignal } = {},
  ): Promise<number> {
    const body = { receipt: receiptOf(job), lease_seconds: seconds };
    const call = { body, signal: options.signal };
    const { lease_expires_at, cancelled } = await this.transport.request<Answer<"extendLease">>(
      "POST",
      `${this.path}/extend`,
      call,
    );
    job.leaseExpiresAt = lease_expires_at;
    if (cancelled) job.cancelled = true;
    return lease_expires_at;
  }

  /**
   * Python's join: waits until every item put has been task_done'd (or dead-lettered), or `timeout` passes. With
   * `group`, waits for that group's items only (a group with nothing unfinished is drained at once; a cancelled one
   * once its deliveries in flight end, answering `cancelled`: the items its cancel removed).
   */
  join(options: Omit<WaitOptions, "block"> & { group?: string } = {}): Promise<JoinResult> {
    const { group, ...wait } = options;
    return this.poll<Answer<"join">>("join", group === undefined ? {} : { group }, wait);
  }

  /** One group of this queue: put into it, join it, read its status, weight or cap it, cancel it. */
  group(name: string): Group<T> {
    return new Group<T>(this, name);
  }

  /** The groups the queue holds, in name order, a page at a time (`next` is the `after` of the next page). */
  groups(options: { limit?: number; after?: string } = {}): Promise<Answer<"listGroups">> {
    const query = new URLSearchParams({ limit: String(options.limit ?? 100) });
    if (options.after !== undefined) query.set("after", options.after);
    return this.transport.request("GET", `${this.path}/groups?${query}`);
  }

  stats(options: { signal?: AbortSignal } = {}): Promise<Stats> {
    return this.transport.request("GET", this.path, options);
  }

  async qsize(): Promise<number> {
    return (await this.stats()).qsize;
  }

  async empty(): Promise<boolean> {
    return (await this.stats()).empty;
  }

  async full(): Promise<boolean> {
    return (await this.stats()).full;
  }

  /**
   * Changes maxsize, lease_seconds, max_deliveries, push, dispatch (`"fifo"` or `"fair"`), group_max_in_flight or
   * group_retention_seconds (a grown maxsize releases waiting putters).
   */
  configure(changes: QueueConfigChange): Promise<Answer<"configureQueue">> {
    return this.transport.request("PATCH", this.path, { body: changes });
  }

  /** Python 3.13's shutdown: puts fail at once; gets fail once the queue is empty (at once if `immediate`). */
  shutdown(options: { immediate?: boolean } = {}): Promise<Stats> {
    return this.transport.request("POST", `${this.path}/shutdown`, { body: { immediate: options.immediate ?? false } });
  }

  async deadLetters(options: { limit?: number } = {}): Promise<Job<T>[]> {
    const page = await this.transport.request<Answer<"readDeadLetters">>(
      "GET",
      `${this.path}/dead_letters?limit=${options.limit ?? 100}`,
    );
    return page.items.map((d) => toJob<T>(d));
  }

  /**
   * Puts dead letters back into the queue (each counts as unfinished again); answers their ids. A repeat would
   * redrive more, so it is retried only after failures that show the service did nothing.
   */
  async redrive(options: { limit?: number } = {}): Promise<number[]> {
    const body = options.limit === undefined ? {} : { limit: options.limit };
    return (
      await this.transport.request<Answer<"redriveDeadLetters">>("POST", `${this.path}/dead_letters/redrive`, {
        body,
        retry: "unsent",
      })
    ).ids;
  }

  async purgeDeadLetters(): Promise<number> {
    return (await this.transport.request<Answer<"purgeDeadLetters">>("DELETE", `${this.path}/dead_letters`)).purged;
  }

  /**
   * Each time unfinished_tasks (of `group`, when given) reaches 0 (once, unless `repeat`), over a WebSocket that
   * reconnects if dropped.
   */
  subscribeJoin(options: SubscribeOptions & { repeat?: boolean; group?: string } = {}): AsyncGenerator<JoinResult> {
    return subscribeJoin(this, options);
  }

  /** Live stats, at most every 100 ms, over a WebSocket that reconnects if dropped. */
  watch(options: SubscribeOptions = {}): AsyncGenerator<Stats> {
    return watch(this, options);
  }

  /** A consumer loop: see `process`. */
  /** One WebSocket to produce and consume over (a twentieth of a request a message, deployed). */
  socket(): QueueSocket<T> {
    return new QueueSocket<T>(this);
  }

  process(handler: Handler<T>, options: ProcessOptions = {}): Promise<{ done: number; failed: number }> {
    return process(this, handler, options);
  }
}

function receiptOf(job: Pick<Job, "receipt">): string {
  if (!job.receipt)
    throw new TypeError(
      "this job has no receipt: its queue has no leases, so there is nothing to release, extend or complete by it",
    );
  return job.receipt;
}
