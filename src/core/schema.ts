// The queue's SQLite schema: what a new store is created with, and the migrations that bring an old one to it.
import { encodeKey } from "./priority.ts";
import {
  emptySummary,
  encodeItems,
  type Item,
  type Keys,
  SEGMENT_BYTES,
  SEGMENT_ITEMS,
  type Segment,
  type Summary,
  summarize,
} from "./segment.ts";
import type { Sql } from "./sql.ts";

const META = "CREATE TABLE meta (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL)";

// Schema v4's items: one row per item, in one partial index per state.
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

const ITEM_INDEXES = [
  "CREATE INDEX items_ready ON items (sort_key, id) WHERE state = 'ready'",
  "CREATE INDEX items_delayed ON items (visible_at) WHERE state = 'ready' AND visible_at > 0",
  "CREATE INDEX items_lease ON items (lease_expires) WHERE state = 'leased'",
  "CREATE INDEX items_dead ON items (id) WHERE state = 'dead'",
];

/** A table looked up by its key alone: WITHOUT ROWID, so the key is the table and costs no second index. */
const KEYED = (name: string, key: string, ...columns: string[]) =>
  `CREATE TABLE ${name} (${[`${key} TEXT PRIMARY KEY`, ...columns, "expires_at INTEGER NOT NULL"].join(", ")}) WITHOUT ROWID`;

// Cloudflare bills an insert or update as one row plus one for every index entry it adds or changes: so segments
// have no index but their primary key. Their columns sum the items up (segment.ts); the store keeps every
// segment's columns in memory, read once on waking. The items come last: SQLite reads a column that follows a large
// one by walking the large one's overflow pages, so waking (and reading the keys) would otherwise read every item.
const SEGMENTS = (name = "segments") => `CREATE TABLE ${name} (
  id INTEGER PRIMARY KEY,
  head_key TEXT NOT NULL,
  last_id INTEGER NOT NULL,
  ready INTEGER NOT NULL,
  leased INTEGER NOT NULL,
  dead INTEGER NOT NULL,
  delayed INTEGER NOT NULL,
  visible_at INTEGER,
  lease_expires INTEGER,
  completed_at INTEGER,
  keys_expire INTEGER,
  deliveries INTEGER NOT NULL,
  redeliveries INTEGER NOT NULL,
  completed INTEGER NOT NULL,
  groups TEXT,
  keys TEXT,
  items TEXT NOT NULL
)`;

/** The columns that sum a segment up (segment.ts's Summary), read on waking: every one is written with the items. */
const SUMMARY = [
  "id",
  "head_key",
  "last_id",
  "ready",
  "leased",
  "dead",
  "delayed",
  "visible_at",
  "lease_expires",
  "completed_at",
  "keys_expire",
  "deliveries",
  "redeliveries",
  "completed",
  "groups",
] as const satisfies readonly (keyof Summary)[];

export const SEGMENT_COLUMNS = SUMMARY.join(", ");

const groupsColumn = (s: Summary) => (s.groups ? JSON.stringify(s.groups) : null);

/** A summary as read from its row (the groups column is JSON). */
export const readSummary = (row: Record<string, unknown>): Summary =>
  ({ ...row, groups: row.groups ? JSON.parse(row.groups as string) : null }) as Summary;

const rowOf = (segment: Segment) => [
  ...SUMMARY.map((c) => (c === "groups" ? groupsColumn(segment.summary) : segment.summary[c])),
  Object.keys(segment.keys).length ? JSON.stringify(segment.keys) : null,
  encodeItems(segment.items),
];

/** Writes a segment as a new row (one row written: the table has no other index). */
export function insertSegment(sql: Sql, segment: Segment): void {
  const marks = Array(SUMMARY.length + 2)
    .fill("?")
    .join(", ");
  sql.exec(`INSERT INTO segments (${SEGMENT_COLUMNS}, keys, items) VALUES (${marks})`, ...rowOf(segment));
}

/** Rewrites a segment's row in place (one row written). */
export function updateSegment(sql: Sql, segment: Segment): void {
  const set = [...SUMMARY.slice(1), "keys", "items"].map((c) => `${c} = ?`).join(", ");
  const [id, ...values] = rowOf(segment);
  sql.exec(`UPDATE segments SET ${set} WHERE id = ?`, ...values, id!);
}

/** What a new store is created with: the schema every migration below leads to. */
export const SCHEMA = [META, SEGMENTS(), KEYED("tickets", "id")];

/** The meta row of schema v4, as stored (fields added over time may be missing). */
interface MetaV4 {
  unfinished_tasks: number;
  deliveries: number;
  redeliveries: number;
  puts?: number;
  completed?: number;
  next_id: number;
  forgot_at?: number;
  [field: string]: unknown;
}

// Schema v5: items move into segments, keys into the segments of their puts' first items, and the meta row keeps
// only what the segments do not say (persistence.ts).
function toSegments(sql: Sql): void {
  const rows = sql.exec<Record<string, string | number | null>>(
    "SELECT id, value, sort_key, state, visible_at, deliveries, token, lease_expires, put_at, leased_at FROM items ORDER BY id",
  );
  const segments = new Map<number, Segment>();
  const byId = new Map<number, Segment>();
  let open: Segment | undefined;
  for (const r of rows) {
    const done = r.state === "done";
    const item: Item = {
      id: r.id as number,
      value: r.value as string,
      sort_key: r.sort_key as string,
      put_at: r.put_at as number,
      state: r.state as Item["state"],
      visible_at: r.state === "ready" ? (r.visible_at as number) : 0,
      deliveries: r.deliveries as number,
      token: r.token as string | null,
      lease_expires: r.state === "leased" ? (r.lease_expires as number) : null,
      leased_at: r.state === "leased" ? (r.leased_at as number | null) : null,
      completed_at: done ? (r.lease_expires as number) : null,
      group: null,
    };
    if (!open || open.items.length >= SEGMENT_ITEMS || open.bytes > SEGMENT_BYTES) {
      open = { summary: emptySummary(item.id), items: [], keys: {}, bytes: 0 };
      segments.set(item.id, open);
    }
    open.items.push(item);
    open.summary.last_id = item.id;
    open.bytes += item.value.length;
    byId.set(item.id, open);
  }
  for (const k of sql.exec<{ key: string; result: string; expires_at: number }>("SELECT * FROM idempotency")) {
    const first = (JSON.parse(k.result) as number[])[0]!;
    let home = byId.get(first) ?? segments.get(first);
    if (!home) {
      home = { summary: emptySummary(first), items: [], keys: {}, bytes: 0 };
      segments.set(first, home);
    }
    (home.keys as Keys)[k.key] = [k.result, k.expires_at];
  }
  for (const segment of segments.values()) {
    summarize(segment);
    insertSegment(sql, segment);
  }
  const row = sql.exec<{ state: string }>("SELECT state FROM meta WHERE id = 1")[0];
  if (!row) return;
  const old = JSON.parse(row.state) as MetaV4;
  // A v4 put wrote its items but not the meta row: the items from next_id on were put since it was written.
  const maxId = sql.exec<{ id: number | null }>("SELECT max(id) AS id FROM items")[0]?.id ?? 0;
  const since = Math.max(0, maxId + 1 - old.next_id);
  const held = rows.filter((r) => r.state === "ready" || r.state === "leased").length;
  const { counts: _, unfinished_tasks, ...rest } = old;
  const meta = {
    ...rest,
    untracked: unfinished_tasks + since - held,
    puts: (old.puts ?? 0) + since,
    completed: old.completed ?? 0,
    next_id: old.next_id + since,
    forgot_at: old.forgot_at ?? 0,
  };
  sql.exec("UPDATE meta SET state = ? WHERE id = 1", JSON.stringify(meta));
}

// Append-only: a deployed object runs every migration it has not seen, in order.
export const MIGRATIONS: (string | ((sql: Sql) => void))[][] = [
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
  [SEGMENTS(), toSegments, "DROP TABLE items", "DROP TABLE idempotency"],
  // Groups: each segment's per-group tally, a column before the items (so waking never reads past them).
  [
    SEGMENTS("segments_v6"),
    `INSERT INTO segments_v6 (${SEGMENT_COLUMNS}, keys, items)
       SELECT ${SEGMENT_COLUMNS.replace("groups", "NULL")}, keys, items FROM segments`,
    "DROP TABLE segments",
    "ALTER TABLE segments_v6 RENAME TO segments",
  ],
];
