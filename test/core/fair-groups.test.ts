// Fair groups in the core: fair dispatch by weight, caps on deliveries in flight, cancel, and status kept after the
// drain — as single behaviours, then a model test of caps and fairness under expiries, releases, restarts and cancels.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { JoinableQueue } from "../../src/core/queue.ts";
import type { Delivery, JoinResult, Outcome, PutResult, QueueConfig } from "../../src/core/types.ts";
import { call, newQueue } from "./harness.ts";

const T0 = 1_000_000;
const LEASED: Partial<QueueConfig> = { lease_seconds: 30, max_deliveries: null };

function put(q: JoinableQueue, now: number, group: string | undefined, n = 1, delay?: number) {
  const c = call<Outcome<PutResult>>();
  const items = Array.from({ length: n }, (_, i) => ({ json: JSON.stringify(i), ...(group ? { group } : {}) }));
  q.put({ items, block: false, ...(delay ? { delay } : {}) }, now, c.reply);
  return c.value!;
}

function get(q: JoinableQueue, now: number, max = 1): Delivery[] {
  const c = call<Outcome<{ deliveries: Delivery[] }>>();
  q.get({ max, block: false }, now, c.reply);
  return c.value!.ok ? c.value!.deliveries : [];
}

const groupsOf = (ds: Delivery[]) => ds.map((d) => d.group ?? "-").join("");

describe("fair dispatch", () => {
  it("takes from the groups in turn, the queue's order inside each; fifo dispatch keeps the queue's order", () => {
    for (const dispatch of ["fair", "fifo"] as const) {
      const { q } = newQueue({ ...LEASED, dispatch });
      put(q, T0, "a", 6);
      put(q, T0, "b", 2);
      put(q, T0, undefined, 1);
      const taken = get(q, T0, 9);
      // Fair: every group (ungrouped items one more) has a turn before any has a second; ties go to the ungrouped
      // items, then by name.
      expect(groupsOf(taken)).toBe(dispatch === "fifo" ? "aaaaaabb-" : "-ababaaaa");
      // Inside a group, the queue's order: a's items in the order they were put.
      expect(taken.filter((d) => d.group === "a").map((d) => d.json)).toEqual(["0", "1", "2", "3", "4", "5"]);
    }
  });

  it("a small group put after a large one is served at once, one get at a time", () => {
    const { q } = newQueue({ ...LEASED, dispatch: "fair" });
    put(q, T0, "big", 100);
    put(q, T0 + 1, "small", 3);
    const firstSix = Array.from({ length: 6 }, () => get(q, T0 + 2)[0]!.group).join(",");
    expect(firstSix).toBe("big,small,big,small,big,small");
  });

  it("weights share deliveries in proportion", () => {
    const { q } = newQueue({ ...LEASED, dispatch: "fair" });
    put(q, T0, "heavy", 40);
    put(q, T0, "light", 40);
    expect(q.configureGroup("heavy", { weight: 3 }, T0).ok).toBe(true);
    const taken = get(q, T0, 40);
    expect(taken.filter((d) => d.group === "heavy").length).toBe(30);
  });

  it("a group that waited earns no burst: it starts at the current turn", () => {
    const { q } = newQueue({ ...LEASED, dispatch: "fair" });
    put(q, T0, "a", 50);
    for (const d of get(q, T0, 40)) q.taskDone(d.receipt!, T0); // only a was ready: its pass moved on alone
    put(q, T0, "b", 50);
    expect(groupsOf(get(q, T0, 6))).toMatch(/^(ab|ba){3}$/);
  });

  it("the group with the smaller share of deliveries in flight goes first (count ÷ weight), as workers free up", () => {
    const { q } = newQueue({ ...LEASED, dispatch: "fair" });
    put(q, T0, "big", 100);
    const held = get(q, T0, 8); // 8 workers all busy with big
    put(q, T0 + 1, "small", 10);
    // As each worker frees up (from a big job) and asks again, small goes first until both hold four: then each
    // freed worker goes back to big, keeping the shares level.
    const taken: Delivery[] = [];
    for (const d of held) {
      q.taskDone(d.receipt!, T0 + 2);
      taken.push(...get(q, T0 + 2));
    }
    expect(taken.map((d) => d.group)).toEqual(["small", "small", "small", "small", "big", "big", "big", "big"]);
    expect(q.group("small", T0 + 2)?.in_flight).toBe(4);
  });

  it("passes over a group whose items are all delayed", () => {
    const { q } = newQueue({ ...LEASED, dispatch: "fair" });
    put(q, T0, "later", 3, 60);
    put(q, T0, "now", 3);
    const now = get(q, T0, 6);
    expect(now.map((d) => d.group)).toEqual(["now", "now", "now"]);
    for (const d of now) q.taskDone(d.receipt!, T0 + 1);
    expect(get(q, T0 + 60_000, 6).map((d) => d.group)).toEqual(["later", "later", "later"]);
  });
});

describe("caps on deliveries in flight", () => {
  it("a queue-wide cap holds each group to N in flight; ungrouped items have none", () => {
    const { q } = newQueue({ ...LEASED, group_max_in_flight: 2 });
    put(q, T0, "a", 5);
    put(q, T0, undefined, 3);
    put(q, T0, "b", 5);
    expect(groupsOf(get(q, T0, 100))).toBe("aa---bb");
    expect(get(q, T0, 1)).toEqual([]);
    expect(q.group("a", T0)).toMatchObject({ in_flight: 2, max_in_flight: 2, unfinished_tasks: 5 });
  });

  it("a slot is freed by task_done, release, an expired lease and a dead letter, at once", () => {
    const { q } = newQueue({ lease_seconds: 10, max_deliveries: 2, group_max_in_flight: 1 });
    put(q, T0, "a", 5);
    const [first] = get(q, T0);
    expect(get(q, T0)).toEqual([]);
    expect(q.taskDone(first!.receipt!, T0).ok).toBe(true);
    const [second] = get(q, T0);
    expect(second).toBeDefined();
    expect(q.release(second!.receipt!, 0, T0).ok).toBe(true);
    const [third] = get(q, T0); // the released item again (FIFO: back at the head)
    expect(third!.id).toBe(second!.id);
    // The lease runs out: its slot is free in the same step that expires it; this is its 2nd delivery, so it dies.
    const [fourth] = get(q, T0 + 10_001);
    expect(fourth!.id).not.toBe(second!.id);
    expect(q.group("a", T0 + 10_001)).toMatchObject({ dead_lettered: 1, in_flight: 1 });
  });

  it("a waiting getter is served when a slot frees; a group's own cap overrides the queue's", () => {
    const { q } = newQueue({ ...LEASED, group_max_in_flight: 1 });
    put(q, T0, "a", 3);
    const [held] = get(q, T0);
    const waiting = call<Outcome<{ deliveries: Delivery[] }>>();
    q.get({ max: 1, timeout: 5 }, T0, waiting.reply);
    expect(waiting.value).toBeUndefined();
    q.taskDone(held!.receipt!, T0 + 1);
    expect(waiting.value).toMatchObject({ ok: true, deliveries: [{ group: "a" }] });
    // Raised for this group alone: a waiting getter is served in the same step.
    const again = call<Outcome<{ deliveries: Delivery[] }>>();
    q.get({ max: 1, timeout: 5 }, T0 + 2, again.reply);
    expect(again.value).toBeUndefined();
    expect(q.configureGroup("a", { max_in_flight: 3 }, T0 + 3)).toMatchObject({ stats: { max_in_flight: 3 } });
    expect(again.value).toMatchObject({ ok: true });
    // null: the queue's cap again.
    expect(q.configureGroup("a", { max_in_flight: null }, T0 + 4)).toMatchObject({ stats: { max_in_flight: 1 } });
  });

  it("caps apply under fair dispatch too", () => {
    const { q } = newQueue({ ...LEASED, dispatch: "fair", group_max_in_flight: 2 });
    put(q, T0, "a", 10);
    put(q, T0, "b", 10);
    expect(groupsOf(get(q, T0, 10))).toMatch(/^(ab|ba){2}$/);
  });
});

describe("cancel", () => {
  it("removes waiting and delayed items, refuses later puts, lets deliveries out finish, and join tells", () => {
    const { q } = newQueue(LEASED);
    put(q, T0, "g", 5);
    put(q, T0, "g", 2, 60);
    put(q, T0, "other", 1);
    const out = get(q, T0, 2);
    expect(q.cancel("g", T0 + 1)).toEqual({ group: "g", cancelled: 5, in_flight: 2 });
    expect(q.unfinishedTasks).toBe(3);
    expect(put(q, T0 + 2, "g")).toMatchObject({ ok: false, code: "group_cancelled" });
    expect(put(q, T0 + 2, "other")).toMatchObject({ ok: true }); // other groups are untouched
    const joined = call<Outcome<JoinResult>>();
    q.join({ group: "g" }, T0 + 2, joined.reply);
    expect(joined.value).toBeUndefined();
    expect(q.extend(out[0]!.receipt!, 30, T0 + 3)).toMatchObject({ ok: true, cancelled: true });
    expect(q.taskDone(out[0]!.receipt!, T0 + 3)).toMatchObject({ ok: true, cancelled: true });
    // A release of a cancelled group's delivery removes its item: it is never delivered again.
    expect(q.release(out[1]!.receipt!, 0, T0 + 4)).toMatchObject({ ok: true, dead_lettered: false });
    expect(joined.value).toEqual({
      ok: true,
      drained: true,
      group: "g",
      unfinished_tasks: 0,
      dead_lettered: 0,
      cancelled: 6,
    });
    expect(q.group("g", T0 + 5)).toMatchObject({ state: "cancelled", cancelled: 6, completed: 1, puts: 7 });
    expect(get(q, T0 + 5, 10).map((d) => d.group)).toEqual(["other", "other"]);
    expect(q.cancel("g", T0 + 6)).toEqual({ group: "g", cancelled: 0, in_flight: 0 });
    expect(q.cancel("nobody", T0 + 6)).toBeUndefined();
  });

  it("an expired lease of a cancelled group's delivery removes it, and a waiting put naming it is refused", () => {
    const { q } = newQueue({ lease_seconds: 10, max_deliveries: null, maxsize: 1 });
    put(q, T0, "g", 1);
    const [d] = get(q, T0);
    put(q, T0, "x", 1); // the queue is full now
    const waitingPut = call<Outcome<PutResult>>();
    q.put({ items: [{ json: "1", group: "g" }], timeout: 5 }, T0, waitingPut.reply);
    expect(q.cancel("g", T0 + 1)).toEqual({ group: "g", cancelled: 0, in_flight: 1 });
    expect(waitingPut.value).toMatchObject({ ok: false, code: "group_cancelled" });
    q.tick(T0 + 10_001);
    expect(d).toBeDefined();
    expect(q.group("g", T0 + 10_001)).toMatchObject({ state: "cancelled", in_flight: 0, cancelled: 1 });
    expect(q.unfinishedTasks).toBe(1);
  });

  it("survives a restart, as do weights and caps", () => {
    const { q, reopen } = newQueue({ ...LEASED, dispatch: "fair" });
    put(q, T0, "g", 3);
    q.configureGroup("h", { weight: 7, max_in_flight: 4 }, T0);
    q.cancel("g", T0);
    q.flush();
    const again = reopen();
    expect(put(again, T0 + 1, "g")).toMatchObject({ ok: false, code: "group_cancelled" });
    expect(again.group("h", T0 + 1)).toMatchObject({ weight: 7, max_in_flight: 4, state: "drained" });
  });
});

describe("status that outlives the drain", () => {
  it("answers a drained group's totals for the queue's retention after its last change, then forgets it", () => {
    const { q } = newQueue({ ...LEASED, group_retention_seconds: 3600 });
    put(q, T0, "g", 2);
    put(q, T0 + 5, "g", 1);
    for (const d of get(q, T0 + 10, 3)) q.taskDone(d.receipt!, T0 + 20);
    expect(q.group("g", T0 + 20)).toEqual({
      ...{ group: "g", state: "drained", unfinished_tasks: 0, in_flight: 0, puts: 3, completed: 3 },
      ...{ dead_lettered: 0, cancelled: 0, weight: 1, max_in_flight: null, first_put_at: T0, updated_at: T0 + 20 },
    });
    expect(q.group("g", T0 + 20 + 3_600_000)).toMatchObject({ state: "drained", puts: 3 });
    expect(q.groups(10, undefined, T0 + 20 + 3_600_000).map((g) => g.group)).toEqual(["g"]);
    expect(q.group("g", T0 + 21 + 3_600_000)).toBeUndefined();
  });

  it("keeps a day by default, past the deletion of the rows that held the group's items", () => {
    const { q } = newQueue(LEASED);
    put(q, T0, "g", 2);
    for (const d of get(q, T0, 2)) q.taskDone(d.receipt!, T0 + 1);
    // Hours later the spent segment is deleted (its counts fold into the meta row); the status stays.
    const later = T0 + 6 * 3_600_000;
    q.tick(later);
    expect(q.group("g", later)).toMatchObject({ state: "drained", puts: 2, completed: 2, first_put_at: T0 });
    expect(q.group("g", T0 + 1 + 86_400_000)).toMatchObject({ puts: 2 });
    expect(q.group("g", T0 + 2 + 86_400_000)).toBeUndefined();
  });
});

// ---- The model test: what must hold after every step, whatever happens.

type Op =
  | { op: "put"; group: string | null; n: number }
  | { op: "get"; max: number }
  | { op: "wait" }
  | { op: "done"; pick: number }
  | { op: "release"; pick: number }
  | { op: "time"; ms: number }
  | { op: "cancel"; group: string }
  | { op: "cap"; group: string; cap: number | null }
  | { op: "restart" };

const GROUPS = ["a", "b", "c"];
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant("put" as const),
    group: fc.constantFrom("a", "b", "c", null),
    n: fc.integer({ min: 1, max: 4 }),
  }),
  fc.record({ op: fc.constant("get" as const), max: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ op: fc.constant("wait" as const) }),
  fc.record({ op: fc.constant("done" as const), pick: fc.nat() }),
  fc.record({ op: fc.constant("release" as const), pick: fc.nat() }),
  fc.record({ op: fc.constant("time" as const), ms: fc.integer({ min: 1, max: 12_000 }) }),
  fc.record({ op: fc.constant("cancel" as const), group: fc.constantFrom(...GROUPS) }),
  fc.record({
    op: fc.constant("cap" as const),
    group: fc.constantFrom(...GROUPS),
    cap: fc.option(fc.integer({ min: 1, max: 3 })),
  }),
  fc.record({ op: fc.constant("restart" as const) }),
);

describe("model: caps and fair dispatch under expiries, releases, restarts and cancels", () => {
  for (const dispatch of ["fair", "fifo"] as const) {
    it(`${dispatch}: a cap is never exceeded, no eligible item waits while a getter waits, every count exact`, () => {
      fc.assert(
        fc.property(fc.array(opArb, { maxLength: 60 }), fc.integer({ min: 1, max: 3 }), (ops, queueCap) => {
          const made = newQueue({ lease_seconds: 10, max_deliveries: 3, dispatch, group_max_in_flight: queueCap });
          let q = made.q;
          let now = T0;
          const held: Delivery[] = [];
          const waiting: { value?: Outcome<{ deliveries: Delivery[] }> }[] = [];
          const puts = new Map<string, number>();
          const cancelledAt = new Set<string>();
          const caps = new Map<string, number | null>();
          const before = new Map<string, number>(); // each group's deliveries out after the last step
          for (const o of ops) {
            if (o.op === "put") {
              const r = put(q, now, o.group ?? undefined, o.n);
              if (o.group !== null && cancelledAt.has(o.group)) expect(r).toMatchObject({ code: "group_cancelled" });
              else expect(r.ok).toBe(true);
              if (r.ok && o.group !== null) puts.set(o.group, (puts.get(o.group) ?? 0) + o.n);
            } else if (o.op === "get") held.push(...get(q, now, o.max));
            else if (o.op === "wait") {
              const c = call<Outcome<{ deliveries: Delivery[] }>>();
              waiting.push(c);
              q.get({ max: 1, timeout: 3 }, now, c.reply);
            } else if ((o.op === "done" || o.op === "release") && held.length > 0) {
              const [d] = held.splice(o.pick % held.length, 1);
              if (o.op === "done") q.taskDone(d!.receipt!, now);
              else q.release(d!.receipt!, 0, now);
            } else if (o.op === "time") {
              now += o.ms;
              q.tick(now);
            } else if (o.op === "cancel") {
              if (q.cancel(o.group, now)) cancelledAt.add(o.group);
            } else if (o.op === "cap") {
              q.configureGroup(o.group, { max_in_flight: o.cap }, now);
              caps.set(o.group, o.cap);
            } else if (o.op === "restart") {
              q.flush();
              for (const w of waiting) w.value ??= { ok: false, code: "not_found", message: "lost" };
              q = made.reopen();
            }
            // Answers that came to waiting getters are deliveries held like any other.
            for (const w of waiting.splice(0)) {
              if (w.value === undefined) waiting.push(w);
              else if (w.value.ok) held.push(...w.value.deliveries);
            }
            const stats = q.stats(now);
            let grouped = 0;
            for (const g of GROUPS) {
              const s = q.group(g, now);
              if (!s) continue;
              const cap = caps.has(g) && caps.get(g) !== null ? caps.get(g)! : queueCap;
              expect(s.max_in_flight).toBe(cap);
              // Lowered below what is out, a cap takes back no delivery: the group only gets none until under it.
              expect(s.in_flight).toBeLessThanOrEqual(Math.max(cap, before.get(g) ?? 0));
              before.set(g, s.in_flight);
              // Every item put is unfinished, completed, dead or cancelled: none is lost or counted twice.
              expect(s.puts).toBe(puts.get(g) ?? 0);
              expect(s.unfinished_tasks + s.completed + s.dead_lettered + s.cancelled).toBe(s.puts);
              expect(s.state).toBe(cancelledAt.has(g) ? "cancelled" : s.unfinished_tasks > 0 ? "open" : "drained");
              grouped += s.unfinished_tasks;
            }
            expect(stats.unfinished_tasks).toBeGreaterThanOrEqual(grouped);
            // No eligible item waits while a getter waits: a get now would find nothing.
            if (stats.waiting.getters > 0) expect(get(q, now, 1)).toEqual([]);
          }
        }),
        { numRuns: 300 },
      );
    });
  }
});
