// Crash-safe completion on the pure core: leases, receipts, redelivery, dead letters, idempotent and delayed puts.
import { describe, expect, it } from "vitest";
import type { JoinableQueue } from "../../src/core/queue.ts";
import type { Delivery, JoinResult, Outcome, PutRequest, PutResult } from "../../src/core/types.ts";
import { call, newQueue } from "./harness.ts";

const T0 = 5_000_000;
const LEASED = { lease_seconds: 10, max_deliveries: 3 };

function put(q: JoinableQueue, value: unknown, options: Partial<PutRequest> = {}, now = T0) {
  const c = call<Outcome<PutResult>>();
  q.put({ items: [{ json: JSON.stringify(value) }], ...options }, now, c.reply);
  return c.value!;
}
function take(q: JoinableQueue, now = T0, max = 1): Delivery[] {
  const c = call<Outcome<{ deliveries: Delivery[] }>>();
  q.get({ block: false, max }, now, c.reply);
  if (!c.value?.ok) throw new Error(`expected an item, got ${JSON.stringify(c.value)}`);
  return c.value.deliveries;
}
const one = (q: JoinableQueue, now = T0) => take(q, now)[0]!;

describe("leases and receipts", () => {
  it("an item whose consumer vanished comes back after the lease, with its delivery count raised", () => {
    const { q } = newQueue(LEASED);
    put(q, "job");
    const first = one(q);
    expect(first).toMatchObject({ json: '"job"', deliveries: 1, lease_expires_at: T0 + 10_000 });
    expect(q.nextDurableDeadline(T0)).toBe(T0 + 10_000);
    const join = call<Outcome<JoinResult>>();
    q.join({}, T0, join.reply);
    q.tick(T0 + 10_000);
    expect(q.stats(T0 + 10_000)).toMatchObject({ qsize: 1, leased: 0, unfinished_tasks: 1, redeliveries: 0 });
    const second = one(q, T0 + 10_000);
    expect(second).toMatchObject({ id: first.id, deliveries: 2 });
    expect(q.stats(T0 + 10_000).redeliveries).toBe(1);
    expect(join.value).toBeUndefined();
    expect(q.taskDone(second.receipt!, T0 + 10_001)).toMatchObject({ ok: true, unfinished_tasks: 0 });
    expect(join.value).toMatchObject({ drained: true });
  });

  it("fences stale receipts: A's late ack is refused, B's counts once, B's repeat changes nothing", () => {
    const { q } = newQueue(LEASED);
    put(q, "job");
    const a = one(q);
    const b = one(q, T0 + 10_000); // A's lease expired; B took the item
    expect(q.taskDone(a.receipt!, T0 + 10_001)).toMatchObject({ ok: false, code: "stale_receipt" });
    expect(q.unfinishedTasks).toBe(1);
    expect(q.taskDone(b.receipt!, T0 + 10_002)).toMatchObject({ ok: true, unfinished_tasks: 0, replayed: false });
    expect(q.taskDone(b.receipt!, T0 + 10_003)).toMatchObject({ ok: true, unfinished_tasks: 0, replayed: true });
    expect(q.taskDone(a.receipt!, T0 + 10_004)).toMatchObject({ ok: false, code: "stale_receipt" });
  });

  it("an ack that arrives after its lease expired is stale even if the alarm has not run yet", () => {
    const { q } = newQueue(LEASED);
    put(q, "job");
    const a = one(q);
    expect(q.taskDone(a.receipt!, T0 + 10_000)).toMatchObject({ code: "stale_receipt" });
    expect(q.stats(T0 + 10_000)).toMatchObject({ qsize: 1, unfinished_tasks: 1 });
  });

  it("extend pushes the expiry; release returns the item, after a delay", () => {
    const { q } = newQueue(LEASED);
    put(q, "job");
    const a = one(q);
    expect(q.extend(a.receipt!, 60, T0 + 9_000)).toEqual({ ok: true, lease_expires_at: T0 + 69_000 });
    q.tick(T0 + 20_000);
    expect(q.stats(T0 + 20_000)).toMatchObject({ leased: 1, qsize: 0 });
    expect(q.release(a.receipt!, 5, T0 + 20_000)).toEqual({ ok: true, dead_lettered: false });
    expect(q.stats(T0 + 20_000)).toMatchObject({ leased: 0, qsize: 1, delayed: 1 });
    const early = call<Outcome<{ deliveries: Delivery[] }>>();
    q.get({ block: false }, T0 + 24_999, early.reply);
    expect(early.value).toMatchObject({ code: "empty" });
    expect(one(q, T0 + 25_000)).toMatchObject({ deliveries: 2 });
    expect(q.extend(a.receipt!, 60, T0 + 25_000)).toMatchObject({ code: "stale_receipt" });
  });

  it("a poison item is dead-lettered after max_deliveries; join reports it; redrive makes join wait again", () => {
    const { q } = newQueue(LEASED);
    put(q, "poison");
    for (let i = 1; i <= 3; i++) {
      const d = one(q);
      expect(d.deliveries).toBe(i);
      expect(q.release(d.receipt!, 0, T0)).toEqual({ ok: true, dead_lettered: i === 3 });
    }
    const joined = call<Outcome<JoinResult>>();
    q.join({}, T0, joined.reply);
    expect(joined.value).toEqual({ ok: true, drained: true, unfinished_tasks: 0, dead_lettered: 1 });
    expect(q.deadLetters(10)).toMatchObject([{ json: '"poison"', deliveries: 3 }]);
    expect(q.redrive(10, T0)).toEqual({ ids: [1] });
    expect(q.stats(T0)).toMatchObject({ unfinished_tasks: 1, dead_lettered: 0, qsize: 1 });
    const again = call<Outcome<JoinResult>>();
    q.join({ timeout: 0 }, T0, again.reply);
    expect(again.value).toMatchObject({ drained: false });
    const d = one(q);
    expect(d.deliveries).toBe(1);
    q.taskDone(d.receipt!, T0);
    expect(q.unfinishedTasks).toBe(0);
  });

  it("purges dead letters", () => {
    const { q } = newQueue({ lease_seconds: 1, max_deliveries: 1 });
    put(q, 1);
    put(q, 2);
    take(q, T0, 2);
    q.tick(T0 + 1000);
    expect(q.stats(T0 + 1000)).toMatchObject({ dead_lettered: 2, unfinished_tasks: 0 });
    expect(q.purgeDeadLetters(T0 + 1000)).toEqual({ purged: 2 });
    expect(q.deadLetters(10)).toEqual([]);
  });

  it("anonymous task_done closes the oldest open lease, so it is not redelivered", () => {
    const { q } = newQueue(LEASED);
    put(q, "a");
    put(q, "b");
    one(q);
    const b = one(q);
    expect(q.taskDone(undefined, T0)).toMatchObject({ ok: true, unfinished_tasks: 1 });
    q.tick(T0 + 10_000);
    expect(q.stats(T0 + 10_000)).toMatchObject({ qsize: 1, leased: 0 });
    expect(one(q, T0 + 10_000)).toMatchObject({ id: b.id, deliveries: 2 });
  });

  it("leases and their expiries survive a restart; the alarm after it is idempotent", () => {
    const { q, reopen } = newQueue(LEASED);
    put(q, "job");
    const a = one(q);
    const again = reopen();
    expect(again.stats(T0)).toMatchObject({ leased: 1, unfinished_tasks: 1 });
    expect(again.nextDurableDeadline(T0)).toBe(T0 + 10_000);
    again.tick(T0 + 10_000);
    again.tick(T0 + 10_000); // a repeated or late alarm finds nothing more to do
    expect(again.stats(T0 + 10_000)).toMatchObject({ qsize: 1, leased: 0, unfinished_tasks: 1 });
    expect(again.taskDone(a.receipt!, T0 + 10_000)).toMatchObject({ code: "stale_receipt" });
  });

  it("batch get gives each item its own receipt", () => {
    const { q } = newQueue(LEASED);
    for (const v of [1, 2, 3]) put(q, v);
    const got = take(q, T0, 5);
    expect(got.map((d) => d.json)).toEqual(["1", "2", "3"]);
    expect(new Set(got.map((d) => d.receipt)).size).toBe(3);
    for (const d of got) q.taskDone(d.receipt!, T0);
    expect(q.unfinishedTasks).toBe(0);
  });
});

describe("idempotent and delayed puts", () => {
  it("a put repeated with the same key answers the original ids and adds nothing, within the window", () => {
    const { q } = newQueue();
    const first = put(q, "x", { idempotency_key: "k1" });
    expect(first).toEqual({ ok: true, ids: [1], replayed: false });
    expect(put(q, "x", { idempotency_key: "k1" }, T0 + 1000)).toEqual({ ok: true, ids: [1], replayed: true });
    expect(q.unfinishedTasks).toBe(1);
    // After the window (10 minutes by default) the key is forgotten.
    expect(put(q, "x", { idempotency_key: "k1" }, T0 + 10 * 60_000)).toMatchObject({ ok: true, replayed: false });
    expect(q.unfinishedTasks).toBe(2);
  });

  it("a delayed item counts in unfinished_tasks at once but is invisible until its time", () => {
    const { q } = newQueue();
    put(q, "later", { delay: 30 });
    expect(q.stats(T0)).toMatchObject({ unfinished_tasks: 1, qsize: 1, delayed: 1 });
    expect(q.nextDurableDeadline(T0)).toBe(T0 + 30_000);
    const waiting = call<Outcome<{ deliveries: Delivery[] }>>();
    q.get({ timeout: 60 }, T0, waiting.reply);
    q.tick(T0 + 19_999);
    expect(waiting.value).toBeUndefined();
    q.tick(T0 + 30_000);
    expect(waiting.value).toMatchObject({ ok: true, deliveries: [{ json: '"later"' }] });
  });
});
