// A batch task_done: many receipts in one call, each one's outcome answered in order; the client's taskDoneMany.
import { exports } from "cloudflare:workers";
import { expect, it } from "vitest";
import { QueueClient } from "../../clients/typescript/src/index.ts";
import { call, expectProblem, raw, uniqueName } from "./helpers.ts";

const client = new QueueClient("http://queues.test", {
  fetch: (input, init) => exports.default.fetch(new Request(input, init)),
});

it("completes each open delivery once; a repeat is replayed, an ended lease stale, a foreign receipt invalid", async () => {
  const name = uniqueName("many");
  await call("PUT", `/v1/queues/${name}`, { lease_seconds: 30 });
  await call("POST", `/v1/queues/${name}/put`, { items: [{ item: 1 }, { item: 2 }, { item: 3 }] });
  const [a, b, c] = (await call("POST", `/v1/queues/${name}/get`, { max: 3 })).body!.items;
  await call("POST", `/v1/queues/${name}/task_done`, { receipt: a.receipt });
  await call("POST", `/v1/queues/${name}/release`, { receipt: c.receipt }); // c's delivery has ended
  const stranger = `${a.receipt.split(".")[0]}.99.1.0123456789abcdef`;
  const res = await call("POST", `/v1/queues/${name}/task_done`, {
    receipts: [b.receipt, a.receipt, c.receipt, b.receipt, stranger],
  });
  expect(res.body).toEqual({ unfinished_tasks: 1, results: ["done", "replayed", "stale", "replayed", "stale"] });
  const stats = (await call("GET", `/v1/queues/${name}`)).body!;
  expect(stats).toMatchObject({ unfinished_tasks: 1, qsize: 1, leased: 0, completed: 2 });
  const other = `zzzz${a.receipt.slice(4)}`;
  expect((await call("POST", `/v1/queues/${name}/task_done`, { receipts: [other] })).body!.results).toEqual([
    "invalid",
  ]);
});

it("refuses both forms at once, an empty list and more than 100, changing nothing", async () => {
  const name = uniqueName("many-bad");
  await call("PUT", `/v1/queues/${name}`, {});
  const post = (body: unknown) =>
    raw("POST", `/v1/queues/${name}/task_done`, JSON.stringify(body), { "content-type": "application/json" });
  await expectProblem(await post({ receipt: "x", receipts: ["y"] }), 400, "invalid_request", /not both/);
  await expectProblem(await post({ receipts: [] }), 400, "invalid_request", /receipts/);
  await expectProblem(await post({ receipts: Array(101).fill("x") }), 400, "invalid_request", /receipts/);
  expect((await call("GET", `/v1/queues/${name}`)).body).toMatchObject({ unfinished_tasks: 0, completed: 0 });
});

it("the client's taskDoneMany sends 100 receipts a request and answers each job's outcome", async () => {
  const q = client.queue<number>(uniqueName("many-client"));
  await client.createQueue(q.name, { lease_seconds: 30 });
  await q.putMany(Array.from({ length: 150 }, (_, i) => i));
  const jobs = [...(await q.getMany(100)), ...(await q.getMany(100))];
  expect(jobs).toHaveLength(150);
  const answer = await q.taskDoneMany([...jobs, jobs[0]!]);
  expect(answer.unfinished_tasks).toBe(0);
  expect(answer.results).toEqual([...Array(150).fill("done"), "replayed"]);
  expect(await q.join({ timeout: 0 })).toMatchObject({ drained: true });
});
