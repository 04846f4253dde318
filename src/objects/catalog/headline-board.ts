// The catalog's memory of every queue's last headline, with put and done rates: what its live feed and /v1/metrics
// answer from. Memory only, never SQLite: the queue objects are the truth, and after a restart the board fills in
// lazily, from the queues' next reports or by asking a bounded number of them for their stats.
//
// Each object reports under the name it was addressed by: a sharded queue's as `name`, `name#1`, … (shards/names.ts).
// The board keeps each object's last headline, and shows a queue's once it knows all of its objects: added up.
import { GROUP_GAUGES, type GroupGauges, type Outcome, type Stats } from "../../core/types.ts";
import { queueNameOf, shardName } from "../shards/names.ts";
import { type Headline, headline, REPORT_INTERVAL_MS } from "./headlines.ts";

/** A headline with rates per second over the interval between its last two reports. */
export type Known = Headline & { put_rate: number; done_rate: number };

/** A listed queue, and how many objects hold it (1 unless it is sharded). */
export type Listed = { name: string; shards: number };

/** A listed queue and its headline (null while unknown), as /v1/metrics shows it. */
export type Shown = Listed & { headline: Known | null };

/**
 * A queue object's side of a fill (typed here: the queue object's module cannot be imported from the catalog). Its
 * group count rides beside the stats, not in them: the stats are what GET /v1/queues/{name} answers as they are.
 */
interface StatsSource {
  stats(): Promise<Outcome<{ stats: Stats } & Partial<GroupGauges>>>;
}

// Reports come at most once a second while a queue changes: a gap longer than this means it was quiet meanwhile,
// so the counters' difference says nothing about a rate.
const RATE_WINDOW_MS = 10_000;
// A shard that changes reports about once an interval: one that has not for longer than this (while a sibling has)
// is quiet, and its last rate no longer counts in its queue's.
const QUIET_MS = 2.5 * REPORT_INTERVAL_MS;

/** What a sharded queue's headline adds up over its objects (the rest: shut down if all are, the latest time). */
const COUNTS = [
  "qsize",
  "unfinished_tasks",
  "in_flight",
  "leased",
  "delayed",
  "dead_lettered",
  "deliveries",
  "redeliveries",
  "puts",
  "completed",
  ...GROUP_GAUGES,
] as const;

export class HeadlineBoard {
  /** Each queue's objects' last headlines, by object name, and how many objects the queue has. */
  private readonly queues = new Map<string, { shards: number; parts: Map<string, Known> }>();
  /** Objects being asked for their stats. */
  private readonly asking = new Set<string>();

  constructor(
    private readonly env: Env,
    /** How many objects hold a queue; 0 when the catalog does not list it (a deleted queue's late report). */
    private readonly shardsOf: (name: string) => number,
  ) {}

  /** A queue's headline: its objects' added up, once every one of them is known. */
  get(name: string): Known | undefined {
    const queue = this.queues.get(name);
    if (!queue || this.missing({ name, shards: queue.shards }).length > 0) return undefined;
    return add(name, queue.parts);
  }

  /** Takes an object's report; answers whether it was kept (not an older one than known, nor an unlisted queue's). */
  set(object: string, h: Headline): boolean {
    const name = queueNameOf(object);
    const parts = this.queues.get(name)?.parts ?? new Map<string, Known>();
    const prev = parts.get(object);
    if (prev && prev.at >= h.at) return false;
    const shards = this.shardsOf(name);
    if (shards === 0) return false;
    const dt = prev ? h.at - prev.at : Infinity;
    // Over at least a report interval: a fill and a report a few ms apart would otherwise make a burst a spike.
    const rate = (now: number, then: number) =>
      dt <= RATE_WINDOW_MS ? ((now - then) * 1000) / Math.max(dt, REPORT_INTERVAL_MS) : 0;
    parts.set(object, {
      ...h,
      put_rate: prev ? rate(h.puts, prev.puts) : 0,
      done_rate: prev ? rate(h.completed, prev.completed) : 0,
    });
    this.queues.set(name, { shards, parts });
    return true;
  }

  drop(name: string): void {
    this.queues.delete(name);
  }

  /** Asks up to `max` unknown objects of these queues for their stats; answers the queues it learned anything of. */
  async fill(queues: Listed[], max: number): Promise<string[]> {
    const unknown = queues
      .flatMap((q) => this.missing(q))
      .filter((o) => !this.asking.has(o))
      .slice(0, max);
    const learned = await Promise.all(unknown.map((o) => this.ask(o)));
    return [...new Set(unknown.filter((_, i) => learned[i]).map(queueNameOf))];
  }

  /** The queue's objects whose headline is unknown. */
  private missing({ name, shards }: Listed): string[] {
    const parts = this.queues.get(name)?.parts;
    return Array.from({ length: shards }, (_, i) => shardName(name, i)).filter((o) => !parts?.has(o));
  }

  private async ask(object: string): Promise<boolean> {
    this.asking.add(object);
    const at = Date.now();
    try {
      const q = this.env.QUEUES.get(this.env.QUEUES.idFromName(object)) as unknown as StatsSource;
      const outcome = await q.stats();
      if (!outcome.ok) return false;
      const { stats, ok: _, ...gauges } = outcome;
      return this.set(object, headline({ ...stats, ...gauges }, at));
    } catch {
      return false; // unknown it stays: the object's next report, or the next fill, tells
    } finally {
      this.asking.delete(object);
    }
  }
}

/** A queue's headline from its objects': one object's as it is; a sharded queue's counts and rates added up. */
function add(name: string, parts: Map<string, Known>): Known {
  const all = [...parts.values()];
  if (all.length === 1) return all[0]!;
  const at = Math.max(...all.map((p) => p.at));
  const sum = (f: (p: Known) => number) => all.reduce((n, p) => n + f(p), 0);
  // The rate of the sum is the sum of each object's rate over its own last two reports: a rate taken between two
  // reports of the summed counters would see only what the one object that reported last did.
  const rate = (f: (p: Known) => number) => sum((p) => (at - p.at <= QUIET_MS ? f(p) : 0));
  const push = parts.get(name)?.push; // the first object's, as in the stats (a sharded queue does not push)
  return {
    ...(Object.fromEntries(COUNTS.map((k) => [k, sum((p) => p[k])])) as Pick<Known, (typeof COUNTS)[number]>),
    shutdown: all.every((p) => p.shutdown),
    waiting: {
      getters: sum((p) => p.waiting.getters),
      putters: sum((p) => p.waiting.putters),
      joiners: sum((p) => p.waiting.joiners),
    },
    at,
    ...(push ? { push } : {}),
    put_rate: rate((p) => p.put_rate),
    done_rate: rate((p) => p.done_rate),
  };
}
