// Every segment's columns in memory, read once on waking, and the unit of work that writes changed segments.
//
// A step of the queue changes items one by one; each change is applied to the segment in memory (its columns,
// the totals, the order of segments with ready items and the set with deadlines follow), and `commit` writes every
// segment a step changed once: a get of 100 items, or a task_done of 100 receipts, writes the one row that holds them.
import { insertSegment, readSummary, SEGMENT_COLUMNS, updateSegment } from "./schema.ts";
import {
  changing,
  decodeItems,
  EMPTY_TALLY,
  earliest,
  emptySummary,
  type GroupTally,
  type Item,
  type Segment,
  type Summary,
  summarize,
  T_COMPLETED,
  T_FIRST,
  T_LAST,
  T_LEASED,
  T_PUTS,
  T_READY,
} from "./segment.ts";
import type { Sql, SqlValue } from "./sql.ts";

/** What the live segments sum to: counts by state, and the events counted where they happened. */
export interface Totals {
  ready: number;
  leased: number;
  dead: number;
  deliveries: number;
  redeliveries: number;
  completed: number;
  /** The highest id any segment holds (0: none). */
  maxId: number;
  /** Items with a group, ready or leased: the part of unfinished_tasks that only a receipt may complete. */
  grouped: number;
}

/** A group's puts, completions, latest event and earliest put that deleted segments counted (0: none known). */
export type Folded = [number, number, number, number?];

/** Two such counts as one. */
export const foldTally = (a: Folded, b: Folded): Folded => [
  a[0] + b[0],
  a[1] + b[1],
  Math.max(a[2], b[2]),
  earliest(a[3] ?? 0, b[3] ?? 0),
];

const SUMMED = ["ready", "leased", "dead", "deliveries", "redeliveries", "completed"] as const;
const CACHED = 64;

/** (head_key, id): the order of segments in FIFO and priority queues; LIFO walks it backwards. */
const before = (a: Summary, b: Summary) => (a.head_key === b.head_key ? a.id < b.id : a.head_key < b.head_key);

function place<T>(list: T[], x: T, less: (a: T, b: T) => boolean): number {
  let [lo, hi] = [0, list.length];
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (less(list[mid]!, x)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class Segments {
  /** Every segment's columns, by id. */
  readonly all: Summary[] = [];
  /** Segments with ready items, in (head_key, id) order. */
  readonly withReady: Summary[] = [];
  /** Segments with an open lease or a delayed item: what deadlines come from. */
  readonly timed = new Set<Summary>();
  /** Parsed segments, least recently used first; and those changed since the last commit (new: not yet a row). */
  readonly cache = new Map<number, Segment>();
  private readonly dirty = new Map<number, "new" | "changed">();
  readonly totals: Totals = {
    ready: 0,
    leased: 0,
    dead: 0,
    deliveries: 0,
    redeliveries: 0,
    completed: 0,
    maxId: 0,
    grouped: 0,
  };
  /** Each group's [puts, completed, latest, earliest put] counted in segments deleted since last asked. */
  readonly folded = new Map<string, Folded>();
  /** Each group's tallies summed over the live segments (a group with none here is absent). */
  readonly groups = new Map<string, GroupTally & { segments?: number }>();

  constructor(private readonly sql: Sql) {
    for (const row of sql.exec<Record<string, SqlValue>>(`SELECT ${SEGMENT_COLUMNS} FROM segments ORDER BY id`)) {
      const s = readSummary(row);
      this.all.push(s);
      this.attach(s);
    }
  }

  /** A new, empty segment: the new tail. */
  open(id: number): Segment {
    const summary = emptySummary(id);
    const segment: Segment = { summary, items: [], keys: {}, bytes: 0 };
    this.all.push(summary);
    this.cache.set(id, segment);
    this.dirty.set(id, "new");
    return segment;
  }

  /** Writes every segment changed since the last commit: one row each. */
  commit(): void {
    for (const [id, how] of this.dirty) {
      const segment = this.cache.get(id)!;
      const s = segment.summary;
      if (segment.items.length === 0 && Object.keys(segment.keys).length === 0) {
        this.remove(s, how === "new");
        continue;
      }
      if (how === "new") insertSegment(this.sql, segment);
      else {
        updateSegment(this.sql, segment);
      }
    }
    this.dirty.clear();
    while (this.cache.size > CACHED) this.cache.delete(this.cache.keys().next().value!);
  }

  load(s: Summary): Segment {
    let segment = this.cache.get(s.id);
    if (segment) {
      this.cache.delete(s.id); // most recently used last
    } else {
      const row = this.sql.exec<{ items: string; keys: string | null }>(
        "SELECT items, keys FROM segments WHERE id = ?",
        s.id,
      )[0]!;
      const items = decodeItems(row.items);
      segment = { summary: s, items, keys: row.keys ? JSON.parse(row.keys) : {}, bytes: 0 };
      for (const i of items) segment.bytes += i.value.length;
    }
    this.cache.set(s.id, segment);
    return segment;
  }

  /** The segment holding item `id`: segments hold increasing, disjoint runs of ids. */
  find(id: number): { segment: Segment; item: Item } | undefined {
    const s = this.all[place(this.all, { id } as Summary, (s, x) => s.id <= x.id) - 1];
    if (!s || s.last_id < id) return undefined;
    const segment = this.load(s);
    const item = segment.items.find((i) => i.id === id);
    return item && { segment, item };
  }

  /** The segment new items are appended to: the last one. */
  get tail(): Summary | undefined {
    return this.all.at(-1);
  }

  update(id: number, step: (item: Item, segment: Segment) => unknown): void {
    const { segment, item } = this.find(id)!;
    changing(item);
    this.change(segment, () => {
      if (step(item, segment) === "remove") segment.items.splice(segment.items.indexOf(item), 1);
    });
  }

  /** Applies a change to a segment, keeping the totals, the ready order and the timed set in step with it. */
  change(segment: Segment, step: () => void): void {
    const s = segment.summary;
    this.detach(s);
    step();
    summarize(segment);
    this.attach(s);
    if (!this.dirty.has(s.id)) this.dirty.set(s.id, "changed");
  }

  private attach(s: Summary): void {
    for (const f of SUMMED) this.totals[f] += s[f];
    this.totals.maxId = Math.max(this.totals.maxId, s.last_id);
    if (s.groups)
      for (const [g, t] of Object.entries(s.groups)) {
        const sum = this.groups.get(g) ?? Object.assign([...EMPTY_TALLY] as GroupTally, { segments: 0 });
        this.groups.set(g, sum);
        for (let k = 0; k < T_LAST; k++) sum[k]! += t[k]!;
        this.totals.grouped += t[T_READY] + t[T_LEASED];
        sum[T_LAST] = Math.max(sum[T_LAST], t[T_LAST]);
        sum[T_FIRST] = earliest(sum[T_FIRST], t[T_FIRST] ?? 0);
        sum.segments!++;
      }
    if (s.ready > 0) this.withReady.splice(place(this.withReady, s, before), 0, s);
    if (s.leased > 0 || s.delayed > 0) this.timed.add(s);
  }

  private detach(s: Summary): void {
    for (const f of SUMMED) this.totals[f] -= s[f];
    if (s.groups)
      for (const [g, t] of Object.entries(s.groups)) {
        const sum = this.groups.get(g)!;
        for (let k = 0; k < T_LAST; k++) sum[k]! -= t[k]!;
        this.totals.grouped -= t[T_READY] + t[T_LEASED];
        // (the latest and earliest moments stay as they were: they only move outwards while any segment holds it)
        if (--sum.segments! === 0) this.groups.delete(g);
      }
    if (s.ready > 0) this.withReady.splice(place(this.withReady, s, before), 1);
    this.timed.delete(s);
  }

  /** Deletes a segment's row (one row written), unless it never was one. */
  remove(s: Summary, unwritten = false): void {
    this.detach(s);
    for (const [g, t] of Object.entries(s.groups ?? {})) {
      const f = this.folded.get(g) ?? [0, 0, 0, 0];
      this.folded.set(g, foldTally(f, [t[T_PUTS], t[T_COMPLETED], t[T_LAST], t[T_FIRST] ?? 0]));
    }
    this.all.splice(
      place(this.all, s, (a, b) => a.id < b.id),
      1,
    );
    this.cache.delete(s.id);
    this.dirty.delete(s.id);
    if (!unwritten) this.sql.exec("DELETE FROM segments WHERE id = ?", s.id);
    if (s.last_id === this.totals.maxId) this.totals.maxId = this.all.reduce((m, x) => Math.max(m, x.last_id), 0);
  }
}
