// Fair groups through the real Worker: the queue's dispatch and caps, a group's settings and cancel, their problems,
// and a sharded queue's cancel reaching every shard.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { homeOf } from "../../src/objects/shards/shards.ts";
import { shardObject } from "../../src/objects/stubs.ts";
import { call, createQueue, expectProblem, op, raw, stats } from "./helpers.ts";

const groupPath = (name: string, group: string) => `/v1/queues/${name}/groups/${group}`;

describe("fair groups over HTTP", () => {
  it("a queue takes dispatch, group_max_in_flight and group_retention_seconds, and its stats answer them", async () => {
    const name = await createQueue({ dispatch: "fair", group_max_in_flight: 2 });
    expect(await stats(name)).toMatchObject({
      dispatch: "fair",
      group_max_in_flight: 2,
      group_retention_seconds: 86_400,
    });
    const changed = await call("PATCH", `/v1/queues/${name}`, { dispatch: "fifo", group_retention_seconds: 600 });
    expect(changed.body).toMatchObject({ dispatch: "fifo", group_max_in_flight: 2, group_retention_seconds: 600 });
    expect((await call("PATCH", `/v1/queues/${name}`, { group_max_in_flight: null })).body).toMatchObject({
      group_max_in_flight: null,
    });
    // The old default answers for a queue made without them, and a repeat PUT of its first configuration is no conflict.
    const plain = await createQueue();
    expect(await stats(plain)).toMatchObject({ dispatch: "fifo", group_max_in_flight: null });
  });

  it("refuses settings out of range with a precise 400, changing nothing", async () => {
    const name = await createQueue();
    for (const [body, field] of [
      [{ dispatch: "round-robin" }, "dispatch"],
      [{ group_max_in_flight: 0 }, "group_max_in_flight"],
      [{ group_retention_seconds: 10 }, "group_retention_seconds"],
      [{ group_retention_seconds: 604_801 }, "group_retention_seconds"],
    ] as const) {
      await expectProblem(
        await raw("PATCH", `/v1/queues/${name}`, JSON.stringify(body), json),
        400,
        "invalid_request",
        new RegExp(field),
      );
    }
    await op(name, "put", { item: 1, group: "g" });
    for (const body of [{ weight: 0 }, { weight: 101 }, { max_in_flight: 0 }, { color: "red" }]) {
      await expectProblem(await raw("PATCH", groupPath(name, "g"), JSON.stringify(body), json), 400, "invalid_request");
    }
    expect((await call("GET", groupPath(name, "g"))).body).toMatchObject({ weight: 1, max_in_flight: null });
    expect(await stats(name)).toMatchObject({ dispatch: "fifo", group_max_in_flight: null });
  });

  it("PATCH …/groups/{group} sets its weight and cap, ahead of its first put too", async () => {
    const name = await createQueue({ dispatch: "fair", group_max_in_flight: 5 });
    const set = await call("PATCH", groupPath(name, "vip"), { weight: 4, max_in_flight: 1 });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ group: "vip", state: "drained", weight: 4, max_in_flight: 1, puts: 0 });
    await op(name, "put", { items: [1, 2, 3].map((item) => ({ item })), group: "vip" });
    await op(name, "put", { items: [1, 2, 3].map((item) => ({ item })), group: "free" });
    const got = (await op(name, "get", { max: 10 })).body!.items.map((d: { group: string }) => d.group);
    expect(got.filter((g: string) => g === "vip")).toHaveLength(1); // its own cap
    expect(got.filter((g: string) => g === "free")).toHaveLength(3);
    const reset = await call("PATCH", groupPath(name, "vip"), { max_in_flight: null });
    expect(reset.body).toMatchObject({ max_in_flight: 5, in_flight: 1 }); // the queue's again
  });

  it("cancel removes its waiting items, 410s later puts, tells heartbeats and task_done, and its join counts it", async () => {
    const name = await createQueue();
    await op(name, "put", { items: [1, 2, 3, 4].map((item) => ({ item })), group: "batch" });
    await op(name, "put", { item: "other" });
    const out = (await op(name, "get", {})).body!;
    const cancelled = await op(name, "groups/batch/cancel");
    expect(cancelled).toMatchObject({ status: 200, body: { group: "batch", cancelled: 3, in_flight: 1 } });
    const refused = await raw("POST", `/v1/queues/${name}/put`, JSON.stringify({ item: 5, group: "batch" }), json);
    await expectProblem(refused, 410, "group_cancelled", /batch/);
    expect((await op(name, "extend", { receipt: out.receipt, lease_seconds: 60 })).body).toMatchObject({
      cancelled: true,
    });
    expect((await op(name, "join", { group: "batch", timeout: 0 })).body).toMatchObject({
      drained: false,
      cancelled: 3,
    });
    expect((await op(name, "task_done", { receipt: out.receipt })).body).toMatchObject({ cancelled: true });
    expect((await op(name, "join", { group: "batch" })).body).toEqual({
      drained: true,
      group: "batch",
      unfinished_tasks: 0,
      dead_lettered: 0,
      cancelled: 3,
    });
    expect((await call("GET", groupPath(name, "batch"))).body).toMatchObject({
      state: "cancelled",
      puts: 4,
      completed: 1,
      cancelled: 3,
    });
    expect((await stats(name)).unfinished_tasks).toBe(1);
    await expectProblem(await raw("POST", `/v1/queues/${name}/groups/nobody/cancel`), 404, "not_found", /nobody/);
  });

  it("a sharded queue's cancel reaches every shard: all its items are removed and no shard takes its puts", async () => {
    const name = await createQueue({ shards: 4 });
    const items = Array.from({ length: 40 }, (_, i) => ({ item: i }));
    for (let i = 0; i < 4; i++) await op(name, "put", { items: items.slice(i * 10, i * 10 + 10), group: "g" });
    expect((await op(name, "groups/g/cancel")).body).toEqual({ group: "g", cancelled: 40, in_flight: 0 });
    for (let i = 0; i < 12; i++) {
      // Keyed puts spread over the shards by their keys: every shard refuses.
      const res = await raw("POST", `/v1/queues/${name}/put`, JSON.stringify({ item: i, group: "g" }), {
        ...json,
        "idempotency-key": `k${i}`,
      });
      await expectProblem(res, 410, "group_cancelled");
    }
    expect((await call("GET", groupPath(name, "g"))).body).toMatchObject({ state: "cancelled", cancelled: 40 });
    expect((await op(name, "join", { group: "g" })).body).toMatchObject({ drained: true, cancelled: 40 });
    expect((await stats(name)).unfinished_tasks).toBe(0);
  });

  it("a shard whose visible items are all of groups at their cap takes a sibling's eligible item, not nothing", async () => {
    const name = await createQueue({ shards: 2, group_max_in_flight: 1 });
    // Both of g's items on one shard, an ungrouped item on the other.
    const key = (i: number) => ["a", "b", "c", "d", "e", "f"].find((k) => homeOf({ shard_key: k }, 2) === i)!;
    const capped = homeOf({ shard_key: "a" }, 2)!;
    await op(name, "put", { items: [{ item: 1 }, { item: 2 }], group: "g", shard_key: "a" });
    await op(name, "put", { item: "free", shard_key: key(1 - capped) });
    const shard = shardObject(env, name, capped);
    const first = await shard.get({ block: false, max: 1 });
    expect(first).toMatchObject({ ok: true, deliveries: [{ group: "g" }] });
    // g is at its cap here: this shard has nothing a get may take, so it takes its sibling's item.
    expect(await shard.get({ block: false, max: 1 })).toMatchObject({ ok: true, deliveries: [{ json: '"free"' }] });
    expect(await shard.get({ block: false, max: 1 })).toMatchObject({ ok: false, code: "empty" });
  });
});

const json = { "content-type": "application/json" };
