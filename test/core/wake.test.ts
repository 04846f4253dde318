// Waking a queue (a restarted Durable Object rebuilding it from SQLite) costs no count over its items: each segment's
// columns count its items, and the counts stay exact through every change, including leases expired by extend.
import { expect, it } from "vitest";
import { coreLimits } from "../../src/contract/limits.ts";
import { JoinableQueue } from "../../src/core/queue.ts";
import { type SqlValue, Store } from "../../src/core/store.ts";
import { call, newQueue } from "./harness.ts";

it("reopens without counting items, with exact counts", () => {
  const { q, sql } = newQueue({ lease_seconds: 1, max_deliveries: 1 });
  const put = call<unknown>();
  q.put({ items: [{ json: "1" }, { json: "2" }, { json: "3" }, { json: "4" }] }, 0, put.reply);
  const got = call<{ ok: boolean; deliveries?: { receipt: string | null }[] }>();
  q.get({ max: 2 }, 0, got.reply);
  const [a] = got.value!.deliveries!;
  q.release(a!.receipt!, 0, 10); // max_deliveries 1: a dead letter
  const other = call<{ ok: boolean; deliveries?: { receipt: string | null }[] }>();
  q.get({}, 10, other.reply); // leased until 1,010
  const [b] = [got.value!.deliveries![1]!];
  expect(q.extend(other.value!.deliveries![0]!.receipt!, 5, 1000)).toMatchObject({ ok: true }); // b's lease expires here
  const queries: string[] = [];
  const spy = {
    exec: ((query: string, ...params: SqlValue[]) => {
      queries.push(query);
      return sql.exec(query, ...params);
    }) as typeof sql.exec,
  };
  const woken = JoinableQueue.open(Store.open(spy)!, coreLimits())!;
  expect(queries.filter((s) => /count\(/i.test(s))).toEqual([]);
  expect(b!.receipt).not.toBeNull();
  expect(woken.stats(1000)).toMatchObject({ qsize: 1, leased: 1, dead_lettered: 2, unfinished_tasks: 2 }); // b expired into the dead letters
  expect(woken.stats(1000)).toEqual(q.stats(1000));
  expect(woken.stats(1000)).toMatchObject({ puts: 4, completed: 0, deliveries: 3 });
});
