// Group commit (src/objects/queue/group-commit.ts): the calls that reach a queue's object together share one write,
// and each is answered only after the write that recorded it. Counted by the object's meter, as the bill counts.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Meter, QueueObject } from "../../src/objects/queue/queue-object.ts";
import { call, stats, uniqueName } from "./helpers.ts";

const object = (name: string) => env.QUEUES.get(env.QUEUES.idFromName(name));
const written = (a: Meter, b: Meter) => b.rows_written + b.alarms_set - a.rows_written - a.alarms_set;
const item = (n: number) => ({ items: [{ json: JSON.stringify({ n }) }] });

async function queue() {
  const name = uniqueName("commit");
  expect((await call("PUT", `/v1/queues/${name}`, { lease_seconds: 30 })).status).toBe(201);
  // A first job: the first lease sets the alarm, which later leases leave as it is.
  await call("POST", `/v1/queues/${name}/put`, { item: "warm-up" });
  const { receipt } = (await call("POST", `/v1/queues/${name}/get`, {})).body!;
  await call("POST", `/v1/queues/${name}/task_done`, { receipt });
  return name;
}

describe("group commit", () => {
  it("32 puts, 32 gets and 32 task_dones arriving in one turn write one segment row each, not 32", async () => {
    const name = await queue();
    const counted = await runInDurableObject(object(name), async (o: QueueObject) => {
      const m0 = o.meter();
      const puts = await Promise.all(
        Array.from({ length: 32 }, (_, n) => o.put({ ...item(n), idempotency_key: `k${n}` })),
      );
      const m1 = o.meter();
      const gets = await Promise.all(Array.from({ length: 32 }, () => o.get({ block: false })));
      const m2 = o.meter();
      const receipts = gets.map((g) => (g.ok ? g.deliveries[0]!.receipt! : ""));
      const dones = await Promise.all(receipts.map((r) => o.taskDone(r)));
      const m3 = o.meter();
      expect(puts.every((p) => p.ok) && gets.every((g) => g.ok) && dones.every((d) => d.ok)).toBe(true);
      return {
        put: [written(m0, m1), m1.flushes - m0.flushes],
        get: [written(m1, m2), m2.flushes - m1.flushes],
        done: [written(m2, m3), m3.flushes - m2.flushes],
      };
    });
    // [rows written, flushes]: each batch of calls is one write of the one segment their items are in.
    expect(counted).toEqual({ put: [1, 1], get: [1, 1], done: [1, 1] });
    expect(await stats(name)).toMatchObject({ puts: 33, completed: 33, unfinished_tasks: 0 });
  });

  it("a call is answered only once the write that records it has run", async () => {
    const name = await queue();
    await runInDurableObject(object(name), async (o: QueueObject) => {
      const before = o.meter();
      let answered = false;
      const put = o.put(item(1)).then((p) => {
        answered = true;
        return p;
      });
      // Applied in memory (the step ran), not yet written, not yet answered.
      expect(o.meter().steps).toBe(before.steps + 1);
      expect(written(before, o.meter())).toBe(0);
      expect(answered).toBe(false);
      expect(await put).toMatchObject({ ok: true, replayed: false });
      expect(written(before, o.meter())).toBe(1);
    });
  });

  it("a crash between a step and its write loses only the calls nobody was answered for, whole", async () => {
    const name = await queue();
    await call("POST", `/v1/queues/${name}/put`, { item: "answered" });
    const crashed = runInDurableObject(object(name), (o: QueueObject, state) => {
      void o.put({ items: [{ json: '"lost-1"' }, { json: '"lost-2"' }] });
      void o.put(item(2));
      state.abort("killed between apply and flush");
    });
    await expect(crashed).rejects.toThrow();
    // Woken again from what is stored: the answered put is there, the two unanswered ones are not, not even in part.
    expect(await stats(name)).toMatchObject({ qsize: 1, puts: 2, unfinished_tasks: 1 });
    const got = await call("POST", `/v1/queues/${name}/get`, { max: 10, block: false });
    expect(got.body!.items.map((d: { item: unknown }) => d.item)).toEqual(["answered"]);
  });
});
