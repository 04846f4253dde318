// A store written by the schema before lean storage (test/fixtures/store-v3.sqlite, made by the code of commit
// 757aeb9 — see store-v3.json for what it holds) wakes on today's code with nothing lost.
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, expect, it } from "vitest";
import { coreLimits } from "../../src/contract/limits.ts";
import { JoinableQueue } from "../../src/core/queue.ts";
import { Store } from "../../src/core/store.ts";
import type { Delivery, Outcome, PutResult } from "../../src/core/types.ts";
import { call, sqliteSql } from "./harness.ts";

type Got = Outcome<{ deliveries: Delivery[] }>;
const deliveries = (o: Got | undefined) => (o?.ok ? o.deliveries : []);

const fixture = JSON.parse(readFileSync("test/fixtures/store-v3.json", "utf8"));
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function wake() {
  const dir = mkdtempSync(join(tmpdir(), "jq-migrate-"));
  dirs.push(dir);
  copyFileSync("test/fixtures/store-v3.sqlite", join(dir, "store.sqlite"));
  const db = new DatabaseSync(join(dir, "store.sqlite"));
  const sql = sqliteSql(db);
  return { q: JoinableQueue.open(Store.open(sql)!, coreLimits())!, sql };
}

it("keeps every counter, item, lease, completion, key and dead letter", () => {
  const { q, sql } = wake();
  const now = fixture.now as number;
  // Settings added since the fixture was made answer their defaults.
  const added = { dispatch: "fifo", group_max_in_flight: null, group_retention_seconds: 86_400 };
  expect(q.stats(now)).toEqual({ ...fixture.stats, ...added });
  expect(sql.exec("SELECT name FROM sqlite_master WHERE name IN ('acks', 'items_v4')")).toEqual([]);
  // The open lease still completes with its receipt; the completed one is recognised as a repeat.
  expect(q.taskDone(fixture.receipts.b, now)).toEqual({ ok: true, unfinished_tasks: 3, replayed: false });
  expect(q.taskDone(fixture.receipts.a, now)).toEqual({ ok: true, unfinished_tasks: 3, replayed: true });
  // The idempotency key still answers the first put's ids.
  const again = call<unknown>();
  q.put({ items: [{ json: '"a"' }, { json: '"b"' }], idempotency_key: "k1" }, now, again.reply);
  expect(again.value).toEqual({ ok: true, ids: fixture.puts[0].ids, replayed: true });
  // Items come back in order with their exact text; the dead letter is kept; the delayed item shows up on time.
  const got = call<Got>();
  q.get({ max: 10 }, now, got.reply);
  expect(deliveries(got.value).map((d) => d.json)).toEqual(['{"d": 1.0}', "[5]"]);
  expect(q.deadLetters(10).map((d) => d.json)).toEqual(['"c"']);
  for (const d of deliveries(got.value)) expect(q.taskDone(d.receipt!, now)).toMatchObject({ ok: true });
  const late = call<Got>();
  q.get({}, now + 3_600_000, late.reply);
  expect(deliveries(late.value).map((d) => d.json)).toEqual(['"f"']);
});

it("gives new items ids after every old one, never reusing an id", () => {
  const { q } = wake();
  const put = call<Outcome<PutResult>>();
  q.put({ items: [{ json: "1" }] }, fixture.now, put.reply);
  expect(put.value).toMatchObject({ ids: [7] });
});
