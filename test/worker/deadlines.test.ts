// Every deadline the queue object keeps is met by its alarm alone: each test below makes no call to the queue while
// it waits (any call would wake the object and hide an alarm that never came), and listens on a socket consumer or
// a push receiver instead. Deadlines here have fractions of a millisecond, as every push retry's jittered backoff has.
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Push } from "../../src/objects/push/push.ts";
import type { QueueObject } from "../../src/objects/queue/queue-object.ts";
import { call, createQueue, op, stats, subscribe, until, waitForMessages } from "./helpers.ts";

const stub = (name: string) => env.QUEUES.get(env.QUEUES.idFromName(name));
const alarmOf = (name: string) => runInDurableObject(stub(name), (_: QueueObject, state) => state.storage.getAlarm());

/** A socket consumer with room for `prefetch` deliveries: it waits in the object with no timer of its own. */
async function consumer(name: string, prefetch = 100) {
  const s = await subscribe(name);
  s.send({ op: "consume", id: "c", prefetch });
  await waitForMessages(s, 1);
  expect(s.messages[0]).toMatchObject({ type: "consume", id: "c" });
  const deliveries = () => s.messages.filter((m) => m.type === "delivery");
  return { ...s, deliveries };
}

describe("deadlines with a fraction of a millisecond", () => {
  it("an alarm set for a fractional due time is a whole millisecond at or after it", async () => {
    const name = await createQueue();
    await op(name, "put", { item: "x", delay: 30.0505 });
    const [delayed] = (await call("GET", `/v1/queues/${name}/items?state=delayed`)).body!.items;
    const at = await alarmOf(name);
    expect(Number.isInteger(at)).toBe(true);
    expect(at).toBeGreaterThanOrEqual(delayed.visible_at);
    expect(at).toBeLessThan(delayed.visible_at + 1);
  });

  it("an alarm that fires before anything is due leaves the next one set, which hands the item out", async () => {
    const name = await createQueue();
    const c = await consumer(name);
    await op(name, "put", { item: "early", delay: 0.5005 });
    const due = (await alarmOf(name))!;
    expect(await runDurableObjectAlarm(stub(name))).toBe(true); // fires ~0.5 s early: nothing is due yet
    const next = await alarmOf(name);
    expect(next).not.toBeNull();
    expect(next!).toBeGreaterThanOrEqual(due);
    await until(async () => c.deliveries().length === 1, 10_000); // no call meanwhile: the alarm alone
    expect(c.deliveries()[0]).toMatchObject({ item: "early", deliveries: 1 });
    c.ws.close();
  });

  it("items put with fractional delays all reach a waiting consumer with no other call", async () => {
    const name = await createQueue();
    const c = await consumer(name);
    for (let i = 0; i < 12; i++) await op(name, "put", { item: i, delay: 0.0505 + i * 0.0131 });
    await until(async () => c.deliveries().length === 12, 10_000);
    expect(c.deliveries().map((d) => d.item)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    c.ws.close();
  });

  it("a lease with a fractional length expires by the alarm and its item reaches a waiting consumer", async () => {
    const name = await createQueue();
    await op(name, "put", { item: "held" });
    // The HTTP API takes whole seconds; a push's lease (its timeout plus a margin) may have a fraction.
    const got = await runInDurableObject(stub(name), (o: QueueObject) =>
      o.get({ block: false, lease_seconds: 0.2505 }),
    );
    expect(got).toMatchObject({ ok: true, deliveries: [{ deliveries: 1 }] });
    const c = await consumer(name);
    await until(async () => c.deliveries().length === 1, 10_000);
    expect(c.deliveries()[0]).toMatchObject({ item: "held", deliveries: 2 });
    c.ws.close();
  });
});

/** A push receiver standing in for the network: fails each item's first attempt, then accepts. */
function flakyReceiver() {
  const arrivals: { id: number; deliveries: number }[] = [];
  const send = async (_url: string, init: RequestInit): Promise<Response> => {
    const body = JSON.parse(init.body as string);
    const data = body.data ?? {};
    arrivals.push({ id: data.id ?? 0, deliveries: data.deliveries ?? 0 });
    const first = body.type === "queue.item" ? data.deliveries === 1 : arrivals.length <= 3;
    return new Response(null, { status: first ? 500 : 200 });
  };
  return { arrivals, send };
}

const withReceiver = (name: string, r: ReturnType<typeof flakyReceiver>, step: (o: QueueObject) => unknown) =>
  runInDurableObject(stub(name), (o: QueueObject) => {
    (o as unknown as { push: Push }).push.send = r.send;
    return step(o);
  });

describe("retries with jittered backoff", () => {
  it("push retries go out when due with no other call", async () => {
    const name = await createQueue();
    const r = flakyReceiver();
    await withReceiver(name, r, (o) =>
      o.configure({
        push: {
          url: "https://receiver.test/push",
          concurrency: 10,
          timeout_seconds: 5,
          min_backoff_seconds: 0.03,
          max_backoff_seconds: 1,
          paused: false,
        },
      }),
    );
    await op(name, "put", { items: Array.from({ length: 10 }, (_, i) => ({ item: i })) });
    await until(async () => r.arrivals.length === 20, 15_000); // the receiver is watched, not the queue
    for (let id = 1; id <= 10; id++) {
      expect(r.arrivals.filter((a) => a.id === id).map((a) => a.deliveries)).toEqual([1, 2]);
    }
    await until(async () => (await stats(name)).unfinished_tasks === 0);
    expect(await stats(name)).toMatchObject({ completed: 10, redeliveries: 10, dead_lettered: 0 });
  });

  it("join-callback retries go out when due with no other call", async () => {
    const name = await createQueue();
    const r = flakyReceiver();
    const added = await withReceiver(name, r, (o) =>
      o.addJoinCallback({ url: "https://coordinator.test/done", repeat: false, min_backoff_seconds: 0.0301 }),
    );
    expect(added).toMatchObject({ ok: true });
    await until(async () => r.arrivals.length === 4, 15_000); // 3 failures, then the 2xx
    await until(async () => ((await stats(name)).join_callbacks ?? []).length === 0);
  });
});
