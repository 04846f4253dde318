// The service binding: another Worker on the account calls `env.QUEUES.put(name, item)` and the rest over RPC,
// with the HTTP API's semantics, limits and error codes, but no HTTP, no token (a binding is private to the
// account) and no poll_again: waits are re-polled here, so a call returns when it is answered or its timeout passes.
// Every method answers a Result: `{ ok: true, ... }`, or `{ ok: false, code, status, detail }`.
import { WorkerEntrypoint } from "cloudflare:workers";
import type { z } from "@hono/zod-openapi";
import { type ProblemCode, problemStatus } from "../../contract/problems.ts";
import type { Refusal } from "../../contract/put-items.ts";
import type { QueueConfig } from "../../contract/queue-config.ts";
import { getRequest, joinRequest, putRequest } from "../../contract/requests.ts";
import * as S from "../../contract/schemas.ts";
import type { PriorityKey } from "../../core/priority.ts";
import type { Delivery, Outcome } from "../../core/types.ts";
import { ObjectUnavailable } from "../../objects/rpc.ts";
import { addJoinCallback, configureQueue, createQueue, deleteQueue, listQueues, untilAnswered } from "../operations.ts";
import { queueOf } from "../queues.ts";

/**
 * A refusal, answered as a value: Empty and Full are a queue's normal answers, and an exception thrown from an
 * RPC method is logged by the runtime as uncaught in this Worker. `code`, `status` and `detail` are the HTTP API's.
 */
export type Problem = { ok: false; code: ProblemCode; status: number; detail: string };
export type Result<T extends object = object> = ({ ok: true } & T) | Problem;

class Refused extends Error {
  constructor(
    readonly code: ProblemCode,
    message: string,
  ) {
    super(message);
  }
}

export interface WaitOptions {
  block?: boolean;
  /** Seconds; undefined waits without limit (Python's None). */
  timeout?: number;
}
export type PutOptions = WaitOptions & {
  priority?: PriorityKey;
  delay?: number;
  idempotencyKey?: string;
  /** The group of every item put (join can wait for it). */
  group?: string;
  /** A sharded queue puts items with the same key on the same shard, in order. */
  shardKey?: string;
};
export type PutManyOptions = Omit<PutOptions, "priority"> & { priorities?: (PriorityKey | undefined)[] };
export type GetOptions = WaitOptions & { leaseSeconds?: number };

/** A delivery with its item as a value (over RPC it travels structured-cloned, not as text). */
export type Job = Omit<Delivery, "json"> & { item: unknown };

const unwrap = <T extends object>(outcome: Outcome<T> | Refusal): T => {
  if (!outcome.ok) throw new Refused(outcome.code, outcome.message);
  const { ok: _, ...value } = outcome;
  return value as unknown as T;
};

/** Runs a method: its value, or the refusal as a Problem (anything else is a bug, and stays an exception). */
async function attempt<T extends object>(body: () => Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, ...(await body()) };
  } catch (e) {
    if (e instanceof ObjectUnavailable)
      return refusal("unavailable", "the queue's object restarted or is overloaded; retry");
    if (e instanceof Refused) return refusal(e.code, e.message);
    throw e;
  }
}

const refusal = (code: ProblemCode, detail: string): Problem => ({
  ok: false,
  code,
  status: problemStatus(code),
  detail,
});

function valid<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new Refused("invalid_request", S.describeIssues(parsed.error));
  return parsed.data;
}

const named = (name: string) => valid(S.QueueName, name);
/** The queue's object, once its name is valid. */
const object = (env: Env, name: string) => queueOf(env, named(name));

/** Items must be JSON: an RPC value may be anything structured clone carries, which JSON would silently alter. */
function jsonText(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "number" && !Number.isFinite(v)) throw new Refused("invalid_request", `an item may not hold ${v}`);
    if (
      typeof v === "object" &&
      v !== null &&
      !Array.isArray(v) &&
      ![Object.prototype, null].includes(Object.getPrototypeOf(v))
    ) {
      throw new Refused("invalid_request", `an item is JSON: a ${v.constructor?.name ?? "non-plain object"} is not`);
    }
    return v;
  });
}

const job = ({ json, ...rest }: Delivery): Job => ({ ...rest, item: JSON.parse(json) });

/**
 * put and putMany: the arguments become the HTTP API's body (its items as JSON text, checked as JSON), which is then
 * checked and turned into the queue's request exactly as an HTTP put's body is.
 */
async function add(
  env: Env,
  name: string,
  entries: { item: unknown; priority?: PriorityKey }[],
  options: PutOptions,
  batch: boolean,
) {
  const { block, timeout, delay, idempotencyKey: idempotency_key, group, shardKey: shard_key } = options;
  const fields = { block, timeout, delay, idempotency_key, group, shard_key };
  const text = jsonText(batch ? { items: entries, ...fields } : { ...entries[0], ...fields });
  const { request } = unwrap(putRequest(valid(S.PutBody, JSON.parse(text)), text));
  const q = await object(env, name);
  return unwrap(await untilAnswered(waitFor(request), (left) => q.put({ ...request, timeout: left }))).ids;
}

/** How long a call waits here, re-polling past the cap: not at all when it may not block, else its timeout. */
const waitFor = (request: { block?: boolean; timeout?: number }) => (request.block === false ? 0 : request.timeout);

export class QueueService extends WorkerEntrypoint<Env> {
  /** The answer has `webhook_secret` when the queue is created with push: the secret is shown this once. */
  createQueue(name: string, config: Partial<QueueConfig> = {}) {
    return attempt(async () => {
      const { created, webhook_secret } = unwrap(
        await createQueue(this.env, named(name), valid(S.QueueConfigBody, config)),
      );
      return { created, ...(webhook_secret ? { webhook_secret } : {}) };
    });
  }

  deleteQueue(name: string) {
    return attempt(async () => {
      if (!(await deleteQueue(this.env, named(name)))) throw new Refused("not_found", `no queue named '${name}'`);
      return {};
    });
  }

  listQueues(options: { limit?: number; after?: string } = {}) {
    return attempt(async () => {
      const { limit, after } = valid(S.ListQuery, options);
      return listQueues(this.env, limit, after);
    });
  }

  put(name: string, item: unknown, options: PutOptions = {}) {
    return attempt(async () => ({
      id: (await add(this.env, name, [{ item, priority: options.priority }], options, false))[0]!,
    }));
  }

  /** A batch of up to 100, all-or-nothing against maxsize. */
  putMany(name: string, items: unknown[], options: PutManyOptions = {}) {
    const entries = items.map((item, i) => ({ item, priority: options.priorities?.[i] }));
    return attempt(async () => ({ ids: await add(this.env, name, entries, options, true) }));
  }

  async get(name: string, options: GetOptions = {}) {
    const got = await this.getMany(name, undefined, options);
    return got.ok ? { ok: true as const, job: got.jobs[0]! } : got;
  }

  getMany(name: string, max: number | undefined, options: GetOptions = {}) {
    return attempt(async () => {
      const { block, timeout, leaseSeconds: lease_seconds } = options;
      const request = getRequest(valid(S.GetBody, { block, timeout, max, lease_seconds }));
      const q = await object(this.env, name);
      const got = unwrap(await untilAnswered(waitFor(request), (left) => q.get({ ...request, timeout: left })));
      return { jobs: got.deliveries.map(job) };
    });
  }

  /** With a receipt: exactly that delivery, once. Without: Python's anonymous task_done. */
  taskDone(name: string, receipt?: string | null) {
    return attempt(async () => {
      const { receipt: checked } = valid(S.TaskDoneBody, { receipt: receipt ?? undefined });
      return unwrap(await (await object(this.env, name)).taskDone(checked));
    });
  }

  /** Many deliveries by their receipts (up to 100) in one step: each one's outcome, in order. */
  taskDoneMany(name: string, receipts: string[]) {
    return attempt(async () => {
      const checked = valid(S.TaskDoneBody, { receipts }).receipts!;
      return unwrap(await (await object(this.env, name)).taskDoneMany(checked));
    });
  }

  release(name: string, receipt: string, options: { delay?: number } = {}) {
    return attempt(async () => {
      const body = valid(S.ReleaseBody, { receipt, delay: options.delay });
      return unwrap(await (await object(this.env, name)).release(body.receipt, body.delay));
    });
  }

  extend(name: string, receipt: string, seconds: number) {
    return attempt(async () => {
      const body = valid(S.ExtendBody, { receipt, lease_seconds: seconds });
      return unwrap(await (await object(this.env, name)).extend(body.receipt, body.lease_seconds));
    });
  }

  /** Waits for every task to be done: of the queue, or (`group`) of that group only. */
  join(name: string, options: { timeout?: number | null; group?: string } = {}) {
    return attempt(async () => {
      const request = joinRequest(valid(S.JoinBody, options));
      const q = await object(this.env, name);
      const group = request.group === undefined ? {} : { group: request.group };
      return unwrap(await untilAnswered(request.timeout, (left) => q.join({ timeout: left, ...group })));
    });
  }

  /** One group's counters (not_found for a group the queue does not know or has forgotten). */
  groupStats(name: string, group: string) {
    return attempt(async () => {
      const params = valid(S.GroupParams, { name, group });
      return { stats: unwrap(await (await object(this.env, params.name)).groupStats(params.group)).stats };
    });
  }

  /** Cancels a group: its waiting items are removed, later puts to it refused; its deliveries out may finish. */
  cancelGroup(name: string, group: string) {
    return attempt(async () => {
      const params = valid(S.GroupParams, { name, group });
      return unwrap(await (await object(this.env, params.name)).cancelGroup(params.group));
    });
  }

  /** A group's weight (fair dispatch) and cap on deliveries in flight (null: the queue's); answers its status. */
  configureGroup(name: string, group: string, changes: { weight?: number; max_in_flight?: number | null }) {
    return attempt(async () => {
      const params = valid(S.GroupParams, { name, group });
      const body = valid(S.GroupConfigBody, changes);
      return { stats: unwrap(await (await object(this.env, params.name)).configureGroup(params.group, body)).stats };
    });
  }

  stats(name: string) {
    return attempt(async () => ({ stats: { name, ...unwrap(await (await object(this.env, name)).stats()).stats } }));
  }

  /** The answer has `webhook_secret` when push is first configured: the secret is shown this once. */
  configure(name: string, changes: Partial<Omit<QueueConfig, "order">>) {
    return attempt(async () => {
      const { stats, webhook_secret } = unwrap(
        await configureQueue(this.env, named(name), valid(S.QueueConfigPatch, changes)),
      );
      return { stats: { name, ...stats }, ...(webhook_secret ? { webhook_secret } : {}) };
    });
  }

  /** A URL told the join result when the queue drains, once or on every drain (`repeat`), signed as pushes are. */
  addJoinCallback(
    name: string,
    callback: { url: string; repeat?: boolean; minBackoffSeconds?: number; group?: string },
  ) {
    return attempt(async () => {
      const { url, repeat, minBackoffSeconds: min_backoff_seconds, group } = callback;
      const request = valid(S.JoinCallbackBody, { url, repeat, min_backoff_seconds, group });
      return unwrap(await addJoinCallback(this.env, named(name), request));
    });
  }

  removeJoinCallback(name: string, id: string) {
    return attempt(async () => {
      if (!unwrap(await (await object(this.env, name)).removeJoinCallback(id)).removed) {
        throw new Refused("not_found", `no join callback '${id}' on this queue`);
      }
      return {};
    });
  }

  /** A new secret for signing pushes and callbacks, shown this once; the previous one signs too for an overlap. */
  rotateWebhookSecret(name: string) {
    return attempt(async () => unwrap(await (await object(this.env, name)).rotateWebhookSecret()));
  }

  shutdown(name: string, options: { immediate?: boolean } = {}) {
    return attempt(async () => {
      const { immediate } = valid(S.ShutdownBody, options);
      return { stats: { name, ...unwrap(await (await object(this.env, name)).shutdown(immediate)).stats } };
    });
  }

  deadLetters(name: string, options: { limit?: number } = {}) {
    return attempt(async () => {
      const { limit } = valid(S.LimitQuery, options);
      return { jobs: unwrap(await (await object(this.env, name)).deadLetters(limit)).deliveries.map(job) };
    });
  }

  redrive(name: string, options: { limit?: number } = {}) {
    return attempt(async () =>
      unwrap(await (await object(this.env, name)).redrive(valid(S.RedriveBody, options).limit)),
    );
  }

  purgeDeadLetters(name: string) {
    return attempt(async () => unwrap(await (await object(this.env, name)).purgeDeadLetters()));
  }
}
