// Deliveries and their leases: taking items with a receipt each, completing, extending, releasing and expiring
// them, and the dead letters an item reaches when it has used up its deliveries. Python's queue has none of this:
// its get hands an item over for good.
import { msAfter } from "./clock.ts";
import type { Limits } from "./limits.ts";
import type { Persistence, QueueState } from "./persistence.ts";
import { decodeKey } from "./priority.ts";
import { formatReceipt, parseReceipt, randomHex } from "./receipt.ts";
import type { ItemRow, Store } from "./store.ts";
import { type Delivery, fail, type Outcome, type QueueError } from "./types.ts";

/**
 * An open lease (`row`), a delivery already completed (`acked`: its group, or null), or, for an anonymous task_done,
 * possibly neither.
 */
type Lease = { row?: ItemRow; acked?: string | null };

const GROUPED = fail(
  "conflict",
  "task_done without a receipt would complete a delivery that has a group: pass that delivery's receipt",
);
const TOO_MANY = fail("task_done_too_many", "task_done() called too many times");

export class Leases {
  constructor(
    private readonly store: Store,
    private readonly state: QueueState,
    private readonly limits: Limits,
    /** Groups' settings and cancels. */
    private readonly settings: Persistence,
  ) {}

  /** Takes these items (dispatch.ts picks them, one after the other), recording each delivery in the same step. */
  take(rows: Iterable<ItemRow>, leaseSeconds: number | null, now: number): Delivery[] {
    const taken: Delivery[] = [];
    for (const row of rows) taken.push(this.deliver(row, leaseSeconds, now));
    return taken;
  }

  private deliver(row: ItemRow, leaseSeconds: number | null, now: number): Delivery {
    const deliveries = row.deliveries + 1;
    this.state.deliveries++;
    if (deliveries > 1) this.state.redeliveries++;
    if (leaseSeconds === null && row.group === null) {
      this.store.take(row.id, deliveries, null, now);
      return delivery({ ...row, deliveries }, null, null);
    }
    // A grouped item taken without a lease is still held with a receipt (a lease that never ends): an anonymous
    // task_done cannot say which group it completes, so its receipt is the only way to complete it.
    const token = randomHex(8);
    const expires = leaseSeconds === null ? null : msAfter(now, leaseSeconds);
    this.store.take(row.id, deliveries, { token, expires }, now);
    const receipt = formatReceipt({ tag: this.state.tag, id: row.id, delivery: deliveries, token });
    return delivery({ ...row, deliveries }, receipt, expires);
  }

  /**
   * One task_done: by its receipt, or (none) the oldest open lease or, with none open, an anonymous count. Says the
   * completed delivery's group when the receipt named one (null: none, or not known).
   */
  complete(receipt: string | undefined, now: number): Outcome<{ replayed: boolean; group: string | null }> {
    const lease = receipt === undefined ? { row: this.store.oldestLeased() } : this.find(receipt, now);
    if ("code" in lease) return lease;
    if (lease.acked !== undefined) return { ok: true, replayed: true, group: lease.acked };
    // An anonymous task_done may not end a grouped delivery, nor stand for a grouped task (only receipts lower a
    // group's count): it needs an open ungrouped lease, or an unfinished task that no group counts.
    if (receipt === undefined && lease.row?.group != null) return GROUPED;
    const { grouped } = this.store.totals;
    if (receipt === undefined && !lease.row && grouped > 0 && this.state.unfinished_tasks <= grouped) return GROUPED;
    if (this.state.unfinished_tasks <= 0) return TOO_MANY;
    if (lease.row) this.store.complete(lease.row.id, now);
    this.state.unfinished_tasks--;
    this.state.completed++;
    return { ok: true, replayed: false, group: lease.row?.group ?? null };
  }

  /** Pushes a lease's expiry to `seconds` from now (a heartbeat for long jobs); says the delivery's group. */
  extend(receipt: string, seconds: number, now: number): Outcome<{ lease_expires_at: number; group: string | null }> {
    const lease = this.open(receipt, now);
    if ("ok" in lease) return lease;
    const expires = msAfter(now, seconds);
    this.store.extend(lease.row.id, expires);
    return { ok: true, lease_expires_at: expires, group: lease.row.group };
  }

  /** Gives a leased item back (a nack), visible again after `delay` seconds; it counts as a failed delivery. */
  release(receipt: string, delay: number, now: number): Outcome<{ dead_lettered: boolean }> {
    const lease = this.open(receipt, now);
    if ("ok" in lease) return lease;
    return { ok: true, dead_lettered: this.requeue(lease.row, delay > 0 ? msAfter(now, delay) : 0, now) };
  }

  /** Returns expired leases to the queue (or the dead letters). Idempotent: a late or repeated call finds nothing. */
  expire(now: number): void {
    if (this.store.totals.leased === 0) return; // the common case costs no work
    for (const row of this.store.expiredLeases(now)) {
      if (this.state.immediate) {
        // An immediate shutdown discards what is not being worked on; an abandoned item counts as drained.
        this.discard(row);
      } else {
        this.requeue(row, 0, now);
      }
    }
  }

  deadLetters(limit: number): Delivery[] {
    return this.store.deadLetters(limit).map((row) => delivery(row, null, null));
  }

  /**
   * Back to the queue, or to the dead letters once it used up its deliveries (then it counts as done for join); a
   * cancelled group's item is removed instead, counted in its group's cancels.
   */
  private requeue(row: ItemRow, visibleAt: number, now: number): boolean {
    if (row.group !== null && this.settings.cancelledOf(row.group) !== undefined) {
      this.discard(row);
      this.settings.countCancelled(row.group, 1, now);
      return false;
    }
    const { max_deliveries } = this.state.config;
    const dead = max_deliveries !== null && row.deliveries >= max_deliveries;
    this.store.unlease(row.id, dead ? "dead" : "ready", visibleAt);
    if (dead) this.state.unfinished_tasks = Math.max(0, this.state.unfinished_tasks - 1);
    return dead;
  }

  /** Removes an item for good, as done for join (never below zero). */
  private discard(row: ItemRow): void {
    this.store.delete(row.id);
    this.state.unfinished_tasks = Math.max(0, this.state.unfinished_tasks - 1);
  }

  /** The open lease a receipt names, or that delivery's completion (for idempotent repeats), or why neither. */
  private find(receipt: string, now: number): Lease | QueueError {
    const r = parseReceipt(receipt);
    if (!r || r.tag !== this.state.tag) return fail("invalid_receipt", "this receipt was not issued by this queue");
    const found = this.store.item(r.id);
    // A completion older than the time it is kept counts as forgotten, whenever its row is actually deleted.
    const forgotten = found?.state === "done" && found.completed_at! < now - this.limits.ackKeepMs;
    const row = forgotten ? undefined : found;
    if ((row?.state === "leased" || row?.state === "done") && row.deliveries === r.delivery) {
      if (row.token !== r.token) return fail("invalid_receipt", "this receipt does not match its delivery");
      return row.state === "leased" ? { row } : { acked: row.group };
    }
    if (!row || r.delivery <= row.deliveries) {
      return fail(
        "stale_receipt",
        "this delivery is no longer open: its lease expired or the item was taken, completed or removed",
      );
    }
    return fail("invalid_receipt", "this receipt does not match any delivery");
  }

  private open(receipt: string, now: number): { row: ItemRow } | QueueError {
    const lease = this.find(receipt, now);
    if ("code" in lease) return lease;
    return lease.row ? { row: lease.row } : fail("stale_receipt", "this delivery was already completed");
  }
}

export function delivery(row: ItemRow, receipt: string | null, leaseExpires: number | null): Delivery {
  return {
    id: row.id,
    json: row.value,
    priority: decodeKey(row.sort_key),
    deliveries: row.deliveries,
    group: row.group,
    receipt,
    lease_expires_at: leaseExpires,
  };
}
