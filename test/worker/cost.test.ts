// What each operation costs on Cloudflare's bill, counted the way the platform counts it (every cursor's
// rowsWritten inside the queue's object, and every setAlarm), asserted exactly: a change that writes one more
// row fails here, as Django's assertNumQueries fails on one more query.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { JoinableQueue } from "../../src/core/queue.ts";
import type { Meter, QueueObject } from "../../src/objects/queue/queue-object.ts";
import { call, uniqueName } from "./helpers.ts";

const meter = (name: string) =>
  runInDurableObject(env.QUEUES.get(env.QUEUES.idFromName(name)), (o: QueueObject) => o.meter());

/**
 * Runs the queue's clock forward by `ms` inside its object (what an alarm or a later call would see then), and
 * writes what that changed, as the object's next flush would.
 */
const later = (name: string, ms: number) => () =>
  runInDurableObject(env.QUEUES.get(env.QUEUES.idFromName(name)), (o: QueueObject) => {
    const { queue } = o as unknown as { queue: JoinableQueue };
    queue.tick(Date.now() + ms);
    queue.flush();
  });

/** The rows written and alarms set by `step`, through the real Worker. */
async function cost(name: string, step: () => Promise<unknown>): Promise<{ rows: number; alarms: number }> {
  const before = await meter(name);
  await step();
  const after: Meter = await meter(name);
  return { rows: after.rows_written - before.rows_written, alarms: after.alarms_set - before.alarms_set };
}

async function queue(config: Record<string, unknown> = {}) {
  const name = uniqueName("cost");
  expect((await call("PUT", `/v1/queues/${name}`, { lease_seconds: 30, ...config })).status).toBe(201);
  // A first job: the first step also forgets (nothing yet), the first lease sets the alarm.
  await call("POST", `/v1/queues/${name}/put`, { item: "warm-up" });
  const { receipt } = (await call("POST", `/v1/queues/${name}/get`, {})).body!;
  await call("POST", `/v1/queues/${name}/task_done`, { receipt });
  return name;
}

const q = (name: string, verb: string) => `/v1/queues/${name}/${verb}`;

describe("rows written per operation", () => {
  it("a single-item job: keyed put, leased get, task_done with its receipt", async () => {
    const name = await queue();
    const put = await cost(name, () => call("POST", q(name, "put"), { item: { n: 1 } }, { "idempotency-key": "k" }));
    const plain = await cost(name, () => call("POST", q(name, "put"), { item: { n: 2 } }));
    let receipt = "";
    const get = await cost(name, async () => {
      receipt = (await call("POST", q(name, "get"), {})).body!.receipt;
    });
    const done = await cost(name, () => call("POST", q(name, "task_done"), { receipt }));
    const again = await cost(name, () => call("POST", q(name, "task_done"), { receipt }));
    // An hour on, the completions and the key are forgotten: the meta row records when (the segment still holds
    // the second item, and the key leaves its row with the next write of it, for free).
    const forget = await cost(name, later(name, 61 * 60_000));
    // Every step rewrites the one segment row its item is in (the open tail, which the put appended to): no index,
    // no meta row (waking derives the counters from the segments' columns), the key kept in the same row.
    expect({ put, plain, get, done, again, forget }).toEqual({
      put: { rows: 1, alarms: 0 },
      plain: { rows: 1, alarms: 0 },
      get: { rows: 1, alarms: 0 },
      done: { rows: 1, alarms: 0 },
      again: { rows: 0, alarms: 0 },
      forget: { rows: 1, alarms: 0 },
    });
  });

  it("batches of 100: put with and without a key, get, task_done, and the later delete", async () => {
    const name = await queue();
    const items = Array.from({ length: 100 }, (_, i) => ({ item: i }));
    const put = await cost(name, () => call("POST", q(name, "put"), { items }, { "idempotency-key": "b" }));
    const plain = await cost(name, () => call("POST", q(name, "put"), { items }));
    const rest = await cost(name, () => call("POST", q(name, "put"), { items })); // past 256 items: a new segment
    const receipts: string[][] = [];
    const get = await cost(name, async () => {
      const got = (await call("POST", q(name, "get"), { max: 100 })).body!.items;
      receipts.push(got.map((d: { receipt: string }) => d.receipt));
    });
    const done = await cost(name, () => call("POST", q(name, "task_done"), { receipts: receipts[0] }));
    for (let i = 0; i < 2; i++) {
      const got = (await call("POST", q(name, "get"), { max: 100 })).body!.items;
      await call("POST", q(name, "task_done"), { receipts: got.map((d: { receipt: string }) => d.receipt) });
    }
    // An hour on, both segments hold only completions past their time: each is one row deleted, plus the meta row,
    // which takes over the deleted segments' counters.
    const forget = await cost(name, later(name, 61 * 60_000));
    expect({ put, plain, rest, get, done, forget }).toEqual({
      put: { rows: 1, alarms: 0 },
      plain: { rows: 1, alarms: 0 },
      rest: { rows: 1, alarms: 0 },
      get: { rows: 1, alarms: 0 },
      done: { rows: 1, alarms: 0 },
      forget: { rows: 3, alarms: 0 },
    });
  });

  it("a release, an extend, a lease that expires, a delayed put, a dead letter", async () => {
    const name = await queue({ lease_seconds: 1, max_deliveries: 2 });
    await call("POST", q(name, "put"), { items: [{ item: "a" }, { item: "b" }] });
    const { receipt } = (await call("POST", q(name, "get"), {})).body!;
    const extend = await cost(name, () => call("POST", q(name, "extend"), { receipt, lease_seconds: 1 }));
    const release = await cost(name, () => call("POST", q(name, "release"), { receipt }));
    const delayed = await cost(name, () => call("POST", q(name, "put"), { item: "later", delay: 60 }));
    await call("POST", q(name, "get"), { max: 2 });
    // Both leases end in one segment: one row; "a" has had its two deliveries, so it is a dead letter now.
    const expiry = await cost(name, later(name, 2_000));
    const { receipt: second } = (await call("POST", q(name, "get"), {})).body!;
    const dead = await cost(name, () => call("POST", q(name, "release"), { receipt: second }));
    expect({ extend, release, delayed, expiry, dead }).toEqual({
      extend: { rows: 1, alarms: 0 },
      release: { rows: 1, alarms: 0 },
      delayed: { rows: 1, alarms: 0 }, // appended to the tail; the alarm stays earlier
      expiry: { rows: 1, alarms: 0 },
      dead: { rows: 1, alarms: 0 },
    });
  });

  for (const [label, config] of [
    ["fifo dispatch", {}],
    ["fair dispatch with a cap per group", { dispatch: "fair", group_max_in_flight: 100 }],
  ] as const)
    it(`groups add no row (${label}): a grouped single-item job and a grouped batch of 100 cost what ungrouped ones do`, async () => {
      const name = await queue(config);
      const put = await cost(name, () => call("POST", q(name, "put"), { item: 1, group: "g" }));
      let receipt = "";
      const get = await cost(name, async () => {
        receipt = (await call("POST", q(name, "get"), {})).body!.receipt;
      });
      const done = await cost(name, () => call("POST", q(name, "task_done"), { receipt }));
      const join = await cost(name, () => call("POST", q(name, "join"), { group: "g" }));
      const items = Array.from({ length: 100 }, (_, i) => ({ item: i, group: `g${i % 3}` }));
      const batchPut = await cost(name, () => call("POST", q(name, "put"), { items }));
      const receipts: string[] = [];
      const batchGet = await cost(name, async () => {
        for (const d of (await call("POST", q(name, "get"), { max: 100 })).body!.items) receipts.push(d.receipt);
      });
      const batchDone = await cost(name, () => call("POST", q(name, "task_done"), { receipts }));
      // An hour on, the segment (all 102 items share it) is past its time: one row deleted, plus the meta row, which
      // takes over what it counted of each group's puts and completions (kept for the groups' retention).
      const forget = await cost(name, later(name, 61 * 60_000));
      // The groups' counts travel in the segment's own row (its groups column): no meta row, no groups table.
      expect({ put, get, done, join, batchPut, batchGet, batchDone, forget }).toEqual({
        put: { rows: 1, alarms: 0 },
        get: { rows: 1, alarms: 0 },
        done: { rows: 1, alarms: 0 },
        join: { rows: 0, alarms: 0 },
        batchPut: { rows: 1, alarms: 0 },
        batchGet: { rows: 1, alarms: 0 },
        batchDone: { rows: 1, alarms: 0 },
        forget: { rows: 2, alarms: 0 },
      });
    });

  it("without leases (pure CPython): put, get, anonymous task_done", async () => {
    const name = uniqueName("cost");
    expect((await call("PUT", `/v1/queues/${name}`, { lease_seconds: null })).status).toBe(201);
    await call("POST", q(name, "put"), { item: "warm-up" });
    await call("POST", q(name, "get"), {});
    await call("POST", q(name, "task_done"), {});
    const put = await cost(name, () => call("POST", q(name, "put"), { item: 1 }));
    const get = await cost(name, () => call("POST", q(name, "get"), {}));
    const done = await cost(name, () => call("POST", q(name, "task_done"), {}));
    // An item taken without a lease leaves its segment (the segment's row) but stays unfinished, which no segment
    // says: the meta row records it, and the anonymous task_done that ends it.
    expect({ put, get, done }).toEqual({
      put: { rows: 1, alarms: 0 },
      get: { rows: 2, alarms: 0 },
      done: { rows: 1, alarms: 0 },
    });
  });
});
