// Peeking at a queue's items without taking them: what join waits for (leased), what get hands out next (ready),
// and what is not visible yet (delayed). Reads only: nothing is delivered, counted, or re-armed.
import { decodeKey, type PriorityKey } from "../../core/priority.ts";
import type { ItemRow, Store } from "../../core/store.ts";
import type { Order } from "../../core/types.ts";

export type PeekState = "leased" | "ready" | "delayed";

export interface Peeked {
  id: number;
  /** The item's JSON text exactly as it was put (spliced into the answer, never parsed). */
  json: string;
  priority: PriorityKey;
  state: PeekState;
  deliveries: number;
  lease_expires_at: number | null;
  visible_at: number | null;
  /** When it was put (its age), and when the delivery in flight began (how long it has been held). */
  put_at: number | null;
  leased_at: number | null;
}

export function peekItems(store: Store, order: Order, state: PeekState, limit: number, now: number): Peeked[] {
  const rows = state === "ready" ? store.nextVisible(order, now, limit) : store.peek(state, now, limit);
  return rows.map((row: ItemRow) => ({
    id: row.id,
    json: row.value,
    priority: decodeKey(row.sort_key),
    state,
    deliveries: row.deliveries,
    lease_expires_at: state === "leased" ? row.lease_expires : null,
    visible_at: state === "delayed" ? row.visible_at : null,
    put_at: row.put_at || null,
    leased_at: state === "leased" ? row.leased_at : null,
  }));
}
