// Which ready item a get takes next: the queue's order over all its items (fifo dispatch, CPython's), or its groups
// in turn (fair dispatch) — and never one of a group whose deliveries in flight are at its cap.
//
// Fair dispatch is stride scheduling: each group (ungrouped items are one more) has a pass, which grows by
// 1 / weight with each delivery of it; a get takes from the eligible group with the lowest pass, in the queue's order
// inside that group. A group that had nothing ready (or was at its cap) starts again at the pass of the last
// delivery, so waiting earns no burst. The passes live in memory only: a restart starts every group level, and no
// row is ever written for fairness. A cap is counted from the group's leased items, so a lease that ends frees its
// slot in the same step, however it ends.
import type { Persistence } from "./persistence.ts";
import { T_LEASED, T_READY } from "./segment.ts";
import type { ItemRow, Store } from "./store.ts";

/** A group as dispatch sees it: its name, or null for the items with none. */
type Key = string | null;

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
    const eligible = (g: Key) => g === null || this.underCap(g);
    for (let n = 0; n < max; n++) {
      const row = fair ? this.fairly(now, eligible) : this.store.nextVisible(order, now, 1, eligible)[0];
      if (!row) return;
      yield row;
    }
  }

  /** Whether a get could take an item now: one visible, of a group under its cap (or of none). */
  anyEligible(now: number): boolean {
    const eligible = (g: Key) => g === null || this.underCap(g);
    return this.store.nextVisible(this.saved.state.config.order, now, 1, eligible).length > 0;
  }

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
   * The next visible item of the eligible group with the lowest pass; among equals, ungrouped items, then groups by
   * name. A group whose ready items are all delayed is passed over. One walk over the groups per try.
   */
  private fairly(now: number, eligible: (g: Key) => boolean): ItemRow | undefined {
    const { order } = this.saved.state.config;
    const passed = new Set<Key>();
    for (;;) {
      let best: { g: Key; pass: number } | undefined;
      let grouped = 0;
      for (const [g, t] of this.store.groups) {
        if (t[T_READY] === 0) continue;
        grouped += t[T_READY];
        if (passed.has(g) || !eligible(g)) continue;
        const pass = this.pass(g);
        if (!best || pass < best.pass || (pass === best.pass && best.g !== null && g < best.g)) best = { g, pass };
      }
      if (this.store.totals.ready > grouped && !passed.has(null) && (!best || this.pass(null) <= best.pass)) {
        best = { g: null, pass: this.pass(null) };
      }
      if (!best) return undefined;
      const g = best.g;
      const row = this.store.nextVisible(order, now, 1, g ?? ((x) => x === null))[0];
      if (!row) {
        passed.add(g);
        continue;
      }
      this.now = best.pass;
      this.passes.set(g, this.now + 1 / (g === null ? 1 : (this.saved.settingsOf(g)?.weight ?? 1)));
      this.forgetGone();
      return row;
    }
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
