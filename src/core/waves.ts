// The join of a sharded queue: Mattern's four-counter method (Distributed Computing, 1987), as two waves of reads.
//
// Each shard counts every rise of its unfinished tasks (`puts`: items put, and dead letters redriven) and its
// unfinished tasks now; `puts - unfinished` (the completed) only grows. Items stay on the shard they were put on
// (a shard hands out its siblings' deliveries), and were one ever moved, it would be put at its destination before
// being completed at its source, so the queue's completed never passes its puts. Read the
// completed of every shard in one wave and the puts of every shard in a later one: if the sums are equal, then at
// every instant between the waves completed >= the first sum = the second sum >= puts >= completed, so nothing of
// the queue was unfinished on any shard then. One wave is not enough: its reads are made at different times, and
// an item moved from a shard not yet read to one already read is seen nowhere.

/** One shard's counters for a join (the queue's, or one group's). */
export interface Counts {
  puts: number;
  unfinished: number;
}

/** What two waves prove: drained, or how much was unfinished (at most) as seen. */
export interface Wave {
  drained: boolean;
  /** The puts of the second wave (of the first when it was not needed): a later drain has more. */
  puts: number;
  unfinished: number;
}

const sum = (counts: Counts[], f: (c: Counts) => number) => counts.reduce((n, c) => n + f(c), 0);

/** Whether the first wave can still prove a drain: only if every shard it read had nothing unfinished. */
export const mayBeDrained = (first: Counts[]): boolean => first.every((c) => c.unfinished === 0);

/** The verdict of a first wave and a second one read after it. */
export function verdict(first: Counts[], second: Counts[]): Wave {
  const completed = sum(first, (c) => c.puts - c.unfinished);
  const puts = sum(second, (c) => c.puts);
  // A group forgotten on a shard between the waves reads as never put there: no proof from such a pair.
  const steady = first.every((c, i) => second[i]!.puts >= c.puts);
  const drained = mayBeDrained(first) && steady && puts === completed;
  return { drained, puts, unfinished: Math.max(0, puts - completed) };
}

/** A first wave that cannot prove a drain, as a verdict (the second is not read). */
export function undrained(first: Counts[]): Wave {
  return { drained: false, puts: sum(first, (c) => c.puts), unfinished: sum(first, (c) => c.unfinished) };
}
