// Items spread over many segments (a segment holds up to 256) come out in exactly the queue's order — FIFO, LIFO,
// or priority with keys mixed within each batch — through delays, releases and restarts, as a naive model says.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Delivery, Outcome } from "../../src/core/types.ts";
import { call, newQueue } from "./harness.ts";

type Op =
  | { op: "put"; n: number; priorities: number[]; delay: number }
  | { op: "get"; max: number }
  | { op: "release"; pick: number; delay: number }
  | { op: "done"; pick: number }
  | { op: "wait"; ms: number }
  | { op: "reopen" };

const ops = fc.array(
  fc.oneof(
    fc.record({
      op: fc.constant("put" as const),
      n: fc.integer({ min: 1, max: 100 }),
      priorities: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 5 }),
      delay: fc.constantFrom(0, 0, 0, 1, 3),
    }),
    fc.record({ op: fc.constant("get" as const), max: fc.integer({ min: 1, max: 120 }) }),
    fc.record({ op: fc.constant("release" as const), pick: fc.nat(), delay: fc.constantFrom(0, 0, 2) }),
    fc.record({ op: fc.constant("done" as const), pick: fc.nat() }),
    fc.record({ op: fc.constant("wait" as const), ms: fc.constantFrom(500, 1000, 2500) }),
    fc.constant({ op: "reopen" as const }),
  ),
  { maxLength: 60 },
);

describe.each(["fifo", "lifo", "priority"] as const)("%s over many segments", (order) => {
  it("hands out items in the model's order", () => {
    fc.assert(
      fc.property(ops, (script: Op[]) => {
        const made = newQueue({ order, lease_seconds: 1_000_000 });
        let q = made.q;
        let now = 1_000;
        let nextId = 1;
        // The model: every item in the queue (ready, with when it shows) or held (by its receipt).
        const ready = new Map<number, { key: number; at: number }>();
        const held: { id: number; key: number; receipt: string }[] = [];
        const before = (a: [number, { key: number }], b: [number, { key: number }]) =>
          order === "fifo" ? a[0] - b[0] : order === "lifo" ? b[0] - a[0] : a[1].key - b[1].key || a[0] - b[0];
        for (const step of script) {
          if (step.op === "put") {
            const items = Array.from({ length: step.n }, (_, i) => {
              const key = order === "priority" ? step.priorities[i % step.priorities.length]! : 0;
              return { json: `${nextId + i}`, ...(order === "priority" ? { priority: key } : {}) };
            });
            q.put({ items, delay: step.delay || undefined }, now, call<unknown>().reply);
            for (const item of items) ready.set(nextId++, { key: item.priority ?? 0, at: now + step.delay * 1000 });
          } else if (step.op === "get") {
            const got = call<Outcome<{ deliveries: Delivery[] }>>();
            q.get({ max: step.max, block: false }, now, got.reply);
            const expected = [...ready]
              .filter(([, r]) => r.at <= now)
              .sort(before)
              .slice(0, step.max);
            const deliveries = got.value?.ok ? got.value.deliveries : [];
            expect(deliveries.map((d) => d.id)).toEqual(expected.map(([id]) => id));
            for (const d of deliveries) {
              held.push({ id: d.id, key: ready.get(d.id)!.key, receipt: d.receipt! });
              ready.delete(d.id);
            }
          } else if (step.op === "release" && held.length > 0) {
            const [h] = held.splice(step.pick % held.length, 1);
            expect(q.release(h!.receipt, step.delay, now)).toMatchObject({ ok: true });
            ready.set(h!.id, { key: h!.key, at: now + step.delay * 1000 });
          } else if (step.op === "done" && held.length > 0) {
            const [h] = held.splice(step.pick % held.length, 1);
            expect(q.taskDone(h!.receipt, now)).toMatchObject({ ok: true, replayed: false });
          } else if (step.op === "wait") now += step.ms;
          else if (step.op === "reopen") q = made.reopen();
          expect(q.stats(now)).toMatchObject({ qsize: ready.size, leased: held.length });
          expect(q.unfinishedTasks).toBe(ready.size + held.length);
        }
      }),
      { numRuns: 300 },
    );
  });
});

it("a segment's head key is written with every change, so a restart keeps the priority order", () => {
  const { q, reopen } = newQueue({ order: "priority" });
  q.put({ items: [{ json: "1", priority: 1 }] }, 0, call<unknown>().reply);
  q.put({ items: [{ json: "2", priority: 0 }] }, 0, call<unknown>().reply); // appended: the head key changes
  const got = call<Outcome<{ deliveries: Delivery[] }>>();
  reopen().get({}, 0, got.reply);
  expect(got.value?.ok && got.value.deliveries.map((d) => d.id)).toEqual([2]);
});

describe("segments past their time", () => {
  it("are deleted with every counter kept, through a restart; their receipts and keys are forgotten", () => {
    const { q, sql, reopen } = newQueue({ lease_seconds: 30 });
    const T = 1_000_000;
    const receipts: string[] = [];
    for (let n = 0; n < 3; n++) {
      const items = Array.from({ length: 100 }, (_, i) => ({ json: `${n * 100 + i}` }));
      q.put({ items, idempotency_key: `k${n}` }, T, call<unknown>().reply);
      const got = call<Outcome<{ deliveries: Delivery[] }>>();
      q.get({ max: 100 }, T, got.reply);
      for (const d of got.value?.ok ? got.value.deliveries : []) receipts.push(d.receipt!);
    }
    q.taskDoneMany(receipts.slice(0, 250), T + 1);
    const segments = () => sql.exec<{ n: number }>("SELECT count(*) AS n FROM segments")[0]!.n;
    expect(segments()).toBe(2); // 200 items, then 100 (a batch goes whole to a segment it fits)
    const stats = q.stats(T + 1);
    expect(stats).toMatchObject({ puts: 300, completed: 250, deliveries: 300, leased: 50, unfinished_tasks: 50 });
    const later = T + 61 * 60_000;
    q.tick(later); // the 50 open leases expire, back into the second segment; the first is all done and old
    expect(segments()).toBe(1);
    const after = { ...stats, leased: 0, qsize: 50, empty: false, in_flight: 0 };
    expect(q.stats(later)).toEqual(after);
    expect(reopen().stats(later)).toEqual(after);
    // A repeated task_done of a forgotten completion is stale; a forgotten key puts anew.
    expect(reopen().taskDone(receipts[0]!, later)).toMatchObject({ ok: false, code: "stale_receipt" });
    const again = call<Outcome<{ ids: number[]; replayed: boolean }>>();
    const woken = reopen();
    woken.put({ items: [{ json: "1" }], idempotency_key: "k0" }, later, again.reply);
    expect(again.value).toMatchObject({ ok: true, ids: [301], replayed: false });
  });
});
