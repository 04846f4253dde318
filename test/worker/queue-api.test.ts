// The queue through the real Worker and Durable Object in workerd: blocking, waking, shutdown, concurrency, restarts.
import { abortAllDurableObjects } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, createQueue, op, stats, uniqueName, until, waitingGetters } from "./helpers.ts";

describe("queue lifecycle", () => {
  it("creates idempotently, refuses a different configuration, lists, and deletes", async () => {
    const name = uniqueName("life");
    const created = await call("PUT", `/v1/queues/${name}`, { maxsize: 3, order: "lifo" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name,
      maxsize: 3,
      order: "lifo",
      lease_seconds: 30,
      max_deliveries: 10,
      qsize: 0,
    });
    expect((await call("PUT", `/v1/queues/${name}`, { maxsize: 3, order: "lifo" })).status).toBe(200);
    const conflict = await call("PUT", `/v1/queues/${name}`, { maxsize: 4 });
    expect(conflict).toMatchObject({ status: 409, type: "application/problem+json", body: { code: "conflict" } });
    const listed = await call("GET", `/v1/queues?limit=1000`);
    expect(listed.body!.queues.map((q: { name: string }) => q.name)).toContain(name);
    expect((await call("DELETE", `/v1/queues/${name}`)).status).toBe(204);
    expect((await call("GET", `/v1/queues/${name}`)).body).toMatchObject({ code: "not_found" });
    expect((await call("DELETE", `/v1/queues/${name}`)).status).toBe(404);
    const after = await call("GET", `/v1/queues?limit=1000`);
    expect(after.body!.queues.map((q: { name: string }) => q.name)).not.toContain(name);
  });

  it("answers 404 for every operation on a queue that was never created", async () => {
    const name = uniqueName("ghost");
    for (const verb of ["put", "get", "task_done", "join", "shutdown"]) {
      const res = await op(name, verb, verb === "put" ? { item: 1 } : {});
      expect(res, verb).toMatchObject({ status: 404, body: { code: "not_found" } });
    }
  });

  it("a deleted queue starts empty when created again, and old receipts do not match it", async () => {
    const name = await createQueue();
    await op(name, "put", { item: 1 });
    const { receipt } = (await op(name, "get")).body!;
    await call("DELETE", `/v1/queues/${name}`);
    await createQueue({}, name);
    expect(await stats(name)).toMatchObject({ qsize: 0, unfinished_tasks: 0 });
    expect((await op(name, "task_done", { receipt })).body).toMatchObject({ code: "invalid_receipt" });
  });
});

describe("blocking calls", () => {
  it("a blocked get is released by a put", async () => {
    const name = await createQueue();
    const pending = op(name, "get", { timeout: 10 });
    await waitingGetters(name, 1);
    expect((await op(name, "put", { item: "hello" })).status).toBe(201);
    expect(await pending).toMatchObject({ status: 200, body: { item: "hello", deliveries: 1 } });
  });

  it("a blocked put is released by a get", async () => {
    const name = await createQueue({ maxsize: 1 });
    await op(name, "put", { item: 1 });
    expect((await op(name, "put", { item: 2, block: false })).body).toMatchObject({ code: "full" });
    const pending = op(name, "put", { item: 2, timeout: 10 });
    await until(async () => (await stats(name)).waiting.putters === 1);
    expect((await op(name, "get")).body).toMatchObject({ item: 1 });
    expect((await pending).status).toBe(201);
    expect(await stats(name)).toMatchObject({ qsize: 1, unfinished_tasks: 2 });
  });

  it("join is released by the last task_done, and reports drained", async () => {
    const name = await createQueue();
    await op(name, "put", { items: [{ item: 1 }, { item: 2 }] });
    const joined = op(name, "join", { timeout: 10 });
    const a = (await op(name, "get")).body!;
    const b = (await op(name, "get")).body!;
    await op(name, "task_done", { receipt: a.receipt });
    await until(async () => (await stats(name)).waiting.joiners === 1);
    await op(name, "task_done", { receipt: b.receipt });
    expect(await joined).toMatchObject({ status: 200, body: { drained: true, unfinished_tasks: 0 } });
  });

  it("join and get time out with the caller's timeout", async () => {
    const name = await createQueue();
    await op(name, "put", { item: 1 });
    expect(await op(name, "join", { timeout: 0.2 })).toMatchObject({
      status: 200,
      body: { drained: false, unfinished_tasks: 1 },
    });
    await op(name, "get");
    expect(await op(name, "get", { timeout: 0.2 })).toMatchObject({ status: 409, body: { code: "empty" } });
  });

  it("the server cap ends a longer wait with poll_again, distinct from Empty", async () => {
    // MAX_WAIT_SECONDS is 2 in the test configuration.
    const name = await createQueue();
    const res = await op(name, "get", { timeout: 60 });
    expect(res).toMatchObject({ status: 409, type: "application/problem+json", body: { code: "poll_again" } });
    expect((await op(name, "get", {})).body).toMatchObject({ code: "poll_again" });
    await op(name, "put", { item: 1 });
    expect((await op(name, "join", { timeout: null })).body).toMatchObject({ code: "poll_again" });
  });

  it("shutdown wakes every waiting getter and putter with 410", async () => {
    const full = await createQueue({ maxsize: 1 });
    await op(full, "put", { item: 0 });
    const empty = await createQueue();
    const getters = [1, 2, 3].map(() => op(empty, "get", { timeout: 10 }));
    const putters = [1, 2].map(() => op(full, "put", { item: 1, timeout: 10 }));
    await waitingGetters(empty, 3);
    await until(async () => (await stats(full)).waiting.putters === 2);
    await op(empty, "shutdown");
    await op(full, "shutdown");
    for (const res of await Promise.all([...getters, ...putters]))
      expect(res).toMatchObject({ status: 410, body: { code: "shutdown" } });
    // get keeps draining a shut-down queue, then answers ShutDown rather than Empty
    expect((await op(full, "get", { block: false })).body).toMatchObject({ item: 0 });
    expect((await op(full, "get", { block: false })).status).toBe(410);
  });

  it("immediate shutdown drains items and lowers the counter per drained item", async () => {
    const name = await createQueue({ lease_seconds: null });
    await op(name, "put", { items: [{ item: 1 }, { item: 2 }, { item: 3 }] });
    await op(name, "get");
    const res = await op(name, "shutdown", { immediate: true });
    expect(res.body).toMatchObject({ qsize: 0, unfinished_tasks: 1, shutdown: true, immediate: true });
    expect((await op(name, "join", { timeout: 0 })).body).toMatchObject({ drained: false });
    await op(name, "task_done");
    expect((await op(name, "join", { timeout: 0 })).body).toMatchObject({ drained: true });
  });

  it("200 concurrent getters and 200 puts: every item delivered exactly once", async () => {
    const name = await createQueue();
    const gets = Array.from({ length: 200 }, () => op(name, "get", { timeout: 15 }));
    const puts = Array.from({ length: 200 }, (_, i) => op(name, "put", { item: i }));
    expect((await Promise.all(puts)).every((r) => r.status === 201)).toBe(true);
    const got = await Promise.all(gets);
    expect(got.every((r) => r.status === 200)).toBe(true);
    expect(got.map((r) => r.body!.item).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    await Promise.all(got.map((r) => op(name, "task_done", { receipt: r.body!.receipt })));
    expect(await stats(name)).toMatchObject({ qsize: 0, unfinished_tasks: 0, leased: 0 });
  });
});

describe("durability", () => {
  it("a call waiting when the object restarts fails with 503 unavailable, and no item is lost", async () => {
    const name = await createQueue();
    const pending = op(name, "get", { timeout: 10 });
    await waitingGetters(name, 1);
    await abortAllDurableObjects();
    expect(await pending).toMatchObject({ status: 503, body: { code: "unavailable" } });
    await op(name, "put", { item: 1 });
    expect(await stats(name)).toMatchObject({ qsize: 1, unfinished_tasks: 1, waiting: { getters: 0 } });
  });

  it("deleting a queue answers its waiting calls with 404", async () => {
    const name = await createQueue();
    const pending = op(name, "get", { timeout: 10 });
    await waitingGetters(name, 1);
    await call("DELETE", `/v1/queues/${name}`);
    expect(await pending).toMatchObject({ status: 404, body: { code: "not_found", detail: "the queue was deleted" } });
  });

  it("items, order and the counter survive restarts of the object between operations", async () => {
    const name = await createQueue({ order: "priority" });
    await op(name, "put", {
      items: [
        { item: "low", priority: 5 },
        { item: "high", priority: 1 },
        { item: "mid", priority: 3 },
      ],
    });
    await abortAllDurableObjects();
    const first = (await op(name, "get")).body!;
    expect(first.item).toBe("high");
    await abortAllDurableObjects();
    await op(name, "task_done", { receipt: first.receipt });
    await abortAllDurableObjects();
    expect(await stats(name)).toMatchObject({ qsize: 2, unfinished_tasks: 2, leased: 0 });
    expect((await op(name, "get", { max: 5 })).body!.items.map((d: { item: string }) => d.item)).toEqual([
      "mid",
      "low",
    ]);
  });
});
