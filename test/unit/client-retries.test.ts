// The TypeScript client's retries against a scripted fetch: which failures are retried (network errors, 408, 429,
// 5xx, `internal` included) and which are not; Retry-After, capped; the calls whose repeat is not the same call
// (anonymous task_done, redrive) retried only when nothing was sent; a delete whose 404 follows its own first
// attempt; and waits (get, join) that outlive failures, counted in a row and started again by each answer.
import { afterEach, describe, expect, it, vi } from "vitest";
import { Conflict, NotFound, QueueClient, QueueError, Unavailable } from "../../clients/typescript/src/index.ts";

type Step = Response | "drop" | "refused" | ((sent: Sent) => Response);
interface Sent {
  call: string;
  body: Record<string, unknown> | undefined;
  key: string | null;
  at: number;
}

const problem = (status: number, code: string, headers: Record<string, string> = {}) =>
  Response.json({ status, code, detail: code }, { status, headers });
const ok = (body: unknown) => Response.json(body);
const drained = { drained: true, unfinished_tasks: 0, dead_lettered: 0 };

/** A client whose fetch answers `steps` in turn (the last one again once they run out), recording each request. */
function scripted(steps: Step[], retries?: number) {
  const sent: Sent[] = [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const body = init?.body ? (JSON.parse(String(init.body)) as Record<string, unknown>) : undefined;
    const record = {
      call: `${init?.method ?? "GET"} ${new URL(String(input)).pathname}`,
      body,
      key: new Headers(init?.headers).get("idempotency-key"),
      at: Date.now(),
    };
    sent.push(record);
    const step = steps.length > 1 ? steps.shift()! : steps[0]!;
    if (step === "drop") throw new TypeError("fetch failed", { cause: new Error("other side closed") });
    if (step === "refused")
      throw new TypeError("fetch failed", { cause: Object.assign(new Error(), { code: "ECONNREFUSED" }) });
    return typeof step === "function" ? step(record) : step.clone();
  };
  const client = new QueueClient("http://queues.test", { fetch, retries });
  return { client, q: client.queue("jobs"), sent };
}

afterEach(() => vi.useRealTimers());

describe("what is retried", () => {
  it("500 internal, a proxy's 502, 503, 408, network errors: up to `retries` times, then the failure", async () => {
    const html = new Response("<html>bad gateway</html>", { status: 502, statusText: "Bad Gateway" });
    const stats = { qsize: 0 };
    const { q, sent } = scripted([problem(500, "internal"), html, problem(503, "unavailable"), "drop", ok(stats)]);
    expect(await q.stats()).toEqual(stats);
    expect(sent).toHaveLength(5);

    const down = scripted([problem(500, "internal")], 2);
    await expect(down.q.stats()).rejects.toMatchObject({ code: "internal", status: 500 });
    expect(down.sent).toHaveLength(3);
    const unreachable = scripted(["drop"], 1);
    await expect(unreachable.q.stats()).rejects.toThrow(TypeError);
    expect(unreachable.sent).toHaveLength(2);
    const timeout = scripted([new Response("", { status: 408 }), ok(stats)]);
    expect(await timeout.q.stats()).toEqual(stats);
    // A Workers binding's failure marked retryable is retried; an overloaded one, or a bug, is thrown at once.
    const lost = (marks: object) => () => {
      throw Object.assign(new Error("Network connection lost."), marks);
    };
    const binding = scripted([lost({ retryable: true }), ok(stats)]);
    expect(await binding.q.stats()).toEqual(stats);
    for (const marks of [{ retryable: true, overloaded: true }, {}]) {
      const refused = scripted([lost(marks), ok(stats)]);
      await expect(refused.q.stats()).rejects.toThrow("Network connection lost.");
      expect(refused.sent).toHaveLength(1);
    }
  });

  it("not a refusal (4xx), nor a deployment that is not configured, nor with `retries: 0`", async () => {
    for (const answer of [problem(409, "conflict"), problem(404, "not_found"), problem(503, "not_configured")]) {
      const { q, sent } = scripted([answer, ok({})]);
      await expect(q.stats()).rejects.toBeInstanceOf(QueueError);
      expect(sent).toHaveLength(1);
    }
    const { q, sent } = scripted([problem(503, "unavailable"), ok({})], 0);
    await expect(q.stats()).rejects.toBeInstanceOf(Unavailable);
    expect(sent).toHaveLength(1);
    expect(() => new QueueClient("http://x", { retries: -1 })).toThrow(/retries must be an integer/);
    expect(() => new QueueClient("http://x", { retries: 1.5 })).toThrow(TypeError);
  });

  it("429 waits its Retry-After, capped at 5 s; a 429 that is no problem document is Unavailable", async () => {
    const { q, sent } = scripted([problem(429, "limit_exceeded", { "retry-after": "1" }), ok({ qsize: 1 })]);
    expect(await q.stats()).toEqual({ qsize: 1 });
    expect(sent[1]!.at - sent[0]!.at).toBeGreaterThanOrEqual(990);

    vi.useFakeTimers({ toFake: ["setTimeout", "Date"] });
    const capped = scripted([problem(429, "limit_exceeded", { "retry-after": "3600" }), ok({ qsize: 2 })]);
    const answer = capped.q.stats();
    await vi.advanceTimersByTimeAsync(4_999);
    expect(capped.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(await answer).toEqual({ qsize: 2 });
    vi.useRealTimers();

    const proxy = scripted([new Response("slow down", { status: 429, headers: { "retry-after": "0" } })], 1);
    await expect(proxy.q.stats()).rejects.toMatchObject({ code: "limit_exceeded", constructor: Unavailable });
    expect(proxy.sent).toHaveLength(2);
  });

  it("an abort during the backoff rejects at once with the AbortError", async () => {
    const { q, sent } = scripted([problem(503, "unavailable", { "retry-after": "5" })]);
    const abort = new AbortController();
    const started = Date.now();
    const call = q.stats({ signal: abort.signal });
    setTimeout(() => abort.abort(), 50);
    await expect(call).rejects.toMatchObject({ name: "AbortError" });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(sent).toHaveLength(1);
  });
});

describe("every call is safe to retry", () => {
  it("a put sends one idempotency key with every attempt (the service adds the item once)", async () => {
    const { q, sent } = scripted(["drop", problem(500, "internal"), ok({ id: 7, replayed: true })]);
    expect(await q.put("x")).toBe(7);
    expect(sent.map((s) => s.key)).toEqual([sent[0]!.key, sent[0]!.key, sent[0]!.key]);
    expect(sent[0]!.key).toMatch(/^[0-9a-f-]{36}$/);
    const many = scripted(["drop", ok({ ids: [1, 2] })]);
    await many.q.putMany([1, 2], { idempotencyKey: "batch" });
    expect(many.sent.map((s) => s.key)).toEqual(["batch:0", "batch:0"]);
  });

  it("task_done by receipt is retried (a repeat answers replayed)", async () => {
    const { q, sent } = scripted(["drop", ok({ unfinished_tasks: 0, replayed: true })]);
    expect(await q.taskDone({ receipt: "r.1.1.x" })).toEqual({ unfinished_tasks: 0, replayed: true });
    expect(sent.map((s) => s.body)).toEqual([{ receipt: "r.1.1.x" }, { receipt: "r.1.1.x" }]);
  });

  it("an anonymous task_done and a redrive are retried only when nothing reached the service", async () => {
    const done = { unfinished_tasks: 0, replayed: false };
    for (const answer of ["drop", problem(500, "internal"), problem(503, "unavailable")] as Step[]) {
      const { q, sent } = scripted([answer, answer, ok(done)]);
      await expect(q.taskDone()).rejects.toBeDefined();
      await expect(q.redrive()).rejects.toBeDefined();
      expect(sent).toHaveLength(2); // one attempt each
    }
    const { q, sent } = scripted(["refused", problem(429, "limit_exceeded", { "retry-after": "0" }), ok(done)]);
    expect(await q.taskDone()).toEqual(done);
    expect(sent).toHaveLength(3);
    const redrive = scripted(["refused", ok({ ids: [4] })]);
    expect(await redrive.q.redrive()).toEqual([4]);
  });

  it("a delete whose answer was lost is done when the retry finds no queue; a first 404 is NotFound", async () => {
    let exists = true;
    const remove = () => {
      if (!exists) return problem(404, "not_found");
      exists = false;
      return new Response(null, { status: 204 });
    };
    const lost = () => {
      remove(); // the service deleted it; its answer never arrived
      throw new TypeError("fetch failed", { cause: new Error("other side closed") });
    };
    const { client, sent } = scripted([lost, remove]);
    await expect(client.deleteQueue("jobs")).resolves.toBeUndefined();
    expect(sent.map((s) => s.call)).toEqual(["DELETE /v1/queues/jobs", "DELETE /v1/queues/jobs"]);
    await expect(scripted([remove]).client.deleteQueue("jobs")).rejects.toBeInstanceOf(NotFound);
    // A refusal other than 404 after a lost answer is still thrown.
    const conflict = scripted(["drop", problem(409, "conflict")]);
    await expect(conflict.client.deleteQueue("jobs")).rejects.toBeInstanceOf(Conflict);
  });
});

describe("waits outlive failures", () => {
  it("a blocking get survives more failures than `retries`, as long as fewer than that come in a row", async () => {
    const pollAgain = problem(409, "poll_again");
    const down = problem(503, "unavailable");
    const job = { id: 3, item: "x", priority: 0, deliveries: 1, receipt: "r", lease_expires_at: 1 };
    const steps: Step[] = [down, "drop", pollAgain, down, down, pollAgain, "drop", "drop", ok(job)];
    const { q, sent } = scripted(steps, 2);
    expect(await q.get()).toMatchObject({ id: 3, item: "x", leaseExpiresAt: 1 });
    expect(sent).toHaveLength(9);
    expect(sent.every((s) => s.body?.timeout === null)).toBe(true); // no limit, as Python's None

    const tooMany = scripted([pollAgain, down, down, down, ok(job)], 2);
    await expect(tooMany.q.get()).rejects.toBeInstanceOf(Unavailable);
    expect(tooMany.sent).toHaveLength(4);
  });

  it("a join keeps waiting across failures; each attempt asks for what is left of its timeout", async () => {
    const pollAgain = problem(409, "poll_again");
    const down = problem(503, "unavailable", { "retry-after": "1" });
    const { q, sent } = scripted([pollAgain, down, problem(500, "internal", { "retry-after": "1" }), ok(drained)]);
    expect(await q.join({ timeout: 30 })).toEqual(drained);
    const timeouts = sent.map((s) => s.body?.timeout as number);
    expect(timeouts[0]).toBeLessThanOrEqual(30);
    expect(timeouts[2]!).toBeLessThanOrEqual(timeouts[1]! - 0.9); // a second passed between them
    expect(timeouts[3]!).toBeLessThanOrEqual(timeouts[2]! - 0.9);
  });
});
