// WebSocket subscriptions: join and watch, coalescing, hibernation, bad frames, shutdown and delete.
import { evictDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createQueue, inOrder, op, subscribe, until, waitForMessages } from "./helpers.ts";

describe("join subscriptions", () => {
  it("is told exactly once when the last task_done lands", async () => {
    const name = await createQueue();
    await op(name, "put", { items: [{ item: 1 }, { item: 2 }] });
    const s = await subscribe(name);
    s.send({ op: "join", id: "batch-1" });
    const [a, b] = [(await op(name, "get")).body!, (await op(name, "get")).body!];
    await op(name, "task_done", { receipt: a.receipt });
    await inOrder(s);
    expect(s.messages).toEqual([]);
    await op(name, "task_done", { receipt: b.receipt });
    await waitForMessages(s, 1);
    expect(s.messages).toEqual([{ type: "joined", id: "batch-1", unfinished_tasks: 0, dead_lettered: 0 }]);
    await op(name, "put", { item: 3 });
    await op(name, "task_done");
    await inOrder(s);
    expect(s.messages).toHaveLength(1);
    s.ws.close();
  });

  it("is told at once when the queue is already drained; a repeating one fires on every drain", async () => {
    const name = await createQueue({ lease_seconds: null });
    const s = await subscribe(name);
    s.send({ op: "join", repeat: true });
    await waitForMessages(s, 1);
    for (const round of [1, 2]) {
      await op(name, "put", { item: round });
      await op(name, "get");
      await op(name, "task_done");
      await waitForMessages(s, 1 + round);
    }
    await inOrder(s);
    expect(s.messages.map((m) => m.type)).toEqual(["joined", "joined", "joined"]);
    s.send({ op: "unjoin" });
    await op(name, "put", { item: 3 });
    await op(name, "task_done");
    await inOrder(s);
    expect(s.messages).toHaveLength(3);
    s.ws.close();
  });

  it("tells 500 subscribers once each", async () => {
    const name = await createQueue();
    await op(name, "put", { item: 1 });
    const subs = await Promise.all(Array.from({ length: 500 }, () => subscribe(name)));
    for (const s of subs) s.send({ op: "join" });
    await Promise.all(subs.map(inOrder)); // every join is held before the drain
    await op(name, "task_done");
    await until(async () => subs.every((s) => s.messages.length >= 1), 10_000);
    await Promise.all(subs.map(inOrder));
    expect(subs.every((s) => s.messages.length === 1 && s.messages[0]!.type === "joined")).toBe(true);
    for (const s of subs) s.ws.close();
  });

  it("still tells subscribers after the object is evicted with their sockets hibernated", async () => {
    const name = await createQueue();
    await op(name, "put", { item: 1 });
    const s = await subscribe(name);
    s.send({ op: "join", id: "after-eviction" });
    await inOrder(s); // held in the socket's attachment before the eviction
    await evictDurableObject(env.QUEUES.get(env.QUEUES.idFromName(name)), { webSockets: "hibernate" });
    await op(name, "task_done");
    await waitForMessages(s, 1);
    expect(s.messages[0]).toMatchObject({ type: "joined", id: "after-eviction" });
    s.ws.close();
  });
});

describe("watch", () => {
  it("coalesces a burst of 1,000 puts into far fewer messages, the last one exact", async () => {
    const name = await createQueue();
    const s = await subscribe(name);
    s.send({ op: "watch" });
    await waitForMessages(s, 1);
    expect(s.messages[0]).toMatchObject({ type: "stats", stats: { qsize: 0 } });
    await Promise.all(Array.from({ length: 1000 }, (_, i) => op(name, "put", { item: i })));
    await until(async () => s.messages.at(-1)!.stats.qsize === 1000);
    // The exact last state is here, and a trailing flush sends only a state not yet sent: nothing more can come.
    await inOrder(s);
    expect(s.messages.length).toBeLessThan(100);
    expect(s.messages.at(-1)!.stats).toMatchObject({ qsize: 1000, unfinished_tasks: 1000 });
    s.ws.close();
  });
});

describe("bad frames and endings", () => {
  it("answers not-JSON, unknown ops, binary and oversized frames with errors; the socket stays usable", async () => {
    const name = await createQueue();
    const s = await subscribe(name);
    s.send("{nope");
    s.send({ op: "dance" });
    s.send(new TextEncoder().encode("bin").buffer as ArrayBuffer);
    s.send(JSON.stringify({ op: "join", id: "x".repeat(5000) }));
    s.send({ op: "join", id: 7 });
    await waitForMessages(s, 5);
    expect(s.messages.map((m) => [m.type, m.code])).toEqual([
      ["error", "invalid_request"],
      ["error", "invalid_request"],
      ["error", "invalid_request"],
      ["error", "payload_too_large"],
      ["error", "invalid_request"],
    ]);
    expect(s.messages[1]!.detail).toMatch(/op/);
    s.send({ op: "join" });
    await waitForMessages(s, 6);
    expect(s.messages[5]).toMatchObject({ type: "joined" });
    expect((await op(name, "put", { item: 1 })).status).toBe(201);
    s.ws.close();
  });

  it("answers the keep-alive ping with pong", async () => {
    const name = await createQueue();
    const s = await subscribe(name);
    const pong = new Promise((resolve) =>
      s.ws.addEventListener("message", (e) => {
        if (e.data === "pong") resolve(true);
      }),
    );
    s.ws.send("ping");
    expect(await pong).toBe(true);
    s.ws.close();
  });

  it("shutdown and delete notify subscribers, then close with 4001 and 4004", async () => {
    const a = await createQueue();
    const b = await createQueue();
    const sa = await subscribe(a);
    const sb = await subscribe(b);
    await op(a, "shutdown");
    await call("DELETE", `/v1/queues/${b}`);
    await until(async () => sa.closed.code !== undefined && sb.closed.code !== undefined);
    expect(sa.messages[0]).toMatchObject({ type: "shutdown", stats: { shutdown: true } });
    expect(sa.closed.code).toBe(4001);
    expect(sb.messages[0]).toMatchObject({ type: "deleted" });
    expect(sb.closed.code).toBe(4004);
  });

  it("answers a plain GET with how to subscribe, and refuses a missing queue before upgrading", async () => {
    const name = await createQueue();
    const plain = await call("GET", `/v1/queues/${name}/ws`);
    expect(plain.status).toBe(200);
    expect(plain.body).toMatchObject({
      websocket: `ws://queues.test/v1/queues/${name}/ws`,
      send: expect.arrayContaining(['{"op":"watch"}']),
    });
    const res = await exports.default.fetch(
      new Request("http://queues.test/v1/queues/nope-nope/ws", { headers: { upgrade: "websocket" } }),
    );
    expect(res.status).toBe(404);
  });
});
