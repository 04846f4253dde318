// The TypeScript client's side of a cancelled group over the WebSocket API, against `wrangler dev`: a socket put to
// it throws GroupCancelled, a socket heartbeat sets `job.cancelled`, a group's subscribeJoin answers with
// `cancelled`, and `process` lets a long handler see the cancel through its own heartbeat.
import { afterAll, beforeAll, expect, it } from "vitest";
import { GroupCancelled, type Job, QueueClient } from "../../clients/typescript/src/index.ts";
import { serve } from "./server.ts";

let server: Awaited<ReturnType<typeof serve>>;
let client: QueueClient;

beforeAll(async () => {
  server = await serve();
  client = new QueueClient(server.url);
}, 90_000);
afterAll(() => server?.stop());

it("over a socket: a put to a cancelled group is refused, a heartbeat says so, the group's join carries the count", async () => {
  const q = await client.createQueue<number>(`groups-sock-${process.pid}`, { lease_seconds: 30 });
  const socket = q.socket();
  await socket.putMany([1, 2, 3], { group: "batch" });
  const joined = q.subscribeJoin({ group: "batch" });
  const first = joined.next(); // subscribed before the cancel: it answers when the group drains
  const consuming = socket.consume({ prefetch: 1 });
  const job = (await consuming.next()).value as Job<number>;
  expect(job).toMatchObject({ item: 1, group: "batch" });

  expect(await q.group("batch").cancel()).toEqual({ group: "batch", cancelled: 2, in_flight: 1 });
  await expect(socket.put(4, { group: "batch" })).rejects.toBeInstanceOf(GroupCancelled);
  await socket.extend(job, 30);
  expect(job.cancelled).toBe(true);
  await socket.taskDone(job);
  expect((await first).value).toEqual({
    drained: true,
    group: "batch",
    unfinished_tasks: 0,
    dead_lettered: 0,
    cancelled: 2,
  });
  await consuming.return(undefined);
  await joined.return(undefined);
  socket.close();
  await client.deleteQueue(q.name);
});

it("process: a long handler sees its group cancelled through the loop's heartbeat, and stops early", async () => {
  const q = await client.createQueue<string>(`groups-process-${process.pid}`, { lease_seconds: 3 });
  await q.group("report").putMany(["long", "never-started"]);
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const stop = new AbortController();
  const seen: string[] = [];
  const loop = q.process(
    async (job) => {
      seen.push(job.item);
      started();
      // Work in steps, as a long job does, until a heartbeat (every second: a third of the lease) says to stop.
      while (!job.cancelled) await new Promise((r) => setTimeout(r, 100));
      stop.abort();
    },
    { signal: stop.signal },
  );
  await running;
  expect(await q.group("report").cancel()).toEqual({ group: "report", cancelled: 1, in_flight: 1 });
  expect(await loop).toEqual({ done: 1, failed: 0 }); // completing a cancelled group's job still counts
  expect(seen).toEqual(["long"]);
  expect(await q.group("report").join({ timeout: 5 })).toMatchObject({ drained: true, cancelled: 1 });
  await client.deleteQueue(q.name);
});
