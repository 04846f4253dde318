// The queue's vocabulary: configuration, requests and tagged outcomes, shared by the core and its adapters.

import type { PriorityKey } from "./priority.ts";

export type Order = "fifo" | "lifo" | "priority";

/** Which ready item a get takes: the queue's order over all of them, or its groups' in turn (dispatch.ts). */
export type Dispatching = "fifo" | "fair";

export interface QueueConfig {
  /** 0 means unbounded, as in Python. */
  maxsize: number;
  order: Order;
  /** Seconds a get holds an item before it returns to the queue; null means never (pure CPython). */
  lease_seconds: number | null;
  /** Deliveries after which an item goes to the dead letters instead of back to the queue; null means never. */
  max_deliveries: number | null;
  /** Push delivery's settings (contract/queue-config.ts): kept with the queue's, never read by the core. */
  push?: object | null;
  /** Absent: "fifo" (set only when asked for, so queues made before it have the configuration they had). */
  dispatch?: Dispatching;
  /** Deliveries of one group that may be in flight at once (absent or null: no cap); a group may set its own. */
  group_max_in_flight?: number | null;
  /** How long a group's status stays readable after its last change (absent: a day). */
  group_retention_seconds?: number;
  /** A sharded queue: how many objects hold it (absent: one), set when it is created. */
  shards?: number;
  /** A shard's place among them, 0 to shards - 1 (absent on a queue of one object). */
  shard?: number;
}

/** A normal "no" from the queue: a value, not an exception (the adapters map codes to HTTP problems). */
export type QueueErrorCode =
  | "empty"
  | "full"
  | "shutdown"
  | "poll_again"
  | "task_done_too_many"
  | "invalid_receipt"
  | "stale_receipt"
  | "batch_too_large"
  | "invalid_request"
  | "not_found"
  | "conflict"
  | "limit_exceeded"
  | "group_cancelled";

export interface QueueError {
  ok: false;
  code: QueueErrorCode;
  message: string;
}

export type Outcome<T> = ({ ok: true } & T) | QueueError;

export const fail = (code: QueueErrorCode, message: string): QueueError => ({ ok: false, code, message });

/** How long a blocking call may wait: `timeout` in seconds (undefined = forever, like Python's None). */
export interface WaitOptions {
  block?: boolean;
  timeout?: number;
  /**
   * A socket consumer's wait: no timeout and no server cap, so it holds no timer (the object may hibernate); it
   * lasts until it is answered or withdrawn.
   */
  standing?: boolean;
}

export interface NewItem {
  /** Any JSON value, already encoded. */
  json: string;
  /** Priority queues only: a number, a string, or an array of them, ordered as Python orders tuples. */
  priority?: PriorityKey;
  /** The group it belongs to (absent: none): join can wait for one group. */
  group?: string;
}

export interface PutRequest extends WaitOptions {
  items: NewItem[];
  /** Seconds before the items become visible to get. */
  delay?: number;
  idempotency_key?: string;
}

export interface PutResult {
  ids: number[];
  /** True when an earlier put with the same idempotency key is being answered again. */
  replayed: boolean;
}

export interface GetRequest extends WaitOptions {
  /** Up to this many items in one answer (at least one when it succeeds). */
  max?: number;
  /** Overrides the queue's lease length for this delivery. */
  lease_seconds?: number;
}

export interface Delivery {
  id: number;
  /** The item's JSON text exactly as it was put: carried as text, so no answer can fail after it was recorded. */
  json: string;
  priority: PriorityKey;
  /** 1 on the first delivery, 2 on the first redelivery, and so on. */
  deliveries: number;
  /** The item's group, or null. */
  group: string | null;
  /** Null when the queue has no leases: then task_done takes no receipt. */
  receipt: string | null;
  lease_expires_at: number | null;
}

/** One receipt's outcome in a batch task_done: completed now, completed before, or no longer (or never) open. */
export type TaskDoneResult = "done" | "replayed" | "stale" | "invalid";

export interface JoinResult {
  /** False when the caller's timeout ended the wait first. */
  drained: boolean;
  /** The group joined (absent: the whole queue). */
  group?: string;
  unfinished_tasks: number;
  dead_lettered: number;
  /** A cancelled group's items removed by the cancel (absent: the group was not cancelled). */
  cancelled?: number;
}

/** What a group's owner set for it, and a cancel: kept in the meta row, written only when they change. */
export interface GroupSettings {
  /** Its share of a fair queue's deliveries, 1–100 (absent: 1). */
  weight?: number;
  /** Its own cap on deliveries in flight (absent: the queue's group_max_in_flight). */
  max_in_flight?: number;
  /** Present once the group is cancelled: the items the cancel (and its deliveries ending since) removed. */
  cancelled?: number;
  /** When these last changed. */
  at: number;
}

/** One group's counters (a group is what a producer names when it puts items; join can wait for it). */
export interface GroupStats {
  group: string;
  unfinished_tasks: number;
  /** Its items taken and not yet done (leased). */
  in_flight: number;
  puts: number;
  completed: number;
  dead_lettered: number;
  /** "cancelled" once cancelled; else "open" while it has unfinished tasks, "drained" when it has none. */
  state: "open" | "drained" | "cancelled";
  cancelled: number;
  weight: number;
  /** The cap in force: its own, else the queue's (null: none). */
  max_in_flight: number | null;
  /** Unix ms; null when no put of it is still counted. */
  first_put_at: number | null;
  /** Unix ms: its latest put, completion or change of settings. */
  updated_at: number;
}

/** How many groups a queue holds, and how many are open, at their cap, cancelled: gauges, never a series per group. */
export interface GroupGauges {
  /** Live, or kept for their retention: what the cap on groups counts. */
  groups: number;
  groups_open: number;
  groups_at_cap: number;
  groups_cancelled: number;
}

/** The gauges' names, for what adds them up or copies them. */
export const GROUP_GAUGES = [
  "groups",
  "groups_open",
  "groups_at_cap",
  "groups_cancelled",
] as const satisfies readonly (keyof GroupGauges)[];

/** Each gauge of `of` (0 where absent). */
export const groupGauges = (of: (k: keyof GroupGauges) => number | undefined): GroupGauges =>
  Object.fromEntries(GROUP_GAUGES.map((k) => [k, of(k) ?? 0])) as unknown as GroupGauges;

export interface Stats extends QueueConfig {
  qsize: number;
  empty: boolean;
  full: boolean;
  unfinished_tasks: number;
  /** Items taken by get and not yet task_done'd: leased or, without leases, simply outstanding. */
  in_flight: number;
  leased: number;
  delayed: number;
  dead_lettered: number;
  deliveries: number;
  redeliveries: number;
  /** Items put, and task_dones, since the queue was created: their rates are throughput. */
  puts: number;
  completed: number;
  shutdown: boolean;
  immediate: boolean;
  waiting: { getters: number; putters: number; joiners: number };
}
