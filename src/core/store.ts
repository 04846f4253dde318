// The queue's durable rows in SQLite, behind a one-method SQL port that both a Durable Object and node:sqlite satisfy.
import { encodeKey } from "./priority.ts";
import type { Order } from "./types.ts";

export type SqlValue = string | number | null;

/** Runs one statement and returns its rows. The Durable Object adapts `ctx.storage.sql`; tests adapt `node:sqlite`. */
export interface Sql {
  exec<T extends Record<string, SqlValue>>(query: string, ...params: SqlValue[]): T[];
}

export type ItemState = "ready" | "leased" | "dead";

export interface ItemRow extends Record<string, SqlValue> {
  id: number;
  value: string;
  /** The priority key, encoded so that SQLite's text order is Python's order (see priority.ts). */
  sort_key: string;
  state: ItemState;
  visible_at: number;
  deliveries: number;
  token: string | null;
  lease_expires: number | null;
}

// Append-only: a deployed object runs every migration it has not seen, in order.
const MIGRATIONS: (string | ((sql: Sql) => void))[][] = [
  [
    "CREATE TABLE meta (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL)",
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
];

// Every order walks the items_order index (state, sort_key, id): FIFO and LIFO queues store one constant sort_key,
// so ordering by it too costs nothing and spares SQLite sorting every ready item for each get.
const ORDER_BY: Record<Order, string> = {
  fifo: "sort_key ASC, id ASC",
  lifo: "sort_key DESC, id DESC",
  priority: "sort_key ASC, id ASC",
};

const ITEM_COLUMNS = "id, value, sort_key, state, visible_at, deliveries, token, lease_expires";

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

  static create(sql: Sql): Store {
    sql.exec("CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY)");
    return new Store(sql);
  }

  loadMeta<M>(): M | undefined {
    const row = this.sql.exec<{ state: string }>("SELECT state FROM meta WHERE id = 1")[0];
    return row ? (JSON.parse(row.state) as M) : undefined;
  }

  saveMeta(json: string): void {
    this.sql.exec("INSERT OR REPLACE INTO meta (id, state) VALUES (1, ?)", json);
  }

  count(state: ItemState): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM items WHERE state = ?", state)[0]!.n;
  }

  countDelayed(now: number): number {
    return this.sql.exec<{ n: number }>(
      "SELECT count(*) AS n FROM items WHERE state = 'ready' AND visible_at > ?",
      now,
    )[0]!.n;
  }

  insert(value: string, sortKey: string, visibleAt: number): number {
    return this.sql.exec<{ id: number }>(
      "INSERT INTO items (value, sort_key, state, visible_at) VALUES (?, ?, 'ready', ?) RETURNING id",
      value,
      sortKey,
      visibleAt,
    )[0]!.id;
  }

  /** The next `limit` visible items in the queue's order. */
  nextVisible(order: Order, now: number, limit: number): ItemRow[] {
    return this.sql.exec<ItemRow>(
      // INDEXED BY: left to itself the planner prefers items_visible for the range, then sorts every ready item.
      `SELECT ${ITEM_COLUMNS} FROM items INDEXED BY items_order WHERE state = 'ready' AND visible_at <= ? ORDER BY ${ORDER_BY[order]} LIMIT ?`,
      now,
      limit,
    );
  }

  item(id: number): ItemRow | undefined {
    return this.sql.exec<ItemRow>(`SELECT ${ITEM_COLUMNS} FROM items WHERE id = ?`, id)[0];
  }

  lease(id: number, deliveries: number, token: string | null, expires: number | null): void {
    this.sql.exec(
      "UPDATE items SET state = 'leased', deliveries = ?, token = ?, lease_expires = ? WHERE id = ?",
      deliveries,
      token,
      expires,
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

  delete(id: number): void {
    this.sql.exec("DELETE FROM items WHERE id = ?", id);
  }

  /** Deletes every item in a state and says how many there were (counted first: RETURNING would load them all). */
  deleteAll(state: ItemState): number {
    const n = this.count(state);
    this.sql.exec("DELETE FROM items WHERE state = ?", state);
    return n;
  }

  /** The oldest open lease: what an anonymous task_done completes. */
  oldestLeased(): ItemRow | undefined {
    return this.sql.exec<ItemRow>(`SELECT ${ITEM_COLUMNS} FROM items WHERE state = 'leased' ORDER BY id LIMIT 1`)[0];
  }

  expiredLeases(now: number): ItemRow[] {
    return this.sql.exec<ItemRow>(
      `SELECT ${ITEM_COLUMNS} FROM items WHERE state = 'leased' AND lease_expires <= ? ORDER BY id`,
      now,
    );
  }

  /** The earliest moment something stored changes by itself: a lease expiring or a delayed item showing up. */
  nextDeadline(now: number): number | undefined {
    const row = this.sql.exec<{ t: number | null }>(
      `SELECT min(t) AS t FROM (
         SELECT min(lease_expires) AS t FROM items WHERE state = 'leased'
         UNION ALL SELECT min(visible_at) FROM items WHERE state = 'ready' AND visible_at > ?)`,
      now,
    )[0];
    return row?.t ?? undefined;
  }

  deadLetters(limit: number): ItemRow[] {
    return this.sql.exec<ItemRow>(`SELECT ${ITEM_COLUMNS} FROM items WHERE state = 'dead' ORDER BY id LIMIT ?`, limit);
  }

  /** Moves up to `limit` dead letters back into the queue as fresh items; returns their ids. */
  redrive(limit: number): number[] {
    return this.sql
      .exec<{ id: number }>(
        `UPDATE items SET state = 'ready', deliveries = 0, visible_at = 0
         WHERE id IN (SELECT id FROM items WHERE state = 'dead' ORDER BY id LIMIT ?) RETURNING id`,
        limit,
      )
      .map((r) => r.id);
  }

  recordAck(itemId: number, delivery: number, token: string, now: number, keepMs: number): void {
    this.sql.exec("DELETE FROM acks WHERE at < ?", now - keepMs);
    this.sql.exec(
      "INSERT OR REPLACE INTO acks (item_id, delivery, token, at) VALUES (?, ?, ?, ?)",
      itemId,
      delivery,
      token,
      now,
    );
  }

  ack(itemId: number): { delivery: number; token: string } | undefined {
    return this.sql.exec<{ delivery: number; token: string }>(
      "SELECT delivery, token FROM acks WHERE item_id = ?",
      itemId,
    )[0];
  }

  idempotent(key: string, now: number): string | undefined {
    this.sql.exec("DELETE FROM idempotency WHERE expires_at <= ?", now);
    return this.sql.exec<{ result: string }>("SELECT result FROM idempotency WHERE key = ?", key)[0]?.result;
  }

  /** Records a ticket as spent; false when it already was. Expired ones are forgotten (they are refused anyway). */
  spendTicket(id: string, expiresAt: number, now: number): boolean {
    this.sql.exec("DELETE FROM tickets WHERE expires_at <= ?", now);
    return (
      this.sql.exec(
        "INSERT INTO tickets (id, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING id",
        id,
        expiresAt,
      ).length > 0
    );
  }

  remember(key: string, result: string, expiresAt: number): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO idempotency (key, result, expires_at) VALUES (?, ?, ?)",
      key,
      result,
      expiresAt,
    );
  }
}
