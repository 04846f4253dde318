// What a queue object tells the catalog about itself: its headline counters, for the live feed and /v1/metrics.
//
// The queue object stays the truth; the catalog keeps the last report in memory only. A report is a
// fire-and-forget RPC made at most once a second and only when a counter changed: it writes no row, sets no
// alarm, and its failure never reaches the queue operation that caused it (the next change reports again).
import type { JoinableQueue } from "../../core/queue.ts";
import { type GroupGauges, groupGauges, type Stats } from "../../core/types.ts";
import type { PushStats } from "../push/push.ts";

/** The counters an operator watches across every queue, as measured by the queue at `at` (Unix ms). */
export type Headline = Pick<
  Stats,
  | "qsize"
  | "unfinished_tasks"
  | "in_flight"
  | "leased"
  | "delayed"
  | "dead_lettered"
  | "deliveries"
  | "redeliveries"
  | "puts"
  | "completed"
  | "shutdown"
  | "waiting"
> &
  GroupGauges & {
    at: number;
    /** Where the queue pushes: deliveries awaiting an answer, failures ever, the last error, the next retry. */
    push?: Pick<PushStats, "in_flight" | "failures" | "last_error" | "next_retry_at">;
  };

/** What the queue object reports from: its stats, with its groups' gauges (absent: none). */
export type Reported = Stats & Partial<GroupGauges>;

/** The catalog's side of a report (typed here, not imported: the catalog's module imports this one). */
export interface HeadlineSink {
  report(name: string, headline: Headline): Promise<unknown>;
}

/** The deployment's one catalog object, by name (stubs.ts reaches it by the same name). */
export const CATALOG_NAME = "catalog";

/** At most one report per queue per interval; a change inside it is reported once the interval has passed. */
export const REPORT_INTERVAL_MS = 1000;

export function headline(s: Reported, at: number): Headline {
  const { qsize, unfinished_tasks, in_flight, leased, delayed, dead_lettered, deliveries, redeliveries } = s;
  return {
    qsize,
    unfinished_tasks,
    in_flight,
    leased,
    delayed,
    dead_lettered,
    deliveries,
    redeliveries,
    puts: s.puts,
    completed: s.completed,
    shutdown: s.shutdown,
    waiting: { ...s.waiting },
    at,
    ...groupGauges((k) => s[k]),
    // The object's stats carry push state where the queue pushes (push.ts), not just its configuration.
    ...(s.push ? { push: pushHeadline(s.push as PushStats) } : {}),
  };
}

const pushHeadline = ({ in_flight, failures, last_error, next_retry_at }: PushStats) => ({
  in_flight,
  failures,
  last_error,
  next_retry_at,
});

export class Headlines {
  /** The last headline reported (without its time), to report only changes. */
  private sent = "";
  private checkedAt = -Infinity;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
    private readonly queue: () => JoinableQueue | undefined,
    private readonly statsOf: (q: JoinableQueue, now: number) => Reported,
  ) {}

  /** Called after every queue step: checks now if the last check is an interval old, else once it is. */
  changed(now: number): void {
    if (this.timer !== undefined) return; // a check is already due, and will see this change too
    const wait = this.checkedAt + REPORT_INTERVAL_MS - now;
    if (wait <= 0) return this.check(now);
    // At most an interval: the object stays awake no longer than that for it.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.check(Date.now());
    }, wait);
  }

  private check(now: number): void {
    this.checkedAt = now;
    const q = this.queue();
    // The name an object was addressed by (stubs.ts): its queue's, or a shard's `name#i`, which the catalog adds up.
    const name = this.ctx.id.name;
    if (!q || name === undefined) return;
    const h = headline(this.statsOf(q, now), now);
    const key = JSON.stringify({ ...h, at: 0 });
    if (key === this.sent) return;
    this.sent = key;
    const catalog = this.env.CATALOG.get(this.env.CATALOG.idFromName(CATALOG_NAME)) as unknown as HeadlineSink;
    // Not awaited: the queue's answer never waits for the catalog. A lost report is sent again on the next change.
    catalog.report(name, h).catch(() => {
      if (this.sent === key) this.sent = "";
    });
  }
}
