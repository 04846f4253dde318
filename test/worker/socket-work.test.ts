// Producers and consumers over the queue's WebSocket: every operation and its error frames, flow control, a socket
// dropped with deliveries held, consumers waiting through an eviction, and exactly-once beside HTTP consumers.
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { QueueObject } from "../../src/objects/queue/queue-object.ts";
import {
  call,
  createQueue,
  inOrder,
  type Msg,
  op,
  stats,
  subscribe,
  until,
  waitForMessages,
  waitingGetters,
} from "./helpers.ts";

type Socket = Awaited<ReturnType<typeof subscribe>>;
const of = (s: Socket, type: string) => s.messages.filter((m) => m.type === type);
const deliveries = (s: Socket) => of(s, "delivery");
const stub = (name: string) => env.QUEUES.get(env.QUEUES.idFromName(name));
const wokeAt = (name: string) => runInDurableObject(stub(name), (o: QueueObject) => o.meter().woke_at);

describe("put over a socket", () => {
  it("answers with the frame's id; items keep their exact text; keys replay; bad frames answer errors", async () => {
    const name = await createQueue({ order: "priority" });
    const s = await subscribe(name);
    s.ws.send('{"op":"put","id":"a","item":{"x":1.0,"big":12345678901234567890},"priority":2}');
    s.send({
      op: "put",
      id: 7,
      items: [
        { item: "b", priority: 1 },
        { item: "c", priority: 3 },
      ],
      idempotency_key: "k",
    });
    s.send({
      op: "put",
      id: 8,
      items: [
        { item: "b", priority: 1 },
        { item: "c", priority: 3 },
      ],
      idempotency_key: "k",
    });
    s.send({ op: "put", id: "bad" });
    s.send({ op: "put", item: 1 });
    await waitForMessages(s, 5);
    expect(s.messages).toEqual([
      { type: "put", id: "a", ids: [1], replayed: false },
      { type: "put", id: 7, ids: [2, 3], replayed: false },
      { type: "put", id: 8, ids: [2, 3], replayed: true },
      expect.objectContaining({ type: "error", id: "bad", code: "invalid_request", status: 400 }),
      expect.objectContaining({ type: "error", code: "invalid_request", detail: expect.stringMatching(/^id:/) }),
    ]);
    const res = await call("POST", `/v1/queues/${name}/get`, { max: 3 });
    expect(res.body!.items.map((d: Msg) => d.item)).toEqual(["b", { x: 1, big: 12345678901234567000 }, "c"]);
    s.ws.close();
  });

  it("a put into a full queue waits, and is answered when the item fits", async () => {
    const name = await createQueue({ maxsize: 1 });
    const s = await subscribe(name);
    s.send({ op: "put", id: 1, item: "a" });
    s.send({ op: "put", id: 2, item: "b" });
    await waitForMessages(s, 1);
    await until(async () => (await stats(name)).waiting.putters === 1); // the second put waits in the object
    await inOrder(s);
    expect(s.messages).toHaveLength(1);
    await op(name, "get");
    await waitForMessages(s, 2);
    expect(s.messages[1]).toEqual({ type: "put", id: 2, ids: [2], replayed: false });
    s.send({ op: "put", id: 3, item: "c", block: false });
    await waitForMessages(s, 3);
    expect(s.messages[2]).toMatchObject({ type: "error", id: 3, code: "full", status: 409 });
    s.ws.close();
  });
});

describe("consume with a prefetch", () => {
  it("holds at most prefetch deliveries; each task_done lets one more in; cancel stops it", async () => {
    const name = await createQueue({ lease_seconds: 30 });
    await op(name, "put", { items: [1, 2, 3, 4, 5].map((item) => ({ item })) });
    const s = await subscribe(name);
    s.send({ op: "consume", id: "c", prefetch: 2 });
    await until(async () => deliveries(s).length === 2);
    await inOrder(s);
    expect(deliveries(s).map((d) => d.item)).toEqual([1, 2]);
    expect(await stats(name)).toMatchObject({ qsize: 3, leased: 2 });
    expect(deliveries(s)[0]).toMatchObject({ consumer: "c", id: 1, deliveries: 1, receipt: expect.any(String) });
    s.send({ op: "task_done", id: "t1", receipt: deliveries(s)[0]!.receipt });
    await until(async () => deliveries(s).length === 3);
    s.send({ op: "task_done", id: "t2", receipts: deliveries(s).map((d) => d.receipt) });
    await until(async () => deliveries(s).length === 5);
    s.send({ op: "cancel", id: "c" });
    await until(async () => of(s, "cancel").length === 1);
    await op(name, "put", { item: 6 });
    await inOrder(s);
    expect(deliveries(s)).toHaveLength(5);
    expect((await stats(name)).qsize).toBe(1); // item 6 stayed in the queue
    expect(of(s, "task_done")).toEqual([
      { type: "task_done", id: "t1", unfinished_tasks: 4, replayed: false },
      { type: "task_done", id: "t2", unfinished_tasks: 2, results: ["replayed", "done", "done"] },
    ]);
    expect((await stats(name)).waiting.getters).toBe(0);
    s.ws.close();
  });

  it("extend and release answer like HTTP; a stale receipt is an error frame", async () => {
    const name = await createQueue({ lease_seconds: 30, max_deliveries: 5 });
    await op(name, "put", { item: "x" });
    const s = await subscribe(name);
    s.send({ op: "consume", id: "c" });
    await until(async () => deliveries(s).length === 1);
    const [first] = deliveries(s);
    s.send({ op: "extend", id: "e", receipt: first!.receipt, lease_seconds: 60 });
    s.send({ op: "release", id: "r", receipt: first!.receipt });
    await until(async () => deliveries(s).length === 2); // released, so redelivered to the same consumer
    s.send({ op: "task_done", id: "stale", receipt: first!.receipt });
    await until(async () => of(s, "error").length === 1);
    expect(of(s, "extend")[0]).toMatchObject({ id: "e", lease_expires_at: expect.any(Number) });
    expect(of(s, "release")[0]).toEqual({ type: "release", id: "r", dead_lettered: false });
    expect(deliveries(s)[1]).toMatchObject({ item: "x", deliveries: 2 });
    expect(of(s, "error")[0]).toMatchObject({ id: "stale", code: "stale_receipt", status: 409 });
    s.ws.close();
  });

  it("caps consumers and prefetch per socket with error frames; the socket stays usable", async () => {
    const name = await createQueue();
    const s = await subscribe(name);
    for (let i = 0; i < 9; i++) s.send({ op: "consume", id: i, prefetch: 10 });
    s.send({ op: "consume", id: 0, prefetch: 101 });
    await waitForMessages(s, 10);
    expect(of(s, "consume")).toHaveLength(8);
    const errors = of(s, "error");
    expect(errors.map((e) => [e.id, e.code])).toEqual([
      [8, "limit_exceeded"],
      [0, "invalid_request"],
    ]);
    s.send({ op: "consume", id: 1, prefetch: 40 }); // 7 × 10 + 40 > 100
    await until(async () => of(s, "error").length === 3);
    expect(of(s, "error")[2]).toMatchObject({ id: 1, code: "limit_exceeded", detail: expect.stringMatching(/100/) });
    s.ws.close();
  });
});

describe("credit follows the delivery, whichever door ends it", () => {
  /** A consumer with prefetch 1 holding the queue's first item, and a second item waiting behind it. */
  async function holding(config: Record<string, unknown> = {}, lease_seconds?: number) {
    const name = await createQueue(config);
    const s = await subscribe(name);
    s.send({ op: "consume", id: "c", prefetch: 1, ...(lease_seconds ? { lease_seconds } : {}) });
    await op(name, "put", { items: [{ item: "first" }, { item: "second" }] });
    await until(async () => deliveries(s).length === 1);
    await inOrder(s);
    expect(deliveries(s)).toHaveLength(1); // its credit is spent: the second waits
    expect(await stats(name)).toMatchObject({ qsize: 1, leased: 1 });
    return { name, s, first: deliveries(s)[0]! };
  }

  it("completed over HTTP: the consumer is served the next item", async () => {
    const { name, s, first } = await holding();
    expect((await op(name, "task_done", { receipt: first.receipt })).status).toBe(200);
    await until(async () => deliveries(s).length === 2);
    expect(deliveries(s)[1]).toMatchObject({ item: "second", deliveries: 1 });
    s.ws.close();
  });

  it("completed in a batch over HTTP: the consumer is served the next item", async () => {
    const { name, s, first } = await holding();
    expect((await op(name, "task_done", { receipts: [first.receipt] })).body).toMatchObject({ results: ["done"] });
    await until(async () => deliveries(s).length === 2);
    s.ws.close();
  });

  it("released over HTTP: the consumer is served again (the released item comes back first)", async () => {
    const { name, s, first } = await holding();
    expect((await op(name, "release", { receipt: first.receipt })).status).toBe(200);
    await until(async () => deliveries(s).length === 2);
    expect(deliveries(s)[1]).toMatchObject({ item: "first", deliveries: 2 });
    s.ws.close();
  });

  it("its lease expired: the consumer is served the redelivery, with no other call", async () => {
    const { s } = await holding({}, 1);
    await until(async () => deliveries(s).length === 2, 10_000); // only the alarm acts meanwhile
    expect(deliveries(s)[1]).toMatchObject({ item: "first", deliveries: 2 });
    s.ws.close();
  });

  it("dead-lettered at its lease's end: the consumer is served the next item", async () => {
    const { name, s } = await holding({ max_deliveries: 1 }, 1);
    await until(async () => deliveries(s).length === 2, 10_000);
    expect(deliveries(s)[1]).toMatchObject({ item: "second", deliveries: 1 });
    expect(await stats(name)).toMatchObject({ dead_lettered: 1, qsize: 0, leased: 1 });
    s.ws.close();
  });

  it("extended over HTTP: the credit comes back at the lease's new end, not the old one", async () => {
    const { name, s, first } = await holding({}, 1);
    const extended = await op(name, "extend", { receipt: first.receipt, lease_seconds: 60 });
    expect(extended.status).toBe(200);
    const [held] = await runInDurableObject(stub(name), (_: QueueObject, state) =>
      state
        .getWebSockets()
        .flatMap((ws) => (ws.deserializeAttachment() as { consumers: { held: unknown[] }[] }).consumers),
    );
    expect(held!.held).toEqual([[first.receipt, extended.body!.lease_expires_at]]);
    s.ws.close();
  });
});

describe("a socket's deliveries and its end", () => {
  it("a socket that closes gives back its unfinished deliveries at once, each counted as a delivery", async () => {
    const name = await createQueue({ lease_seconds: 300, max_deliveries: 2 });
    await op(name, "put", { items: [{ item: "a" }, { item: "b" }] });
    for (const round of [1, 2]) {
      const s = await subscribe(name);
      s.send({ op: "consume", id: "c", prefetch: 2 });
      await until(async () => deliveries(s).length === 2);
      expect(deliveries(s).map((d) => d.deliveries)).toEqual([round, round]);
      s.ws.close();
      await until(async () => (await stats(name)).leased === 0);
    }
    expect(await stats(name)).toMatchObject({ dead_lettered: 2, unfinished_tasks: 0, deliveries: 4, redeliveries: 2 });
  });

  it("consumers that wait through an eviction keep their place; the next put reaches the longest waiting", async () => {
    const name = await createQueue({ lease_seconds: 30 });
    const first = await subscribe(name);
    first.send({ op: "consume", id: "first" });
    await until(async () => of(first, "consume").length === 1);
    const second = await subscribe(name);
    second.send({ op: "consume", id: "second" });
    await until(async () => of(second, "consume").length === 1);
    const before = await wokeAt(name);
    await new Promise((r) => setTimeout(r, 5));
    await evictDurableObject(stub(name), { webSockets: "hibernate" });
    await op(name, "put", { item: 1 }); // wakes the object: the constructor lines the consumers up again
    await until(async () => deliveries(first).length + deliveries(second).length === 1);
    expect(await wokeAt(name)).toBeGreaterThan(before);
    expect(deliveries(first).map((d) => d.item)).toEqual([1]);
    await op(name, "put", { item: 2 });
    await until(async () => deliveries(second).length === 1);
    await Promise.all([inOrder(first), inOrder(second)]);
    expect([deliveries(first).length, deliveries(second).length]).toEqual([1, 1]);
    // Each holds its one delivery (prefetch 1), so neither waits now.
    expect(await stats(name)).toMatchObject({ deliveries: 2, redeliveries: 0, waiting: { getters: 0 } });
    first.ws.close();
    second.ws.close();
  });

  it("counts a consumer's credit as that many waiting gets, and each delivery as one fewer", async () => {
    const name = await createQueue({ lease_seconds: 30 });
    const s = await subscribe(name);
    s.send({ op: "consume", id: "c", prefetch: 5 });
    await waitingGetters(name, 5);
    await op(name, "put", { items: [{ item: 1 }, { item: 2 }] });
    await until(async () => deliveries(s).length === 2);
    expect((await stats(name)).waiting).toEqual({ getters: 3, putters: 0, joiners: 0 });
    s.ws.close();
  });

  it("serves waiting HTTP gets and socket consumers in arrival order, each item exactly once", async () => {
    const name = await createQueue({ lease_seconds: 30 });
    const waiting = op(name, "get", { timeout: 10 });
    await waitingGetters(name, 1);
    const s = await subscribe(name);
    s.send({ op: "consume", id: "c", prefetch: 20 });
    await waitingGetters(name, 21); // the HTTP get, and the consumer's 20 of credit
    await op(name, "put", { item: "first" });
    const first = (await waiting).body!;
    expect(first).toMatchObject({ item: "first" });
    await op(name, "task_done", { receipt: first.receipt });
    const N = 120;
    await Promise.all(Array.from({ length: N / 20 }, (_, b) => op(name, "put", { items: range(b * 20, 20) })));
    const got: number[] = [];
    const http = async () => {
      for (;;) {
        const res = await op(name, "get", { block: false });
        if (res.status !== 200) return;
        got.push(res.body!.item);
        await op(name, "task_done", { receipt: res.body!.receipt });
      }
    };
    const socket = async () => {
      while (got.length + deliveries(s).length < N) {
        const undone = deliveries(s).filter((d) => !d.done);
        for (const d of undone) d.done = true;
        if (undone.length) s.send({ op: "task_done", id: "t", receipts: undone.map((d) => d.receipt) });
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    await Promise.all([http(), http(), socket()]);
    await until(async () => (await stats(name)).unfinished_tasks === deliveries(s).filter((d) => !d.done).length);
    const all = [...got, ...deliveries(s).map((d) => d.item)];
    expect(all.sort((a, b) => a - b)).toEqual(range(0, N).map((e) => e.item));
    s.send({
      op: "task_done",
      id: "last",
      receipts: deliveries(s)
        .filter((d) => !d.done)
        .map((d) => d.receipt),
    });
    await until(async () => (await stats(name)).unfinished_tasks === 0);
    expect((await stats(name)).deliveries).toBe(N + 1);
    s.ws.close();
  });

  it("stays open at a shutdown while it consumes: drains the queue, then is told ShutDown", async () => {
    const name = await createQueue({ lease_seconds: 30 });
    await op(name, "put", { items: [{ item: 1 }, { item: 2 }] });
    const s = await subscribe(name);
    s.send({ op: "consume", id: "c" });
    await until(async () => deliveries(s).length === 1);
    await op(name, "shutdown");
    await until(async () => of(s, "shutdown").length === 1);
    for (const n of [1, 2]) {
      s.send({ op: "task_done", id: n, receipt: deliveries(s)[n - 1]!.receipt });
      await until(async () => of(s, "task_done").length === n);
    }
    await until(async () => of(s, "error").length === 1);
    expect(deliveries(s).map((d) => d.item)).toEqual([1, 2]);
    expect(of(s, "error")[0]).toMatchObject({ id: "c", code: "shutdown", status: 410 });
    expect(of(s, "task_done")[1]).toMatchObject({ unfinished_tasks: 0 });
    s.ws.close();
  });
});

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ item: from + i }));
