// Push delivery and join callbacks inside workerd: each queue's object is given a receiver of its own (a function
// standing in for the network, swapped in with runInDurableObject), since this project sets no PUSH_ORIGINS.
import { env, runInDurableObject } from "cloudflare:test";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { verifyWebhook } from "../../clients/typescript/src/webhooks.ts";
import type { QueueConfig } from "../../src/core/types.ts";
import type { Push } from "../../src/objects/push/push.ts";
import type { QueueObject } from "../../src/objects/queue/queue-object.ts";
import { call, createQueue, expectProblem, op, raw, stats, until } from "./helpers.ts";

type Msg = Record<string, any>;
interface Arrival {
  body: Msg;
  headers: Record<string, string>;
  at: number;
}
/** Answers one arrival: a status, or "hang" (never answers; it gives up when the sender aborts). */
type Answer = number | "hang" | { late: number; status: number };

/** A receiver: records each request, verifies its signature with the standardwebhooks package, answers as told. */
function receiver(answer: (arrival: Arrival, n: number) => Answer) {
  const arrivals: Arrival[] = [];
  const state = { secret: "", bad: 0, late: 0 };
  const send = async (_url: string, init: RequestInit): Promise<Response> => {
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    const text = init.body as string;
    try {
      new Webhook(state.secret).verify(text, headers);
    } catch {
      state.bad++;
    }
    const arrival = { body: JSON.parse(text) as Msg, headers, at: Date.now() };
    arrivals.push(arrival);
    const a = answer(arrival, arrivals.length);
    // Bodiless answers: a Response's body stream may not cross from the test's context into the object's.
    if (typeof a === "number") return new Response(null, { status: a });
    return new Promise((resolve, reject) => {
      if (a === "hang") init.signal?.addEventListener("abort", () => reject(new Error("aborted")));
      else
        setTimeout(() => {
          state.late++;
          resolve(new Response(null, { status: a.status }));
        }, a.late);
    });
  };
  return { arrivals, state, send };
}

const object = (name: string) => env.QUEUES.get(env.QUEUES.idFromName(name));
type Internals = { push: Push };

/** Gives the queue's object the receiver, then configures push (the route would refuse: no PUSH_ORIGINS here). */
async function withPush(name: string, r: ReturnType<typeof receiver>, push: Partial<NonNullable<QueueConfig["push"]>>) {
  const outcome = await runInDurableObject(object(name), (o: QueueObject) => {
    (o as unknown as Internals).push.send = r.send;
    return o.configure({
      push: {
        url: "https://receiver.test/push",
        concurrency: 10,
        timeout_seconds: 5,
        min_backoff_seconds: 0.02,
        max_backoff_seconds: 5,
        paused: false,
        ...push,
      },
    });
  });
  if (!outcome.ok) throw new Error(`configure failed: ${JSON.stringify(outcome)}`);
  r.state.secret = outcome.webhook_secret ?? r.state.secret; // answered only when push is first configured
  return r.state.secret;
}

const put = (name: string, n: number) =>
  op(name, "put", { items: Array.from({ length: n }, (_, i) => ({ item: { n: i } })) });
/** A queue's join callbacks as its stats show them (absent once it has none, and no push). */
const callbacks = async (name: string): Promise<Msg[]> => (await stats(name)).join_callbacks ?? [];
const drained = (name: string) => until(async () => (await stats(name)).unfinished_tasks === 0, 15_000);

describe("push delivery", () => {
  it("is refused at configuration, with a clear 400, where PUSH_ORIGINS lists nothing", async () => {
    const push = { url: "https://hooks.example.com/push" };
    await expectProblem(
      await raw("PUT", `/v1/queues/${crypto.randomUUID()}`, JSON.stringify({ push }), {
        "content-type": "application/json",
      }),
      400,
      "invalid_request",
      /PUSH_ORIGINS/,
    );
    const name = await createQueue();
    const res = await call("PATCH", `/v1/queues/${name}`, { push });
    expect(res.status).toBe(400);
    expect(res.body!.detail).toMatch(/^push\.url: .*PUSH_ORIGINS/);
    const cb = await call("POST", `/v1/queues/${name}/join_callbacks`, { url: "https://hooks.example.com/done" });
    expect(cb.status).toBe(400);
    expect((await stats(name)).push).toBeUndefined();
  });

  it("pushes every item and counts each exactly once beside pull consumers on the same queue", async () => {
    const name = await createQueue({ lease_seconds: 30 });
    const r = receiver(() => 200);
    await withPush(name, r, { concurrency: 3 });
    const pulled: number[] = [];
    const pull = async () => {
      for (;;) {
        const got = await op(name, "get", { block: false });
        if (got.status !== 200) return;
        pulled.push(got.body!.id);
        await op(name, "task_done", { receipt: got.body!.receipt });
      }
    };
    for (let i = 0; i < 4; i++) {
      await put(name, 10);
      await Promise.all([pull(), pull()]);
    }
    await drained(name);
    const pushed = r.arrivals.map((a) => a.body.data.id as number);
    expect([...pushed, ...pulled].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(pushed.length).toBeGreaterThan(0);
    expect(r.state.bad).toBe(0);
    const s = await stats(name);
    expect(s).toMatchObject({ puts: 40, completed: 40, deliveries: 40, redeliveries: 0, unfinished_tasks: 0 });
    expect(s.push).toMatchObject({ in_flight: 0, failures: 0, last_error: null, concurrency: 3 });
    expect((await op(name, "join", { timeout: 0 })).body!.drained).toBe(true);
  });

  it("sends what a consumer's get answers, signed so that the clients' helper verifies it", async () => {
    const name = await createQueue();
    const r = receiver(() => 204);
    const secret = await withPush(name, r, {});
    await op(name, "put", { item: { job: "é" } });
    await drained(name);
    const [a] = r.arrivals;
    expect(a!.body).toMatchObject({
      type: "queue.item",
      data: { queue: name, id: 1, item: { job: "é" }, deliveries: 1 },
    });
    expect(a!.headers["webhook-id"]).toBe(`msg_${name}_1`);
    const text = JSON.stringify(a!.body);
    expect((await verifyWebhook(secret, a!.headers, text)).type).toBe("queue.item");
  });

  it("retries a receiver that answers 500 with growing delays, then completes on its 200", async () => {
    const name = await createQueue();
    const r = receiver((_, n) => (n <= 3 ? 500 : 200));
    await withPush(name, r, { min_backoff_seconds: 0.05 });
    await op(name, "put", { item: "x" });
    await drained(name);
    expect(r.arrivals.map((a) => a.body.data.deliveries)).toEqual([1, 2, 3, 4]);
    // Each wait is at least half its doubled base (the jitter's floor): 25, 50, 100 ms.
    const gaps = r.arrivals.slice(1).map((a, i) => a.at - r.arrivals[i]!.at);
    for (const [i, g] of gaps.entries()) expect(g).toBeGreaterThanOrEqual(25 * 2 ** i - 2);
    const s = await stats(name);
    expect(s).toMatchObject({ completed: 1, deliveries: 4, redeliveries: 3, dead_lettered: 0 });
    expect(s.push).toMatchObject({ failures: 3, last_error: "answered 500", in_flight: 0 });
  });

  it("counts a receiver that times out as a failed delivery, and dead-letters it after max_deliveries", async () => {
    const name = await createQueue({ max_deliveries: 2 });
    const r = receiver(() => "hang");
    await withPush(name, r, { timeout_seconds: 0.2 });
    await op(name, "put", { item: "slow" });
    await drained(name);
    expect(r.arrivals).toHaveLength(2);
    const s = await stats(name);
    expect(s).toMatchObject({ dead_lettered: 1, completed: 0, deliveries: 2 });
    expect(s.push).toMatchObject({ failures: 2, in_flight: 0 });
    expect(s.push.last_error).toMatch(/timed out/);
    expect((await call("GET", `/v1/queues/${name}/dead_letters`)).body!.items[0].item).toBe("slow");
  });

  it("dead-letters an item whose receiver always fails, after max_deliveries", async () => {
    const name = await createQueue({ max_deliveries: 3 });
    const r = receiver(() => 503);
    await withPush(name, r, {});
    await put(name, 2);
    await drained(name);
    expect(r.arrivals).toHaveLength(6);
    expect(await stats(name)).toMatchObject({ dead_lettered: 2, completed: 0, unfinished_tasks: 0 });
  });

  it("ignores a 200 that comes after the delivery was given up: the item is completed once", async () => {
    const name = await createQueue();
    const r = receiver((_, n) => (n === 1 ? { late: 400, status: 200 } : 200));
    await withPush(name, r, { timeout_seconds: 0.1 });
    await op(name, "put", { item: "late" });
    await drained(name);
    await until(async () => r.state.late === 1);
    const s = await stats(name);
    expect(s).toMatchObject({ completed: 1, deliveries: 2, unfinished_tasks: 0 });
    expect(s.push.failures).toBe(1);
  });

  it("bounds deliveries in flight by concurrency", async () => {
    const name = await createQueue();
    let inFlight = 0;
    let most = 0;
    const r = receiver(() => {
      most = Math.max(most, ++inFlight);
      return { late: 20, status: 200 };
    });
    const send = r.send;
    r.send = async (url, init) => {
      const res = await send(url, init);
      inFlight--;
      return res;
    };
    await withPush(name, r, { concurrency: 2 });
    await put(name, 8);
    await drained(name);
    expect(r.arrivals).toHaveLength(8);
    expect(most).toBe(2);
  });

  it("stops pushing while paused, keeping the items; resumes when unpaused", async () => {
    const name = await createQueue();
    const r = receiver(() => 200);
    await withPush(name, r, { paused: true });
    await put(name, 3);
    expect(await stats(name)).toMatchObject({ qsize: 3, unfinished_tasks: 3 });
    expect(r.arrivals).toHaveLength(0);
    await withPush(name, r, { paused: false });
    await drained(name);
    expect(r.arrivals).toHaveLength(3);
  });
});

describe("join callbacks", () => {
  const register = (
    name: string,
    r: ReturnType<typeof receiver>,
    repeat = false,
    min_backoff_seconds = 0.02,
    group?: string,
  ) =>
    runInDurableObject(object(name), async (o: QueueObject) => {
      (o as unknown as Internals).push.send = r.send;
      const url = "https://coordinator.test/done";
      const added = await o.addJoinCallback({ url, repeat, min_backoff_seconds, ...(group ? { group } : {}) });
      if (added.ok && added.webhook_secret) r.state.secret = added.webhook_secret;
      return added;
    });

  const work = async (name: string, n: number) => {
    await put(name, n);
    for (let i = 0; i < n; i++) {
      const got = await op(name, "get", {});
      await op(name, "task_done", { receipt: got.body!.receipt });
    }
  };

  it("tells a coordinator the join result once, when unfinished_tasks reaches 0", async () => {
    const name = await createQueue();
    const r = receiver(() => 200);
    await put(name, 2);
    const added = await register(name, r);
    expect(added).toMatchObject({ ok: true, callback: { state: "waiting", repeat: false } });
    expect(r.arrivals).toHaveLength(0);
    for (let i = 0; i < 2; i++) {
      const got = await op(name, "get", {});
      await op(name, "task_done", { receipt: got.body!.receipt });
    }
    await until(async () => r.arrivals.length === 1 && (await callbacks(name)).length === 0);
    expect(r.arrivals[0]!.body).toMatchObject({
      type: "queue.drained",
      data: { queue: name, drained: true, unfinished_tasks: 0, dead_lettered: 0 },
    });
    expect(r.state.bad).toBe(0);
    await work(name, 1);
    expect(r.arrivals).toHaveLength(1); // a one-off callback is gone
  });

  it("a group's callback fires once, signed, when that group drains (not the queue)", async () => {
    const name = await createQueue();
    const r = receiver(() => 200);
    await op(name, "put", { items: [{ item: 1 }, { item: 2 }], group: "g" });
    await op(name, "put", { item: "other", group: "h" });
    const added = await register(name, r, false, 0.02, "g");
    expect(added).toMatchObject({ ok: true, callback: { group: "g", state: "waiting" } });
    const got = (await op(name, "get", { max: 3 })).body!.items;
    await op(name, "task_done", { receipt: got[0].receipt });
    await op(name, "task_done", { receipt: got[2].receipt }); // h's item: g still has one
    expect(r.arrivals).toHaveLength(0);
    await op(name, "task_done", { receipt: got[1].receipt });
    await until(async () => r.arrivals.length === 1 && (await callbacks(name)).length === 0);
    expect(r.arrivals[0]!.body).toMatchObject({
      type: "group.drained",
      data: { queue: name, group: "g", drained: true, unfinished_tasks: 0, dead_lettered: 0 },
    });
    expect(r.state.bad).toBe(0);
    expect((await stats(name)).unfinished_tasks).toBe(0);
    await op(name, "put", { item: 3, group: "g" });
    expect(r.arrivals).toHaveLength(1); // once
  });

  it("a cancelled group's callback fires group.cancelled, with how many were cancelled, once its deliveries end", async () => {
    const name = await createQueue();
    const r = receiver(() => 200);
    await op(name, "put", { items: [{ item: 1 }, { item: 2 }, { item: 3 }], group: "g" });
    const added = await register(name, r, false, 0.02, "g");
    expect(added).toMatchObject({ ok: true });
    const out = (await op(name, "get", {})).body!;
    expect((await op(name, "groups/g/cancel")).body).toEqual({ group: "g", cancelled: 2, in_flight: 1 });
    expect(r.arrivals).toHaveLength(0); // its delivery is still out
    expect((await op(name, "task_done", { receipt: out.receipt })).body).toMatchObject({ cancelled: true });
    await until(async () => r.arrivals.length === 1 && (await callbacks(name)).length === 0);
    expect(r.arrivals[0]!.body).toMatchObject({
      type: "group.cancelled",
      data: { queue: name, group: "g", drained: true, unfinished_tasks: 0, dead_lettered: 0, cancelled: 2 },
    });
    expect(r.state.bad).toBe(0);
  });

  it("tells a repeating callback every drain", async () => {
    const name = await createQueue();
    const r = receiver(() => 200);
    await register(name, r, true); // drained now: told at once, as join would answer
    await until(async () => r.arrivals.length === 1);
    await work(name, 2);
    await until(async () => r.arrivals.length === 2);
    await work(name, 1);
    await until(async () => r.arrivals.length === 3);
    const [cb] = await callbacks(name);
    expect(cb).toMatchObject({ repeat: true, delivered: 3, failed: 0 });
  });

  it("retries a failing coordinator with backoff until a 2xx", async () => {
    const name = await createQueue();
    const r = receiver((_, n) => (n <= 2 ? 500 : 200));
    await register(name, r);
    await until(async () => r.arrivals.length === 3, 10_000);
    await until(async () => (await callbacks(name)).length === 0);
    expect(new Set(r.arrivals.map((a) => a.headers["webhook-id"])).size).toBe(1); // one message, retried
  });

  it("records a callback that never succeeds as failed, where the stats show it", async () => {
    const name = await createQueue();
    const r = receiver(() => 500);
    await register(name, r, false, 0.01);
    await until(async () => (await callbacks(name))[0]?.state === "failed", 15_000);
    const [cb] = await callbacks(name);
    expect(cb).toMatchObject({ failed: 1, last_error: "answered 500", attempts: 0 });
    expect(r.arrivals).toHaveLength(10);
    const removed = await call("DELETE", `/v1/queues/${name}/join_callbacks/${cb!.id}`);
    expect(removed.status).toBe(204);
    expect(await callbacks(name)).toEqual([]);
  });
});

describe("the webhook secret", () => {
  it("rotates with an overlap: both secrets sign until the old one expires", async () => {
    const name = await createQueue();
    const r = receiver(() => 200);
    const old = await withPush(name, r, { paused: true });
    const rotated = await call("POST", `/v1/queues/${name}/webhook_secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.body!.previous_expires_at).toBeGreaterThan(Date.now() + 23 * 3_600_000);
    await withPush(name, r, { paused: false });
    await op(name, "put", { item: 1 });
    await drained(name);
    const [a] = r.arrivals;
    const text = JSON.stringify(a!.body);
    expect((await verifyWebhook(old, a!.headers, text)).type).toBe("queue.item");
    expect((await verifyWebhook(rotated.body!.webhook_secret, a!.headers, text)).type).toBe("queue.item");
  });
});
