// Model-based test: random command sequences against the core and a deliberately naive model of CPython's
// queue.Queue (plus leases, expiry, release, dead letters, delayed and idempotent puts, and restarts), compared
// after every step. Items may carry a group: each group's counters are checked against the model's too.
import fc from "fast-check";
import { describe, it } from "vitest";
import type { JoinableQueue } from "../../src/core/queue.ts";
import type { Delivery, Outcome } from "../../src/core/types.ts";
import { call, newQueue } from "./harness.ts";

const T0 = 1_000_000;
const LIMITS = { maxWaitMs: 10_000, idempotencyMs: 60_000, ackKeepMs: 3_600_000, maxWaiters: 1_000 };

interface Item {
  id: number;
  v: number;
  deliveries: number;
  visibleAt: number;
  group?: string;
}
interface Lease extends Item {
  expires: number;
}
interface PutArgs {
  v: number;
  key?: string;
  delay: number;
  group?: string;
}
interface Pending {
  kind: "get" | "put" | "join";
  group?: string;
  put?: PutArgs;
  timeoutAt: number;
  deadline: number;
  answer: { value?: unknown };
  expected?: unknown;
}

/** The naive model: arrays and a counter, written from the CPython docs and our README, not from the core. */
class Model {
  now = T0;
  ready: Item[] = []; // kept in id order: FIFO, and a returning item goes back to its place at the head
  leased: Lease[] = [];
  dead: Item[] = [];
  acked = new Set<string>();
  receipts = new Map<string, { id: number; delivery: number }>();
  unfinished = 0;
  shutdown = false;
  immediate = false;
  nextId = 1;
  keys = new Map<string, number>(); // idempotency key -> when it is forgotten
  groupPuts = new Map<string, number>();
  groupCompleted = new Map<string, number>();
  pending: Pending[] = [];
  constructor(
    readonly maxsize: number,
    readonly leaseMs: number | null,
    readonly maxDeliveries: number | null,
  ) {}

  full = () => this.maxsize > 0 && this.ready.length >= this.maxsize;
  visible = () => this.ready.filter((i) => i.visibleAt <= this.now);
  replayed = (key?: string) => key !== undefined && (this.keys.get(key) ?? 0) > this.now;
  /** The answer a put gets at once, or undefined when it would have to wait. */
  /** A group's unfinished items: ready or leased (a group's count is exact, so no anonymous count touches it). */
  unfinishedOf = (group?: string) =>
    group === undefined ? this.unfinished : [...this.ready, ...this.leased].filter((i) => i.group === group).length;
  put({ v, key, delay, group }: PutArgs): string | undefined {
    if (this.replayed(key)) return "replayed";
    if (this.shutdown) return "shutdown";
    if (this.full()) return undefined;
    this.ready.push({ id: this.nextId++, v, deliveries: 0, visibleAt: this.now + delay * 1000, group });
    if (group !== undefined) this.groupPuts.set(group, (this.groupPuts.get(group) ?? 0) + 1);
    this.unfinished++;
    if (key !== undefined) this.keys.set(key, this.now + LIMITS.idempotencyMs);
    return "ok";
  }
  get(): Item | "empty" | "shutdown" {
    if (this.shutdown && this.ready.length === 0) return "shutdown";
    const item = this.visible()[0];
    if (!item) return "empty";
    this.ready = this.ready.filter((i) => i !== item);
    item.deliveries++;
    // A grouped item taken without a lease is held until its receipt completes it (a lease that never ends).
    if (this.leaseMs !== null) this.leased.push({ ...item, expires: this.now + this.leaseMs });
    else if (item.group !== undefined) this.leased.push({ ...item, expires: Infinity });
    return item;
  }
  /** The open lease a receipt names, or why there is none. */
  lease(receipt: string): Lease | "ok" | "stale_receipt" {
    const r = this.receipts.get(receipt)!;
    if (this.acked.has(receipt)) return "ok";
    return this.leased.find((l) => l.id === r.id && l.deliveries === r.delivery) ?? "stale_receipt";
  }
  release(receipt: string, delay: number): string {
    const lease = this.lease(receipt);
    if (typeof lease === "string") return "stale_receipt";
    this.leased = this.leased.filter((l) => l !== lease);
    return this.requeue(lease, this.now + delay * 1000) ? "dead" : "ok";
  }
  requeue(l: Lease, visibleAt: number): boolean {
    if (this.maxDeliveries !== null && l.deliveries >= this.maxDeliveries) {
      this.dead.push(l);
      this.unfinished = Math.max(0, this.unfinished - 1);
      return true;
    }
    this.ready.push({ id: l.id, v: l.v, deliveries: l.deliveries, visibleAt, group: l.group });
    this.ready.sort((a, b) => a.id - b.id);
    return false;
  }
  taskDone(receipt?: string): string {
    let lease: Lease | undefined;
    if (receipt !== undefined) {
      const found = this.lease(receipt);
      if (typeof found === "string") return found;
      lease = found;
    } else {
      lease = [...this.leased].sort((a, b) => a.id - b.id).find((l) => l.group === undefined || l.expires < Infinity);
      if (lease?.group !== undefined) return "conflict";
      const grouped = [...this.ready, ...this.leased].filter((i) => i.group !== undefined).length;
      if (!lease && grouped > 0 && this.unfinished <= grouped) return "conflict";
    }
    if (this.unfinished <= 0) return "task_done_too_many";
    if (lease) {
      this.leased = this.leased.filter((l) => l !== lease);
      for (const [text, r] of this.receipts)
        if (r.id === lease.id && r.delivery === lease.deliveries) this.acked.add(text);
      if (lease.group !== undefined)
        this.groupCompleted.set(lease.group, (this.groupCompleted.get(lease.group) ?? 0) + 1);
    }
    this.unfinished--;
    return "ok";
  }
  expire(): void {
    for (const l of this.leased.filter((l) => l.expires <= this.now)) {
      this.leased = this.leased.filter((x) => x !== l);
      if (this.immediate) this.unfinished = Math.max(0, this.unfinished - 1);
      else this.requeue(l, this.now);
    }
  }
  doShutdown(immediate: boolean): void {
    this.shutdown = true;
    if (immediate) {
      this.immediate = true;
      for (; this.ready.length > 0; this.ready.shift()) if (this.unfinished > 0) this.unfinished--;
    }
  }
  /** Hands waiting calls their answers in arrival order (putters, then getters, until nothing moves), then joiners. */
  settle(): void {
    for (let moved = true; moved; ) {
      moved = false;
      for (const p of this.pending.filter((p) => p.kind === "put")) {
        if (this.shutdown) this.resolve(p, "shutdown");
        else if (!this.full()) {
          this.resolve(p, this.put(p.put!));
          moved = true;
        }
      }
      for (const p of this.pending.filter((p) => p.kind === "get")) {
        if (this.shutdown && this.ready.length === 0) this.resolve(p, "shutdown");
        else if (this.visible().length > 0) {
          this.resolve(p, this.get());
          moved = true;
        }
      }
    }
    for (const p of this.pending.filter((p) => p.kind === "join"))
      if (this.unfinishedOf(p.group) === 0) this.resolve(p, true);
  }
  resolve(p: Pending, expected: unknown): void {
    p.expected = expected;
    this.pending = this.pending.filter((x) => x !== p);
  }
  tick(): void {
    this.expire();
    this.settle();
    for (const p of this.pending.filter((p) => p.deadline <= this.now)) {
      this.resolve(
        p,
        p.timeoutAt > this.now ? "poll_again" : p.kind === "get" ? "empty" : p.kind === "put" ? "full" : false,
      );
    }
  }
}

interface Real {
  q: JoinableQueue;
  reopen: () => JoinableQueue;
  answers: { pending: Pending; got: { value?: unknown } }[];
}

const summarize = (o: unknown): unknown => {
  const out = o as Outcome<{ deliveries?: Delivery[]; drained?: boolean; replayed?: boolean }>;
  if (!out.ok) return out.code;
  if (out.deliveries) return JSON.parse(out.deliveries[0]!.json);
  if (out.drained !== undefined) return out.drained;
  return out.replayed ? "replayed" : "ok";
};
const expectedSummary = (e: unknown): unknown => (typeof e === "object" && e !== null ? (e as Item).v : e);

function check(m: Model, r: Real): void {
  for (const { pending, got } of r.answers) {
    if (pending.expected === undefined) {
      if (got.value !== undefined) throw new Error(`answered early: ${JSON.stringify(got.value)}`);
      continue;
    }
    const actual = summarize(got.value);
    if (JSON.stringify(actual) !== JSON.stringify(expectedSummary(pending.expected))) {
      throw new Error(
        `${pending.kind}: expected ${JSON.stringify(pending.expected)}, got ${JSON.stringify(got.value)}`,
      );
    }
    recordReceipts(m, got.value);
  }
  r.answers = r.answers.filter((a) => a.pending.expected === undefined);
  const s = r.q.stats(m.now);
  const want = {
    qsize: m.ready.length,
    unfinished_tasks: m.unfinished,
    leased: m.leased.length,
    dead_lettered: m.dead.length,
  };
  const have = {
    qsize: s.qsize,
    unfinished_tasks: s.unfinished_tasks,
    leased: s.leased,
    dead_lettered: s.dead_lettered,
  };
  if (JSON.stringify(want) !== JSON.stringify(have))
    throw new Error(`stats: expected ${JSON.stringify(want)}, got ${JSON.stringify(have)}`);
  for (const g of GROUPS) {
    const items = [...m.ready, ...m.leased].filter((i) => i.group === g);
    const wantGroup = m.groupPuts.has(g)
      ? {
          group: g,
          unfinished_tasks: items.length,
          in_flight: m.leased.filter((i) => i.group === g).length,
          puts: m.groupPuts.get(g),
          completed: m.groupCompleted.get(g) ?? 0,
          dead_lettered: m.dead.filter((i) => i.group === g).length,
          state: items.length > 0 ? "open" : "drained",
        }
      : undefined;
    const found = r.q.group(g, m.now);
    const haveGroup = found && {
      ...{ group: found.group, unfinished_tasks: found.unfinished_tasks, in_flight: found.in_flight },
      ...{ puts: found.puts, completed: found.completed, dead_lettered: found.dead_lettered, state: found.state },
    };
    if (JSON.stringify(wantGroup) !== JSON.stringify(haveGroup))
      throw new Error(`group ${g}: expected ${JSON.stringify(wantGroup)}, got ${JSON.stringify(haveGroup)}`);
  }
}

function recordReceipts(m: Model, value: unknown): void {
  const out = value as Outcome<{ deliveries?: Delivery[] }>;
  for (const d of (out.ok && out.deliveries) || [])
    if (d.receipt) m.receipts.set(d.receipt, { id: d.id, delivery: d.deliveries });
}

type Cmd = fc.Command<Model, Real>;
const cmd = (name: string, run: (m: Model, r: Real) => void): Cmd => ({
  check: () => true,
  run: (m, r) => {
    run(m, r);
    check(m, r);
  },
  toString: () => name,
});

/** A call that may block: the model predicts its answer now, or later when `settle` / `tick` resolves it. */
function blocking(
  kind: Pending["kind"],
  m: Model,
  r: Real,
  timeout: number | undefined,
  start: (reply: (o: unknown) => void) => void,
  immediate: () => unknown,
  put?: PutArgs,
  group?: string,
) {
  m.expire();
  const got = call<unknown>();
  const pending: Pending = {
    kind,
    put,
    group,
    timeoutAt: timeout === undefined ? Infinity : m.now + timeout * 1000,
    deadline: 0,
    answer: got,
  };
  pending.deadline = Math.min(pending.timeoutAt, m.now + LIMITS.maxWaitMs);
  const now = immediate();
  if (now === undefined) m.pending.push(pending);
  else pending.expected = now;
  start(got.reply);
  r.answers.push({ pending, got });
  m.settle();
}

const timeouts = fc.constantFrom(undefined, 0, 1, 3, 15);
const GROUPS = ["a", "b"] as const;
const groups = fc.constantFrom(undefined, undefined, ...GROUPS);
const commands = [
  fc
    .tuple(
      fc.integer({ min: 0, max: 99 }),
      fc.boolean(),
      timeouts,
      fc.constantFrom(undefined, undefined, "k1", "k2"),
      fc.constantFrom(0, 0, 0, 2),
      groups,
    )
    .map(([v, block, timeout, key, delay, group]) =>
      cmd(`put(${v}, block=${block}, timeout=${timeout}, key=${key}, delay=${delay}, group=${group})`, (m, r) => {
        const request = { items: [{ json: String(v), group }], block, timeout, idempotency_key: key, delay };
        blocking(
          "put",
          m,
          r,
          timeout,
          (reply) => r.q.put(request, m.now, reply),
          () => {
            const now = m.put({ v, key, delay, group });
            return now ?? (!block || timeout === 0 ? "full" : undefined);
          },
          { v, key, delay, group },
        );
      }),
    ),
  fc.tuple(fc.boolean(), timeouts).map(([block, timeout]) =>
    cmd(`get(block=${block}, timeout=${timeout})`, (m, r) =>
      blocking(
        "get",
        m,
        r,
        timeout,
        (reply) => r.q.get({ block, timeout }, m.now, reply),
        () => {
          const got = m.get();
          if (got !== "empty") return got;
          return !block || timeout === 0 ? "empty" : undefined;
        },
      ),
    ),
  ),
  fc.tuple(fc.constantFrom(0, undefined, 2), groups).map(([timeout, group]) =>
    cmd(`join(timeout=${timeout}, group=${group})`, (m, r) =>
      blocking(
        "join",
        m,
        r,
        timeout,
        (reply) => r.q.join({ timeout, group }, m.now, reply),
        () => (m.unfinishedOf(group) === 0 ? true : timeout === 0 ? false : undefined),
        undefined,
        group,
      ),
    ),
  ),
  fc.option(fc.nat(), { nil: undefined }).map((pick) =>
    cmd(`task_done(${pick === undefined ? "" : `receipt #${pick}`})`, (m, r) => {
      m.expire();
      const receipts = [...m.receipts.keys()];
      const receipt = pick === undefined || receipts.length === 0 ? undefined : receipts[pick % receipts.length];
      const expected = m.taskDone(receipt);
      m.settle();
      const got = r.q.taskDone(receipt, m.now);
      if ((got.ok ? "ok" : got.code) !== expected)
        throw new Error(`task_done: expected ${expected}, got ${JSON.stringify(got)}`);
    }),
  ),
  fc.tuple(fc.nat(), fc.constantFrom(0, 1, 3)).map(([pick, delay]) =>
    cmd(`release(receipt #${pick}, delay=${delay})`, (m, r) => {
      const receipts = [...m.receipts.keys()];
      if (receipts.length === 0) return;
      const receipt = receipts[pick % receipts.length]!;
      m.expire();
      const expected = m.release(receipt, delay);
      m.settle();
      const got = r.q.release(receipt, delay, m.now);
      const actual = got.ok ? (got.dead_lettered ? "dead" : "ok") : got.code;
      if (actual !== expected) throw new Error(`release: expected ${expected}, got ${JSON.stringify(got)}`);
    }),
  ),
  fc.boolean().map((immediate) =>
    cmd(`shutdown(immediate=${immediate})`, (m, r) => {
      m.expire();
      m.doShutdown(immediate);
      m.settle();
      r.q.shutdown(immediate, m.now);
    }),
  ),
  fc.integer({ min: 1, max: 12_000 }).map((ms) =>
    cmd(`advance(${ms} ms)`, (m, r) => {
      m.now += ms;
      m.tick();
      r.q.tick(m.now);
    }),
  ),
  fc.constant(
    cmd("restart", (m, r) => {
      // Waiting calls live in memory and die with the object; their callers see an error and retry.
      for (const p of m.pending) p.expected = "lost";
      m.pending = [];
      r.answers = r.answers.filter((a) => a.pending.expected !== "lost");
      r.q = r.reopen();
    }),
  ),
];

describe("model-based: the core against a naive CPython model", () => {
  for (const [label, maxsize, leaseMs, maxDeliveries] of [
    ["no leases (pure CPython)", 2, null, null],
    ["leases, redelivery and dead letters", 3, 5_000, 2],
    ["unbounded with leases", 0, 2_000, null],
  ] as const) {
    it(label, () => {
      fc.assert(
        fc.property(fc.commands(commands, { maxCommands: 60 }), (cmds) => {
          const { q, reopen } = newQueue(
            { maxsize, lease_seconds: leaseMs === null ? null : leaseMs / 1000, max_deliveries: maxDeliveries },
            LIMITS,
          );
          fc.modelRun(
            () => ({ model: new Model(maxsize, leaseMs, maxDeliveries), real: { q, reopen, answers: [] } }),
            cmds,
          );
        }),
        { numRuns: 2000 },
      );
    });
  }
});
