// The TypeScript client against the real Worker: Python's exceptions, poll_again hidden, the classic join example.
import { exports } from "cloudflare:workers";
import { expect, it } from "vitest";
import { Empty, Full, QueueClient, ShutDown } from "../../src/client.ts";
import { uniqueName } from "./helpers.ts";

const client = new QueueClient("http://queues.test", { fetch: (input, init) => exports.default.fetch(new Request(input, init)) });

it("runs CPython's producer / consumers / join example: three consumers, five items", async () => {
  const q = await client.create(uniqueName("classic"));
  const done: number[] = [];
  const consumer = async () => {
    for (;;) {
      const job = await q.get();
      if (job.item === null) return q.taskDone(job);
      done.push(job.item as number);
      await q.taskDone(job);
    }
  };
  const consumers = [consumer(), consumer(), consumer()];
  for (let i = 0; i < 5; i++) await q.put(i);
  const joined = await q.join();
  expect(joined).toEqual({ drained: true, unfinished_tasks: 0, dead_lettered: 0 });
  expect(done.sort()).toEqual([0, 1, 2, 3, 4]);
  for (let i = 0; i < 3; i++) await q.put(null);
  await Promise.all(consumers);
  expect(await q.stats()).toMatchObject({ unfinished_tasks: 0, qsize: 0 });
});

it("raises Empty, Full and ShutDown like Python", async () => {
  const q = await client.create(uniqueName("exc"), { maxsize: 1 });
  await expect(q.getNowait()).rejects.toBeInstanceOf(Empty);
  await expect(q.get({ timeout: 0.1 })).rejects.toBeInstanceOf(Empty);
  await q.putNowait("a");
  await expect(q.putNowait("b")).rejects.toBeInstanceOf(Full);
  expect(await q.full()).toBe(true);
  await q.shutdown();
  await expect(q.put("c")).rejects.toBeInstanceOf(ShutDown);
});

it("waits past the server's cap when the timeout is None (poll_again is handled inside)", async () => {
  const q = await client.create(uniqueName("long"));
  const waiting = q.get(); // MAX_WAIT_SECONDS is 2 in tests: this wait spans more than one poll
  await new Promise((r) => setTimeout(r, 2500));
  await q.put("late");
  expect((await waiting).item).toBe("late");
});
