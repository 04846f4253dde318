// The options of put, putMany and every call that may wait (apart from queue.ts, so group.ts needs no cycle).
import type { PriorityKey } from "./types.ts";

export interface WaitOptions {
  /** False: answer at once (Python's block=False); the timeout is then ignored, as in Python. */
  block?: boolean;
  /** Seconds; undefined waits without limit, as Python's None. */
  timeout?: number;
  /** Aborting rejects the call with the signal's reason (an AbortError) and stops polling. */
  signal?: AbortSignal;
}

export interface PutOptions extends WaitOptions {
  /** Priority queues only; lower comes first. */
  priority?: PriorityKey;
  /** Seconds before the item becomes visible to get. */
  delay?: number;
  /** A retried put with the same key adds nothing; one is generated per put unless given. */
  idempotencyKey?: string;
  /** The group of the item (of every item, for putMany): `join({ group })` waits for that group only. */
  group?: string;
  /** A sharded queue puts items with the same key on the same shard, in order (docs/shards.md); ignored with one. */
  shardKey?: string;
}

export interface PutManyOptions extends Omit<PutOptions, "priority"> {
  /** Priority queues only: one key per item. */
  priorities?: PriorityKey[];
}
