// A store written by schema v4, one row per item (test/fixtures/store-v4.sqlite, made by the code of commit 33af4f8
// with the script test/fixtures/make-store-v4.ts of commit d2c562e — see store-v4.json for what it holds), wakes
// in segments with nothing lost.
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, expect, it } from "vitest";
import { coreLimits } from "../../src/contract/limits.ts";
import { JoinableQueue } from "../../src/core/queue.ts";
import { Store } from "../../src/core/store.ts";
import { Tickets } from "../../src/core/tickets.ts";
import type { Delivery, Outcome, PutResult } from "../../src/core/types.ts";
import { call, sqliteSql } from "./harness.ts";

type Got = Outcome<{ deliveries: Delivery[] }>;
const deliveries = (o: Got | undefined) => (o?.ok ? o.deliveries : []);

const fixture = JSON.parse(readFileSync("test/fixtures/store-v4.json", "utf8"));
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function wakeV4(edit?: (db: DatabaseSync) => void) {
  const dir = mkdtempSync(join(tmpdir(), "jq-migrate-v4-"));
  dirs.push(dir);
  copyFileSync("test/fixtures/store-v4.sqlite", join(dir, "store.sqlite"));
  const db = new DatabaseSync(join(dir, "store.sqlite"));
  edit?.(db);
  const sql = sqliteSql(db);
  return { q: JoinableQueue.open(Store.open(sql)!, coreLimits())!, sql };
}

it("keeps every counter, item, lease, completion, key, ticket and dead letter", () => {
  const { q, sql } = wakeV4();
  const now = fixture.now as number;
  // Settings added since the fixture was made answer their defaults.
  const added = { dispatch: "fifo", group_max_in_flight: null, group_retention_seconds: 86_400 };
  expect(q.stats(now)).toEqual({ ...fixture.stats, ...added });
  expect(sql.exec("SELECT name FROM sqlite_master WHERE name IN ('items', 'idempotency')")).toEqual([]);
  // The open lease completes with its receipt; the completed one is a repeat; the released one is stale.
  expect(q.taskDone(fixture.receipts.b, now)).toEqual({ ok: true, unfinished_tasks: 4, replayed: false });
  expect(q.taskDone(fixture.receipts.a, now)).toEqual({ ok: true, unfinished_tasks: 4, replayed: true });
  expect(q.taskDone(fixture.receipts.d, now)).toMatchObject({ ok: false, code: "stale_receipt" });
  // Both idempotency keys still answer their puts' ids.
  for (const [key, put] of [
    ["k1", 0],
    ["k2", 3],
  ] as const) {
    const again = call<unknown>();
    q.put({ items: [{ json: '"x"' }], idempotency_key: key }, now, again.reply);
    expect(again.value).toEqual({ ok: true, ids: fixture.puts[put].ids, replayed: true });
  }
  // The spent ticket stays spent.
  expect(new Tickets(sql).spend("t1", now + 60_000, now)).toBe(false);
  // Items come back in order with their exact text; the dead letter is kept; delayed items show up on time.
  const got = call<Got>();
  q.get({ max: 10 }, now, got.reply);
  expect(deliveries(got.value).map((d) => d.json)).toEqual(["[5]", '"g"']);
  expect(q.deadLetters(10)).toEqual(fixture.dead.map((d: object) => ({ ...d, group: null })));
  for (const d of deliveries(got.value)) expect(q.taskDone(d.receipt!, now)).toMatchObject({ ok: true });
  const released = call<Got>();
  q.get({}, now + 120_000, released.reply);
  expect(deliveries(released.value).map((d) => [d.json, d.deliveries])).toEqual([['{"d": 1.0}', 2]]);
  const late = call<Got>();
  q.get({}, now + 3_600_000, late.reply);
  expect(deliveries(late.value).map((d) => d.json)).toEqual(['"f"']);
});

it("gives new items ids after every old one, never reusing an id", () => {
  const { q } = wakeV4();
  const put = call<Outcome<PutResult>>();
  q.put({ items: [{ json: "1" }] }, fixture.now, put.reply);
  expect(put.value).toMatchObject({ ids: [8] });
  expect(q.stats(fixture.now)).toMatchObject({ puts: 8, unfinished_tasks: 6 });
});

it("a v4 store whose meta row predates the saved counts is counted on migrating", () => {
  const { q } = wakeV4((db) => {
    const { state } = db.prepare("SELECT state FROM meta").get() as { state: string };
    const { counts: _, puts: __, completed: ___, ...old } = JSON.parse(state);
    db.prepare("UPDATE meta SET state = ?").run(JSON.stringify(old));
  });
  expect(q.stats(fixture.now)).toMatchObject({
    qsize: 4,
    leased: 1,
    dead_lettered: 1,
    unfinished_tasks: 5,
    puts: 0,
    completed: 0,
  });
});
