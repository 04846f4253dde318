// The service's shapes, as its OpenAPI document (/v1/openapi.json) describes them.

export type Order = "fifo" | "lifo" | "priority";
/** Python's priorities: a number, a string, or an array of them (a tuple), compared as Python compares them. */
export type PriorityKey = number | string | PriorityKey[];

export interface QueueConfig {
  /** 0 means unbounded. */
  maxsize: number;
  order: Order;
  /** Seconds a get holds an item before it is redelivered; null: never (pure CPython). */
  lease_seconds: number | null;
  /** Deliveries after which an item goes to the dead letters; null: never. */
  max_deliveries: number | null;
}

export interface QueueInfo extends QueueConfig {
  name: string;
  created_at: string;
}

export interface Stats extends QueueConfig {
  name: string;
  qsize: number;
  empty: boolean;
  full: boolean;
  unfinished_tasks: number;
  in_flight: number;
  leased: number;
  delayed: number;
  dead_lettered: number;
  deliveries: number;
  redeliveries: number;
  /** Items put, and task_dones, since the queue was created. */
  puts: number;
  completed: number;
  shutdown: boolean;
  immediate: boolean;
  waiting: { getters: number; putters: number; joiners: number };
}

/** One job's outcome in taskDoneMany: completed now, completed before, or no longer (or never) open. */
export type TaskDoneResult = "done" | "replayed" | "stale" | "invalid";

export interface JoinResult {
  /** False when the timeout passed first. */
  drained: boolean;
  unfinished_tasks: number;
  dead_lettered: number;
}

/** One delivery of an item: what get answers, and what taskDone, release and extend take. */
export interface Job<T = unknown> {
  id: number;
  item: T;
  priority: PriorityKey;
  /** 1 on the first delivery, 2 on the first redelivery, and so on. */
  deliveries: number;
  /** Null when the queue has no leases. */
  receipt: string | null;
  /** Unix ms (the server's clock); null without a lease. */
  leaseExpiresAt: number | null;
}

/** A delivery as the service answers it (HTTP and WebSocket alike). */
export interface Delivery {
  id: number;
  item: unknown;
  priority: PriorityKey;
  deliveries: number;
  receipt: string | null;
  lease_expires_at: number | null;
}

export const toJob = <T>(d: Delivery): Job<T> => ({
  id: d.id,
  item: d.item as T,
  priority: d.priority,
  deliveries: d.deliveries,
  receipt: d.receipt,
  leaseExpiresAt: d.lease_expires_at,
});
