// Groups through the Worker: a name a producer gives items, an exact unfinished count per group, join on one group.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { JoinableQueue } from "../../src/core/queue.ts";
import type { QueueObject } from "../../src/objects/queue/queue-object.ts";
import { call, createQueue, op, stats, until } from "./helpers.ts";

const group = (name: string, g: string) => call("GET", `/v1/queues/${name}/groups/${g}`);
const joiners = (name: string, n: number) => until(async () => (await stats(name)).waiting.joiners === n);

describe("groups", () => {
  it("a put's group applies to every item, an entry may name its own; get answers each delivery's group", async () => {
    const name = await createQueue();
    await op(name, "put", { items: [{ item: 1 }, { item: 2, group: "b" }], group: "a" });
    await op(name, "put", { item: 3 });
    const got = (await op(name, "get", { max: 3 })).body!.items;
    expect(got.map((d: { item: number; group: string | null }) => [d.item, d.group])).toEqual([
      [1, "a"],
      [2, "b"],
      [3, null],
    ]);
    expect((await group(name, "a")).body).toEqual({
      group: "a",
      state: "open",
      unfinished_tasks: 1,
      in_flight: 1,
      puts: 1,
      completed: 0,
      dead_lettered: 0,
      cancelled: 0,
      weight: 1,
      max_in_flight: null,
      first_put_at: expect.any(Number),
      updated_at: expect.any(Number),
    });
    expect((await op(name, "task_done", { receipt: got[0].receipt })).status).toBe(200);
    expect((await group(name, "a")).body).toMatchObject({ unfinished_tasks: 0, in_flight: 0, puts: 1, completed: 1 });
    expect((await stats(name)).unfinished_tasks).toBe(2);
  });

  it("two callers share a worker pool: B's join returns when B is done, A's only after A's redelivered item", async () => {
    const name = await createQueue({ lease_seconds: 1 });
    await op(name, "put", { items: [{ item: "a1" }, { item: "a2" }], group: "A" });
    await op(name, "put", { items: [{ item: "b1" }, { item: "b2" }], group: "B" });
    const joinA = op(name, "join", { group: "A", timeout: 20 });
    const joinB = op(name, "join", { group: "B", timeout: 20 });
    const joinAll = op(name, "join", { timeout: 20 });
    await joiners(name, 3);
    // A consumer takes a1 and dies (never completes it); the others work through the rest.
    const lost = (await op(name, "get")).body!;
    expect(lost).toMatchObject({ item: "a1", group: "A" });
    for (let i = 0; i < 3; i++) {
      const d = (await op(name, "get")).body!;
      await op(name, "task_done", { receipt: d.receipt });
    }
    expect((await joinB).body).toEqual({ drained: true, group: "B", unfinished_tasks: 0, dead_lettered: 0 });
    expect((await group(name, "A")).body).toMatchObject({ unfinished_tasks: 1, in_flight: 1 });
    expect((await stats(name)).waiting.joiners).toBe(2);
    // Its lease ends: the item comes back, counted against A still, and a live consumer completes it.
    const again = (await op(name, "get", { timeout: 10 })).body!;
    expect(again).toMatchObject({ item: "a1", group: "A", deliveries: 2 });
    await op(name, "task_done", { receipt: again.receipt });
    expect((await joinA).body).toEqual({ drained: true, group: "A", unfinished_tasks: 0, dead_lettered: 0 });
    expect((await joinAll).body).toMatchObject({ drained: true, unfinished_tasks: 0 });
    expect((await group(name, "A")).body).toMatchObject({ puts: 2, completed: 2, unfinished_tasks: 0 });
  });

  it("join on a group no item was put in is drained at once; a timed-out join says how many are left", async () => {
    const name = await createQueue();
    expect((await op(name, "join", { group: "never" })).body).toEqual({
      drained: true,
      group: "never",
      unfinished_tasks: 0,
      dead_lettered: 0,
    });
    await op(name, "put", { item: 1, group: "g" });
    expect((await op(name, "join", { group: "g", timeout: 0 })).body).toEqual({
      drained: false,
      group: "g",
      unfinished_tasks: 1,
      dead_lettered: 0,
    });
  });

  it("a dead-lettered item leaves its group's unfinished count and counts in its dead_lettered", async () => {
    const name = await createQueue({ max_deliveries: 1 });
    await op(name, "put", { items: [{ item: 1 }, { item: 2 }], group: "g" });
    const joined = op(name, "join", { group: "g", timeout: 20 });
    await joiners(name, 1);
    const [a, b] = (await op(name, "get", { max: 2 })).body!.items;
    expect((await op(name, "release", { receipt: a.receipt })).body).toEqual({ dead_lettered: true });
    await op(name, "task_done", { receipt: b.receipt });
    expect((await joined).body).toEqual({ drained: true, group: "g", unfinished_tasks: 0, dead_lettered: 1 });
    expect((await group(name, "g")).body).toMatchObject({ unfinished_tasks: 0, completed: 1, dead_lettered: 1 });
  });

  it("an immediate shutdown drains a group's waiting items, and a released item counts against its group", async () => {
    const name = await createQueue();
    await op(name, "put", { items: [{ item: 1 }, { item: 2 }, { item: 3 }], group: "g" });
    const d = (await op(name, "get")).body!;
    await op(name, "release", { receipt: d.receipt });
    expect((await group(name, "g")).body).toMatchObject({ unfinished_tasks: 3, in_flight: 0 });
    const held = (await op(name, "get")).body!;
    await op(name, "shutdown", { immediate: true });
    expect((await group(name, "g")).body).toMatchObject({ unfinished_tasks: 1, in_flight: 1, puts: 3 });
    await op(name, "task_done", { receipt: held.receipt });
    expect((await op(name, "join", { group: "g" })).body).toMatchObject({ drained: true, unfinished_tasks: 0 });
  });

  it("an anonymous task_done that would complete a grouped delivery is refused (409 conflict) and changes nothing", async () => {
    const name = await createQueue();
    await op(name, "put", { item: 1, group: "g" });
    const d = (await op(name, "get")).body!;
    expect(await op(name, "task_done", {})).toMatchObject({ status: 409, body: { code: "conflict" } });
    expect((await stats(name)).unfinished_tasks).toBe(1);
    expect((await group(name, "g")).body).toMatchObject({ unfinished_tasks: 1, completed: 0 });
    expect((await op(name, "task_done", { receipt: d.receipt })).body).toEqual({
      unfinished_tasks: 0,
      replayed: false,
    });
  });

  it("without leases a grouped item is still delivered with a receipt, which completes it", async () => {
    const name = await createQueue({ lease_seconds: null });
    await op(name, "put", { item: "plain" });
    await op(name, "put", { item: "grouped", group: "g" });
    const plain = (await op(name, "get")).body!;
    expect(plain).toMatchObject({ receipt: null, group: null, lease_expires_at: null });
    const grouped = (await op(name, "get")).body!;
    expect(grouped).toMatchObject({ group: "g", lease_expires_at: null });
    expect(grouped.receipt).toEqual(expect.any(String));
    // The anonymous task_done completes the plain item (the grouped one is not an anonymous one's to end)...
    expect((await op(name, "task_done", {})).status).toBe(200);
    // ...and the next one would have to complete the grouped delivery: refused.
    expect(await op(name, "task_done", {})).toMatchObject({ status: 409, body: { code: "conflict" } });
    await op(name, "task_done", { receipt: grouped.receipt });
    expect((await group(name, "g")).body).toMatchObject({ unfinished_tasks: 0, completed: 1 });
    expect((await stats(name)).unfinished_tasks).toBe(0);
  });

  it("GET …/groups/{group} is 404 for an unknown group; the list pages in name order", async () => {
    const name = await createQueue();
    expect(await group(name, "nope")).toMatchObject({ status: 404, body: { code: "not_found" } });
    for (const g of ["c", "a", "b"]) await op(name, "put", { item: g, group: g });
    const first = await call("GET", `/v1/queues/${name}/groups?limit=2`);
    expect(first.body!.groups.map((g: { group: string }) => g.group)).toEqual(["a", "b"]);
    expect(first.body!.next).toBe("b");
    const second = await call("GET", `/v1/queues/${name}/groups?limit=2&after=b`);
    expect(second.body).toEqual({
      groups: [
        expect.objectContaining({
          group: "c",
          state: "open",
          unfinished_tasks: 1,
          in_flight: 0,
          puts: 1,
          completed: 0,
        }),
      ],
      next: null,
    });
  });

  it("refuses group names outside 1-64 characters of the queue-name alphabet (400 invalid_request)", async () => {
    const name = await createQueue();
    for (const g of ["", "x".repeat(65), "a/b", "a b", "é", 7, null]) {
      for (const res of [
        await op(name, "put", { item: 1, group: g }),
        await op(name, "put", { items: [{ item: 1, group: g }] }),
        await op(name, "join", { group: g }),
      ])
        expect(res).toMatchObject({ status: 400, body: { code: "invalid_request" } });
    }
    expect((await op(name, "put", { item: 1, group: "x".repeat(64) })).status).toBe(201);
    expect((await stats(name)).puts).toBe(1);
  });

  it("caps the groups a queue holds (MAX_GROUPS: 20 here): a put with one more is 429, a known one still goes", async () => {
    const name = await createQueue();
    for (let i = 0; i < 20; i++) expect((await op(name, "put", { item: i, group: `g${i}` })).status).toBe(201);
    const refused = await op(name, "put", {
      items: [
        { item: "x", group: "g0" },
        { item: "y", group: "new" },
      ],
    });
    expect(refused).toMatchObject({ status: 429, body: { code: "limit_exceeded" } });
    expect((await stats(name)).puts).toBe(20);
    expect((await op(name, "put", { item: "z", group: "g3" })).status).toBe(201);
  });

  it("a drained group is forgotten a day after its last change (the default retention); one with work left is not", async () => {
    const name = await createQueue();
    await op(name, "put", { item: 1, group: "done" });
    await op(name, "put", { item: 2, group: "busy" });
    const d = (await op(name, "get")).body!;
    await op(name, "task_done", { receipt: d.receipt });
    const at = (ms: number) =>
      runInDurableObject(env.QUEUES.get(env.QUEUES.idFromName(name)), (o: QueueObject) => {
        const q = (o as unknown as { queue: JoinableQueue }).queue;
        q.tick(Date.now() + ms);
        return [q.group("done", Date.now() + ms), q.group("busy", Date.now() + ms)];
      });
    expect(await at(23.9 * 3_600_000)).toEqual([
      expect.objectContaining({ group: "done", unfinished_tasks: 0 }),
      expect.objectContaining({ group: "busy", unfinished_tasks: 1 }),
    ]);
    expect(await at(24.1 * 3_600_000)).toEqual([undefined, expect.objectContaining({ group: "busy" })]);
  });
});
