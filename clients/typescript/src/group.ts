// One group of a queue: the items a producer put under one name, which join can wait for apart from the rest, and
// which can be weighted, capped, cancelled and read on its own.
import type { PutManyOptions, PutOptions, WaitOptions } from "./options.ts";
import type { Transport } from "./transport.ts";
import type { GroupCancelResult, GroupConfig, GroupStats, JoinResult } from "./types.ts";

/** What a group needs of its queue (structural, so that queue.ts can offer `group` without an import cycle). */
export interface GroupHost<T> {
  readonly name: string;
  readonly transport: Transport;
  put(item: T, options: PutOptions): Promise<number>;
  putMany(items: T[], options: PutManyOptions): Promise<number[]>;
  join(options: Omit<WaitOptions, "block"> & { group?: string }): Promise<JoinResult>;
}

export class Group<T = unknown> {
  readonly queue: GroupHost<T>;
  readonly name: string;

  constructor(queue: GroupHost<T>, name: string) {
    this.queue = queue;
    this.name = name;
  }

  private get path(): string {
    return `/v1/queues/${encodeURIComponent(this.queue.name)}/groups/${encodeURIComponent(this.name)}`;
  }

  /** Puts an item into this group (as `queue.put(item, { group })`); GroupCancelled once the group is cancelled. */
  put(item: T, options: Omit<PutOptions, "group"> = {}): Promise<number> {
    return this.queue.put(item, { ...options, group: this.name });
  }

  putMany(items: T[], options: Omit<PutManyOptions, "group"> = {}): Promise<number[]> {
    return this.queue.putMany(items, { ...options, group: this.name });
  }

  /**
   * Waits until every item of this group is done (or dead-lettered), or `timeout` passes. A cancelled group is
   * drained once its deliveries in flight end; the answer then carries `cancelled`, the items cancel removed.
   */
  join(options: Omit<WaitOptions, "block"> = {}): Promise<JoinResult> {
    return this.queue.join({ ...options, group: this.name });
  }

  /**
   * Its state (`open`, `drained` or `cancelled`), counters and settings, readable for the queue's
   * `group_retention_seconds` after its last change; NotFound for a group the queue does not know or has forgotten.
   */
  stats(options: { signal?: AbortSignal } = {}): Promise<GroupStats> {
    return this.queue.transport.request("GET", this.path, options);
  }

  /**
   * Sets its weight (1-100: its share of gets under fair dispatch) and its own cap on deliveries in flight
   * (`max_in_flight: null` removes it: the queue's `group_max_in_flight` applies again). Answers its stats.
   */
  configure(changes: GroupConfig, options: { signal?: AbortSignal } = {}): Promise<GroupStats> {
    return this.queue.transport.request("PATCH", this.path, { body: changes, signal: options.signal });
  }

  /**
   * Cancels the group: its waiting and delayed items are removed (`cancelled`), later puts to it throw
   * GroupCancelled, and its deliveries still out (`in_flight`) may finish. A repeat changes nothing (it answers
   * `cancelled: 0`), so it is retried as any call: a retry after a lost answer reports 0 removed. NotFound for a
   * group the queue does not know.
   */
  cancel(options: { signal?: AbortSignal } = {}): Promise<GroupCancelResult> {
    return this.queue.transport.request("POST", `${this.path}/cancel`, { body: {}, signal: options.signal });
  }
}
