// The queue's items in SQLite segments (segment.ts), behind the SQL port; every segment's columns kept in memory.
//
// A step of the queue changes items one by one; the store applies each change to the segment in memory and writes
// every segment it changed once, in `commit`: a get of 100 items, or a task_done of 100 receipts, writes the one or
// two rows that hold them. Waking reads the columns of every segment (no items, no count over them).
import { insertSegment, MIGRATIONS, SCHEMA, SEGMENT_COLUMNS } from "./schema.ts";
import {
  decodeItems,
  emptySummary,
  encodeItems,
  type Item,
  type ItemRow,
  type Keys,
  mayHaveVisible,
  SEGMENT_BYTES,
  SEGMENT_ITEMS,
  type Segment,
  type Summary,
  spent,
  summarize,
  visible,
} from "./segment.ts";
import type { Sql } from "./sql.ts";
import type { Order } from "./types.ts";

export type { ItemRow, ItemState } from "./segment.ts";
export type { Sql, SqlValue } from "./sql.ts";

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
}

const SUMMED = ["ready", "leased", "dead", "deliveries", "redeliveries", "completed"] as const;
const CACHED = 64;

/** (sort_key, id): the order of segments in FIFO and priority queues; LIFO walks it backwards. */
const before = (a: Summary, b: Summary) => (a.sort_key === b.sort_key ? a.id < b.id : a.sort_key < b.sort_key);

function place<T>(list: T[], x: T, less: (a: T, b: T) => boolean): number {
  let [lo, hi] = [0, list.length];
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (less(list[mid]!, x)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class Store {
  /** Every segment's columns, by id. */
  private readonly all: Summary[] = [];
  /** Segments with ready items, in (sort_key, id) order. */
  private readonly withReady: Summary[] = [];
  /** Segments with an open lease or a delayed item: what deadlines come from. */
  private readonly timed = new Set<Summary>();
  /** Each priority key's last segment: where new items of that key are appended. */
  private readonly tails = new Map<string, Summary>();
  /** Parsed segments, least recently used first; and those changed since the last commit (new: not yet a row). */
  private readonly cache = new Map<number, Segment>();
  private readonly dirty = new Map<number, "new" | "changed">();
  /** Idempotency keys → [ids as JSON, expiry]; read from the segments on first use, not on waking. */
  private keys: Map<string, [string, number]> | undefined;
  readonly totals: Totals = { ready: 0, leased: 0, dead: 0, deliveries: 0, redeliveries: 0, completed: 0, maxId: 0 };

  private constructor(private readonly sql: Sql) {
    const done = this.sql.exec<{ v: number | null }>("SELECT max(version) AS v FROM migrations")[0]?.v ?? 0;
    MIGRATIONS.slice(done).forEach((statements, i) => {
      for (const step of statements) typeof step === "string" ? this.sql.exec(step) : step(this.sql);
      this.sql.exec("INSERT INTO migrations (version) VALUES (?)", done + i + 1);
    });
    for (const s of this.sql.exec<Summary & Record<string, number>>(
      `SELECT ${SEGMENT_COLUMNS} FROM segments ORDER BY id`,
    )) {
      this.all.push(s);
      this.attach(s);
      this.tails.set(s.sort_key, s);
    }
  }

  /**
   * The store a queue was created in, or undefined. Looking writes nothing: anyone may ask about any name, and a
   * question about a queue that does not exist must not leave a database behind.
   */
  static open(sql: Sql): Store | undefined {
    const found = sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migrations'").length > 0;
    return found ? new Store(sql) : undefined;
  }

  /** A new store at the latest schema (the migrations are for stores that already exist). */
  static create(sql: Sql): Store {
    sql.exec("CREATE TABLE migrations (version INTEGER PRIMARY KEY)");
    for (const statement of SCHEMA) sql.exec(statement);
    sql.exec("INSERT INTO migrations (version) VALUES (?)", MIGRATIONS.length);
    return new Store(sql);
  }

  loadMeta<M>(): M | undefined {
    const row = this.sql.exec<{ state: string }>("SELECT state FROM meta WHERE id = 1")[0];
    return row ? (JSON.parse(row.state) as M) : undefined;
  }

  saveMeta(json: string): void {
    this.sql.exec(
      "INSERT INTO meta (id, state) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET state = excluded.state",
      json,
    );
  }

  // ---- reading

  /** The next `limit` visible items in the queue's order. */
  nextVisible(order: Order, now: number, limit: number): ItemRow[] {
    const found: ItemRow[] = [];
    const lifo = order === "lifo";
    const n = this.withReady.length;
    for (let k = 0; k < n && found.length < limit; k++) {
      const s = this.withReady[lifo ? n - 1 - k : k]!;
      if (!mayHaveVisible(s, now)) continue;
      const items = this.load(s).items;
      for (let j = 0; j < items.length && found.length < limit; j++) {
        const item = items[lifo ? items.length - 1 - j : j]!;
        if (visible(item, now)) found.push({ ...item, sort_key: s.sort_key });
      }
    }
    return found;
  }

  item(id: number): ItemRow | undefined {
    const found = this.find(id);
    return found && { ...found.item, sort_key: found.segment.summary.sort_key };
  }

  /** Items in one state across segments, in id order (each segment's own order), up to `limit`. */
  private select(state: "leased" | "dead", limit = Infinity, filter = (_: Item) => true): ItemRow[] {
    const found: ItemRow[] = [];
    for (const s of this.all) {
      if (found.length >= limit) break;
      if (s[state] === 0) continue;
      for (const item of this.load(s).items) {
        if (item.state === state && filter(item) && found.length < limit) found.push({ ...item, sort_key: s.sort_key });
      }
    }
    return found.sort((a, b) => a.id - b.id);
  }

  /** The oldest open lease: what an anonymous task_done completes. */
  oldestLeased(): ItemRow | undefined {
    return this.totals.leased ? this.select("leased")[0] : undefined;
  }

  expiredLeases(now: number): ItemRow[] {
    const due = [...this.timed].filter((s) => s.lease_expires !== null && s.lease_expires <= now);
    return due
      .flatMap((s) =>
        this.load(s)
          .items.filter((i) => i.state === "leased" && i.lease_expires! <= now)
          .map((i) => ({ ...i, sort_key: s.sort_key })),
      )
      .sort((a, b) => a.id - b.id);
  }

  /** Delayed items not yet visible at `now`, soonest first. */
  private delayed(now: number): ItemRow[] {
    return [...this.timed]
      .filter((s) => s.delayed > 0)
      .flatMap((s) =>
        this.load(s)
          .items.filter((i) => i.state === "ready" && i.visible_at > now)
          .map((i) => ({ ...i, sort_key: s.sort_key })),
      )
      .sort((a, b) => a.visible_at - b.visible_at || a.id - b.id);
  }

  countDelayed(now: number): number {
    return this.delayed(now).length;
  }

  /** The earliest moment something stored changes by itself: a lease expiring or a delayed item showing up. */
  nextDeadline(now: number): number | undefined {
    let next = Infinity;
    for (const s of this.timed) {
      if (s.lease_expires !== null) next = Math.min(next, s.lease_expires);
      if (s.visible_at !== null && s.visible_at > now) next = Math.min(next, s.visible_at);
      else if (s.visible_at !== null) {
        // Some delayed items here have shown since the segment was written: the next one is in its items.
        for (const i of this.load(s).items)
          if (i.state === "ready" && i.visible_at > now) next = Math.min(next, i.visible_at);
      }
    }
    return next === Infinity ? undefined : next;
  }

  deadLetters(limit: number): ItemRow[] {
    return this.select("dead", limit);
  }

  /**
   * Observers' view, read only: open leases soonest to expire first, or delayed items soonest to show first
   * (ready ones are `nextVisible`).
   */
  peek(state: "leased" | "delayed", now: number, limit: number): ItemRow[] {
    if (state === "delayed") return this.delayed(now).slice(0, limit);
    return this.select("leased")
      .sort((a, b) => a.lease_expires! - b.lease_expires! || a.id - b.id)
      .slice(0, limit);
  }

  // ---- changing items (written by `commit`)

  /**
   * Stores items under ids from `firstId` on, put at `now`, visible at `visibleAt` (0: at once). The items of each
   * priority key go to that key's tail segment when they all fit there, else to new segments: a batch is not split
   * across a segment it only partly fits, so getting and completing it writes as few rows as putting it did.
   */
  insert(firstId: number, items: { value: string; sortKey: string }[], visibleAt: number, now: number): void {
    const byKey = new Map<string, Item[]>();
    items.forEach(({ value, sortKey }, i) => {
      const item: Item = {
        ...{ id: firstId + i, value, put_at: now, state: "ready", visible_at: visibleAt, deliveries: 0 },
        ...{ token: null, lease_expires: null, leased_at: null, completed_at: null },
      };
      byKey.set(sortKey, [...(byKey.get(sortKey) ?? []), item]);
    });
    for (const [sortKey, run] of byKey) {
      const tail = this.tails.get(sortKey);
      let segment = tail && this.load(tail);
      const bytes = run.reduce((n, i) => n + i.value.length, 0);
      if (segment && (segment.items.length + run.length > SEGMENT_ITEMS || segment.bytes + bytes > SEGMENT_BYTES)) {
        segment = undefined;
      }
      for (const item of run) {
        if (!segment || segment.items.length >= SEGMENT_ITEMS || segment.bytes >= SEGMENT_BYTES) {
          segment = this.open(item.id, sortKey);
        }
        const target = segment;
        this.change(target, () => {
          target.items.push(item);
          target.summary.last_id = item.id;
        });
      }
    }
  }

  /** A new, empty segment: the tail of its key. */
  private open(id: number, sortKey: string): Segment {
    const summary = emptySummary(id, sortKey);
    const segment: Segment = { summary, items: [], keys: {}, bytes: 0 };
    this.all.push(summary);
    this.tails.set(sortKey, summary);
    this.cache.set(id, segment);
    this.dirty.set(id, "new");
    return segment;
  }

  /** Records a delivery of a ready item: leased until `expires`, or (no lease) out of the queue for good. */
  take(id: number, deliveries: number, lease: { token: string; expires: number } | null, now: number): void {
    this.update(id, (item, segment) => {
      segment.summary.deliveries++;
      if (deliveries > 1) segment.summary.redeliveries++;
      if (!lease) return "remove";
      Object.assign(item, {
        state: "leased",
        deliveries,
        token: lease.token,
        lease_expires: lease.expires,
        leased_at: now,
      });
    });
  }

  extend(id: number, expires: number): void {
    this.update(id, (item) => {
      item.lease_expires = expires;
    });
  }

  /** Back into the queue (keeping its id, so a FIFO item returns to the head), or to the dead letters. */
  unlease(id: number, state: "ready" | "dead", visibleAt: number): void {
    this.update(
      id,
      (item) =>
        void Object.assign(item, {
          state,
          visible_at: state === "ready" ? visibleAt : 0,
          token: null,
          lease_expires: null,
          leased_at: null,
        }),
    );
  }

  /** A completed delivery: the item stays, emptied, so a repeated task_done of its receipt is recognised. */
  complete(id: number, now: number): void {
    this.update(id, (item, segment) => {
      segment.summary.completed++;
      Object.assign(item, { state: "done", value: "", lease_expires: null, leased_at: null, completed_at: now });
    });
  }

  delete(id: number): void {
    this.update(id, () => "remove");
  }

  /** Removes every item in a state and says how many there were. */
  deleteAll(state: "ready" | "dead"): number {
    let n = 0;
    for (const s of this.all.filter((s) => s[state] > 0)) {
      const segment = this.load(s);
      this.change(segment, () => {
        n += s[state];
        segment.items = segment.items.filter((i) => i.state !== state);
      });
    }
    return n;
  }

  /** Moves up to `limit` dead letters back into the queue as fresh items; returns their ids. */
  redrive(limit: number): number[] {
    const ids = this.select("dead", limit).map((i) => i.id);
    for (const id of ids)
      this.update(id, (item) => void Object.assign(item, { state: "ready", deliveries: 0, visible_at: 0 }));
    return ids;
  }

  // ---- idempotency keys: kept in the segment of their put's first item, so a keyed put writes no other row

  idempotent(key: string, now: number): string | undefined {
    const found = this.keyMap().get(key);
    return found && found[1] > now ? found[0] : undefined;
  }

  remember(key: string, firstId: number, result: string, expiresAt: number, now: number): void {
    const found = this.find(firstId)!;
    this.change(found.segment, () => {
      const keys: Keys = {};
      for (const [k, v] of Object.entries(found.segment.keys)) if (v[1] > now) keys[k] = v;
      keys[key] = [result, expiresAt];
      found.segment.keys = keys;
    });
    this.keyMap().set(key, [result, expiresAt]);
  }

  private keyMap(): Map<string, [string, number]> {
    if (!this.keys) {
      this.keys = new Map();
      for (const row of this.sql.exec<{ id: number; keys: string }>(
        "SELECT id, keys FROM segments WHERE keys IS NOT NULL",
      )) {
        const keys = this.cache.get(row.id)?.keys ?? (JSON.parse(row.keys) as Keys);
        for (const [k, v] of Object.entries(keys)) if ((this.keys.get(k)?.[1] ?? -1) < v[1]) this.keys.set(k, v);
      }
    }
    return this.keys;
  }

  /** Records a ticket as spent; false when it already was (an expired one is refused before it gets here). */
  spendTicket(id: string, expiresAt: number): boolean {
    return (
      this.sql.exec(
        "INSERT INTO tickets (id, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING id",
        id,
        expiresAt,
      ).length > 0
    );
  }

  /**
   * Deletes segments nothing needs any more (every item ended, completions and keys past their time), and spent
   * tickets past theirs. It walks the segments' columns in memory, so the queue calls it seldom.
   */
  forget(completedBefore: number, now: number): void {
    for (const s of this.all.filter((s) => spent(s, completedBefore, now))) this.remove(s);
    for (const [k, v] of this.keys ?? []) if (v[1] <= now) this.keys!.delete(k);
    this.sql.exec("DELETE FROM tickets WHERE expires_at <= ?", now);
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
        this.sql.exec(
          `UPDATE segments SET items = ?, keys = ?, last_id = ?, ready = ?, leased = ?, dead = ?, delayed = ?, visible_at = ?,
             lease_expires = ?, completed_at = ?, keys_expire = ?, deliveries = ?, redeliveries = ?, completed = ? WHERE id = ?`,
          encodeItems(segment.items),
          Object.keys(segment.keys).length ? JSON.stringify(segment.keys) : null,
          s.last_id,
          s.ready,
          s.leased,
          s.dead,
          s.delayed,
          s.visible_at,
          s.lease_expires,
          s.completed_at,
          s.keys_expire,
          s.deliveries,
          s.redeliveries,
          s.completed,
          id,
        );
      }
    }
    this.dirty.clear();
    while (this.cache.size > CACHED) this.cache.delete(this.cache.keys().next().value!);
  }

  // ---- segments in memory

  private load(s: Summary): Segment {
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

  /** The segment holding item `id`: segments of one key hold increasing, disjoint runs of ids. */
  private find(id: number): { segment: Segment; item: Item } | undefined {
    let k = place(this.all, { id } as Summary, (s, x) => s.id <= x.id) - 1;
    const oneKey = this.tails.size <= 1;
    for (; k >= 0; k--) {
      const s = this.all[k]!;
      if (s.last_id >= id) {
        const segment = this.load(s);
        const item = segment.items.find((i) => i.id === id);
        if (item) return { segment, item };
      }
      if (oneKey) break;
    }
    return undefined;
  }

  private update(id: number, step: (item: Item, segment: Segment) => unknown): void {
    const { segment, item } = this.find(id)!;
    this.change(segment, () => {
      if (step(item, segment) === "remove") segment.items.splice(segment.items.indexOf(item), 1);
    });
  }

  /** Applies a change to a segment, keeping the totals, the ready order and the timed set in step with it. */
  private change(segment: Segment, step: () => void): void {
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
    if (s.ready > 0) this.withReady.splice(place(this.withReady, s, before), 0, s);
    if (s.leased > 0 || s.delayed > 0) this.timed.add(s);
  }

  private detach(s: Summary): void {
    for (const f of SUMMED) this.totals[f] -= s[f];
    if (s.ready > 0) this.withReady.splice(place(this.withReady, s, before), 1);
    this.timed.delete(s);
  }

  /** Deletes a segment's row (one row written), unless it never was one. */
  private remove(s: Summary, unwritten = false): void {
    this.detach(s);
    this.all.splice(
      place(this.all, s, (a, b) => a.id < b.id),
      1,
    );
    if (this.tails.get(s.sort_key) === s) this.tails.delete(s.sort_key);
    this.cache.delete(s.id);
    this.dirty.delete(s.id);
    if (!unwritten) this.sql.exec("DELETE FROM segments WHERE id = ?", s.id);
    if (s.last_id === this.totals.maxId) this.totals.maxId = this.all.reduce((m, x) => Math.max(m, x.last_id), 0);
  }
}
