// Items handed between the shards of one queue, so no getter waits on one shard while an item waits on another.
//
// A shard whose getters (long polls, socket consumers) wait with nothing visible asks its siblings for items. A
// sibling with ready items and no getter of its own hands some over; one with none remembers who asked, and pokes
// it when items arrive, so the asker pulls then. A move is a get with a short lease at the source, a put at the
// destination, then the source's completion: the item is counted put at its destination before it is completed at
// its source (the sharded join depends on it), and a move cut short by a crash redelivers it, as a lease does.
import type { JoinableQueue } from "../../core/queue.ts";
import type { Delivery, Outcome, QueueError } from "../../core/types.ts";

/** An item on its way: what a put at the destination needs, and the source's receipt to complete it. */
export type Moving = Pick<Delivery, "json" | "priority" | "group"> & { receipt: string };

/** What a shard asks of a sibling to move items (the queue object's methods, over RPC). */
export interface Sibling {
  handOut(from: number, max: number): Promise<Outcome<{ items: Moving[] }>>;
  moved(receipts: string[], kept: boolean): Promise<unknown>;
  poke(from: number): Promise<unknown>;
}

/** The lease a moving item is held by at its source: long enough for two calls, short enough to come back soon. */
const MOVE_LEASE_SECONDS = 30;

interface Host {
  index: number;
  count: number;
  sibling(i: number): Sibling;
  queue(): JoinableQueue | undefined;
  run<T extends { ok: boolean }>(step: (q: JoinableQueue, now: number) => T): T | QueueError;
}

export class Handoff {
  /** Siblings that asked while this shard had nothing to give (memory: a woken shard pokes every sibling once). */
  private readonly hungry = new Set<number>();
  /** How many items this shard last asked for: it asks again only for more, or when poked. */
  private asked = 0;
  private pulling: Promise<void> | undefined;
  private fresh = true;

  constructor(private readonly host: Host) {}

  /** After every step: asks siblings for items its getters wait for, or tells a hungry sibling it has some. */
  changed(q: JoinableQueue, now: number): void {
    const wanted = q.wanted;
    if (wanted === 0) this.asked = 0;
    if (wanted > this.asked && q.visible(now) === 0) {
      this.asked = wanted;
      void this.pull(wanted);
    } else if (wanted === 0 && (this.hungry.size > 0 || this.fresh) && q.visible(now) > 0) {
      // A woken shard forgot who was hungry: it pokes them all once, and each asks again if it still is.
      const poked = this.fresh ? this.siblings() : [...this.hungry];
      this.hungry.clear();
      for (const i of poked)
        this.host
          .sibling(i)
          .poke(this.host.index)
          .catch(() => undefined);
    }
    this.fresh = false;
  }

  /** Before a get that will not wait, on a shard with nothing visible: it takes what a sibling has first. */
  async before(max: number): Promise<void> {
    const q = this.host.queue();
    if (q && q.visible(Date.now()) === 0) await this.pull(max);
  }

  /** A sibling asks for up to `max` items: it gets what this shard can spare, or is remembered as hungry. */
  handOut(from: number, max: number, q: JoinableQueue, now: number): Moving[] {
    if (q.wanted > 0 || q.visible(now) === 0) {
      this.hungry.add(from);
      return [];
    }
    let moving: Moving[] = [];
    q.get({ block: false, max, lease_seconds: MOVE_LEASE_SECONDS }, now, (o) => {
      if (o.ok)
        moving = o.deliveries.map(({ json, priority, group, receipt }) => ({
          json,
          priority,
          group,
          receipt: receipt!,
        }));
    });
    return moving;
  }

  /** A sibling has items now: ask it (first) again. */
  poke(from: number): void {
    this.asked = 0;
    const q = this.host.queue();
    if (q && q.wanted > 0) void this.pull(q.wanted, from);
  }

  /** Asks each sibling in turn (`first` first, the rest in random order) until `max` items are visible here. */
  private pull(max: number, first?: number): Promise<void> {
    if (this.pulling !== undefined) return this.pulling.then(() => this.pull(max, first));
    const order = this.siblings().sort(() => Math.random() - 0.5);
    if (first !== undefined) order.sort((a, b) => (b === first ? 1 : 0) - (a === first ? 1 : 0));
    this.pulling = (async () => {
      for (const i of order) {
        const q = this.host.queue();
        const want = q ? max - q.visible(Date.now()) : 0;
        if (want <= 0) return;
        const sibling = this.host.sibling(i);
        const out = await sibling.handOut(this.host.index, want).catch(() => undefined);
        if (!out?.ok || out.items.length === 0) continue;
        const put = this.host.run((q, now) => {
          let added: Outcome<object> = { ok: false, code: "shutdown", message: "" };
          const ranked = q.config.order === "priority";
          const items = out.items.map(({ json, priority, group }) => ({
            json,
            ...(ranked ? { priority } : {}),
            ...(group ? { group } : {}),
          }));
          q.put({ items, block: false }, now, (o) => (added = o));
          return added;
        });
        await sibling.moved(
          out.items.map((m) => m.receipt),
          put.ok,
        );
      }
    })().finally(() => (this.pulling = undefined));
    return this.pulling;
  }

  private siblings(): number[] {
    return Array.from({ length: this.host.count }, (_, i) => i).filter((i) => i !== this.host.index);
  }
}
