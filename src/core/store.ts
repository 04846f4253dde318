// The queue's durable rows in SQLite, behind a one-method SQL port that both a Durable Object and node:sqlite satisfy.
import { encodeKey } from "./priority.ts";
import type { Order } from "./types.ts";

export type SqlValue = string | number | null;

/** Runs one statement and returns its rows. The Durable Object adapts `ctx.storage.sql`; tests adapt `node:sqlite`. */
export interface Sql {
  exec<T extends Record<string, SqlValue>>(query: string, ...params: SqlValue[]): T[];
}

export type ItemState = "ready" | "leased" | "dead" | "done";

export interface ItemRow extends Record<string, SqlValue> {
  id: number;
  value: string;
  /** The priority key, encoded so that SQLite's text order is Python's order (see priority.ts). */
  sort_key: string;
  state: ItemState;
  /** When a delayed item becomes visible; 0 for one visible at once (so it stays out of items_delayed). */
  visible_at: number;
  deliveries: number;
  token: string | null;
  /** Leased: when the lease ends. Done: when task_done ended it (the row is kept to recognise a repeat). */
  lease_expires: number | null;
  /** When it was put (0: put before this was recorded), and when its current lease began: what observers see. */
  put_at: number;
  leased_at: number | null;
}

const META = "CREATE TABLE meta (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL)";

const ITEMS = (name: string) => `CREATE TABLE ${name} (
  id INTEGER PRIMARY KEY,
  value TEXT NOT NULL,
  sort_key TEXT NOT NULL,
  state TEXT NOT NULL,
  visible_at INTEGER NOT NULL,
  deliveries INTEGER NOT NULL DEFAULT 0,
  token TEXT,
  lease_expires INTEGER,
  put_at INTEGER NOT NULL DEFAULT 0,
  leased_at INTEGER
)`;

// Cloudflare bills each row written, and counts an insert or update as one row plus one for every index entry it
// adds, changes or removes (a delete counts one row, its index entries free). So the indexes are partial: an
// item is in the one index its state needs, and a put, a get and a task_done touch four entries in all.
const ITEM_INDEXES = [
  "CREATE INDEX items_ready ON items (sort_key, id) WHERE state = 'ready'",
  "CREATE INDEX items_delayed ON items (visible_at) WHERE state = 'ready' AND visible_at > 0",
  "CREATE INDEX items_lease ON items (lease_expires) WHERE state = 'leased'",
  "CREATE INDEX items_dead ON items (id) WHERE state = 'dead'",
];

/** A table looked up by its key alone: WITHOUT ROWID, so the key is the table and costs no second index. */
const KEYED = (name: string, key: string, ...columns: string[]) =>
  `CREATE TABLE ${name} (${[`${key} TEXT PRIMARY KEY`, ...columns, "expires_at INTEGER NOT NULL"].join(", ")}) WITHOUT ROWID`;

/** What a new store is created with: the schema every migration below leads to. */
const SCHEMA = [
  META,
  ITEMS("items"),
  ...ITEM_INDEXES,
  // Completed puts' ids by idempotency key, and WebSocket tickets already spent, each until it expires.
  KEYED("idempotency", "key", "result TEXT NOT NULL"),
  KEYED("tickets", "id"),
];

// Append-only: a deployed object runs every migration it has not seen, in order.
//
const MIGRATIONS: (string | ((sql: Sql) => void))[][] = [
  [
    META,
    // AUTOINCREMENT: an id is never reused, so an old receipt can never name a newer item.
    `CREATE TABLE items (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      value TEXT NOT NULL,
      priority REAL NOT NULL,
      state TEXT NOT NULL,
      visible_at INTEGER NOT NULL,
      deliveries INTEGER NOT NULL DEFAULT 0,
      token TEXT,
      lease_expires INTEGER
    )`,
    "CREATE INDEX items_order ON items (state, priority, id)",
    "CREATE INDEX items_visible ON items (state, visible_at)",
    "CREATE INDEX items_lease ON items (state, lease_expires)",
    // Completed deliveries, kept for a while so a repeated task_done is recognised rather than called stale.
    "CREATE TABLE acks (item_id INTEGER PRIMARY KEY, delivery INTEGER NOT NULL, token TEXT NOT NULL, at INTEGER NOT NULL)",
    "CREATE INDEX acks_at ON acks (at)",
    "CREATE TABLE idempotency (key TEXT PRIMARY KEY, result TEXT NOT NULL, expires_at INTEGER NOT NULL)",
    "CREATE INDEX idempotency_expires ON idempotency (expires_at)",
  ],
  // WebSocket tickets already spent, kept until they expire, so each one opens exactly one socket.
  ["CREATE TABLE tickets (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)"],
  // Priorities become keys that order as Python's tuples do: numbers, strings, and arrays of them.
  [
    "ALTER TABLE items ADD COLUMN sort_key TEXT NOT NULL DEFAULT ''",
    (sql) => {
      for (const row of sql.exec<{ id: number; priority: number }>("SELECT id, priority FROM items")) {
        sql.exec("UPDATE items SET sort_key = ? WHERE id = ?", encodeKey(row.priority), row.id);
      }
    },
    "DROP INDEX items_order",
    "CREATE INDEX items_order ON items (state, sort_key, id)",
    "ALTER TABLE items DROP COLUMN priority",
  ],
  // Lean storage: no AUTOINCREMENT (the next id lives in the meta row), partial indexes, completed deliveries kept
  // as 'done' item rows instead of a table of acks, and keyed tables WITHOUT ROWID (no second index for the key).
  [
    ITEMS("items_v4"),
    `INSERT INTO items_v4 (id, value, sort_key, state, visible_at, deliveries, token, lease_expires)
       SELECT id, value, sort_key, state, visible_at, deliveries, token, lease_expires FROM items`,
    `INSERT INTO items_v4 (id, value, sort_key, state, visible_at, deliveries, token, lease_expires)
       SELECT item_id, '', '', 'done', 0, delivery, token, at FROM acks`,
    `UPDATE meta SET state = json_set(state, '$.next_id',
       coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'items'), 0) + 1)`,
    "DROP TABLE items",
    "DROP TABLE acks",
    "ALTER TABLE items_v4 RENAME TO items",
    ...ITEM_INDEXES,
    KEYED("idempotency_v4", "key", "result TEXT NOT NULL"),
    "INSERT INTO idempotency_v4 SELECT key, result, expires_at FROM idempotency",
    "DROP TABLE idempotency",
    "ALTER TABLE idempotency_v4 RENAME TO idempotency",
    KEYED("tickets_v4", "id"),
    "INSERT INTO tickets_v4 SELECT id, expires_at FROM tickets",
    "DROP TABLE tickets",
    "ALTER TABLE tickets_v4 RENAME TO tickets",
  ],
];

// Every order walks the items_ready index (sort_key, id): FIFO and LIFO queues store one constant sort_key, so
// ordering by it too costs nothing and spares SQLite sorting every ready item for each get.
const ORDER_BY: Record<Order, string> = {
  fifo: "sort_key ASC, id ASC",
  lifo: "sort_key DESC, id DESC",
  priority: "sort_key ASC, id ASC",
};

const ITEM_COLUMNS = "id, value, sort_key, state, visible_at, deliveries, token, lease_expires, put_at, leased_at";

/** Each state's partial index: a query names it, so that SQLite never walks the whole table for one state. */
const INDEX: Record<Exclude<ItemState, "done">, string> = {
  ready: "items_ready",
  leased: "items_lease",
  dead: "items_dead",
};

export class Store {
  private constructor(private readonly sql: Sql) {
    const done = this.sql.exec<{ v: number | null }>("SELECT max(version) AS v FROM migrations")[0]?.v ?? 0;
    MIGRATIONS.slice(done).forEach((statements, i) => {
      for (const step of statements) typeof step === "string" ? this.sql.exec(step) : step(this.sql);
      this.sql.exec("INSERT INTO migrations (version) VALUES (?)", done + i + 1);
    });
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

  count(state: Exclude<ItemState, "done">): number {
    // The state is written into the query, not bound: only then can SQLite see that the partial index applies.
    return this.sql.exec<{ n: number }>(
      `SELECT count(*) AS n FROM items INDEXED BY ${INDEX[state]} WHERE state = '${state}'`,
    )[0]!.n;
  }

  countDelayed(now: number): number {
    return this.sql.exec<{ n: number }>(
      "SELECT count(*) AS n FROM items WHERE state = 'ready' AND visible_at > 0 AND visible_at > ?",
      now,
    )[0]!.n;
  }

  /** Stores items under ids from `firstId` on, put at `now`, visible at `visibleAt` (0: at once). */
  insert(firstId: number, items: { value: string; sortKey: string }[], visibleAt: number, now: number): void {
    // Durable Objects bind at most 100 parameters to a statement: 20 rows of five.
    for (let at = 0; at < items.length; at += 20) {
      const chunk = items.slice(at, at + 20);
      this.sql.exec(
        `INSERT INTO items (id, value, sort_key, state, visible_at, put_at)
         VALUES ${chunk.map(() => "(?, ?, ?, 'ready', ?, ?)").join(", ")}`,
        ...chunk.flatMap((item, i) => [firstId + at + i, item.value, item.sortKey, visibleAt, now]),
      );
    }
  }

  /** The next `limit` visible items in the queue's order. */
  nextVisible(order: Order, now: number, limit: number): ItemRow[] {
    return this.sql.exec<ItemRow>(
      `SELECT ${ITEM_COLUMNS} FROM items INDEXED BY items_ready
       WHERE state = 'ready' AND visible_at <= ? ORDER BY ${ORDER_BY[order]} LIMIT ?`,
      now,
      limit,
    );
  }

  /** The highest id stored (done rows included), read off the primary key. */
  maxId(): number | undefined {
    return this.sql.exec<{ id: number | null }>("SELECT max(id) AS id FROM items")[0]?.id ?? undefined;
  }

  item(id: number): ItemRow | undefined {
    return this.sql.exec<ItemRow>(`SELECT ${ITEM_COLUMNS} FROM items WHERE id = ?`, id)[0];
  }

  lease(id: number, deliveries: number, token: string | null, expires: number | null, now: number): void {
    this.sql.exec(
      "UPDATE items SET state = 'leased', deliveries = ?, token = ?, lease_expires = ?, leased_at = ? WHERE id = ?",
      deliveries,
      token,
      expires,
      now,
      id,
    );
  }

  extend(id: number, expires: number): void {
    this.sql.exec("UPDATE items SET lease_expires = ? WHERE id = ?", expires, id);
  }

  /** Back into the queue (keeping its id, so a FIFO item returns to the head), or to the dead letters. */
  unlease(id: number, state: "ready" | "dead", visibleAt: number): void {
    this.sql.exec(
      "UPDATE items SET state = ?, visible_at = ?, token = NULL, lease_expires = NULL WHERE id = ?",
      state,
      visibleAt,
      id,
    );
  }

  /** A completed delivery: the row stays, emptied, so a repeated task_done of its receipt is recognised. */
  complete(id: number, now: number): void {
    this.sql.exec("UPDATE items SET state = 'done', value = '', lease_expires = ? WHERE id = ?", now, id);
  }

  delete(id: number): void {
    this.sql.exec("DELETE FROM items WHERE id = ?", id);
  }

  /** Deletes every item in a state and says how many there were (counted first: RETURNING would load them all). */
  deleteAll(state: "ready" | "dead"): number {
    const n = this.count(state);
    this.sql.exec(
      `DELETE FROM items WHERE id IN (SELECT id FROM items INDEXED BY ${INDEX[state]} WHERE state = '${state}')`,
    );
    return n;
  }

  /** The oldest open lease: what an anonymous task_done completes. */
  oldestLeased(): ItemRow | undefined {
    return this.sql.exec<ItemRow>(
      `SELECT ${ITEM_COLUMNS} FROM items INDEXED BY items_lease WHERE state = 'leased' ORDER BY id LIMIT 1`,
    )[0];
  }

  expiredLeases(now: number): ItemRow[] {
    return this.sql.exec<ItemRow>(
      `SELECT ${ITEM_COLUMNS} FROM items INDEXED BY items_lease WHERE state = 'leased' AND lease_expires <= ? ORDER BY id`,
      now,
    );
  }

  /** The earliest moment something stored changes by itself: a lease expiring or a delayed item showing up. */
  nextDeadline(now: number): number | undefined {
    const row = this.sql.exec<{ t: number | null }>(
      `SELECT min(t) AS t FROM (
         SELECT min(lease_expires) AS t FROM items WHERE state = 'leased'
         UNION ALL SELECT min(visible_at) FROM items WHERE state = 'ready' AND visible_at > 0 AND visible_at > ?)`,
      now,
    )[0];
    return row?.t ?? undefined;
  }

  deadLetters(limit: number): ItemRow[] {
    return this.sql.exec<ItemRow>(
      `SELECT ${ITEM_COLUMNS} FROM items INDEXED BY items_dead WHERE state = 'dead' ORDER BY id LIMIT ?`,
      limit,
    );
  }

  /** Moves up to `limit` dead letters back into the queue as fresh items; returns their ids. */
  redrive(limit: number): number[] {
    return this.sql
      .exec<{ id: number }>(
        `UPDATE items SET state = 'ready', deliveries = 0, visible_at = 0
         WHERE id IN (SELECT id FROM items INDEXED BY items_dead WHERE state = 'dead' ORDER BY id LIMIT ?) RETURNING id`,
        limit,
      )
      .map((r) => r.id);
  }

  /**
   * Forgets completions, keys and tickets past their time. It scans (an index on their age would cost a row
   * written for every job to save a row read now and then), so the queue calls it seldom.
   */
  forget(completedBefore: number, now: number): void {
    this.sql.exec("DELETE FROM items WHERE state = 'done' AND lease_expires < ?", completedBefore);
    this.sql.exec("DELETE FROM idempotency WHERE expires_at <= ?", now);
    this.sql.exec("DELETE FROM tickets WHERE expires_at <= ?", now);
  }

  idempotent(key: string, now: number): string | undefined {
    return this.sql.exec<{ result: string }>(
      "SELECT result FROM idempotency WHERE key = ? AND expires_at > ?",
      key,
      now,
    )[0]?.result;
  }

  remember(key: string, result: string, expiresAt: number): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO idempotency (key, result, expires_at) VALUES (?, ?, ?)",
      key,
      result,
      expiresAt,
    );
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
   * Observers' view, read only: open leases soonest to expire first, or delayed items soonest to show first
   * (ready ones are `nextVisible`). The state is written into the query so that a partial index can apply.
   */
  peek(state: "leased" | "delayed", now: number, limit: number): ItemRow[] {
    if (state === "leased") {
      return this.sql.exec<ItemRow>(
        `SELECT ${ITEM_COLUMNS} FROM items WHERE state = 'leased' ORDER BY lease_expires, id LIMIT ?`,
        limit,
      );
    }
    return this.sql.exec<ItemRow>(
      `SELECT ${ITEM_COLUMNS} FROM items WHERE state = 'ready' AND visible_at > 0 AND visible_at > ?
       ORDER BY visible_at, id LIMIT ?`,
      now,
      limit,
    );
  }
}
