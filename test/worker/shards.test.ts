// Sharded queues through the Worker: one queue over several objects, items spread and handed between them, receipts
// that name their shard, and a join proven across every shard (src/objects/shards, docs/shards.md).
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { shardsOf } from "../../src/front/queues.ts";
import type { Meter, QueueObject } from "../../src/objects/queue/queue-object.ts";
import { shardName } from "../../src/objects/shards/names.ts";
import {
  call,
  createQueue,
  expectProblem,
  type Msg,
  op,
  raw,
  stats,
  subscribe,
  uniqueName,
  until,
  waitForMessages,
} from "./helpers.ts";

const deliveries = (s: { messages: Msg[] }) => s.messages.filter((m) => m.type === "delivery");
const JSON_TYPE = { "content-type": "application/json" };
type Delivery = { id: number; item: unknown; receipt: string; group: string | null };

const shardStub = (name: string, i: number) => env.QUEUES.get(env.QUEUES.idFromName(shardName(name, i)));
/** Each shard's own stats, read in the object (the Worker only ever answers their sum). */
const shardStats = (name: string, n: number) =>
  Promise.all(
    Array.from({ length: n }, (_, i) =>
      runInDurableObject(shardStub(name, i), async (o: QueueObject) => {
        const s = await o.stats();
        if (!s.ok) throw new Error(s.message);
        return s.stats;
      }),
    ),
  );
const meters = (name: string, n: number) =>
  Promise.all(
    Array.from({ length: n }, (_, i) => runInDurableObject(shardStub(name, i), (o: QueueObject) => o.meter())),
  );
const written = (m: Meter[]) => m.reduce((n, x) => n + x.rows_written + x.alarms_set, 0);

describe("sharded queues", () => {
  it("is created over N objects; its stats add them up; puts spread over them", async () => {
    const name = await createQueue({ shards: 4 });
    const created = await stats(name);
    expect(created).toMatchObject({ name, shards: 4, qsize: 0, unfinished_tasks: 0 });
    expect(created.shard).toBeUndefined();
    for (let i = 0; i < 40; i++) expect((await op(name, "put", { item: i })).status).toBe(201);
    const per = await shardStats(name, 4);
    expect(per.map((s) => s.shard)).toEqual([0, 1, 2, 3]);
    expect(per.reduce((n, s) => n + s.qsize, 0)).toBe(40);
    expect(per.filter((s) => s.qsize > 0).length).toBeGreaterThan(1);
    expect(await stats(name)).toMatchObject({ qsize: 40, unfinished_tasks: 40, puts: 40, shards: 4 });
  });

  it("a Worker keeps a queue's shard count: calls after the first answer do not ask again", async () => {
    let asked = 0;
    const first = {
      shardCount: async () => {
        asked++;
        return 4;
      },
    };
    const worker = { QUEUES: { idFromName: (n: string) => n, get: () => first } } as unknown as Env;
    const name = uniqueName();
    expect(await shardsOf(worker, name)).toBe(4);
    const counts = await Promise.all(Array.from({ length: 50 }, () => shardsOf(worker, name)));
    expect(counts).toEqual(Array(50).fill(4));
    expect(asked).toBe(1);
  });

  it("refuses what a shard cannot keep alone, with the reason, and creates nothing", async () => {
    for (const [config, field] of [
      [{ shards: 2, maxsize: 10 }, /maxsize/],
      [{ shards: 2, lease_seconds: null }, /lease_seconds/],
      [{ shards: 65 }, /shards/],
      [{ shards: 0 }, /shards/],
    ] as const) {
      const name = `refused-${Math.random().toString(36).slice(2, 8)}`;
      await expectProblem(
        await raw("PUT", `/v1/queues/${name}`, JSON.stringify(config), JSON_TYPE),
        400,
        "invalid_request",
        field,
      );
      expect((await call("GET", `/v1/queues/${name}`)).status).toBe(404);
    }
    const name = await createQueue({ shards: 2 });
    await expectProblem(
      await raw("PATCH", `/v1/queues/${name}`, '{"maxsize":5}', JSON_TYPE),
      400,
      "invalid_request",
      /maxsize/,
    );
    expect((await call("PUT", `/v1/queues/${name}`, { shards: 3 })).status).toBe(409);
  });

  it("a shard key keeps its items on one shard, in order", async () => {
    const name = await createQueue({ shards: 8 });
    for (let i = 0; i < 20; i++) await op(name, "put", { item: i, shard_key: "customer-7" });
    const per = await shardStats(name, 8);
    expect(per.filter((s) => s.qsize > 0).length).toBe(1);
    const got: Delivery[] = (await op(name, "get", { max: 20, block: false })).body!.items;
    expect(got.map((d) => d.item)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it("a retried put with an idempotency key and no shard key lands once, by whichever door or socket", async () => {
    const name = await createQueue({ shards: 4 });
    // Each attempt may reach any shard first (a Worker picks at random, a socket is one shard's): all go to the key's.
    for (let attempt = 0; attempt < 12; attempt++) {
      const header = await op(name, "put", { item: "one" }, { "idempotency-key": "order-1" });
      expect(header.body).toMatchObject({ replayed: attempt > 0 });
      const body = await op(name, "put", { items: [{ item: "b1" }, { item: "b2" }], idempotency_key: "batch-1" });
      expect(body.body).toMatchObject({ replayed: attempt > 0 });
    }
    for (let attempt = 0; attempt < 4; attempt++) {
      const socket = await subscribe(name);
      socket.send({ op: "put", id: 1, item: "frame", idempotency_key: "frame-1" });
      await waitForMessages(socket, 1);
      expect(socket.messages[0]).toMatchObject({ type: "put", replayed: attempt > 0 });
      socket.ws.close();
    }
    expect(await stats(name)).toMatchObject({ qsize: 4, puts: 4, unfinished_tasks: 4 });
    expect((await shardStats(name, 4)).filter((s) => s.qsize > 0).length).toBeLessThanOrEqual(3);
  });

  it("a get on an empty shard takes a sibling's item: get_nowait answers Empty only when every shard is empty", async () => {
    const name = await createQueue({ shards: 8 });
    await op(name, "put", { item: "only", shard_key: "k" });
    // Whichever shard the get lands on, it finds the one item.
    const got = await op(name, "get", { block: false });
    expect(got.status).toBe(200);
    expect(got.body!.item).toBe("only");
    await expectProblem(await raw("POST", `/v1/queues/${name}/get`, '{"block":false}', JSON_TYPE), 409, "empty");
    expect((await op(name, "task_done", { receipt: got.body!.receipt })).status).toBe(200);
    expect(await stats(name)).toMatchObject({ unfinished_tasks: 0, qsize: 0 });
  });

  it("a waiting get on one shard is served by an item put on another", async () => {
    const name = await createQueue({ shards: 4 });
    const waiting = Array.from({ length: 4 }, () => op(name, "get", { timeout: 10 }));
    await until(async () => (await stats(name)).waiting.getters === 4);
    for (let i = 0; i < 4; i++) await op(name, "put", { item: i, shard_key: "same" }); // all on one shard
    const got = await Promise.all(waiting);
    expect(got.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(got.map((r) => r.body!.item).sort()).toEqual([0, 1, 2, 3]);
  });

  it("receipts name their shard: task_done, extend, release and a batch across shards reach the item's object", async () => {
    const name = await createQueue({ shards: 4 });
    const keys = ["a", "b", "c", "d", "e", "f", "g", "h"];
    for (const k of keys) await op(name, "put", { item: k, shard_key: k });
    const got: Delivery[] = [];
    while (got.length < keys.length) got.push(...(await op(name, "get", { max: 8, block: false })).body!.items);
    expect(new Set(got.map((d) => d.receipt.split(".")[0]!.split("-")[1])).size).toBeGreaterThan(1);
    expect(new Set(got.map((d) => d.id)).size).toBe(8); // ids are the queue's, not a shard's
    expect((await op(name, "extend", { receipt: got[0]!.receipt, lease_seconds: 60 })).status).toBe(200);
    expect((await op(name, "release", { receipt: got[1]!.receipt })).body).toEqual({ dead_lettered: false });
    const batch = await op(name, "task_done", { receipts: [got[0]!.receipt, ...got.slice(2).map((d) => d.receipt)] });
    expect(batch.body!.results).toEqual(Array(7).fill("done"));
    await expectProblem(
      await raw("POST", `/v1/queues/${name}/task_done`, "{}", JSON_TYPE),
      400,
      "invalid_request",
      /receipt/,
    );
    expect(await stats(name)).toMatchObject({ unfinished_tasks: 1, qsize: 1 });
  });

  it("join waits for every shard and returns once the last task_done anywhere is in", async () => {
    const name = await createQueue({ shards: 4 });
    for (const k of ["a", "b", "c", "d", "e"]) await op(name, "put", { item: k, shard_key: k });
    const got: Delivery[] = [];
    while (got.length < 5) got.push(...(await op(name, "get", { max: 5, block: false })).body!.items);
    let joined = false;
    const join = op(name, "join", { timeout: 20 }).then((r) => {
      joined = true;
      return r;
    });
    for (const d of got.slice(0, 4)) await op(name, "task_done", { receipt: d.receipt });
    expect((await op(name, "join", { timeout: 0 })).body).toMatchObject({ drained: false });
    expect(joined).toBe(false);
    await op(name, "task_done", { receipt: got[4]!.receipt });
    expect((await join).body).toEqual({ drained: true, unfinished_tasks: 0, dead_lettered: 0 });
  });

  it("join on a group counts that group on every shard", async () => {
    const name = await createQueue({ shards: 4 });
    for (const k of ["a", "b", "c"]) await op(name, "put", { item: k, shard_key: k, group: "G" });
    await op(name, "put", { item: "other", shard_key: "z" });
    const join = op(name, "join", { group: "G", timeout: 20 });
    const got: Delivery[] = [];
    while (got.length < 4) got.push(...(await op(name, "get", { max: 4, block: false })).body!.items);
    for (const d of got.filter((d) => d.group === "G")) await op(name, "task_done", { receipt: d.receipt });
    expect((await join).body).toMatchObject({ drained: true, group: "G", unfinished_tasks: 0 });
    expect((await call("GET", `/v1/queues/${name}/groups/G`)).body).toMatchObject({ puts: 3, completed: 3 });
    expect((await op(name, "join", { timeout: 0 })).body).toMatchObject({ drained: false });
  });

  it("peek, dead letters, shutdown and delete treat the queue as one", async () => {
    const name = await createQueue({ shards: 3, max_deliveries: 1 });
    for (const k of ["a", "b", "c", "d"]) await op(name, "put", { item: k, shard_key: k });
    const peeked = (await call("GET", `/v1/queues/${name}/items?state=ready`)).body!.items;
    expect(peeked.map((p: { item: string }) => p.item).sort()).toEqual(["a", "b", "c", "d"]);
    const got: Delivery[] = [];
    while (got.length < 4) got.push(...(await op(name, "get", { max: 4, block: false })).body!.items);
    for (const d of got) await op(name, "release", { receipt: d.receipt }); // max_deliveries 1: dead
    expect((await call("GET", `/v1/queues/${name}/dead_letters`)).body!.items).toHaveLength(4);
    expect((await op(name, "join", { timeout: 0 })).body).toMatchObject({ drained: true, dead_lettered: 4 });
    expect((await op(name, "dead_letters/redrive", { limit: 3 })).body!.ids).toHaveLength(3);
    expect(await stats(name)).toMatchObject({ unfinished_tasks: 3, dead_lettered: 1 });
    expect((await op(name, "shutdown", { immediate: true })).body).toMatchObject({ shutdown: true, qsize: 0 });
    expect((await call("DELETE", `/v1/queues/${name}`)).status).toBe(204);
    for (const s of await Promise.all(
      [0, 1, 2].map((i) => runInDurableObject(shardStub(name, i), (o: QueueObject) => o.shardCount())),
    ))
      expect(s).toBe(0);
  });

  it("sharding adds no row written per job (the meter, N = 1 and N = 8)", async () => {
    // Rows written per job (put, get, task_done: one item each, the costliest kind), measured on two runs of
    // different length so each object's fixed costs (its first alarm, its meta row) drop out: the marginal cost.
    const rows = async (shards: number, jobs: number) => {
      const name = await createQueue(shards === 1 ? {} : { shards });
      for (let i = 0; i < jobs; i++) await op(name, "put", { item: i });
      for (let i = 0; i < jobs; i++) {
        const got = (await op(name, "get", { block: false })).body! as Delivery;
        expect((await op(name, "task_done", { receipt: got.receipt })).status).toBe(200);
      }
      return written(await meters(name, shards));
    };
    const perJob = async (shards: number) => ((await rows(shards, 120)) - (await rows(shards, 40))) / 80;
    const one = await perJob(1);
    const eight = await perJob(8);
    expect(one).toBeCloseTo(3, 0); // a put, a get, a task_done: one segment row each
    expect(eight, `rows per job: N = 1 ${one}, N = 8 ${eight}`).toBeLessThanOrEqual(one + 0.1);
  });
});

describe("sharded queues over sockets and callbacks", () => {
  it("a socket consumer on one shard gets items put on the others; its join frames count every shard", async () => {
    const name = await createQueue({ shards: 4 });
    const consumer = await subscribe(name);
    consumer.send({ op: "consume", id: "c", prefetch: 2 });
    const joiner = await subscribe(name);
    joiner.send({ op: "join", id: "j", repeat: true });
    await waitForMessages(joiner, 1); // nothing put yet: drained at once
    for (const k of ["a", "b", "c", "d", "e", "f"]) await op(name, "put", { item: k, shard_key: k });
    const done = new Set<string>();
    while (done.size < 6) {
      await until(async () => deliveries(consumer).length > done.size);
      for (const d of deliveries(consumer).slice(done.size)) {
        // Each task_done goes back on the socket, to whichever shard it is on: the credit comes back.
        consumer.send({ op: "task_done", id: `done-${d.item}`, receipt: d.receipt });
        done.add(d.item);
      }
    }
    expect([...done].sort()).toEqual(["a", "b", "c", "d", "e", "f"]);
    await waitForMessages(joiner, 2);
    expect(joiner.messages).toEqual([
      { type: "joined", id: "j", unfinished_tasks: 0, dead_lettered: 0 },
      { type: "joined", id: "j", unfinished_tasks: 0, dead_lettered: 0 },
    ]);
    expect(await stats(name)).toMatchObject({ unfinished_tasks: 0, completed: 6 });
    for (const s of [consumer, joiner]) s.ws.close();
  });

  it("a socket that watches a sharded queue is sent the queue's totals, not its own shard's", async () => {
    const name = await createQueue({ shards: 4 });
    const watcher = await subscribe(name);
    watcher.send({ op: "watch" });
    for (const k of ["a", "b", "c", "d", "e", "f", "g", "h"]) await op(name, "put", { item: k, shard_key: k });
    expect(new Set((await shardStats(name, 4)).filter((s) => s.qsize > 0)).size).toBeGreaterThan(1);
    await until(async () => watcher.messages.some((m) => m.type === "stats" && m.stats.qsize === 8), 10_000);
    const last = watcher.messages.filter((m) => m.type === "stats").at(-1)!.stats;
    expect(last).toMatchObject({ shards: 4, qsize: 8, puts: 8, unfinished_tasks: 8 });
    expect(last.shard).toBeUndefined();
    watcher.ws.close();
  });

  it("a join callback fires once, signed, when every shard has drained", async () => {
    const name = await createQueue({ shards: 3 });
    for (const k of ["a", "b", "c"]) await op(name, "put", { item: k, shard_key: k });
    const arrivals: Msg[] = [];
    const added = await runInDurableObject(shardStub(name, 0), (o: QueueObject) => {
      (o as unknown as { push: { send: unknown } }).push.send = async (_url: string, init: RequestInit) => {
        arrivals.push({
          body: JSON.parse(init.body as string),
          headers: Object.fromEntries(new Headers(init.headers)),
        });
        return new Response(null, { status: 200 });
      };
      return o.addJoinCallback({ url: "https://coordinator.test/done", repeat: false, min_backoff_seconds: 0.02 });
    });
    expect(added).toMatchObject({ ok: true, callback: { state: "waiting" } });
    const got: Delivery[] = [];
    while (got.length < 3) got.push(...(await op(name, "get", { max: 3, block: false })).body!.items);
    for (const d of got.slice(0, 2)) await op(name, "task_done", { receipt: d.receipt });
    expect(arrivals).toHaveLength(0);
    await op(name, "task_done", { receipt: got[2]!.receipt });
    await until(async () => arrivals.length === 1);
    expect(arrivals[0]!.body).toMatchObject({ type: "queue.drained", data: { queue: name, drained: true } });
    expect(arrivals[0]!.headers["webhook-signature"]).toMatch(/^v1,/);
  });
});
