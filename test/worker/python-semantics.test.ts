// What Python programs need of the service: priorities ordered as Python orders tuples, a maxsize that can change,
// and non-blocking calls that ignore `timeout`, as CPython's do.
import { describe, expect, it } from "vitest";
import { call, createQueue, op, stats, until } from "./helpers.ts";

describe("priorities as Python orders them", () => {
  it("orders numbers, strings and tuples element by element, FIFO among equal keys", async () => {
    const name = await createQueue({ order: "priority", lease_seconds: null });
    const puts: [unknown, unknown][] = [
      [[2, "a"], "2a"],
      [[1, "z"], "1z"],
      [[1, "b"], "1b-first"],
      [[1, "b"], "1b-second"],
      [[1], "1"],
      [0.5, "half"],
      ["b", "str"],
    ];
    await op(name, "put", { items: puts.map(([priority, item]) => ({ item, priority })) });
    const got = (await op(name, "get", { max: 10 })).body!.items as { item: string; priority: unknown }[];
    expect(got.map((d) => d.item)).toEqual(["half", "str", "1", "1b-first", "1b-second", "1z", "2a"]);
    expect(got[3]!.priority).toEqual([1, "b"]);
  });

  it("refuses keys that are not numbers, strings or arrays of them, or too long", async () => {
    const name = await createQueue({ order: "priority" });
    for (const priority of [{ a: 1 }, true, null, [[[1]]], "x".repeat(300), [1, null]]) {
      const res = await op(name, "put", { item: 1, priority });
      expect(res.status, JSON.stringify(priority)).toBe(400);
      expect(res.body!.detail).toContain("priority");
    }
    expect(await stats(name)).toMatchObject({ qsize: 0 });
  });
});

describe("maxsize can change", () => {
  it("growing maxsize releases a waiting putter at once; shrinking it makes the queue full", async () => {
    const name = await createQueue({ maxsize: 1 });
    await op(name, "put", { item: 1 });
    const blocked = op(name, "put", { item: 2, timeout: 10 });
    await until(async () => (await stats(name)).waiting.putters === 1);
    const changed = await call("PATCH", `/v1/queues/${name}`, { maxsize: 2 });
    expect(changed).toMatchObject({ status: 200, body: { maxsize: 2 } });
    expect((await blocked).status).toBe(201);
    expect(await stats(name)).toMatchObject({ qsize: 2, full: true });
    expect(
      (await call("PATCH", `/v1/queues/${name}`, { maxsize: 1, lease_seconds: null, max_deliveries: 3 })).body,
    ).toMatchObject({ maxsize: 1, lease_seconds: null, max_deliveries: 3 });
    expect((await op(name, "put", { item: 3, block: false })).body).toMatchObject({ code: "full" });
    const listed = (await call("GET", "/v1/queues?limit=1000")).body!.queues.find(
      (q: { name: string }) => q.name === name,
    );
    expect(listed).toMatchObject({ maxsize: 1, lease_seconds: null, max_deliveries: 3 });
  });

  it("refuses to change the order, and bad values, with the field named", async () => {
    const name = await createQueue();
    for (const [body, field] of [
      [{ order: "lifo" }, "order"],
      [{ maxsize: -1 }, "maxsize"],
      [{ lease_seconds: 0 }, "lease_seconds"],
    ] as const) {
      const res = await call("PATCH", `/v1/queues/${name}`, body);
      expect(res.status).toBe(400);
      expect(res.body!.detail).toContain(field);
    }
    expect((await call("PATCH", "/v1/queues/nope-nope", { maxsize: 3 })).status).toBe(404);
  });
});

describe("block: false ignores timeout, as in CPython", () => {
  it("answers Empty and Full instead of refusing the timeout; a blocking call still refuses it", async () => {
    const name = await createQueue({ maxsize: 1 });
    expect((await op(name, "get", { block: false, timeout: -1 })).body).toMatchObject({ code: "empty" });
    await op(name, "put", { item: 1 });
    expect((await op(name, "put", { item: 2, block: false, timeout: -1 })).body).toMatchObject({ code: "full" });
    const refused = await op(name, "get", { timeout: -1 });
    expect(refused).toMatchObject({ status: 400, body: { code: "invalid_request" } });
    expect(refused.body!.detail).toContain("timeout");
    expect((await op(name, "join", { timeout: -1 })).status).toBe(400);
  });
});
