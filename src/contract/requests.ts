// One way in: a checked body becomes the queue's request the same way at every door — HTTP, the RPC binding,
// sockets and push — so a door only reads its input, calls the queue object, and writes the answer.
import type { z } from "@hono/zod-openapi";
import type {
  Delivery,
  GetRequest,
  JoinResult,
  Outcome,
  PutRequest,
  PutResult,
  TaskDoneResult,
} from "../core/types.ts";
import { putItems, type Refusal } from "./put-items.ts";
import type * as S from "./schemas.ts";

type Body<T extends z.ZodType> = z.output<T>;

/** A call that may wait carries an id chosen by its door, so it can be withdrawn if its caller goes away. */
export type Waiting<T> = T & { waiter?: string };

/**
 * The queue operations every door makes: the queue object's own methods, reached over RPC from the Worker, or
 * called in the object itself by its sockets and its push delivery.
 */
export interface QueueCalls {
  put(request: Waiting<PutRequest & { shard_key?: string }>): Sync<Outcome<PutResult>>;
  get(request: Waiting<GetRequest>): Sync<Outcome<{ deliveries: Delivery[] }>>;
  join(request: Waiting<{ timeout?: number; group?: string }>): Sync<Outcome<JoinResult>>;
  taskDone(receipt: string | undefined): Sync<Outcome<{ unfinished_tasks: number; replayed: boolean }>>;
  taskDoneMany(receipts: string[]): Sync<Outcome<{ unfinished_tasks: number; results: TaskDoneResult[] }>>;
  extend(receipt: string, seconds: number): Sync<Outcome<{ lease_expires_at: number }>>;
  release(receipt: string, delay: number): Sync<Outcome<{ dead_lettered: boolean }>>;
}
/** What task_done answers: with one receipt (or none), whether it was a repeat; with many, each one's outcome. */
export type TaskDone = { unfinished_tasks: number } & ({ replayed: boolean } | { results: TaskDoneResult[] });
/** In the object an answer is a value; over RPC the same method answers a promise of it. */
type Sync<T> = T | Promise<T>;

/** Python's `timeout=None` (null) and no timeout at all both mean: wait without a limit. */
const timeout = (t: number | null | undefined): number | undefined => t ?? undefined;

/**
 * A put: the items as the exact JSON text sent (`text` is the whole body), with the body's options. The
 * idempotency key may come from the body or from the HTTP Idempotency-Key header, which must then agree.
 */
export function putRequest(
  body: Body<typeof S.PutBody>,
  text: string,
  headerKey?: string,
): { ok: true; request: PutRequest & { shard_key?: string } } | Refusal {
  if (headerKey !== undefined && body.idempotency_key !== undefined && headerKey !== body.idempotency_key) {
    return {
      ok: false,
      code: "invalid_request",
      message: "the Idempotency-Key header and the body's idempotency_key differ",
    };
  }
  const prepared = putItems(text, body.items?.map((e) => e.priority) ?? [body.priority]);
  if (!prepared.ok) return prepared;
  // The call's group applies to every item; an entry of `items` may name its own.
  prepared.items.forEach((item, i) => {
    const group = body.items?.[i]?.group ?? body.group;
    if (group !== undefined) item.group = group;
  });
  const { block, delay, shard_key } = body;
  const idempotency_key = headerKey ?? body.idempotency_key;
  const keyed = shard_key === undefined ? {} : { shard_key };
  return {
    ok: true,
    request: { items: prepared.items, block, timeout: timeout(body.timeout), delay, idempotency_key, ...keyed },
  };
}

export const getRequest = (body: Body<typeof S.GetBody>): GetRequest => ({
  block: body.block,
  timeout: timeout(body.timeout),
  max: body.max,
  lease_seconds: body.lease_seconds,
});

export const joinRequest = (body: Body<typeof S.JoinBody>) => ({
  timeout: timeout(body.timeout),
  ...(body.group === undefined ? {} : { group: body.group }),
});

/** task_done by one receipt, by many (each outcome answered), or by none: Python's anonymous task_done. */
export function taskDone(queue: QueueCalls, body: Body<typeof S.TaskDoneBody>): Sync<Outcome<TaskDone>> {
  return body.receipts ? queue.taskDoneMany(body.receipts) : queue.taskDone(body.receipt);
}

/** Whether a call may wait at all: one that may not is answered at once, so there is nothing to withdraw. */
export const mayWait = (request: { block?: boolean; timeout?: number | null }): boolean =>
  request.block !== false && request.timeout !== 0;
