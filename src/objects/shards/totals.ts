// A sharded queue's figures as one queue's: its shards' stats added up.
import type { Stats } from "../../core/types.ts";

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
