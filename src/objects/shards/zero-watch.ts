// A shard's side of the sharded join: what the coordinator read it for, reported when that falls to 0 here.
import type { JoinableQueue } from "../../core/queue.ts";
import type { Read, Target } from "./coordinator.ts";

export class ZeroWatch {
  /** Each target read for, and whether it has been above 0 since: a fall to 0 after that is reported once. */
  private readonly watched = new Map<Target, boolean>();
  /** A woken shard forgot what it watched: it reports once, and the coordinator's next wave reads it again. */
  private fresh = true;

  constructor(private readonly report: () => Promise<void>) {}

  read(q: JoinableQueue, targets: Target[], now: number): Read {
    const counts = targets.map((t) => q.counts(t ?? undefined, now));
    for (const [i, t] of targets.entries())
      this.watched.set(t, this.watched.get(t) === true || counts[i]!.unfinished > 0);
    return { counts, dead: targets.map((t) => q.deadLetteredOf(t ?? undefined)) };
  }

  /** After every step. */
  changed(q: JoinableQueue): void {
    let fell = this.fresh;
    this.fresh = false;
    for (const [t, above] of this.watched) {
      if (q.unfinishedOf(t ?? undefined) > 0) {
        if (!above) this.watched.set(t, true);
      } else if (above) {
        this.watched.delete(t);
        fell = true;
      }
    }
    if (fell) this.send(0);
  }

  /** A report lost on its way (the coordinator restarting, say) is made again, backing off. */
  private send(attempt: number): void {
    this.report().catch(() => {
      if (attempt < 10) setTimeout(() => this.send(attempt + 1), 250 * 2 ** Math.min(attempt, 4));
    });
  }
}
