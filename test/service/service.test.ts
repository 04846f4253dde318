// The service binding, called over RPC from an auxiliary Worker as a user's Worker would call it: the same
// semantics, limits and error codes as HTTP, waits that need no poll_again, and no token.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const caller = (env as unknown as { CALLER: Fetcher }).CALLER;
let counter = 0;
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++counter}`;

/** A successful call's result (without `ok`); a refusal is thrown as its Problem, for `rejects` to match. */
async function rpc(method: string, ...args: unknown[]): Promise<any> {
  const res = await caller.fetch("http://caller/", { method: "POST", body: JSON.stringify({ method, args }) });
  const { result, error } = (await res.json()) as { result: { ok: boolean }; error?: unknown };
  if (error) throw new Error(`the call threw instead of answering: ${JSON.stringify(error)}`);
  if (!result.ok) throw result;
  const { ok: _, ...value } = result;
  return value;
}
const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.fail("expected a refusal"),
    (e: Record<string, unknown>) => e,
  );

it("answers every refusal as a value, never by throwing (the caller's catch-all sees nothing)", async () => {
  const res = await caller.fetch("http://caller/", {
    method: "POST",
    body: JSON.stringify({ method: "stats", args: ["no-such-queue"] }),
  });
  expect(await res.json()).toEqual({
    result: { ok: false, code: "not_found", status: 404, detail: expect.stringMatching(/no such queue/) },
  });
});

it("runs the classic: put, get, task_done, join, shutdown", async () => {
  const name = unique("svc-classic");
  expect(await rpc("createQueue", name, { lease_seconds: 30 })).toEqual({ created: true });
  expect(await rpc("createQueue", name, { lease_seconds: 30 })).toEqual({ created: false });
  const ids = [(await rpc("put", name, { n: 1.5 })).id, ...(await rpc("putMany", name, [2, [3]])).ids];
  expect(ids).toEqual([1, 2, 3]);
  const { job } = await rpc("get", name);
  expect(job).toMatchObject({
    id: 1,
    item: { n: 1.5 },
    deliveries: 1,
    receipt: expect.any(String),
    lease_expires_at: expect.any(Number),
  });
  expect(await rpc("taskDone", name, job.receipt)).toEqual({ unfinished_tasks: 2, replayed: false });
  const rest = (await rpc("getMany", name, 10)).jobs;
  expect(rest.map((j: { item: unknown }) => j.item)).toEqual([2, [3]]);
  expect(await rpc("taskDone", name)).toEqual({ unfinished_tasks: 1, replayed: false }); // anonymous, as in Python
  await rpc("taskDone", name, rest[1].receipt);
  expect(await rpc("join", name)).toEqual({ drained: true, unfinished_tasks: 0, dead_lettered: 0 });
  expect((await rpc("shutdown", name)).stats).toMatchObject({ name, shutdown: true });
  expect(await refusal(rpc("put", name, 4))).toEqual({
    ok: false,
    code: "shutdown",
    status: 410,
    detail: expect.any(String),
  });
  expect(await rpc("deleteQueue", name)).toEqual({});
  expect(await refusal(rpc("stats", name))).toMatchObject({ code: "not_found", status: 404 });
  expect(await refusal(rpc("deleteQueue", name))).toMatchObject({ code: "not_found", status: 404 });
});

it("waits past the HTTP cap (2 s here) without poll_again: a get, a join", async () => {
  const name = unique("svc-wait");
  await rpc("createQueue", name);
  const started = Date.now();
  const waiting = rpc("get", name);
  await new Promise((r) => setTimeout(r, 2500));
  await rpc("put", name, "late");
  expect((await waiting).job.item).toBe("late");
  expect(Date.now() - started).toBeGreaterThanOrEqual(2500);
  const joining = rpc("join", name, { timeout: 3 });
  expect(await joining).toMatchObject({ drained: false, unfinished_tasks: 1 });
  await expect(rpc("get", name, { timeout: 0.2 })).rejects.toMatchObject({ ok: false, code: "empty", status: 409 });
});

describe("the HTTP API's limits and error codes", () => {
  it("refuses bad names, options and items with invalid_request, and big items with payload_too_large", async () => {
    const name = unique("svc-bad");
    await rpc("createQueue", name, { maxsize: 1 });
    expect(await refusal(rpc("stats", "bad name!"))).toMatchObject({
      code: "invalid_request",
      detail: expect.stringMatching(/queue name/),
    });
    expect(await refusal(rpc("createQueue", unique("svc-x"), { maxsize: -1 }))).toMatchObject({
      code: "invalid_request",
    });
    expect(await refusal(rpc("get", name, { leaseSeconds: 0 }))).toMatchObject({
      code: "invalid_request",
      detail: expect.stringMatching(/lease_seconds/),
    });
    expect(await refusal(rpc("put", name, "x".repeat(200 * 1024)))).toMatchObject({
      code: "payload_too_large",
      status: 413,
    });
    let deep: unknown = 1;
    for (let i = 0; i < 70; i++) deep = [deep];
    expect(await refusal(rpc("put", name, deep))).toMatchObject({
      code: "invalid_request",
      detail: expect.stringMatching(/nests deeper than 64/),
    });
    expect(
      await refusal(
        rpc(
          "putMany",
          name,
          Array.from({ length: 101 }, () => 1),
        ),
      ),
    ).toMatchObject({ code: "invalid_request" });
    expect(await refusal(rpc("putMany", name, [1, 2]))).toMatchObject({ code: "batch_too_large" });
    await rpc("put", name, 1);
    expect(await refusal(rpc("put", name, 2, { block: false }))).toMatchObject({ code: "full", status: 409 });
    expect(await refusal(rpc("taskDone", name, "forged.1.1.00"))).toMatchObject({
      code: "invalid_receipt",
      status: 400,
    });
    expect((await rpc("stats", name)).stats).toMatchObject({ qsize: 1, unfinished_tasks: 1 }); // nothing refused was added
  });

  it("leases, dead letters and idempotent puts behave as over HTTP", async () => {
    const name = unique("svc-lease");
    await rpc("createQueue", name, { lease_seconds: 5, max_deliveries: 1 });
    const first = (await rpc("put", name, "once", { idempotencyKey: "k" })).id;
    expect((await rpc("put", name, "once", { idempotencyKey: "k" })).id).toBe(first);
    const { job } = await rpc("get", name);
    expect((await rpc("extend", name, job.receipt, 60)).lease_expires_at).toBeGreaterThan(job.lease_expires_at);
    expect(await rpc("release", name, job.receipt)).toEqual({ dead_lettered: true });
    expect(await refusal(rpc("taskDone", name, job.receipt))).toMatchObject({ code: "stale_receipt" });
    expect((await rpc("deadLetters", name)).jobs.map((j: { item: unknown }) => j.item)).toEqual(["once"]);
    expect(await rpc("redrive", name)).toEqual({ ids: [first] });
    expect((await rpc("configure", name, { max_deliveries: 3 })).stats).toMatchObject({ max_deliveries: 3 });
    expect(await rpc("purgeDeadLetters", name)).toEqual({ purged: 0 });
    const listed = await rpc("listQueues", { limit: 1000 });
    expect(listed.queues.find((q: { name: string }) => q.name === name)).toMatchObject({ max_deliveries: 3 });
  });
});

it("puts into a group, joins it, and reads its counters", async () => {
  const name = unique("svc-groups");
  await rpc("createQueue", name, {});
  await rpc("putMany", name, [1, 2], { group: "g" });
  await rpc("put", name, 3);
  const { jobs } = await rpc("getMany", name, 3);
  expect(jobs.map((j: { group: string | null }) => j.group)).toEqual(["g", "g", null]);
  expect(await rpc("join", name, { group: "g", timeout: 0 })).toEqual({
    drained: false,
    group: "g",
    unfinished_tasks: 2,
    dead_lettered: 0,
  });
  await rpc("taskDone", name, jobs[0].receipt);
  expect((await rpc("groupStats", name, "g")).stats).toMatchObject({
    group: "g",
    state: "open",
    unfinished_tasks: 1,
    in_flight: 1,
    puts: 2,
    completed: 1,
    dead_lettered: 0,
  });
  await rpc("taskDone", name, jobs[1].receipt);
  expect(await rpc("join", name, { group: "g" })).toMatchObject({ drained: true, group: "g" });
  expect(await refusal(rpc("groupStats", name, "nope"))).toMatchObject({ code: "not_found", status: 404 });
  expect(await refusal(rpc("put", name, 4, { group: "bad/name" }))).toMatchObject({ code: "invalid_request" });
  // A group's settings and its cancel, by the binding as over HTTP.
  await rpc("putMany", name, [5, 6], { group: "h" });
  expect((await rpc("configureGroup", name, "h", { weight: 2, max_in_flight: 1 })).stats).toMatchObject({
    weight: 2,
    max_in_flight: 1,
  });
  expect(await refusal(rpc("configureGroup", name, "h", { weight: 0 }))).toMatchObject({ code: "invalid_request" });
  expect(await rpc("cancelGroup", name, "h")).toEqual({ group: "h", cancelled: 2, in_flight: 0 });
  expect(await refusal(rpc("put", name, 7, { group: "h" }))).toMatchObject({ code: "group_cancelled", status: 410 });
});

it("completes many deliveries in one call, answering each one's outcome", async () => {
  const name = unique("svc-many");
  await rpc("createQueue", name, { lease_seconds: 30 });
  await rpc("putMany", name, [1, 2]);
  const receipts = (await rpc("getMany", name, 2)).jobs.map((j: { receipt: string }) => j.receipt);
  expect(await rpc("taskDoneMany", name, [...receipts, receipts[0]])).toEqual({
    unfinished_tasks: 0,
    results: ["done", "done", "replayed"],
  });
  expect(await refusal(rpc("taskDoneMany", name, []))).toMatchObject({ code: "invalid_request", status: 400 });
});

describe("push and join callbacks through the binding, checked as over HTTP", () => {
  const push = (url: string) => ({ url, paused: true });

  it("refuses a push URL outside PUSH_ORIGINS on create and configure, changing nothing", async () => {
    const name = unique("svc-push-refused");
    expect(await refusal(rpc("createQueue", name, { push: push("https://elsewhere.example/push") }))).toMatchObject({
      code: "invalid_request",
      status: 400,
      detail: expect.stringMatching(/^push\.url: .*PUSH_ORIGINS/),
    });
    expect(await refusal(rpc("stats", name))).toMatchObject({ code: "not_found" }); // not created
    await rpc("createQueue", name);
    expect(await refusal(rpc("configure", name, { push: push("http://hooks.example/push") }))).toMatchObject({
      code: "invalid_request",
      detail: expect.stringMatching(/^push\.url: /),
    });
    expect((await rpc("stats", name)).stats.push).toBeUndefined();
  });

  it("answers the webhook secret once on create with push, rotates it, and configures push", async () => {
    const name = unique("svc-push");
    const created = await rpc("createQueue", name, { push: push("https://hooks.example/push") });
    expect(created).toEqual({ created: true, webhook_secret: expect.stringMatching(/^whsec_/) });
    expect(await rpc("createQueue", name, { push: push("https://hooks.example/push") })).toEqual({ created: false });
    const changed = await rpc("configure", name, { push: { ...push("https://hooks.example/other"), concurrency: 3 } });
    expect(changed.webhook_secret).toBeUndefined(); // the queue has its secret already
    expect(changed.stats.push).toMatchObject({ url: "https://hooks.example/other", concurrency: 3, paused: true });
    const rotated = await rpc("rotateWebhookSecret", name);
    expect(rotated.webhook_secret).toMatch(/^whsec_/);
    expect(rotated.webhook_secret).not.toBe(created.webhook_secret);
    expect(rotated.previous_expires_at).toBeGreaterThan(Date.now());
    const off = await rpc("configure", name, { push: null });
    expect(off.stats.push).toBeNull(); // push turned off
  });

  it("adds and removes join callbacks, refusing a URL outside PUSH_ORIGINS", async () => {
    const name = unique("svc-callbacks");
    await rpc("createQueue", name);
    await rpc("put", name, "pending"); // not drained: the callback waits
    expect(await refusal(rpc("addJoinCallback", name, { url: "https://elsewhere.example/done" }))).toMatchObject({
      code: "invalid_request",
      detail: expect.stringMatching(/^url: /),
    });
    const added = await rpc("addJoinCallback", name, { url: "https://hooks.example/done", minBackoffSeconds: 2 });
    expect(added).toMatchObject({
      callback: { state: "waiting", repeat: false, min_backoff_seconds: 2 },
      webhook_secret: expect.stringMatching(/^whsec_/),
    });
    expect((await rpc("stats", name)).stats.join_callbacks).toHaveLength(1);
    expect(await rpc("removeJoinCallback", name, added.callback.id)).toEqual({});
    expect(await refusal(rpc("removeJoinCallback", name, added.callback.id))).toMatchObject({ code: "not_found" });
    expect(
      await refusal(rpc("addJoinCallback", name, { url: "https://hooks.example/done", repeat: "yes" })),
    ).toMatchObject({ code: "invalid_request", detail: expect.stringMatching(/^repeat: /) });
  });
});

it("serves a sharded queue the same way: shard keys, receipts across shards, one exact join", async () => {
  const name = unique("svc-shards");
  expect(await rpc("createQueue", name, { shards: 4 })).toEqual({ created: true });
  expect(await refusal(rpc("createQueue", unique("svc-shards"), { shards: 4, maxsize: 3 }))).toMatchObject({
    code: "invalid_request",
    detail: expect.stringMatching(/maxsize/),
  });
  for (const key of ["a", "b", "c", "d", "e", "f"]) await rpc("put", name, key, { shardKey: key });
  const jobs: { item: string; receipt: string }[] = [];
  while (jobs.length < 6) jobs.push(...(await rpc("getMany", name, 6, { block: false })).jobs);
  expect(jobs.map((j) => j.item).sort()).toEqual(["a", "b", "c", "d", "e", "f"]);
  expect(new Set(jobs.map((j) => j.receipt.split(".")[0])).size).toBeGreaterThan(1);
  expect((await rpc("stats", name)).stats).toMatchObject({ shards: 4, unfinished_tasks: 6, qsize: 0 });
  expect(await rpc("join", name, { timeout: 0 })).toMatchObject({ drained: false });
  expect(await refusal(rpc("taskDone", name))).toMatchObject({ code: "invalid_request" }); // no receipt
  await rpc(
    "taskDoneMany",
    name,
    jobs.map((j) => j.receipt),
  );
  expect(await rpc("join", name)).toEqual({ drained: true, unfinished_tasks: 0, dead_lettered: 0 });
  expect(await rpc("deleteQueue", name)).toEqual({});
});
