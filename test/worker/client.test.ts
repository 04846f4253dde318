// The TypeScript client package against the real Worker (in workerd, through its fetch): every method, every
// error class, retries that never duplicate a put, waits past the server's cap, and the `process` consumer loop.
// Its WebSocket side, aborts and the packed package run against `wrangler dev` (test/e2e/client.test.ts).
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  Conflict,
  Empty,
  Full,
  InvalidReceipt,
  InvalidRequest,
  NotFound,
  PayloadTooLarge,
  QueueClient,
  QueueError,
  ShutDown,
  StaleReceipt,
  TaskDoneTooMany,
  Unavailable,
} from "../../clients/typescript/src/index.ts";
import { MAX_TIMEOUT } from "../../clients/typescript/src/queue.ts";
import { uniqueName, until } from "./helpers.ts";

const worker = (input: RequestInfo | URL, init?: RequestInit) => exports.default.fetch(new Request(input, init));
const client = new QueueClient("http://queues.test", { fetch: worker });

/** A client whose requests are kept ("POST get", its JSON body, its idempotency key): what the client sent, when. */
function recorded() {
  const sent: { call: string; body: Record<string, any>; key: string | null }[] = [];
  const fetch = (input: RequestInfo | URL, init?: RequestInit) => {
    const call = `${init?.method ?? "GET"} ${new URL(String(input)).pathname.split("/").at(-1)}`;
    const key = new Headers(init?.headers).get("idempotency-key");
    sent.push({ call, body: JSON.parse(String(init?.body ?? "{}")), key });
    return worker(input, init);
  };
  /** Resolves once the n-th request of `call` has gone out (bounded: fails after 10 s). */
  const requested = (call: string, n: number) =>
    until(async () => sent.filter((r) => r.call === call).length >= n, 10_000);
  return { client: new QueueClient("http://queues.test", { fetch }), sent, requested };
}

it("runs CPython's producer / consumers / join example: three consumers, five items, shutdown ends them", async () => {
  const q = await client.createQueue<number>(uniqueName("classic"));
  const done: number[] = [];
  const consumer = async () => {
    for (;;) {
      const job = await q.get().catch((e) => (e instanceof ShutDown ? null : Promise.reject(e)));
      if (job === null) return;
      done.push(job.item);
      await q.taskDone(job);
    }
  };
  const consumers = [consumer(), consumer(), consumer()];
  for (let i = 0; i < 5; i++) await q.put(i);
  expect(await q.join()).toEqual({ drained: true, unfinished_tasks: 0, dead_lettered: 0 });
  expect(done.sort()).toEqual([0, 1, 2, 3, 4]);
  await q.shutdown();
  await Promise.all(consumers);
  expect(await q.stats()).toMatchObject({ unfinished_tasks: 0, qsize: 0, shutdown: true });
});

it("groups: q.put(item, { group }), q.group(name) puts, joins and reads its status; the pool serves both", async () => {
  const q = await client.createQueue<string>(uniqueName("groups"));
  const a = q.group("request-a");
  await a.putMany(["a1", "a2"]);
  await q.put("b1", { group: "request-b" });
  const jobs = await q.getMany(3);
  expect(jobs.map((j) => [j.item, j.group])).toEqual([
    ["a1", "request-a"],
    ["a2", "request-a"],
    ["b1", "request-b"],
  ]);
  await q.taskDone(jobs[2]!);
  expect(await q.join({ group: "request-b" })).toEqual({
    drained: true,
    group: "request-b",
    unfinished_tasks: 0,
    dead_lettered: 0,
  });
  expect(await a.join({ timeout: 0 })).toMatchObject({ drained: false, unfinished_tasks: 2 });
  await q.taskDone(jobs[0]!);
  await q.taskDone(jobs[1]!);
  expect(await a.join()).toMatchObject({ drained: true, group: "request-a" });
  expect(await a.stats()).toMatchObject({
    group: "request-a",
    state: "drained",
    unfinished_tasks: 0,
    in_flight: 0,
    puts: 2,
    completed: 2,
    dead_lettered: 0,
    cancelled: 0,
  });
  expect((await q.groups({ limit: 1 })).next).toBe("request-a");
  await expect(q.group("unknown").stats()).rejects.toBeInstanceOf(NotFound);
  await q.put("anonymous-refused", { group: "c" });
  await q.get();
  await expect(q.taskDone()).rejects.toBeInstanceOf(Conflict);
});

describe("errors are classes carrying the problem document", () => {
  it("Empty, Full and ShutDown, like Python", async () => {
    const q = await client.createQueue(uniqueName("exc"), { maxsize: 1 });
    await expect(q.getNowait()).rejects.toBeInstanceOf(Empty);
    await expect(q.get({ timeout: 0.1 })).rejects.toBeInstanceOf(Empty);
    await q.putNowait("a");
    const full = await q.putNowait("b").catch((e: unknown) => e);
    expect(full).toBeInstanceOf(Full);
    expect(full).toMatchObject({ code: "full", status: 409, problem: { code: "full", status: 409 } });
    expect(full).toBeInstanceOf(QueueError);
    expect(await q.full()).toBe(true);
    await q.shutdown();
    await expect(q.put("c")).rejects.toBeInstanceOf(ShutDown);
  });

  it("TaskDoneTooMany, StaleReceipt, InvalidReceipt, NotFound, Conflict, PayloadTooLarge, InvalidRequest", async () => {
    const q = await client.createQueue(uniqueName("errs"), { lease_seconds: 5 });
    await expect(q.taskDone()).rejects.toBeInstanceOf(TaskDoneTooMany);
    await q.put(1);
    const job = await q.get();
    await q.release(job);
    await expect(q.taskDone(job)).rejects.toBeInstanceOf(StaleReceipt);
    await expect(q.taskDone({ receipt: "forged.1.1.0000" })).rejects.toBeInstanceOf(InvalidReceipt);
    await expect(client.queue(uniqueName("absent")).stats()).rejects.toBeInstanceOf(NotFound);
    await expect(client.createQueue(q.name, { order: "lifo" })).rejects.toBeInstanceOf(Conflict);
    await expect(q.put("x".repeat(200 * 1024))).rejects.toBeInstanceOf(PayloadTooLarge);
    const invalid = await q.get({ leaseSeconds: 0 }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(InvalidRequest);
    expect((invalid as QueueError).detail).toMatch(/lease_seconds/);
  });
});

describe("every method", () => {
  it("putMany splits into batches of 100; getMany, qsize, empty, configure", async () => {
    const q = await client.createQueue<number>(uniqueName("many"));
    const ids = await q.putMany(Array.from({ length: 250 }, (_, i) => i));
    expect(ids).toHaveLength(250);
    expect(await q.qsize()).toBe(250);
    const batch = await q.getMany(100);
    expect(batch.map((j) => j.item)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(batch[0]).toMatchObject({
      id: ids[0],
      deliveries: 1,
      priority: 0,
      receipt: expect.any(String),
      leaseExpiresAt: expect.any(Number),
    });
    expect(await q.empty()).toBe(false);
    expect((await q.configure({ maxsize: 500 })).maxsize).toBe(500);
  });

  it("priorities, delay and idempotency keys", async () => {
    const q = await client.createQueue(uniqueName("prio"), { order: "priority" });
    await q.put("low", { priority: [2, "b"] });
    await q.put("high", { priority: [1, "z"] });
    await q.putMany(["mid"], { priorities: [[1, "zz"]] });
    await q.put("later", { delay: 60 });
    expect((await q.getMany(10)).map((j) => j.item)).toEqual(["high", "mid", "low"]);
    const first = await q.put("once", { idempotencyKey: "k1" });
    expect(await q.put("once", { idempotencyKey: "k1" })).toBe(first);
    expect((await q.stats()).delayed).toBe(1);
  });

  it("extend keeps a job past its lease; release with a delay; a repeated task_done is replayed", async () => {
    const q = await client.createQueue(uniqueName("lease"), { lease_seconds: 1 });
    await q.putMany(["slow", "witness"]);
    const job = await q.get();
    const witness = await q.get(); // not extended: its lease ends at or after the slow job's original one
    const before = job.leaseExpiresAt!;
    expect(witness.leaseExpiresAt!).toBeGreaterThanOrEqual(before);
    expect(await q.extend(job, 3)).toBe(job.leaseExpiresAt);
    expect(job.leaseExpiresAt!).toBeGreaterThan(before);
    // The witness comes back once the server has ended its lease: the slow job's original lease has passed too.
    expect(await q.get({ timeout: 10 })).toMatchObject({ item: "witness", deliveries: 2 });
    expect(await q.taskDone(job)).toEqual({ unfinished_tasks: 1, replayed: false });
    expect(await q.taskDone(job)).toEqual({ unfinished_tasks: 1, replayed: true });
    await q.taskDone();
    await q.put("again");
    const other = await q.get();
    expect(await q.release(other, { delay: 30 })).toEqual({ dead_lettered: false });
    expect(await q.stats()).toMatchObject({ delayed: 1, in_flight: 0, unfinished_tasks: 1 });
  });

  it("dead letters: read, redrive, purge", async () => {
    const q = await client.createQueue(uniqueName("dlq"), { max_deliveries: 1 });
    await q.putMany(["poison", "toxic"]);
    for (const job of await q.getMany(2)) expect((await q.release(job)).dead_lettered).toBe(true);
    expect((await q.deadLetters()).map((j) => j.item)).toEqual(["poison", "toxic"]);
    expect(await q.redrive({ limit: 1 })).toHaveLength(1);
    expect(await q.qsize()).toBe(1);
    expect(await q.purgeDeadLetters()).toBe(1);
    expect(await q.deadLetters()).toEqual([]);
  });

  it("listQueues pages through every queue; deleteQueue removes one", async () => {
    const prefix = uniqueName("ls");
    for (const n of [1, 2, 3]) await client.createQueue(`${prefix}-${n}`);
    const names: string[] = [];
    for await (const q of client.listQueues({ pageSize: 2 })) if (q.name.startsWith(prefix)) names.push(q.name);
    expect(names).toEqual([`${prefix}-1`, `${prefix}-2`, `${prefix}-3`]);
    await client.deleteQueue(`${prefix}-2`);
    await expect(client.queue(`${prefix}-2`).stats()).rejects.toBeInstanceOf(NotFound);
  });

  it("waits past the server's cap when the timeout is undefined (poll_again is handled inside)", async () => {
    const { client: polling, requested } = recorded();
    const q = await polling.createQueue(uniqueName("long"));
    const waiting = q.get(); // MAX_WAIT_SECONDS is 2 in tests: this wait spans more than one poll
    await requested("POST get", 2); // the first poll was answered poll_again, and the client asked again
    await q.put("late");
    expect((await waiting).item).toBe("late");
    await q.put("work");
    const job = await q.get();
    const joining = q.join();
    await requested("POST join", 2);
    await q.taskDone(job);
    await q.taskDone(await waiting);
    expect(await joining).toMatchObject({ drained: true });
  });

  it("a timeout past the server's maximum is a longer wait, not an error: each poll asks for the maximum", async () => {
    const { client: polling, sent } = recorded();
    const q = await polling.createQueue(uniqueName("day"));
    await q.put("a", { timeout: 10 * 86_400 });
    expect((await q.get({ timeout: 1e6 })).item).toBe("a");
    await q.taskDone();
    expect(await q.join({ timeout: 1e9 })).toMatchObject({ drained: true });
    const timeouts = sent.filter((r) => r.call.startsWith("POST") && "timeout" in r.body).map((r) => r.body.timeout);
    expect(timeouts).toEqual([MAX_TIMEOUT, MAX_TIMEOUT, MAX_TIMEOUT]);
  });

  it("putMany: 100 items a request, each with the call's key and its first index, so a repeated call adds nothing", async () => {
    const { client: batching, sent } = recorded();
    const q = await batching.createQueue<number>(uniqueName("keys"));
    const items = Array.from({ length: 250 }, (_, i) => i);
    const ids = await q.putMany(items, { idempotencyKey: "load-1", timeout: 30 });
    const puts = sent.filter((r) => r.call === "POST put");
    expect(puts.map((r) => [r.key, r.body.items.length])).toEqual([
      ["load-1:0", 100],
      ["load-1:100", 100],
      ["load-1:200", 50],
    ]);
    expect(puts.every((r) => r.body.timeout > 0 && r.body.timeout <= 30)).toBe(true); // one deadline for them all
    expect(await q.putMany(items, { idempotencyKey: "load-1" })).toEqual(ids);
    expect(await q.qsize()).toBe(250);
  });
});

describe("retries", () => {
  it("a put whose first attempt fails after the server committed it yields exactly one item", async () => {
    let failures = 1;
    const flaky = async (input: RequestInfo | URL, init?: RequestInit) => {
      const res = await worker(input, init);
      if (failures-- > 0) throw new TypeError("network connection lost"); // the answer never arrives
      return res;
    };
    const name = uniqueName("retry");
    await client.createQueue(name);
    const q = new QueueClient("http://queues.test", { fetch: flaky }).queue(name);
    const id = await q.put({ once: true });
    expect(await client.queue(name).stats()).toMatchObject({ qsize: 1, unfinished_tasks: 1 });
    expect((await client.queue(name).get()).id).toBe(id);
  });

  it("retries 503 unavailable a bounded number of times, then throws Unavailable; never an anonymous task_done", async () => {
    let calls = 0;
    const down = async () => {
      calls++;
      return Response.json({ status: 503, code: "unavailable", detail: "restarting" }, { status: 503 });
    };
    const q = new QueueClient("http://queues.test", { fetch: down, retries: 2 }).queue("any");
    await expect(q.stats()).rejects.toBeInstanceOf(Unavailable);
    expect(calls).toBe(3);
    calls = 0;
    await expect(q.taskDone()).rejects.toBeInstanceOf(Unavailable);
    expect(calls).toBe(1);
  });
});

describe("process: the consumer loop", () => {
  it("task_dones what succeeds; a throwing handler's job is released and redelivered; stops on shutdown", async () => {
    const q = await client.createQueue<string>(uniqueName("proc"), { lease_seconds: 5 });
    await q.putMany(["ok-1", "flaky", "ok-2"]);
    const seen: string[] = [];
    const running = q.process(
      async (job) => {
        seen.push(`${job.item}#${job.deliveries}`);
        if (job.item === "flaky" && job.deliveries === 1) throw new Error("transient");
      },
      { concurrency: 2, retryDelay: () => 0 },
    );
    expect(await q.join()).toMatchObject({ drained: true });
    await q.shutdown();
    expect(await running).toEqual({ done: 3, failed: 1 });
    expect(seen.sort()).toEqual(["flaky#1", "flaky#2", "ok-1#1", "ok-2#1"]);
  });

  it("a slow but live handler keeps its job past its lease (heartbeat); abort stops the loop after it", async () => {
    const { client: beating, sent } = recorded();
    const q = await beating.createQueue(uniqueName("slow"), { lease_seconds: 1 });
    const clock = await client.createQueue(uniqueName("clock"), { lease_seconds: 1 });
    await clock.put("tick");
    await q.put("slow");
    const stop = new AbortController();
    const deliveries: number[] = [];
    const running = q.process(
      async (job) => {
        deliveries.push(job.deliveries);
        // Three leases, as the server counts them: a job never extended comes back once each lease ends.
        for (let tick = await clock.get(); tick.deliveries < 4; ) tick = await clock.get({ timeout: 10 });
        stop.abort();
      },
      { signal: stop.signal },
    );
    expect(await running).toEqual({ done: 1, failed: 0 });
    expect(deliveries).toEqual([1]);
    expect(sent.filter((r) => r.call === "POST extend").length).toBeGreaterThanOrEqual(3); // the heartbeat's
    expect(await q.stats()).toMatchObject({ unfinished_tasks: 0, redeliveries: 0 });
  });
});
