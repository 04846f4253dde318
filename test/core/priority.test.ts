// Priority keys: their encoded text sorts exactly as Python sorts the values (numbers < strings < tuples across
// types, where Python would refuse), and decodes back to the value.

import { DatabaseSync } from "node:sqlite";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeKey, encodeKey, type PriorityKey } from "../../src/core/priority.ts";
import { Store } from "../../src/core/store.ts";
import { sqliteSql } from "./harness.ts";

const rank = (k: PriorityKey) => (typeof k === "number" ? 0 : typeof k === "string" ? 1 : 2);

/** Python's comparison of numbers, strings (by code point) and tuples, extended across types by rank. */
function pyCompare(a: PriorityKey, b: PriorityKey): number {
  if (rank(a) !== rank(b)) return Math.sign(rank(a) - rank(b));
  if (typeof a === "number") return a < (b as number) ? -1 : a > (b as number) ? 1 : 0;
  const [x, y] =
    typeof a === "string"
      ? [Array.from(a, (c) => c.codePointAt(0)!), Array.from(b as string, (c) => c.codePointAt(0)!)]
      : [a, b as PriorityKey[]];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const c =
      typeof a === "string" ? (x[i] as number) - (y[i] as number) : pyCompare(x[i] as PriorityKey, y[i] as PriorityKey);
    if (c !== 0) return Math.sign(c);
  }
  return Math.sign(x.length - y.length);
}

const byteCompare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0); // the keys are ASCII: JS order = memcmp

const number = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.constantFrom(0, -0, 1, -1, 2 ** 53, -(2 ** 53), 5e-324),
);
const string = fc.string({ unit: "binary", maxLength: 6 });
const key: fc.Arbitrary<PriorityKey> = fc.letrec<{ key: PriorityKey }>((tie) => ({
  key: fc.oneof({ depthSize: "small" }, number, string, fc.array(tie("key"), { maxLength: 4 })),
})).key;

describe("priority keys", () => {
  it("encoded text sorts as Python sorts the values", () => {
    fc.assert(
      fc.property(key, key, (a, b) => byteCompare(encodeKey(a), encodeKey(b)) === pyCompare(a, b)),
      { numRuns: 3000 },
    );
  });

  it("decode gives back the value (-0 becomes 0, as Python's -0.0 == 0)", () => {
    fc.assert(
      fc.property(key, (k) => {
        expect(decodeKey(encodeKey(k))).toEqual(JSON.parse(JSON.stringify(k)));
      }),
      { numRuns: 1000 },
    );
    expect(Object.is(decodeKey(encodeKey(-0)), 0)).toBe(true);
  });

  it("orders Python's usual tuples: by priority, ties by the next element, a prefix first", () => {
    const keys: PriorityKey[] = [
      [2, "a"],
      [1, "z"],
      [1, "b"],
      "b",
      [1],
      10,
      -1.5,
      [1, "b", 0],
      "a\u{1F600}",
      "a\uFFFF",
    ];
    const sorted = [...keys].sort((a, b) => byteCompare(encodeKey(a), encodeKey(b)));
    expect(sorted).toEqual([-1.5, 10, "a\uFFFF", "a\u{1F600}", "b", [1], [1, "b"], [1, "b", 0], [1, "z"], [2, "a"]]);
  });

  it("a store made before priority keys is migrated, keeping its order", () => {
    const db = new DatabaseSync(":memory:");
    const sql = sqliteSql(db);
    // The schema of migrations 1 and 2, with numeric priorities.
    for (const s of [
      "CREATE TABLE migrations (version INTEGER PRIMARY KEY)",
      "INSERT INTO migrations VALUES (1), (2)",
      "CREATE TABLE meta (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL)",
      "CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, value TEXT NOT NULL, priority REAL NOT NULL, state TEXT NOT NULL, visible_at INTEGER NOT NULL, deliveries INTEGER NOT NULL DEFAULT 0, token TEXT, lease_expires INTEGER)",
      "CREATE INDEX items_order ON items (state, priority, id)",
      "CREATE TABLE acks (item_id INTEGER PRIMARY KEY, delivery INTEGER NOT NULL, token TEXT NOT NULL, at INTEGER NOT NULL)",
      "CREATE TABLE idempotency (key TEXT PRIMARY KEY, result TEXT NOT NULL, expires_at INTEGER NOT NULL)",
      "CREATE TABLE tickets (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)",
      "INSERT INTO items (value, priority, state, visible_at) VALUES ('\"c\"', 3, 'ready', 0), ('\"a\"', -1, 'ready', 0), ('\"b\"', 2.5, 'ready', 0)",
    ])
      db.exec(s);
    const store = Store.open(sql)!;
    expect(store.nextVisible("priority", 1, 10).map((r) => [r.value, decodeKey(r.sort_key)])).toEqual([
      ['"a"', -1],
      ['"b"', 2.5],
      ['"c"', 3],
    ]);
  });
});
