// What a queue object does as one shard of a sharded queue (`shards` > 1): hands items to and from its siblings
// (handoff.ts), watches for the zeros the join waits on (zero-watch.ts) and, on the first shard, runs the join's
// waves (coordinator.ts). A queue of one object builds none of it.
import type { JoinableQueue } from "../../core/queue.ts";
import type { Outcome, QueueError } from "../../core/types.ts";
import { type Api, rpc } from "../rpc.ts";
import { type Joined, type Read, ShardJoin, type ShardJoinRequest, type Target } from "./coordinator.ts";
import { type Handed, Handoff } from "./handoff.ts";
import { queueNameOf, shardName } from "./names.ts";
import { type ShardStats, totals } from "./totals.ts";
import { ZeroWatch } from "./zero-watch.ts";

/** What a shard offers its siblings: the queue object's methods of that name (answered once written). */
export interface ShardCalls {
  handOut(from: number, max: number, lease_seconds?: number): Promise<Outcome<Handed>>;
  release(receipt: string, delay: number): unknown;
  poke(from: number): void;
  readCounts(targets: Target[]): Promise<Outcome<Read>>;
  zero(from: number, fell: Target[] | null): void;
  joinAcross(request: ShardJoinRequest): Promise<Outcome<Joined>>;
  stats(): Promise<ShardStats>;
}

/** The shard a shard key's items go to: FNV-1a of the key, so every door and every Worker agrees. */
export function shardFor(key: string, count: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % count;
}

/**
 * The shard a put belongs to, if it has one: its shard key's, else its idempotency key's, so that every retry of a
 * keyed put reaches the one shard that remembers the key (and is answered `replayed` there). A put with neither may
 * go anywhere.
 */
export function homeOf(put: { shard_key?: string; idempotency_key?: string }, count: number): number | undefined {
  const key = put.shard_key ?? put.idempotency_key;
  return key === undefined ? undefined : shardFor(key, count);
}

export interface ShardHost {
  queue(): JoinableQueue | undefined;
  stats(): ShardStats;
  run<T extends { ok: boolean }>(step: (q: JoinableQueue, now: number) => T): T | QueueError;
  maxWaitMs: number;
  callbackTargets(): Target[];
  afterChange(): void;
}

export class Shard {
  readonly handoff: Handoff;
  readonly watch: ZeroWatch;
  /** The coordinator's join: on the first shard only. */
  readonly joins: ShardJoin | undefined;

  constructor(
    private readonly env: Env,
    private readonly name: string,
    readonly index: number,
    readonly count: number,
    private readonly host: ShardHost,
  ) {
    this.handoff = new Handoff({ index, count, sibling: (i) => this.sibling(i), ...host });
    this.joins =
      index === 0
        ? new ShardJoin({
            count,
            maxWaitMs: host.maxWaitMs,
            read: (i, targets) => this.read(i, targets),
            standing: () => host.callbackTargets(),
            changed: () => host.afterChange(),
          })
        : undefined;
    // The coordinator runs its wave in place; the others tell it.
    this.watch = new ZeroWatch(async (fell) =>
      this.joins ? this.joins.zero(index, fell) : await this.coordinator().zero(index, fell),
    );
  }

  /** The shard a receipt, or a shard key, belongs to. */
  sibling<T = ShardCalls>(i: number): Api<T> {
    return rpc<T>(this.env.QUEUES.get(this.env.QUEUES.idFromName(shardName(this.name, i))));
  }

  coordinator(): Api<ShardCalls> {
    return this.sibling(0);
  }

  /** The queue's stats: every shard's, added up (totals.ts). */
  totals(): Promise<ShardStats> {
    const shards = Array.from({ length: this.count }, (_, i) => i);
    const read = async (i: number) => (i === this.index ? this.host.stats() : await this.sibling(i).stats());
    return totals(() => Promise.all(shards.map(read)));
  }

  /** After every step of this shard. */
  changed(q: JoinableQueue, now: number): void {
    this.handoff.changed(q, now);
    this.watch.changed(q);
  }

  /** A wave's read of one shard: this one in place, the others over RPC. */
  private async read(i: number, targets: Target[]): Promise<Read> {
    if (i !== this.index) {
      const read = await this.sibling(i).readCounts(targets);
      if (read.ok) return read;
      throw new Error(`shard ${i} answered ${read.code}: ${read.message}`);
    }
    const q = this.host.queue();
    if (!q) throw new Error("the queue was deleted");
    return this.watch.read(q, targets, Date.now());
  }

  /** The shard of this queue a queue object is, from its name and configuration (undefined: not sharded). */
  static of(env: Env, objectName: string | undefined, q: JoinableQueue | undefined, host: ShardHost) {
    const { shards = 1, shard = 0 } = q?.config ?? {};
    if (shards <= 1 || objectName === undefined) return undefined;
    return new Shard(env, queueNameOf(objectName), shard, shards, host);
  }
}
