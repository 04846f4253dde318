// The catalog's memory of every queue's last headline, with put and done rates: what its live feed and /v1/metrics
// answer from. Memory only, never SQLite: the queue objects are the truth, and after a restart the board fills in
// lazily, from the queues' next reports or by asking a bounded number of them for their stats.
import type { Outcome, Stats } from "../../core/types.ts";
import { type Headline, headline, REPORT_INTERVAL_MS } from "./headlines.ts";

/** A headline with rates per second over the interval between its last two reports. */
export type Known = Headline & { put_rate: number; done_rate: number };

/**
 * A queue object's side of a fill (typed here: the queue object's module cannot be imported from the catalog). Its
 * group count rides beside the stats, not in them: the stats are what GET /v1/queues/{name} answers as they are.
 */
interface StatsSource {
  stats(): Promise<Outcome<{ stats: Stats; groups?: number }>>;
}

// Reports come at most once a second while a queue changes: a gap longer than this means it was quiet meanwhile,
// so the counters' difference says nothing about a rate.
const RATE_WINDOW_MS = 10_000;

export class HeadlineBoard {
  private readonly heads = new Map<string, Known>();
  private readonly asking = new Set<string>();

  constructor(
    private readonly env: Env,
    /** Whether the catalog lists the name: a late report from a deleted queue must not bring it back. */
    private readonly listed: (name: string) => boolean,
  ) {}

  get(name: string): Known | undefined {
    return this.heads.get(name);
  }

  /** Takes a report; answers whether it was kept (an older one than what is known, or an unlisted queue, is not). */
  set(name: string, h: Headline): boolean {
    const prev = this.heads.get(name);
    if (prev && prev.at >= h.at) return false;
    if (!this.listed(name)) return false;
    const dt = prev ? h.at - prev.at : Infinity;
    // Over at least a report interval: a fill and a report a few ms apart would otherwise make a burst a spike.
    const rate = (now: number, then: number) =>
      dt <= RATE_WINDOW_MS ? ((now - then) * 1000) / Math.max(dt, REPORT_INTERVAL_MS) : 0;
    this.heads.set(name, {
      ...h,
      put_rate: prev ? rate(h.puts, prev.puts) : 0,
      done_rate: prev ? rate(h.completed, prev.completed) : 0,
    });
    return true;
  }

  drop(name: string): void {
    this.heads.delete(name);
  }

  /** Asks up to `max` of these queues whose headline is unknown for their stats; answers the names it learned. */
  async fill(names: string[], max: number): Promise<string[]> {
    const unknown = names.filter((n) => !this.heads.has(n) && !this.asking.has(n)).slice(0, max);
    const learned = await Promise.all(unknown.map((n) => this.ask(n)));
    return unknown.filter((_, i) => learned[i]);
  }

  private async ask(name: string): Promise<boolean> {
    this.asking.add(name);
    const at = Date.now();
    try {
      const q = this.env.QUEUES.get(this.env.QUEUES.idFromName(name)) as unknown as StatsSource;
      const outcome = await q.stats();
      return outcome.ok && this.set(name, headline({ ...outcome.stats, groups: outcome.groups }, at));
    } catch {
      return false; // unknown it stays: the queue's next report, or the next fill, tells
    } finally {
      this.asking.delete(name);
    }
  }
}
