// The service's shapes, taken from the types generated out of its OpenAPI document (api.gen.ts; regenerate with
// `npm run client-types`, and a test fails while it is stale): only the client's own shape, Job, is written here.
import type * as Api from "./api.gen.ts";

export type Order = NonNullable<Api.QueueConfig["order"]>;
/** How gets choose among groups: the queue's own order over all items, or each group in turn by weight. */
export type Dispatch = NonNullable<Api.QueueConfig["dispatch"]>;
/** Python's priorities: a number, a string, or an array of them (a tuple), compared as Python compares them. */
export type PriorityKey = NonNullable<Api.PutRequest["priority"]>;

/** A queue's settings as createQueue takes them: each optional, the server's defaults fill the rest. */
export type QueueConfig = Api.QueueConfig;
/** What configure may change (not the order); `push: null` turns push delivery off. */
export type QueueConfigChange = Api.QueueConfigChange;
/** Push delivery: the service POSTs each item to `url` (which the deployment's PUSH_ORIGINS must allow). */
export type PushConfig = Api.PushConfig;
/** A queue as listQueues answers it. */
export type QueueInfo = Api.CatalogEntry;
/** A queue's settings and counters, with its push state when it has push delivery. */
export type Stats = Api.QueueStats;
/** One job's outcome in taskDoneMany: completed now, completed before, or no longer (or never) open. */
export type TaskDoneResult = Api.TaskDoneResults["results"][number];
/** `drained` is false when the timeout passed first. */
export type JoinResult = Api.JoinResult;
/** A delivery as the service answers it (HTTP and WebSocket alike). */
export type Delivery = Api.Delivery;
/** One group's state, counters and settings: what `q.group(name).stats()` and `.configure()` answer. */
export type GroupStats = Api.GroupStats;
/** What `q.group(name).configure()` may change: its weight, and its own cap (null: the queue's applies again). */
export type GroupConfig = Body<"configureGroup">;
/** What `q.group(name).cancel()` answers: the items removed now, and its deliveries still out. */
export type GroupCancelResult = Answer<"cancelGroup">;

/** What an operation (by its operationId in the OpenAPI document) takes, and answers on success. */
export type Body<Op extends keyof Api.Operations> = Api.Operations[Op] extends { body: infer B } ? B : never;
export type Answer<Op extends keyof Api.Operations> = Api.Operations[Op]["answer"];

/** One delivery of an item: what get answers, and what taskDone, release and extend take. */
export interface Job<T = unknown> {
  id: Delivery["id"];
  item: T;
  priority: PriorityKey;
  /** 1 on the first delivery, 2 on the first redelivery, and so on. */
  deliveries: Delivery["deliveries"];
  /** The item's group, or null. */
  group: string | null;
  /** Null when the queue has no leases. */
  receipt: Delivery["receipt"];
  /** Unix ms (the server's clock); null without a lease. */
  leaseExpiresAt: Delivery["lease_expires_at"];
  /**
   * Set to true once a heartbeat (`extend`) or `taskDone` of this job answers that its group was cancelled: the
   * work may stop (completing it still counts; a release removes it rather than delivering it again).
   */
  cancelled?: boolean;
}

export const toJob = <T>(d: Delivery): Job<T> => ({
  id: d.id,
  item: d.item as T,
  // The service answers a priority as it was put, so it is a PriorityKey (the document says only "an array").
  priority: d.priority as PriorityKey,
  deliveries: d.deliveries,
  group: d.group ?? null,
  receipt: d.receipt,
  leaseExpiresAt: d.lease_expires_at,
});
