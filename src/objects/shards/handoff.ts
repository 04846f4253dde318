// Gets across the shards of one queue, so no getter waits on one shard while an item waits on another.
//
// A shard whose getters (long polls, socket consumers) wait with nothing visible asks its siblings. A sibling with
// ready items hands out deliveries of its own — leased there, with its receipts, so the item never moves and is
// counted only where it was put — which this shard passes to its waiting getters. A sibling with nothing remembers
// who asked and pokes it when items arrive, so the asker asks again then. A get that may not wait asks the
// siblings in turn before it answers Empty.
import type { JoinableQueue } from "../../core/queue.ts";
import type { Delivery, GetRequest, Outcome } from "../../core/types.ts";

/** A sibling's answer: its deliveries, and how many items it still has visible (where to ask first next time). */
export interface Handed {
  deliveries: Delivery[];
  visible: number;
}

/** What a shard asks of a sibling (the queue object's methods, over RPC). */
export interface Sibling {
  handOut(from: number, max: number, lease_seconds?: number): Promise<Outcome<Handed>>;
  release(receipt: string, delay: number): Promise<unknown>;
  poke(from: number): Promise<unknown>;
}

interface Host {
  index: number;
  count: number;
  sibling(i: number): Sibling;
  queue(): JoinableQueue | undefined;
  /** Runs a step of this shard's core, then what follows every step. */
  run<T extends { ok: boolean }>(step: (q: JoinableQueue, now: number) => T): unknown;
}

export class Handoff {
  /** Siblings that asked while this shard had nothing to give (memory only: see `fresh`). */
  private readonly hungry = new Set<number>();
  /** How many items this shard last asked for: it asks again only for more, or when poked. */
  private asked = 0;
  private asking: Promise<void> | undefined;
  /** What each sibling last said it had visible (or, poking, that it had some): who is asked first. */
  private readonly seen = new Map<number, number>();
  /** Until it first has items to spare, a woken shard does not know who is hungry. */
  private fresh = true;

  constructor(private readonly host: Host) {}

  /** After every step: asks siblings for items its getters wait for, or tells a hungry sibling it has some. */
  changed(q: JoinableQueue, now: number): void {
    const wanted = q.wanted;
    if (wanted === 0) this.asked = 0;
    if (wanted > this.asked && q.visible(now) === 0) {
      this.asked = wanted;
      void this.ask();
    } else if (wanted === 0 && (this.hungry.size > 0 || this.fresh) && q.visible(now) > 0) {
      // A woken shard forgot who was hungry: the first time it has items to spare it pokes them all, and each
      // asks again if it still is.
      const poked = this.fresh ? this.shuffled() : [...this.hungry];
      this.hungry.clear();
      this.fresh = false;
      for (const i of poked)
        this.host
          .sibling(i)
          .poke(this.host.index)
          .catch(() => undefined);
    }
  }

  /** A get that may not wait, on a shard with nothing visible: a sibling's deliveries, if any has some. */
  async elsewhere(request: GetRequest): Promise<Delivery[] | undefined> {
    const q = this.host.queue();
    if (!q || q.visible(Date.now()) > 0) return undefined;
    for (const i of this.order()) {
      const out = await this.host.sibling(i).handOut(this.host.index, request.max ?? 1, request.lease_seconds);
      if (out.ok) this.seen.set(i, out.visible);
      if (out.ok && out.deliveries.length > 0) return out.deliveries;
    }
    return undefined;
  }

  /** A sibling asks for up to `max` deliveries: it gets what this shard has visible, or is remembered as hungry. */
  handOut(from: number, max: number, lease_seconds: number | undefined, q: JoinableQueue, now: number): Handed {
    if (q.visible(now) === 0) {
      this.hungry.add(from);
      return { deliveries: [], visible: 0 };
    }
    let deliveries: Delivery[] = [];
    q.get({ block: false, max, lease_seconds }, now, (o) => {
      if (o.ok) deliveries = o.deliveries;
    });
    return { deliveries, visible: q.visible(now) };
  }

  /** A sibling has items now: ask again, that one first. */
  poke(from: number): void {
    this.asked = 0;
    this.seen.set(from, Math.max(1, this.seen.get(from) ?? 0));
    if ((this.host.queue()?.wanted ?? 0) > 0) void this.ask(from);
  }

  /** Asks each sibling in turn (`first` first) while getters wait here with nothing visible. */
  private ask(first?: number): Promise<void> {
    if (this.asking !== undefined) return this.asking.then(() => this.ask(first));
    this.asking = (async () => {
      for (const i of this.order(first)) {
        // One lease at a time: a getter gets the lease it asked for, whichever shard its item is on.
        for (;;) {
          const q = this.host.queue();
          if (!q || q.wanted === 0 || q.visible(Date.now()) > 0) return;
          const { lease_seconds, count } = q.firstWanted;
          const sibling = this.host.sibling(i);
          const out = await sibling.handOut(this.host.index, count, lease_seconds).catch(() => undefined);
          if (out?.ok) this.seen.set(i, out.visible);
          if (!out?.ok || out.deliveries.length === 0) break;
          let left: Delivery[] = [];
          this.host.run((q) => {
            left = q.serve(out.deliveries, lease_seconds);
            return { ok: true };
          });
          // The getters went away meanwhile: the deliveries go back, visible again at once.
          for (const d of left) await sibling.release(d.receipt!, 0).catch(() => undefined);
          if (out.deliveries.length < count) break; // the sibling has no more
        }
      }
    })().finally(() => (this.asking = undefined));
    return this.asking;
  }

  /** The siblings to ask: `first` first, then those last seen with the most visible (unknown: as one), ties at random. */
  private order(first?: number): number[] {
    const rank = (i: number) => (i === first ? Infinity : (this.seen.get(i) ?? 1));
    return this.shuffled().sort((a, b) => rank(b) - rank(a));
  }

  private shuffled(): number[] {
    const others = Array.from({ length: this.host.count }, (_, i) => i).filter((i) => i !== this.host.index);
    for (let i = others.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [others[i], others[j]] = [others[j]!, others[i]!];
    }
    return others;
  }
}
