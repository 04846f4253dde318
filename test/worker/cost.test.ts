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

/** Runs the queue's clock forward by `ms` inside its object (what an alarm or a later call would see then). */
const later = (name: string, ms: number) => () =>
  runInDurableObject(env.QUEUES.get(env.QUEUES.idFromName(name)), (o: QueueObject) =>
    (o as unknown as { queue: JoinableQueue }).queue.tick(Date.now() + ms),
  );

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
    // An hour on, the completion and the key are forgotten: their deletes are the rest of the job's cost.
    const forget = await cost(name, later(name, 61 * 60_000));
    // put: the item and its items_ready entry, the key; get: the row, its items_lease entry, the meta row;
    // task_done: the row, the meta row (leaving an index is free). A put writes no meta row: waking derives it.
    expect({ put, plain, get, done, again, forget }).toEqual({
      put: { rows: 3, alarms: 0 },
      plain: { rows: 2, alarms: 0 },
      get: { rows: 3, alarms: 0 },
      done: { rows: 2, alarms: 0 },
      again: { rows: 0, alarms: 0 },
      forget: { rows: 4, alarms: 0 }, // two done rows, the key, and the meta row's new forgot_at
    });
  });

  it("batches of 100: put, get, task_done", async () => {
    const name = await queue();
    const items = Array.from({ length: 100 }, (_, i) => ({ item: i }));
    const put = await cost(name, () => call("POST", q(name, "put"), { items }, { "idempotency-key": "b" }));
    let receipts: string[] = [];
    const get = await cost(name, async () => {
      receipts = (await call("POST", q(name, "get"), { max: 100 })).body!.items.map(
        (d: { receipt: string }) => d.receipt,
      );
    });
    const done = await cost(name, () => call("POST", q(name, "task_done"), { receipts }));
    expect({ put, get, done }).toEqual({
      put: { rows: 201, alarms: 0 },
      get: { rows: 201, alarms: 0 },
      done: { rows: 101, alarms: 0 },
    });
  });

  it("a release, a lease that expires, a delayed put", async () => {
    const name = await queue({ lease_seconds: 1 });
    await call("POST", q(name, "put"), { items: [{ item: "a" }, { item: "b" }] });
    const { receipt } = (await call("POST", q(name, "get"), {})).body!;
    const release = await cost(name, () => call("POST", q(name, "release"), { receipt }));
    const delayed = await cost(name, () => call("POST", q(name, "put"), { item: "later", delay: 60 }));
    await call("POST", q(name, "get"), { max: 2 });
    const expiry = await cost(name, later(name, 2_000));
    expect({ release, delayed, expiry }).toEqual({
      release: { rows: 3, alarms: 0 }, // the row, its items_ready entry, the meta row
      delayed: { rows: 3, alarms: 0 }, // the row, its items_ready and items_delayed entries; the alarm stays earlier
      expiry: { rows: 5, alarms: 0 }, // two rows back in items_ready, the meta row
    });
  });
});
