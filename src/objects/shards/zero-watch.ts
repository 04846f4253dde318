// A shard's side of the sharded join: what the coordinator read it for, reported when that falls to 0 here.
import type { JoinableQueue } from "../../core/queue.ts";
import type { Read, Target } from "./coordinator.ts";

export class ZeroWatch {
  /** Each target read for, and whether it has been above 0 since: a fall to 0 after that is reported once. */
  private readonly watched = new Map<Target, boolean>();
  /** A woken shard forgot what it watched: it reports once, and the coordinator's next wave reads it again. */
  private fresh = true;

  /** `fell`: the targets that fell to 0 here (null: any may have, as a woken shard cannot tell). */
  constructor(private readonly report: (fell: Target[] | null) => Promise<void>) {}

  read(q: JoinableQueue, targets: Target[], now: number): Read {
    const counts = targets.map((t) => q.counts(t ?? undefined, now));
    for (const [i, t] of targets.entries())
      this.watched.set(t, this.watched.get(t) === true || counts[i]!.unfinished > 0);
    const cancelled = targets.map((t) => (t === null ? null : (q.cancelledOf(t) ?? null)));
    return { counts, dead: targets.map((t) => q.deadLetteredOf(t ?? undefined)), cancelled };
  }

  /** After every step. */
  changed(q: JoinableQueue): void {
    const fell: Target[] = [];
    for (const [t, above] of this.watched) {
      if (q.unfinishedOf(t ?? undefined) > 0) {
        if (!above) this.watched.set(t, true);
      } else if (above) {
        this.watched.delete(t);
        fell.push(t);
      }
    }
    if (this.fresh) this.send(null, 0);
    else if (fell.length > 0) this.send(fell, 0);
    this.fresh = false;
  }

  /** A report lost on its way (the coordinator restarting, say) is made again, backing off. */
  private send(fell: Target[] | null, attempt: number): void {
    this.report(fell).catch(() => {
      if (attempt < 10) setTimeout(() => this.send(fell, attempt + 1), 250 * 2 ** Math.min(attempt, 4));
    });
  }
}
