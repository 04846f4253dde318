// A sharded queue's figures as one queue's: its shards' stats added up.
import { type GroupGauges, groupGauges, type Outcome, type Stats } from "../../core/types.ts";

export const sum = (all: number[]) => all.reduce((a, b) => a + b, 0);

/** Every shard's stats as one queue's: counts added up, settings and push state from the first. */
export function addStats(all: Stats[]): Stats {
  const [first] = all as [Stats, ...Stats[]];
  const { shard: _, ...config } = first;
  const total = (f: (s: Stats) => number) => sum(all.map(f));
  const qsize = total((s) => s.qsize);
  return {
    ...config,
    qsize,
    empty: qsize === 0,
    unfinished_tasks: total((s) => s.unfinished_tasks),
    in_flight: total((s) => s.in_flight),
    leased: total((s) => s.leased),
    delayed: total((s) => s.delayed),
    dead_lettered: total((s) => s.dead_lettered),
    deliveries: total((s) => s.deliveries),
    redeliveries: total((s) => s.redeliveries),
    puts: total((s) => s.puts),
    completed: total((s) => s.completed),
    shutdown: all.every((s) => s.shutdown),
    immediate: all.every((s) => s.immediate),
    waiting: {
      getters: total((s) => s.waiting.getters),
      putters: total((s) => s.waiting.putters),
      joiners: total((s) => s.waiting.joiners),
    },
  };
}

/** A shard's stats, and its groups' gauges. */
export type ShardStats = Outcome<{ stats: Stats } & GroupGauges>;

/** Second reads the totals may take to find every shard still. */
const ROUNDS = 3;

/**
 * The shards' stats added up, taken the way the join takes its counts: every shard read, then every shard read
 * again. Where no shard changed between its two reads, there was an instant (between the two rounds) when each
 * stood as read, so the sums are the queue's at that instant. Under steady work a few rounds may not find one: then
 * each shard's figures are its own as of its last read.
 */
export async function totals(read: () => Promise<ShardStats[]>): Promise<ShardStats> {
  let last = once(await read());
  for (let round = 0; round < ROUNDS && last.ok; round++) {
    const again = once(await read());
    if (!again.ok || again.key === last.key) return again.ok ? again.answer : again;
    last = again;
  }
  return last.ok ? last.answer : last;
}

function once(all: ShardStats[]) {
  const failed = all.find((o) => !o.ok);
  if (failed) return failed;
  const stats = all.map((o) => (o as Extract<ShardStats, { ok: true }>).stats);
  // A group on several shards counts on each: the catalog's gauges are upper bounds on a sharded queue.
  const gauges = groupGauges((k) => sum(all.map((o) => (o.ok ? o[k] : 0))));
  const key = JSON.stringify(stats.map(({ waiting: _, ...counts }) => counts));
  return { ok: true as const, key, answer: { ok: true as const, stats: addStats(stats), ...gauges } };
}
