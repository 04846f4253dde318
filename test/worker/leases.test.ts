// Crash-safe completion through the Worker: redelivery, fencing, dead letters, alarms, disconnects, idempotency.
import { abortAllDurableObjects, runDurableObjectAlarm } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createQueue, op, stats, until, waitingGetters } from "./helpers.ts";

const stub = (name: string) => env.QUEUES.get(env.QUEUES.idFromName(name));

describe("leases", () => {
  it("are on by default: a plain get carries a receipt and a 30 s lease", async () => {
    const name = await createQueue();
    await op(name, "put", { item: 1 });
    const got = (await op(name, "get")).body!;
    expect(got.receipt).toMatch(/^[0-9a-f]{8}\.\d+\.1\.[0-9a-f]{16}$/);
    expect(got.lease_expires_at - Date.now()).toBeGreaterThan(25_000);
  });

  it("an item whose consumer never calls task_done is redelivered; join waits for the second consumer", async () => {
    const name = await createQueue({ lease_seconds: 1 });
    await op(name, "put", { item: "job" });
    const first = (await op(name, "get")).body!;
    const joined = op(name, "join", { timeout: 10 });
    const second = await op(name, "get", { timeout: 5 }); // released when the alarm returns the item
    expect(second.body).toMatchObject({ id: first.id, item: "job", deliveries: 2 });
    expect(await stats(name)).toMatchObject({ unfinished_tasks: 1, redeliveries: 1, waiting: { joiners: 1 } });
    expect((await op(name, "task_done", { receipt: second.body!.receipt })).status).toBe(200);
    expect((await joined).body).toMatchObject({ drained: true, dead_lettered: 0 });
  });

  it("fences a stale ack with 409; the current holder's ack counts once; its repeat is a no-op", async () => {
    const name = await createQueue({ lease_seconds: 1 });
    await op(name, "put", { item: "job" });
    const a = (await op(name, "get")).body!;
    const b = (await op(name, "get", { timeout: 5 })).body!;
    expect(b.deliveries).toBe(2);
    expect(await op(name, "task_done", { receipt: a.receipt })).toMatchObject({
      status: 409,
      body: { code: "stale_receipt" },
    });
    expect((await stats(name)).unfinished_tasks).toBe(1);
    expect((await op(name, "task_done", { receipt: b.receipt })).body).toEqual({
      unfinished_tasks: 0,
      replayed: false,
    });
    expect((await op(name, "task_done", { receipt: b.receipt })).body).toEqual({ unfinished_tasks: 0, replayed: true });
  });

  it("extend keeps a long job's lease; release with a delay hands it back later", async () => {
    const name = await createQueue({ lease_seconds: 1 });
    await op(name, "put", { item: "long" });
    const a = (await op(name, "get")).body!;
    const extended = await op(name, "extend", { receipt: a.receipt, lease_seconds: 60 });
    expect(extended.body!.lease_expires_at).toBeGreaterThan(a.lease_expires_at);
    expect(await op(name, "get", { timeout: 1.5 })).toMatchObject({ body: { code: "empty" } });
    expect((await op(name, "release", { receipt: a.receipt, delay: 0.5 })).body).toEqual({ dead_lettered: false });
    expect(await stats(name)).toMatchObject({ delayed: 1, leased: 0 });
    expect((await op(name, "get", { timeout: 5 })).body).toMatchObject({ item: "long", deliveries: 2 });
  });

  it("a poison item goes to the dead letters; join reports it; redrive makes join wait again; purge empties them", async () => {
    const name = await createQueue({ max_deliveries: 2 });
    await op(name, "put", { item: "poison" });
    for (let i = 0; i < 2; i++) {
      const d = (await op(name, "get")).body!;
      await op(name, "release", { receipt: d.receipt });
    }
    expect((await op(name, "join", { timeout: 1 })).body).toEqual({
      drained: true,
      unfinished_tasks: 0,
      dead_lettered: 1,
    });
    expect((await call("GET", `/v1/queues/${name}/dead_letters`)).body!.items).toMatchObject([
      { item: "poison", deliveries: 2 },
    ]);
    expect((await op(name, "dead_letters/redrive")).body).toEqual({ ids: [1] });
    expect((await op(name, "join", { timeout: 0 })).body).toMatchObject({ drained: false, unfinished_tasks: 1 });
    const d = (await op(name, "get")).body!;
    await op(name, "release", { receipt: d.receipt });
    await op(name, "release", { receipt: (await op(name, "get")).body!.receipt });
    expect((await call("DELETE", `/v1/queues/${name}/dead_letters`)).body).toEqual({ purged: 1 });
    expect(await stats(name)).toMatchObject({ dead_lettered: 0, unfinished_tasks: 0, qsize: 0 });
  });
});

describe("alarms and restarts", () => {
  it("a late or repeated alarm requeues nothing twice; leases survive a restart", async () => {
    const name = await createQueue({ lease_seconds: 1 });
    await op(name, "put", { items: [{ item: 1 }, { item: 2 }] });
    const a = (await op(name, "get")).body!;
    await abortAllDurableObjects();
    expect(await stats(name)).toMatchObject({ leased: 1, qsize: 1, unfinished_tasks: 2 });
    await until(async () => (await stats(name)).leased === 0); // the alarm fires after the restart
    expect(await runDurableObjectAlarm(stub(name))).toBe(false); // nothing left scheduled
    expect(await stats(name)).toMatchObject({ leased: 0, qsize: 2, unfinished_tasks: 2, redeliveries: 0 });
    expect(await op(name, "task_done", { receipt: a.receipt })).toMatchObject({ status: 409 });
    expect((await op(name, "get")).body).toMatchObject({ item: 1, deliveries: 2 });
  });

  it("running the alarm early changes nothing", async () => {
    const name = await createQueue({ lease_seconds: 60 });
    await op(name, "put", { item: 1 });
    await op(name, "get");
    expect(await runDurableObjectAlarm(stub(name))).toBe(true);
    expect(await stats(name)).toMatchObject({ leased: 1, qsize: 0 });
  });
});

describe("disconnects", () => {
  it("a waiting get whose client went away loses no item: a later get receives it, the counter stays exact", async () => {
    const name = await createQueue({ lease_seconds: 1 });
    const controller = new AbortController();
    const abandoned = exports.default
      .fetch(
        new Request(`http://queues.test/v1/queues/${name}/get`, {
          method: "POST",
          body: JSON.stringify({ timeout: 10 }),
          headers: { "content-type": "application/json" },
          signal: controller.signal,
        }),
      )
      .catch(() => undefined);
    await waitingGetters(name, 1);
    controller.abort();
    await op(name, "put", { item: "precious" });
    const got = await op(name, "get", { timeout: 5 });
    expect(got.body).toMatchObject({ item: "precious" });
    await op(name, "task_done", { receipt: got.body!.receipt });
    expect(await stats(name)).toMatchObject({ unfinished_tasks: 0, qsize: 0, leased: 0 });
    await abandoned;
  });
});

describe("idempotent, delayed and batch puts", () => {
  it("a put retried with the same Idempotency-Key adds one item", async () => {
    const name = await createQueue();
    const first = await op(name, "put", { item: "once" }, { "idempotency-key": "order-42" });
    const retry = await op(name, "put", { item: "once" }, { "idempotency-key": "order-42" });
    const body = await op(name, "put", { item: "once", idempotency_key: "order-42" });
    expect(first).toMatchObject({ status: 201, body: { replayed: false } });
    expect(retry.body).toEqual({ id: first.body!.id, replayed: true });
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(body.body).toEqual({ id: first.body!.id, replayed: true });
    expect(await stats(name)).toMatchObject({ qsize: 1, unfinished_tasks: 1 });
    const clash = await op(name, "put", { item: 1, idempotency_key: "a" }, { "idempotency-key": "b" });
    expect(clash).toMatchObject({ status: 400, body: { code: "invalid_request" } });
  });

  it("a delayed put counts at once and becomes visible later", async () => {
    const name = await createQueue();
    await op(name, "put", { item: "later", delay: 1 });
    expect(await stats(name)).toMatchObject({ unfinished_tasks: 1, delayed: 1 });
    expect((await op(name, "get", { block: false })).body).toMatchObject({ code: "empty" });
    expect((await op(name, "get", { timeout: 5 })).body).toMatchObject({ item: "later" });
  });

  it("batch put is all-or-nothing against maxsize; batch get answers up to max items with receipts", async () => {
    const name = await createQueue({ maxsize: 3 });
    const items = (n: number) => Array.from({ length: n }, (_, i) => ({ item: i }));
    expect((await op(name, "put", { items: items(2) })).body).toEqual({ ids: [1, 2], replayed: false });
    expect((await op(name, "put", { items: items(2), block: false })).body).toMatchObject({ code: "full" });
    expect((await stats(name)).qsize).toBe(2);
    const got = (await op(name, "get", { max: 10 })).body!;
    expect(got.items.map((d: { item: number }) => d.item)).toEqual([0, 1]);
    expect(got.items.every((d: { receipt: string }) => d.receipt)).toBe(true);
  });
});
