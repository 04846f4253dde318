// The queue a door calls: its one object, or for a sharded queue the object each call belongs to.
//
// A sharded queue's first object knows how many shards it has; each Worker keeps that for a while (it is fixed
// when the queue is created), as a settled number: see settled-cache.ts for why no ask in flight is shared. Puts go to a shard at random, or by their shard key; gets to a shard at random,
// which takes a sibling's items when it has none (objects/shards/handoff.ts); a receipt names its shard; join and
// join callbacks go to the first shard, which proves drains across all of them, and stats too, which it adds up;
// the rest is asked of every shard and merged. A stale cache only spreads calls over fewer shards, or reaches one
// no longer there, which is asked again as the queue is now: each object knows its own place.
import { shardOf } from "../core/receipt.ts";
import type { GroupStats } from "../core/types.ts";
import type { QueueObject } from "../objects/queue/queue-object.ts";
import type { Api } from "../objects/rpc.ts";
import { homeOf } from "../objects/shards/shards.ts";
import { sum } from "../objects/shards/totals.ts";
import { queueObject, shardObject } from "../objects/stubs.ts";
import { SettledCache } from "./settled-cache.ts";

type Queue = Api<QueueObject>;

/** Each queue's shard count as its first object answered it (a stale one is refreshed by one call at a time). */
const counts = new SettledCache<string, number>(10_000, 2_000);

/** How many objects hold the queue: 1 for a queue that is not sharded (or does not exist). */
export function shardsOf(env: Env, name: string): Promise<number> {
  return counts.get(name, async () => Math.max(1, await queueObject(env, name).shardCount()));
}

/** Forgets what this Worker knew of a queue (it was created or deleted here). */
export const forgetShards = (name: string) => counts.delete(name);

/** The queue as the doors call it: the object itself, or its shards behind the same methods. */
export async function queueOf(env: Env, name: string): Promise<Queue> {
  const shards = await shardsOf(env, name);
  return shards === 1 ? queueObject(env, name) : (new ShardedQueue(env, name, shards) as unknown as Queue);
}

const random = (n: number) => Math.floor(Math.random() * n);

type Method<K extends keyof QueueObject> = QueueObject[K] extends (...a: infer A) => infer R ? [A, R] : never;
type Of<K extends keyof QueueObject> = Promise<Awaited<Method<K>[1]>>;
type Args<K extends keyof QueueObject> = Method<K>[0];

/** A sharded queue behind the queue object's methods (the ones the doors call). */
class ShardedQueue {
  constructor(
    private readonly env: Env,
    private readonly name: string,
    private readonly count: number,
  ) {}

  private shard(i: number): Queue {
    return shardObject(this.env, this.name, i);
  }

  private all(): Queue[] {
    return Array.from({ length: this.count }, (_, i) => this.shard(i));
  }

  /** The shard a receipt names (its tag ends in `-<shard>`); a receipt of no shard goes to the first, to be refused. */
  private byReceipt(receipt: string | undefined): Queue {
    const i = receipt === undefined ? 0 : shardOf(receipt);
    return this.shard(i < this.count ? i : 0);
  }

  async put(...[request]: Args<"put">): Of<"put"> {
    const i = homeOf(request, this.count) ?? random(this.count);
    return this.fresh(i, await this.shard(i).put(request), async (q) => q.put(request));
  }

  async get(...args: Args<"get">): Of<"get"> {
    const i = random(this.count);
    return this.fresh(i, await this.shard(i).get(...args), async (q) => q.get(...args));
  }

  /**
   * A shard that is not there: the queue was deleted, or made again with fewer shards than this Worker remembers.
   * Asked again of the queue as it is now.
   */
  private async fresh<T extends { ok: boolean; code?: string }>(i: number, o: T, again: (q: Queue) => Promise<T>) {
    if (o.ok || o.code !== "not_found" || i === 0) return o;
    forgetShards(this.name);
    return again(await queueOf(this.env, this.name));
  }

  taskDone(...[receipt]: Args<"taskDone">): Of<"taskDone"> {
    return this.byReceipt(receipt).taskDone(receipt);
  }

  /** The first receipt's shard completes the batch, handing each other shard its own receipts. */
  taskDoneMany(...[receipts]: Args<"taskDoneMany">): Of<"taskDoneMany"> {
    return this.byReceipt(receipts[0]).taskDoneMany(receipts);
  }

  extend(...[receipt, seconds]: Args<"extend">): Of<"extend"> {
    return this.byReceipt(receipt).extend(receipt, seconds);
  }

  release(...[receipt, delay]: Args<"release">): Of<"release"> {
    return this.byReceipt(receipt).release(receipt, delay);
  }

  join(...args: Args<"join">): Of<"join"> {
    return this.shard(0).join(...args);
  }

  addJoinCallback(...args: Args<"addJoinCallback">): Of<"addJoinCallback"> {
    return this.shard(0).addJoinCallback(...args);
  }

  removeJoinCallback(...args: Args<"removeJoinCallback">): Of<"removeJoinCallback"> {
    return this.shard(0).removeJoinCallback(...args);
  }

  rotateWebhookSecret(): Of<"rotateWebhookSecret"> {
    return this.shard(0).rotateWebhookSecret();
  }

  /** A socket is one shard's: consumers spread over the shards, and each shard takes its siblings' items. */
  fetch(request: Request): Promise<Response> {
    return this.shard(random(this.count)).fetch(request);
  }

  async withdraw(waiter: string): Promise<boolean> {
    return (await Promise.all(this.all().map((s) => s.withdraw(waiter)))).some(Boolean);
  }

  /** The shards' stats added up, as the first shard takes them (objects/shards/totals.ts). */
  stats(): Of<"stats"> {
    return this.shard(0).totals();
  }

  async configure(...args: Args<"configure">): Of<"configure"> {
    const all = await Promise.all(this.all().map((s) => s.configure(...args)));
    const failed = all.find((o) => !o.ok);
    return failed ?? { ...all[0]!, ...(await this.stats()) };
  }

  async shutdown(...args: Args<"shutdown">): Of<"shutdown"> {
    const all = await Promise.all(this.all().map((s) => s.shutdown(...args)));
    return all.find((o) => !o.ok) ?? this.stats();
  }

  async destroy(): Promise<boolean> {
    return (await Promise.all(this.all().map((s) => s.destroy()))).some(Boolean);
  }

  async peek(...[state, limit]: Args<"peek">): Of<"peek"> {
    const all = await Promise.all(this.all().map((s) => s.peek(state, limit)));
    const failed = all.find((o) => !o.ok);
    if (failed) return failed;
    const items = all.flatMap((o) => (o.ok ? o.items : []));
    // Across shards there is no one order: oldest first (the order each shard hands out is its own).
    items.sort((a, b) => (a.put_at ?? 0) - (b.put_at ?? 0) || a.id - b.id);
    return { ok: true, items: items.slice(0, limit) };
  }

  async deadLetters(...[limit]: Args<"deadLetters">): Of<"deadLetters"> {
    const all = await Promise.all(this.all().map((s) => s.deadLetters(limit)));
    const failed = all.find((o) => !o.ok);
    return failed ?? { ok: true, deliveries: all.flatMap((o) => (o.ok ? o.deliveries : [])).slice(0, limit) };
  }

  async redrive(...[limit]: Args<"redrive">): Of<"redrive"> {
    const ids: number[] = [];
    for (const s of this.all()) {
      if (ids.length >= limit) break;
      const o = await s.redrive(limit - ids.length);
      if (!o.ok) return o;
      ids.push(...o.ids);
    }
    return { ok: true, ids };
  }

  async purgeDeadLetters(): Of<"purgeDeadLetters"> {
    const all = await Promise.all(this.all().map((s) => s.purgeDeadLetters()));
    const failed = all.find((o) => !o.ok);
    return failed ?? { ok: true, purged: sum(all.map((o) => (o.ok ? o.purged : 0))) };
  }

  /** A group's counts on every shard that knows it, added up (not_found only if none does). */
  async groupStats(...[group]: Args<"groupStats">): Of<"groupStats"> {
    const all = await Promise.all(this.all().map((s) => s.groupStats(group)));
    const known = all.flatMap((o) => (o.ok ? [o.stats] : []));
    return known.length === 0 ? all[0]! : { ok: true, stats: addGroups(known) };
  }

  /**
   * Cancels the group on every shard that holds it, then on the others too (so that they refuse its puts); not_found
   * only if no shard holds it.
   */
  async cancelGroup(...[group]: Args<"cancelGroup">): Of<"cancelGroup"> {
    const all = await Promise.all(this.all().map((s) => s.cancelGroup(group)));
    if (!all.some((o) => o.ok)) return all[0]!;
    const rest = await Promise.all(all.map((o, i) => (o.ok ? o : this.shard(i).cancelGroup(group, true))));
    const failed = rest.find((o) => !o.ok);
    if (failed) return failed;
    const done = rest.flatMap((o) => (o.ok ? [o] : []));
    return {
      ok: true,
      group,
      cancelled: sum(done.map((o) => o.cancelled)),
      in_flight: sum(done.map((o) => o.in_flight)),
    };
  }

  /** Sets a group's weight and cap on every shard (each dispatches among what it holds); its status added up. */
  async configureGroup(...args: Args<"configureGroup">): Of<"configureGroup"> {
    const all = await Promise.all(this.all().map((s) => s.configureGroup(...args)));
    const failed = all.find((o) => !o.ok);
    return failed ?? { ok: true, stats: addGroups(all.flatMap((o) => (o.ok ? [o.stats] : []))) };
  }

  /** Each shard's page from `after`, merged in name order; a group on several shards is one, added up. */
  async groups(...[limit, after]: Args<"groups">): Of<"groups"> {
    const all = await Promise.all(this.all().map((s) => s.groups(limit, after)));
    const failed = all.find((o) => !o.ok);
    if (failed) return failed;
    const pages = all.flatMap((o) => (o.ok ? [o] : []));
    // Every shard's page covers the names up to its end: past the first end, some shard's counts are unread.
    const end = pages.flatMap((p) => (p.next === null ? [] : [p.next])).sort()[0];
    const byName = new Map<string, GroupStats[]>();
    for (const g of pages.flatMap((p) => p.groups)) {
      if (end === undefined || g.group <= end) byName.set(g.group, [...(byName.get(g.group) ?? []), g]);
    }
    const names = [...byName.keys()].sort();
    const groups = names.slice(0, limit).map((g) => addGroups(byName.get(g)!));
    const more = names.length > limit || end !== undefined;
    return { ok: true, groups, next: more && groups.length ? groups.at(-1)!.group : null };
  }
}

function addGroups(known: GroupStats[]): GroupStats {
  const total = (f: (g: GroupStats) => number) => sum(known.map(f));
  const firsts = known.flatMap((g) => (g.first_put_at === null ? [] : [g.first_put_at]));
  const unfinished_tasks = total((g) => g.unfinished_tasks);
  const cancelled = known.some((g) => g.state === "cancelled");
  return {
    ...known[0]!, // its settings: every shard has the same (they are set on all of them)
    state: cancelled ? "cancelled" : unfinished_tasks > 0 ? "open" : "drained",
    unfinished_tasks,
    in_flight: total((g) => g.in_flight),
    puts: total((g) => g.puts),
    completed: total((g) => g.completed),
    dead_lettered: total((g) => g.dead_lettered),
    cancelled: total((g) => g.cancelled),
    first_put_at: firsts.length ? Math.min(...firsts) : null,
    updated_at: Math.max(...known.map((g) => g.updated_at)),
  };
}
