// The TypeScript client's side of fair groups (issue 34) against the real Worker: a group's status, its weight and
// cap, cancelling it (GroupCancelled for a later put, `cancelled` on the holder's heartbeat and task_done and on the
// group's join), and the queue settings that govern groups.
import { exports } from "cloudflare:workers";
import { expect, it } from "vitest";
import {
  GroupCancelled,
  InvalidRequest,
  NotFound,
  QueueClient,
  QueueError,
} from "../../clients/typescript/src/index.ts";
import { uniqueName } from "./helpers.ts";

const worker = (input: RequestInfo | URL, init?: RequestInit) => exports.default.fetch(new Request(input, init));
const client = new QueueClient("http://queues.test", { fetch: worker });

it("cancel removes a group's waiting items; a later put throws GroupCancelled; the holder and the join are told", async () => {
  const q = await client.createQueue<number | string>(uniqueName("cancel"), { lease_seconds: 30 });
  const batch = q.group("batch");
  await batch.putMany([1, 2, 3]);
  await q.put("kept", { group: "other" });
  const job = await q.get();
  expect(job).toMatchObject({ item: 1, group: "batch" });

  expect(await batch.cancel()).toEqual({ group: "batch", cancelled: 2, in_flight: 1 });
  expect(await batch.cancel()).toEqual({ group: "batch", cancelled: 0, in_flight: 1 }); // a repeat removes nothing
  const refused = await batch.put(4).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(GroupCancelled);
  expect(refused).toBeInstanceOf(QueueError);
  expect(refused).toMatchObject({ code: "group_cancelled", status: 410, problem: { code: "group_cancelled" } });
  await expect(q.putMany([5, 6], { group: "batch" })).rejects.toBeInstanceOf(GroupCancelled);
  expect(await batch.stats()).toMatchObject({
    group: "batch",
    state: "cancelled",
    unfinished_tasks: 1,
    in_flight: 1,
    puts: 3,
    cancelled: 2,
  });

  // The delivery in flight may finish: its heartbeat and its task_done say the group is gone.
  expect(await batch.join({ timeout: 0 })).toMatchObject({ drained: false, group: "batch", unfinished_tasks: 1 });
  expect(job.cancelled).toBeUndefined();
  await q.extend(job, 30);
  expect(job.cancelled).toBe(true);
  expect(await q.taskDone(job)).toMatchObject({ unfinished_tasks: 1, cancelled: true });
  expect(await batch.join()).toMatchObject({ drained: true, group: "batch", unfinished_tasks: 0, cancelled: 2 });

  // The other group, and the queue's count, lost nothing but the cancelled items.
  expect(await q.group("other").stats()).toMatchObject({ state: "open", unfinished_tasks: 1, cancelled: 0 });
  expect(await q.stats()).toMatchObject({ unfinished_tasks: 1, qsize: 1 });
  await expect(q.group("never-put").cancel()).rejects.toBeInstanceOf(NotFound);
});

it("a group's status, weight and cap; max_in_flight null gives it the queue's cap again", async () => {
  const q = await client.createQueue<number>(uniqueName("fair"), {
    lease_seconds: 30,
    dispatch: "fair",
    group_max_in_flight: 2,
    group_retention_seconds: 3600,
  });
  expect(await q.stats()).toMatchObject({ dispatch: "fair", group_max_in_flight: 2, group_retention_seconds: 3600 });
  const before = Date.now();
  const a = q.group("a");
  await a.putMany([1, 2, 3]);
  const status = await a.stats();
  expect(status).toMatchObject({
    group: "a",
    state: "open",
    unfinished_tasks: 3,
    in_flight: 0,
    puts: 3,
    completed: 0,
    dead_lettered: 0,
    cancelled: 0,
    weight: 1,
    max_in_flight: 2, // the queue's
  });
  expect(status.first_put_at).toBeGreaterThanOrEqual(before - 5_000); // the server's clock, near this one
  expect(status.updated_at).toBeGreaterThanOrEqual(status.first_put_at!);

  expect(await a.configure({ weight: 5, max_in_flight: 1 })).toMatchObject({ group: "a", weight: 5, max_in_flight: 1 });
  const taken = await q.getMany(3, { block: false });
  expect(taken.map((j) => j.item)).toEqual([1]); // its own cap of one
  expect(await a.configure({ max_in_flight: null })).toMatchObject({ weight: 5, max_in_flight: 2 });
  await expect(a.configure({ weight: 0 })).rejects.toBeInstanceOf(InvalidRequest);

  // A group nothing was put to yet may be configured: it then exists, drained, with those settings.
  expect(await q.group("later").configure({ weight: 3 })).toMatchObject({
    group: "later",
    state: "drained",
    puts: 0,
    weight: 3,
    first_put_at: null,
  });
  const page = await q.groups();
  expect(page.groups.map((g) => [g.group, g.state, g.weight])).toEqual([
    ["a", "open", 5],
    ["later", "drained", 3],
  ]);

  await q.taskDone(taken[0]!);
  for (const job of await q.getMany(2)) await q.taskDone(job);
  expect(await a.join()).toMatchObject({ drained: true, group: "a" });
  expect(await a.stats()).toMatchObject({ state: "drained", unfinished_tasks: 0, completed: 3 });

  const changed = await q.configure({ dispatch: "fifo", group_max_in_flight: null, group_retention_seconds: 60 });
  expect(changed).toMatchObject({ dispatch: "fifo", group_max_in_flight: null, group_retention_seconds: 60 });
  expect(await a.stats()).toMatchObject({ max_in_flight: null });
});
