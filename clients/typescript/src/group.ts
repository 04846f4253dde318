// One group of a queue: the items a producer put under one name, which join can wait for apart from the rest.
import type { PutManyOptions, PutOptions, WaitOptions } from "./options.ts";
import type { Transport } from "./transport.ts";
import type { GroupStats, JoinResult } from "./types.ts";

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

  /** Puts an item into this group (as `queue.put(item, { group })`). */
  put(item: T, options: Omit<PutOptions, "group"> = {}): Promise<number> {
    return this.queue.put(item, { ...options, group: this.name });
  }

  putMany(items: T[], options: Omit<PutManyOptions, "group"> = {}): Promise<number[]> {
    return this.queue.putMany(items, { ...options, group: this.name });
  }

  /** Waits until every item of this group is done (or dead-lettered), or `timeout` passes. */
  join(options: Omit<WaitOptions, "block"> = {}): Promise<JoinResult> {
    return this.queue.join({ ...options, group: this.name });
  }

  /** Its counters; throws NotFound for a group the queue does not know or has forgotten. */
  stats(options: { signal?: AbortSignal } = {}): Promise<GroupStats> {
    const path = `/v1/queues/${encodeURIComponent(this.queue.name)}/groups/${encodeURIComponent(this.name)}`;
    return this.queue.transport.request("GET", path, options);
  }
}
