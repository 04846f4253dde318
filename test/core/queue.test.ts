// CPython's queue.Queue semantics, edge case by edge case, on the pure core.
import { describe, expect, it } from "vitest";
import type { JoinableQueue } from "../../src/core/queue.ts";
import { Store } from "../../src/core/store.ts";
import type { Delivery, GetRequest, JoinResult, Outcome, PutRequest, PutResult } from "../../src/core/types.ts";
import { call, newQueue, sqliteSql } from "./harness.ts";

const T0 = 1_000_000;

function put(q: JoinableQueue, value: unknown, options: Partial<PutRequest> = {}, now = T0) {
  const c = call<Outcome<PutResult>>();
  q.put({ items: [{ json: JSON.stringify(value) }], ...options }, now, c.reply);
  return c;
}
function get(q: JoinableQueue, options: GetRequest = {}, now = T0) {
  const c = call<Outcome<{ deliveries: Delivery[] }>>();
  q.get(options, now, c.reply);
  return c;
}
function join(q: JoinableQueue, timeout?: number, now = T0) {
  const c = call<Outcome<JoinResult>>();
  q.join({ timeout }, now, c.reply);
  return c;
}
const items = (c: { value?: Outcome<{ deliveries: Delivery[] }> }) =>
  c.value?.ok ? c.value.deliveries.map((d) => JSON.parse(d.json)) : c.value?.code;

describe("orders", () => {
  it("fifo, lifo and priority differ only in which item get takes", () => {
    const fifo = newQueue().q,
      lifo = newQueue({ order: "lifo" }).q,
      prio = newQueue({ order: "priority" }).q;
    for (const [v, p] of [
      ["a", 3],
      ["b", 1],
      ["c", 2],
      ["d", 1],
    ] as const) {
      put(fifo, v);
      put(lifo, v);
      put(prio, v, { items: [{ json: JSON.stringify(v), priority: p }] });
    }
    const drain = (q: JoinableQueue) => [1, 2, 3, 4].map(() => items(get(q, { block: false }))![0]);
    expect(drain(fifo)).toEqual(["a", "b", "c", "d"]);
    expect(drain(lifo)).toEqual(["d", "c", "b", "a"]);
    expect(drain(prio)).toEqual(["b", "d", "c", "a"]); // FIFO among equal priorities
  });

  it("refuses a priority on a queue that is not a priority queue", () => {
    const { q } = newQueue();
    expect(put(q, 1, { items: [{ json: "1", priority: 1 }] }).value).toMatchObject({
      ok: false,
      code: "invalid_request",
    });
    expect(q.unfinishedTasks).toBe(0);
  });
});

describe("put and get", () => {
  it("non-blocking calls answer Full and Empty at once", () => {
    const { q } = newQueue({ maxsize: 1 });
    expect(get(q, { block: false }).value).toMatchObject({ code: "empty" });
    expect(put(q, 1).value).toMatchObject({ ok: true });
    expect(put(q, 2, { block: false }).value).toMatchObject({ code: "full" });
    expect(put(q, 2, { timeout: 0 }).value).toMatchObject({ code: "full" });
    expect(q.stats(T0)).toMatchObject({ qsize: 1, full: true, empty: false, unfinished_tasks: 1 });
  });

  it("get never changes unfinished_tasks; put raises it", () => {
    const { q } = newQueue();
    put(q, 1);
    put(q, 2);
    get(q);
    expect(q.unfinishedTasks).toBe(2);
    expect(q.qsize).toBe(1);
  });

  it("a negative timeout is an error when blocking, ignored when not (as in CPython)", () => {
    const { q } = newQueue();
    expect(get(q, { timeout: -1 }).value).toMatchObject({ code: "invalid_request" });
    expect(get(q, { block: false, timeout: -1 }).value).toMatchObject({ code: "empty" });
  });

  it("a blocked get is released by a put, a blocked put by a get", () => {
    const { q } = newQueue({ maxsize: 1 });
    const g = get(q, { timeout: 5 });
    expect(g.value).toBeUndefined();
    put(q, "x");
    expect(items(g)).toEqual(["x"]);
    put(q, "y");
    const p = put(q, "z", { timeout: 5 });
    expect(p.value).toBeUndefined();
    expect(items(get(q))).toEqual(["y"]);
    expect(p.value).toMatchObject({ ok: true });
    expect(q.stats(T0)).toMatchObject({ qsize: 1, unfinished_tasks: 3 });
  });

  it("waiters are served in arrival order", () => {
    const { q } = newQueue();
    const first = get(q),
      second = get(q);
    put(q, 1);
    expect(items(first)).toEqual([1]);
    expect(second.value).toBeUndefined();
    put(q, 2);
    expect(items(second)).toEqual([2]);
  });

  it("the caller's timeout ends a wait with Empty or Full; the server cap with poll_again", () => {
    const { q } = newQueue(
      { maxsize: 1 },
      { maxWaitMs: 20_000, idempotencyMs: 60_000, ackKeepMs: 60_000, maxWaiters: 100 },
    );
    const short = get(q, { timeout: 1 });
    const forever = get(q);
    expect(q.nextDeadline()).toBe(T0 + 1000);
    q.tick(T0 + 999);
    expect(short.value).toBeUndefined();
    q.tick(T0 + 1000);
    expect(short.value).toMatchObject({ code: "empty" });
    q.tick(T0 + 20_000);
    expect(forever.value).toMatchObject({ code: "poll_again" });
    put(q, 1);
    const p = put(q, 2, { timeout: 2 });
    q.tick(T0 + 2000);
    expect(p.value).toMatchObject({ code: "full" });
    expect(q.stats(T0).waiting).toEqual({ getters: 0, putters: 0, joiners: 0 });
  });

  it("batches are all-or-nothing and never larger than maxsize", () => {
    const { q } = newQueue({ maxsize: 3 });
    const batch = (n: number) => ({ items: Array.from({ length: n }, (_, i) => ({ json: String(i) })) });
    expect(put(q, 0, batch(4)).value).toMatchObject({ code: "batch_too_large" });
    expect(put(q, 0, batch(2)).value).toMatchObject({ ok: true, ids: [1, 2] });
    expect(put(q, 0, { ...batch(2), block: false }).value).toMatchObject({ code: "full" });
    expect(q.qsize).toBe(2);
    const waiting = put(q, 0, batch(2));
    expect(items(get(q, { max: 5 }))).toEqual([0, 1]);
    expect(waiting.value).toMatchObject({ ok: true, ids: [3, 4] });
  });
});

describe("the waiter cap", () => {
  it("one call past the cap is refused at once; the queue keeps serving, and a freed place can be taken", () => {
    const { q } = newQueue(
      { maxsize: 1 },
      { maxWaitMs: 20_000, idempotencyMs: 60_000, ackKeepMs: 60_000, maxWaiters: 3 },
    );
    put(q, "a");
    expect(items(get(q))).toEqual(["a"]); // not done: join will wait
    const [first, , last] = [get(q), join(q), get(q)];
    put(q, "x"); // hands the first getter its item: two waiting, one place free again
    expect(items(first)).toEqual(["x"]);
    const third = get(q);
    expect(third.value).toBeUndefined();
    expect(get(q).value).toMatchObject({
      ok: false,
      code: "limit_exceeded",
      message: expect.stringContaining("3 waiting calls"),
    });
    expect(join(q).value).toMatchObject({ code: "limit_exceeded" });
    expect(items(get(q, { block: false }))).toBe("empty"); // a call that would not wait is not counted
    put(q, "y");
    expect(items(last)).toEqual(["y"]);
    expect(q.stats(T0).waiting).toEqual({ getters: 1, putters: 0, joiners: 1 });
  });
});

describe("task_done and join", () => {
  it("task_done more times than puts is an error that changes nothing", () => {
    const { q } = newQueue();
    put(q, 1);
    expect(q.taskDone(undefined, T0)).toMatchObject({ ok: true, unfinished_tasks: 0 });
    expect(q.taskDone(undefined, T0)).toMatchObject({ ok: false, code: "task_done_too_many" });
    expect(q.unfinishedTasks).toBe(0);
  });

  it("join waits for the last task_done, and answers at once when nothing is unfinished", () => {
    const { q } = newQueue();
    expect(join(q).value).toMatchObject({ ok: true, drained: true });
    put(q, 1);
    put(q, 2);
    const j = join(q);
    get(q);
    get(q);
    q.taskDone(undefined, T0);
    expect(j.value).toBeUndefined();
    q.taskDone(undefined, T0);
    expect(j.value).toEqual({ ok: true, drained: true, unfinished_tasks: 0, dead_lettered: 0 });
  });

  it("join's timeout answers drained: false", () => {
    const { q } = newQueue();
    put(q, 1);
    expect(join(q, 0).value).toMatchObject({ drained: false, unfinished_tasks: 1 });
    const j = join(q, 3);
    q.tick(T0 + 3000);
    expect(j.value).toMatchObject({ ok: true, drained: false });
  });

  it("a withdrawn waiter is never handed an item", () => {
    const { q } = newQueue();
    const gone = call<unknown>();
    q.get({}, T0, gone.reply, "w1");
    expect(q.withdraw("w1")).toBe(true);
    expect(gone.value).toMatchObject({ code: "poll_again" });
    put(q, 1);
    expect(q.qsize).toBe(1);
  });
});

describe("shutdown (Python 3.13)", () => {
  it("put checks ShutDown before Full; get drains, then answers ShutDown before Empty", () => {
    const { q } = newQueue({ maxsize: 1 });
    put(q, 1);
    const blockedPut = put(q, 2);
    q.shutdown(false, T0);
    expect(blockedPut.value).toMatchObject({ code: "shutdown" });
    expect(put(q, 3, { block: false }).value).toMatchObject({ code: "shutdown" });
    expect(items(get(q, { block: false }))).toEqual([1]);
    expect(get(q, { block: false }).value).toMatchObject({ code: "shutdown" });
    expect(q.taskDone(undefined, T0)).toMatchObject({ ok: true, unfinished_tasks: 0 });
    expect(join(q).value).toMatchObject({ drained: true });
  });

  it("wakes blocked getters with ShutDown", () => {
    const { q } = newQueue();
    const g1 = get(q),
      g2 = get(q, { timeout: 10 });
    q.shutdown(false, T0);
    expect([g1.value, g2.value]).toMatchObject([{ code: "shutdown" }, { code: "shutdown" }]);
  });

  it("immediate drains and lowers the counter per item; join is released only if earlier gets were done (gh-137088)", () => {
    const { q } = newQueue();
    for (const v of [1, 2, 3]) put(q, v);
    get(q); // taken, never task_done'd
    const j = join(q);
    q.shutdown(true, T0);
    expect(q.stats(T0)).toMatchObject({ qsize: 0, unfinished_tasks: 1, shutdown: true, immediate: true });
    expect(j.value).toBeUndefined();
    q.taskDone(undefined, T0);
    expect(j.value).toMatchObject({ drained: true });
    expect(q.taskDone(undefined, T0)).toMatchObject({ code: "task_done_too_many" });
  });
});

describe("durability", () => {
  it("items, order, counters and shutdown survive a reopen", () => {
    const { q, reopen } = newQueue({ order: "lifo" });
    for (const v of ["a", "b", "c"]) put(q, v);
    get(q);
    q.shutdown(false, T0);
    const again = reopen();
    expect(again.stats(T0)).toMatchObject({ qsize: 2, unfinished_tasks: 3, shutdown: true, order: "lifo" });
    expect(items(get(again))).toEqual(["b"]);
  });

  it("looking for a queue that was never created writes nothing", () => {
    const sql = sqliteSql();
    expect(Store.open(sql)).toBeUndefined();
    expect(sql.exec("SELECT name FROM sqlite_master")).toEqual([]);
  });
});
