// The join of a sharded queue, kept by its first shard (the coordinator): waves of reads across every shard
// (core/waves.ts), run when a shard reports that what was joined reached 0 on it — never by polling.
//
// A shard read in a wave watches what it was read for, and reports the next time that reaches 0 on it (or falls
// back to it). A woken shard reports once, since it forgot what it watched. Between reports the coordinator
// keeps each target's last verdict: join callbacks and the coordinator's own socket joins read it as the count.

import { fail, type JoinResult, type Outcome } from "../../core/types.ts";
import { type Counts, mayBeDrained, undrained, verdict, type Wave } from "../../core/waves.ts";
import type { Drains } from "../push/join-callbacks.ts";
import { sum } from "./totals.ts";

/** What was joined: a group, or (null) the whole queue. */
export type Target = string | null;

/** One shard's answer to a wave: its counts and dead letters for each target asked, in the order asked. */
export interface Read {
  counts: Counts[];
  dead: number[];
  /** Each target's cancelled items on the shard (null: not a cancelled group there). */
  cancelled?: (number | null)[];
}

/** A join's answer on a sharded queue: the queue's, plus the puts its drain was proven at (a later drain has more). */
export type Joined = JoinResult & { puts: number };

export interface ShardJoinRequest {
  timeout?: number;
  group?: string;
  /** Only a drain with at least this many puts answers (a repeating socket join waits for the next drain). */
  since?: number;
  waiter?: string;
}

interface Pending {
  target: Target;
  since: number;
  waiter?: string;
  timer?: ReturnType<typeof setTimeout>;
  /** Its time ran out during a wave: it is answered after that wave, which may still prove a drain. */
  late?: Outcome<Joined>;
  answer(o: Outcome<Joined>): void;
}

interface Host {
  count: number;
  read(shard: number, targets: Target[]): Promise<Read>;
  /** The longest one call waits before it is answered poll_again. */
  maxWaitMs: number;
  /** Targets that always want waves (join callbacks): their verdicts are kept in `view`. */
  standing(): Target[];
  /** A verdict changed what `view` says: callbacks and socket joins look again. */
  changed(): void;
}

const key = (t: Target) => t ?? "";
const RETRY_MS = 500;

export class ShardJoin {
  private pending: Pending[] = [];
  private readonly verdicts = new Map<string, Wave & { dead: number; cancelled?: number }>();
  /**
   * For each target its last wave did not prove drained, the shards it found something unfinished on: no drain can
   * come before each of them falls to 0, so a report from any other shard starts no wave.
   */
  private readonly blockers = new Map<string, Set<number>>();
  /** Reports that came during a wave. */
  private readonly heard: [number, Target[] | null][] = [];
  private running = false;
  private again = false;

  constructor(private readonly host: Host) {}

  join(request: ShardJoinRequest): Promise<Outcome<Joined>> {
    return new Promise((answer) => {
      const target = request.group ?? null;
      const p: Pending = { target, since: request.since ?? 0, waiter: request.waiter, answer };
      const cap = this.host.maxWaitMs;
      const wait = request.timeout === undefined ? Infinity : request.timeout * 1000;
      p.timer = setTimeout(
        () => {
          const late = wait > cap ? POLL_AGAIN : this.timedOut(target);
          if (this.running) p.late = late;
          else this.end(p, late);
        },
        Math.ceil(Math.min(wait, cap)),
      );
      this.pending.push(p);
      this.wave();
    });
  }

  /** How many joins wait for a drain to be proven. */
  get waiting(): number {
    return this.pending.length;
  }

  /** A waiting join whose client went away. */
  withdraw(waiter: string): boolean {
    const p = this.pending.find((p) => p.waiter === waiter);
    if (p) this.end(p, undefined);
    return p !== undefined;
  }

  /** The count a target's last verdict showed (0 once drained): what callbacks and socket joins read. */
  view(): Drains {
    const seen = (g?: string) => this.verdicts.get(key(g ?? null));
    return {
      unfinishedOf: (g) => {
        const v = seen(g);
        return v === undefined ? 1 : v.drained ? 0 : Math.max(1, v.unfinished);
      },
      deadLetteredOf: (g) => seen(g)?.dead ?? 0,
      cancelledOf: (g) => seen(g)?.cancelled,
    };
  }

  /** Shard `from` reports that targets fell to 0 on it (null: any may have): a wave, if a drain may be near. */
  zero(from: number, fell: Target[] | null): void {
    // During a wave the report is kept: it applies to the blockers that wave finds (the fall may follow its read).
    if (this.running) this.heard.push([from, fell]);
    else if (this.hear(from, fell)) this.wave();
  }

  /** Takes a report off the blockers; answers whether some target may now be drained. */
  private hear(from: number, fell: Target[] | null): boolean {
    let near = false;
    for (const t of this.targets()) {
      const blockers = this.blockers.get(key(t));
      if (fell === null || fell.includes(t)) blockers?.delete(from);
      near ||= !blockers || blockers.size === 0;
    }
    return near;
  }

  private targets(): Target[] {
    return [...new Set([...this.pending.map((p) => p.target), ...this.host.standing()])];
  }

  /** Runs waves until every pending join is answered or waits on a report; one at a time, coalesced. */
  wave(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    const targets = this.targets();
    if (targets.length === 0) return;
    this.running = true;
    this.waves(targets)
      .catch((e) => {
        // A shard out of reach (restarting, say): the joins still wait, so the wave is tried again shortly.
        console.error("a join wave failed; trying again", e);
        setTimeout(() => this.wave(), RETRY_MS);
      })
      .finally(() => {
        this.running = false;
        for (const [from, fell] of this.heard.splice(0)) if (this.hear(from, fell)) this.again = true;
        for (const p of this.pending.filter((p) => p.late)) this.end(p, p.late);
        if (this.again) {
          this.again = false;
          this.wave();
        }
      });
  }

  private async waves(targets: Target[]): Promise<void> {
    const shards = Array.from({ length: this.host.count }, (_, i) => i);
    const first = await Promise.all(shards.map((i) => this.host.read(i, targets)));
    const column = (reads: Read[], t: number) => reads.map((r) => r.counts[t]!);
    const next = targets.filter((_, t) => mayBeDrained(column(first, t)));
    const second = next.length ? await Promise.all(shards.map((i) => this.host.read(i, next))) : [];
    let changed = false;
    targets.forEach((target, t) => {
      const s = next.indexOf(target);
      const v = s < 0 ? undrained(column(first, t)) : verdict(column(first, t), column(second, s));
      const reads = s < 0 ? first : second;
      const at = s < 0 ? t : s;
      const dead = reads.reduce((n, r) => n + r.dead[at]!, 0);
      const cancels = reads.flatMap((r) => (typeof r.cancelled?.[at] === "number" ? [r.cancelled[at]] : []));
      const cancelled = cancels.length ? sum(cancels) : undefined;
      const before = this.verdicts.get(key(target));
      // A drain after new work: a repeating callback sees the count rise before it falls to 0 again.
      if (before?.drained && v.drained && v.puts > before.puts) {
        this.verdicts.set(key(target), { ...before, drained: false, unfinished: 1 });
        this.host.changed();
      }
      this.verdicts.set(key(target), { ...v, dead, ...(cancelled === undefined ? {} : { cancelled }) });
      changed ||= before?.drained !== v.drained || before.puts !== v.puts;
      for (const p of this.pending.filter((p) => p.target === target && v.drained && v.puts >= p.since)) {
        this.end(p, {
          ok: true,
          drained: true,
          ...group(target),
          unfinished_tasks: 0,
          dead_lettered: dead,
          ...(cancelled === undefined ? {} : { cancelled }),
          puts: v.puts,
        });
      }
      const last = s < 0 ? column(first, t) : column(second, s);
      const blockers = shards.filter((i) => last[i]!.unfinished > 0);
      if (v.drained) this.blockers.delete(key(target));
      else this.blockers.set(key(target), new Set(blockers));
      // Nothing unfinished anywhere now, yet not proven: work came and went between the waves. Read again.
      if (!v.drained && blockers.length === 0) this.again = true;
    });
    if (changed) this.host.changed();
  }

  private end(p: Pending, o: Outcome<Joined> | undefined): void {
    clearTimeout(p.timer);
    this.pending = this.pending.filter((q) => q !== p);
    if (o) p.answer(o);
  }

  private timedOut(target: Target): Outcome<Joined> {
    const v = this.verdicts.get(key(target));
    const counts = { unfinished_tasks: v?.unfinished ?? 0, dead_lettered: v?.dead ?? 0, puts: v?.puts ?? 0 };
    return { ok: true, drained: false, ...group(target), ...counts };
  }
}

const POLL_AGAIN = fail("poll_again", "the wait reached the server's cap; call again");

const group = (t: Target) => (t === null ? {} : { group: t });
