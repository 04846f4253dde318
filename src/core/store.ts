// The queue's items as the core asks for them — in order, by id, by state — kept in segments (segment.ts,
// segments.ts) behind the SQL port. Waking reads every segment's columns; no query counts or sorts items.
import { IdempotencyKeys } from "./keys.ts";
import { MIGRATIONS, SCHEMA } from "./schema.ts";
import {
  EMPTY_TALLY,
  earliest,
  type GroupTally,
  type Item,
  type ItemRow,
  mayHaveVisible,
  SEGMENT_BYTES,
  SEGMENT_ITEMS,
  type Summary,
  spent,
  T_COMPLETED,
  T_DEAD,
  T_FIRST,
  T_LAST,
  T_PUTS,
  T_READY,
  visible,
} from "./segment.ts";
import { type Folded, Segments, type Totals } from "./segments.ts";
import type { Sql } from "./sql.ts";
import type { Order } from "./types.ts";

export type { ItemRow, ItemState } from "./segment.ts";
export type { Totals } from "./segments.ts";
export type { Sql, SqlValue } from "./sql.ts";

/** Counts a put of a grouped item in its segment's tally (summarize derives the rest, and carries this). */
function countPut(s: { groups: Record<string, GroupTally> | null }, group: string, now: number): void {
  s.groups ??= {};
  const t = s.groups[group] ?? [...EMPTY_TALLY];
  s.groups[group] = t;
  t[T_PUTS]++;
  t[T_LAST] = Math.max(t[T_LAST], now);
  t[T_FIRST] = earliest(t[T_FIRST] ?? 0, now);
}

/** Which items a walk takes: of the groups a function accepts (null: no group), or of one group by name. */
export type Only = ((group: string | null) => boolean) | string;

/** Whether a segment holds a ready item of a group `only` accepts (null: an item with no group). */
function readyOf(s: Summary, only: Only): boolean {
  if (typeof only === "string") return (s.groups?.[only]?.[T_READY] ?? 0) > 0;
  let grouped = 0;
  for (const [g, t] of Object.entries(s.groups ?? {})) {
    if (t[T_READY] > 0 && only(g)) return true;
    grouped += t[T_READY];
  }
  return s.ready > grouped && only(null);
}

const byKeyAndId = (a: Item, b: Item) => (a.sort_key === b.sort_key ? a.id - b.id : a.sort_key < b.sort_key ? -1 : 1);

export class Store {
  private readonly keys: IdempotencyKeys;
  private readonly segments: Segments;

  /** What the live segments sum to. */
  get totals(): Totals {
    return this.segments.totals;
  }

  /** Each group's tallies over the live segments (segment.ts's GroupTally), by name. */
  get groups(): ReadonlyMap<string, GroupTally> {
    return this.segments.groups;
  }

  /** Takes what deleted segments counted of each group's puts and completions (they live on in the meta row). */
  takeFolded(): Map<string, Folded> {
    const folded = new Map(this.segments.folded);
    this.segments.folded.clear();
    return folded;
  }

  private constructor(private readonly sql: Sql) {
    const done = this.sql.exec<{ v: number | null }>("SELECT max(version) AS v FROM migrations")[0]?.v ?? 0;
    MIGRATIONS.slice(done).forEach((statements, i) => {
      for (const step of statements) typeof step === "string" ? this.sql.exec(step) : step(this.sql);
      this.sql.exec("INSERT INTO migrations (version) VALUES (?)", done + i + 1);
    });
    this.segments = new Segments(sql);
    this.keys = new IdempotencyKeys(sql, this.segments);
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

  /**
   * The next `limit` visible items in the queue's order; with `only`, of the groups it accepts (null: ungrouped items),
   * or of the one group it names. A segment's group tallies tell whether it holds a ready item `only` accepts, so
   * skipping one reads no items.
   */
  nextVisible(order: Order, now: number, limit: number, only?: Only): ItemRow[] {
    const list = this.segments.withReady;
    const accepts = typeof only === "string" ? (g: string | null) => g === only : only;
    const wanted = (item: Item) => visible(item, now) && (accepts === undefined || accepts(item.group));
    const skip = (s: Summary) => !mayHaveVisible(s, now) || (only !== undefined && !readyOf(s, only));
    if (order === "lifo") {
      const found: ItemRow[] = [];
      // One key: the segments by id, backwards, each one's items backwards.
      for (let k = list.length - 1; k >= 0 && found.length < limit; k--) {
        const s = list[k]!;
        if (skip(s)) continue;
        const items = this.segments.load(s).items;
        for (let j = items.length - 1; j >= 0 && found.length < limit; j--) {
          if (wanted(items[j]!)) found.push({ ...items[j]! });
        }
      }
      return found;
    }
    // By (key, id): segments in (head_key, id) order, until the next one cannot hold an item before the last found
    // (its items' keys are at least its head key, and its ids higher than those of every segment before it).
    let found: Item[] = [];
    for (const s of list) {
      const last = found.length >= limit ? found[limit - 1]! : undefined;
      if (last && (last.sort_key < s.head_key || (last.sort_key === s.head_key && last.id < s.id))) break;
      if (skip(s)) continue;
      const mixed = found.length > 0;
      let atHead = 0; // visible items found here with the head key: once `limit`, no later item here comes before
      for (const item of this.segments.load(s).items) {
        if (!wanted(item)) continue;
        found.push(item);
        if (item.sort_key === s.head_key && ++atHead >= limit) break;
      }
      if (mixed || found.some((i) => i.sort_key !== s.head_key)) found.sort(byKeyAndId);
      found = found.slice(0, limit);
    }
    return found.map((i) => ({ ...i }));
  }

  item(id: number): ItemRow | undefined {
    const found = this.segments.find(id);
    return found && { ...found.item };
  }

  /** Items in one state, in id order (segments hold increasing runs of ids), up to `limit`. */
  private select(state: "leased" | "dead", limit = Infinity): ItemRow[] {
    const found: ItemRow[] = [];
    for (const s of this.segments.all) {
      if (found.length >= limit) break;
      if (s[state] === 0) continue;
      for (const item of this.segments.load(s).items) {
        if (item.state === state && found.length < limit) found.push({ ...item });
      }
    }
    return found.sort((a, b) => a.id - b.id);
  }

  /**
   * The oldest open lease: what an anonymous task_done completes. A grouped item taken without a lease (leased with
   * no end) is left out: only its receipt completes it.
   */
  oldestLeased(): ItemRow | undefined {
    if (!this.totals.leased) return undefined;
    return this.select("leased").find((i) => i.group === null || i.lease_expires !== null);
  }

  expiredLeases(now: number): ItemRow[] {
    const due = [...this.segments.timed].filter((s) => s.lease_expires !== null && s.lease_expires <= now);
    return due
      .flatMap((s) =>
        this.segments
          .load(s)
          .items.filter((i) => i.state === "leased" && i.lease_expires !== null && i.lease_expires <= now)
          .map((i) => ({ ...i })),
      )
      .sort((a, b) => a.id - b.id);
  }

  /** Delayed items not yet visible at `now`, soonest first. */
  private delayed(now: number): ItemRow[] {
    return [...this.segments.timed]
      .filter((s) => s.delayed > 0)
      .flatMap((s) =>
        this.segments
          .load(s)
          .items.filter((i) => i.state === "ready" && i.visible_at > now)
          .map((i) => ({ ...i })),
      )
      .sort((a, b) => a.visible_at - b.visible_at || a.id - b.id);
  }

  countDelayed(now: number): number {
    let n = 0;
    for (const s of this.segments.timed) {
      // While its earliest delayed item is still to show, all are: the columns say how many, no items are read.
      if (s.visible_at !== null && s.visible_at > now) n += s.delayed;
      else if (s.delayed > 0)
        n += this.segments.load(s).items.filter((i) => i.state === "ready" && i.visible_at > now).length;
    }
    return n;
  }

  /** The earliest moment something stored changes by itself: a lease expiring or a delayed item showing up. */
  nextDeadline(now: number): number | undefined {
    let next = Infinity;
    for (const s of this.segments.timed) {
      if (s.lease_expires !== null) next = Math.min(next, s.lease_expires);
      if (s.visible_at !== null && s.visible_at > now) next = Math.min(next, s.visible_at);
      else if (s.visible_at !== null) {
        // Some delayed items here have shown since the segment was written: the next one is in its items.
        for (const i of this.segments.load(s).items)
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
   * Stores items under ids from `firstId` on, put at `now`, visible at `visibleAt` (0: at once). They go to the last
   * segment when they all fit there, else to new segments: a batch is not split across a segment it only partly
   * fits, so getting and completing it writes as few rows as putting it did.
   */
  insert(
    firstId: number,
    items: { value: string; sortKey: string; group: string | null }[],
    visibleAt: number,
    now: number,
  ): void {
    const run = items.map(
      ({ value, sortKey, group }, i): Item => ({
        ...{ id: firstId + i, value, sort_key: sortKey, put_at: now, state: "ready", visible_at: visibleAt },
        ...{ deliveries: 0, token: null, lease_expires: null, leased_at: null, completed_at: null, group },
      }),
    );
    const tail = this.segments.tail;
    const open = tail && this.segments.load(tail);
    const bytes = run.reduce((n, i) => n + i.value.length, 0);
    const fits = open && open.items.length + run.length <= SEGMENT_ITEMS && open.bytes + bytes <= SEGMENT_BYTES;
    let segment = fits ? open : undefined;
    while (run.length > 0) {
      if (!segment || segment.items.length >= SEGMENT_ITEMS || segment.bytes >= SEGMENT_BYTES) {
        segment = this.segments.open(run[0]!.id);
      }
      const target = segment;
      let room = SEGMENT_ITEMS - target.items.length;
      let size = target.bytes;
      let n = 0;
      while (n < run.length && room > 0 && size < SEGMENT_BYTES) {
        size += run[n]!.value.length;
        room--;
        n++;
      }
      const chunk = run.splice(0, n);
      this.segments.change(target, () => {
        for (const item of chunk) if (item.group !== null) countPut(target.summary, item.group, now);
        target.items.push(...chunk);
        target.summary.last_id = chunk.at(-1)!.id;
      });
    }
  }

  /**
   * Records a delivery of a ready item: leased until `expires` (null: never, a grouped item taken without a lease),
   * or (no lease) out of the queue for good.
   */
  take(id: number, deliveries: number, lease: { token: string; expires: number | null } | null, now: number): void {
    this.segments.update(id, (item, segment) => {
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
    this.segments.update(id, (item) => {
      item.lease_expires = expires;
    });
  }

  /** Back into the queue (keeping its id, so a FIFO item returns to the head), or to the dead letters. */
  unlease(id: number, state: "ready" | "dead", visibleAt: number): void {
    this.segments.update(
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
    this.segments.update(id, (item, segment) => {
      segment.summary.completed++;
      if (item.group !== null) {
        const t = segment.summary.groups?.[item.group];
        if (t) {
          t[T_COMPLETED]++;
          t[T_LAST] = Math.max(t[T_LAST], now);
        }
      }
      Object.assign(item, { state: "done", value: "", lease_expires: null, leased_at: null, completed_at: now });
    });
  }

  delete(id: number): void {
    this.segments.update(id, () => "remove");
  }

  /** Removes every item in a state (of one group only, when `group` is given) and says how many there were. */
  deleteAll(state: "ready" | "dead", group?: string): number {
    const slot = state === "ready" ? T_READY : T_DEAD;
    const held = (s: Summary) => (group === undefined ? s[state] : (s.groups?.[group]?.[slot] ?? 0));
    const goes = (i: Item) => i.state === state && (group === undefined || i.group === group);
    let n = 0;
    for (const s of this.segments.all.filter((s) => held(s) > 0)) {
      const segment = this.segments.load(s);
      this.segments.change(segment, () => {
        n += held(s);
        segment.items = segment.items.filter((i) => !goes(i));
      });
    }
    return n;
  }

  /**
   * Moves up to `limit` dead letters back into the queue as fresh items; returns their ids. A redrive counts as a
   * put of its item's group, as that group's unfinished count rises again.
   */
  redrive(limit: number, now: number, skip: (group: string | null) => boolean): number[] {
    const ids = this.select("dead")
      .filter((i) => !skip(i.group))
      .slice(0, limit)
      .map((i) => i.id);
    for (const id of ids)
      this.segments.update(id, (item, segment) => {
        Object.assign(item, { state: "ready", deliveries: 0, visible_at: 0 });
        if (item.group !== null) countPut(segment.summary, item.group, now);
      });
    return ids;
  }

  idempotent(key: string, now: number): string | undefined {
    return this.keys.idempotent(key, now);
  }

  remember(key: string, firstId: number, result: string, expiresAt: number, now: number): void {
    this.keys.remember(key, firstId, result, expiresAt, now);
  }

  /**
   * Deletes segments nothing needs any more (every item ended, completions and keys past their time). It walks the
   * segments' columns in memory, so the queue calls it seldom.
   */
  forget(completedBefore: number, now: number): void {
    for (const s of this.segments.all.filter((s) => spent(s, completedBefore, now))) this.segments.remove(s);
    this.keys.forget(now);
  }

  /** Writes every segment the step changed: one row each. */
  commit(): void {
    this.segments.commit();
  }
}
