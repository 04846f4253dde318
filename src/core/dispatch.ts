// Which ready item a get takes next: the queue's order over all its items (fifo dispatch, CPython's), or its groups
// in turn (fair dispatch) — and never one of a group whose deliveries in flight are at its cap.
//
// Fair dispatch shares the workers: a get takes from the eligible group (ungrouped items are one more) holding the
// smallest share of the deliveries in flight — its count in flight divided by its weight, as SQS's fair queues serve
// a tenant with too large a share of in-flight work after the others — so a group put behind a big one is served as
// its workers free up, whatever the big one's backlog. Among equal shares it is stride scheduling: each group's pass
// grows by 1 / weight with each delivery of it, and the lowest pass goes first; a group that had nothing ready (or
// was at its cap) starts again at the pass of the last delivery, so waiting earns no burst. Inside a group, the
// queue's order. The passes live in memory only: a restart starts every group level, and no row is ever written for
// fairness. Shares and caps are counted from the leases the store holds, so a lease that ends frees its slot in the
// same step, however it ends.
import type { Persistence } from "./persistence.ts";
import { T_LEASED, T_READY } from "./segment.ts";
import type { ItemRow, Store } from "./store.ts";

/** A group as dispatch sees it: its name, or null for the items with none. */
type Key = string | null;

/** A group a fair get may take from: its share of the deliveries in flight (count ÷ weight), and its pass. */
interface Candidate {
  g: Key;
  share: number;
  pass: number;
}

/** Whether `a` goes before `b`: the smaller share, then the lower pass, then ungrouped items, then by name. */
function first(a: Candidate, b: Candidate | undefined): boolean {
  if (!b) return true;
  if (a.share !== b.share) return a.share < b.share;
  if (a.pass !== b.pass) return a.pass < b.pass;
  return a.g === null ? b.g !== null : b.g !== null && a.g < b.g;
}

export class Dispatch {
  private readonly passes = new Map<Key, number>();
  /** The pass of the latest fair delivery: where a group that comes (back) to the queue starts. */
  private now = 0;

  constructor(
    private readonly store: Store,
    private readonly saved: Persistence,
  ) {}

  /**
   * The items a get of `max` takes, one at a time: the caller takes (leases or removes) each before asking for the
   * next, so caps and passes count it.
   */
  *next(max: number, now: number): Generator<ItemRow> {
    const { order } = this.saved.state.config;
    const fair = this.saved.state.config.dispatch === "fair";
    if (!fair && !this.capped()) {
      yield* this.store.nextVisible(order, now, max);
      return;
    }
    for (let n = 0; n < max; n++) {
      const row = fair ? this.fairly(now) : this.store.nextVisible(order, now, 1, this.eligible)[0];
      if (!row) return;
      yield row;
    }
  }

  /** Whether a get could take an item now: one visible, of a group under its cap (or of none). */
  anyEligible(now: number): boolean {
    return this.store.nextVisible(this.saved.state.config.order, now, 1, this.eligible).length > 0;
  }

  /** Ungrouped items, and a group's under its cap, may be taken. */
  private readonly eligible = (g: Key): boolean => g === null || this.underCap(g);

  /** Whether any group has a cap (else fifo dispatch is the queue's plain order, taken in one walk). */
  capped(): boolean {
    if ((this.saved.state.config.group_max_in_flight ?? null) !== null) return true;
    return Object.values(this.saved.state.group_settings).some((s) => s.max_in_flight !== undefined);
  }

  private underCap(group: string): boolean {
    const cap = this.saved.capOf(group);
    return cap === null || (this.store.groups.get(group)?.[T_LEASED] ?? 0) < cap;
  }

  /**
   * The next visible item of the eligible group with the smallest share in flight, then the lowest pass; then
   * ungrouped items, then groups by name. A group whose ready items are all delayed is passed over. One walk over the
   * groups per try.
   */
  private fairly(now: number): ItemRow | undefined {
    const { order } = this.saved.state.config;
    const passed = new Set<Key>();
    for (;;) {
      let best: Candidate | undefined;
      let [ready, leased] = [0, 0];
      for (const [g, t] of this.store.groups) {
        leased += t[T_LEASED];
        if (t[T_READY] === 0) continue;
        ready += t[T_READY];
        if (passed.has(g) || !this.eligible(g)) continue;
        const c = { g, share: t[T_LEASED] / this.weight(g), pass: this.pass(g) };
        if (first(c, best)) best = c;
      }
      const ungrouped = { g: null, share: this.store.totals.leased - leased, pass: this.pass(null) };
      if (this.store.totals.ready > ready && !passed.has(null) && first(ungrouped, best)) best = ungrouped;
      if (!best) return undefined;
      const g = best.g;
      const row = this.store.nextVisible(order, now, 1, g ?? ((x) => x === null))[0];
      if (!row) {
        passed.add(g);
        continue;
      }
      this.now = best.pass;
      this.passes.set(g, this.now + 1 / this.weight(g));
      this.forgetGone();
      return row;
    }
  }

  private weight(g: Key): number {
    return g === null ? 1 : (this.saved.settingsOf(g)?.weight ?? 1);
  }

  /** A group's pass as it stands: one that was idle starts at the latest delivery's. */
  private pass(g: Key): number {
    return Math.max(this.passes.get(g) ?? 0, this.now);
  }

  /** Drops the passes of groups the queue no longer holds, now and then, so memory follows the live groups. */
  private forgetGone(): void {
    if (this.passes.size <= 2 * this.store.groups.size + 16) return;
    for (const g of this.passes.keys()) if (g !== null && !this.store.groups.has(g)) this.passes.delete(g);
  }
}
