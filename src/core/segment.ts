// A segment: one row holding a run of items put together (or appended to the open tail), each with its own state.
//
// Cloudflare bills a row written per insert, update or delete (plus one per index entry it touches), not per byte:
// so items share rows. A segment's items are one JSON array; beside it, columns sum them up (how many are ready,
// leased, dead; the earliest lease to end; the earliest delayed item to show), which is all that waking reads.
// The segments table has no index besides its primary key, so no write ever touches an index entry.
import { encodeKey } from "./priority.ts";

export type ItemState = "ready" | "leased" | "dead" | "done";

/** One item as it stands. A removed item (taken without a lease, or drained) leaves its segment's array. */
export interface Item {
  id: number;
  /** The item's JSON text exactly as put ("" once done: only its receipt is kept, to recognise a repeat). */
  value: string;
  /** Its priority key, encoded so that text order is Python's order (see priority.ts). */
  sort_key: string;
  put_at: number;
  state: ItemState;
  /** Ready: when it shows (0: at once). */
  visible_at: number;
  deliveries: number;
  /** Leased or done: the random part of the open (or completed) delivery's receipt. */
  token: string | null;
  /** Leased: when the lease ends. */
  lease_expires: number | null;
  /** Leased: when the lease began (what observers see). */
  leased_at: number | null;
  /** Done: when task_done ended it. */
  completed_at: number | null;
  /** The group a producer put it in (null: none): the queue keeps an unfinished count per group. */
  group: string | null;
}

/**
 * One group's items in a segment, by state, and the events it saw there: [ready, leased, dead, done, puts,
 * completed, latest put or completion, earliest put (0: none known)]. Stored as a column, so a group adds no row:
 * its counts are written with the segment that holds its items. (Rows written before the earliest put was kept have
 * seven slots: their items' put times stand in for it.)
 */
export type GroupTally = [number, number, number, number, number, number, number, number];
export const EMPTY_TALLY: GroupTally = [0, 0, 0, 0, 0, 0, 0, 0];
export const T_READY = 0;
export const T_LEASED = 1;
export const T_DEAD = 2;
export const T_DONE = 3;
export const T_PUTS = 4;
export const T_COMPLETED = 5;
export const T_LAST = 6;
export const T_FIRST = 7;

/** The earlier of two moments, where 0 is none. */
export const earliest = (a: number, b: number): number => (a === 0 ? b : b === 0 ? a : Math.min(a, b));

/** An item as the store hands it out (a copy: changing it changes nothing stored). */
export type ItemRow = Item;

/** The columns beside the items: what waking reads, and what the store keeps in memory for every segment. */
export interface Summary {
  /** The first item's id: segments hold increasing, disjoint runs of ids (a put goes to the last one or a new one). */
  id: number;
  /** The smallest priority key among its ready items ("" when none): segments are ordered by it, then by id. */
  head_key: string;
  last_id: number;
  ready: number;
  leased: number;
  dead: number;
  /** Ready items put or released with a delay (visible_at > 0), shown or not. */
  delayed: number;
  /** The earliest visible_at of those (null: none). */
  visible_at: number | null;
  /** The earliest open lease's end (null: none). */
  lease_expires: number | null;
  /** The latest completion (null: none). */
  completed_at: number | null;
  /** The latest expiry of an idempotency key kept in this row (null: none). */
  keys_expire: number | null;
  /** Events counted where they happened, so that no meta row is written for them (see persistence.ts). */
  deliveries: number;
  redeliveries: number;
  completed: number;
  /** Each group's tally here (JSON in the row; null: no item here has a group). Puts and completions are carried. */
  groups: Record<string, GroupTally> | null;
}

/** Idempotency keys of puts whose first item is in this segment: key → [the put's ids as JSON, expiry]. */
export type Keys = Record<string, [string, number]>;

export interface Segment {
  summary: Summary;
  items: Item[];
  keys: Keys;
  /** Bytes of item text held (the cap on appending). */
  bytes: number;
}

const STATES: Record<string, ItemState> = { r: "ready", l: "leased", x: "dead", d: "done" };
const CODES: Record<ItemState, string> = { ready: "r", leased: "l", dead: "x", done: "d" };

type Packed = [
  number,
  string,
  number,
  string,
  number,
  number,
  string | null,
  number | null,
  number | null,
  number | null,
  string | null,
  string?,
];

/** The key of every item of FIFO and LIFO queues (priority 0): not written out item by item. */
const PLAIN = encodeKey(0);

/** Each item's text as last written: a step changes one item or a few, so a row is mostly re-joined, not re-encoded. */
const encoded = new WeakMap<Item, string>();

/** Marks an item about to change in place (every change goes through `Segments.update`). */
export const changing = (item: Item): boolean => encoded.delete(item);

export function encodeItems(items: Item[]): string {
  const texts = items.map((i) => {
    let text = encoded.get(i);
    if (text === undefined) {
      const packed: Packed = [
        i.id,
        i.value,
        i.put_at,
        CODES[i.state],
        i.visible_at,
        i.deliveries,
        i.token,
        i.lease_expires,
        i.leased_at,
        i.completed_at,
        i.sort_key === PLAIN ? null : i.sort_key,
      ];
      if (i.group !== null) packed.push(i.group);
      text = JSON.stringify(packed);
      encoded.set(i, text);
    }
    return text;
  });
  return `[${texts.join(",")}]`;
}

export function decodeItems(text: string): Item[] {
  return (JSON.parse(text) as Packed[]).map(
    ([id, value, put_at, s, visible_at, deliveries, token, le, la, ca, key, group]) => ({
      id,
      value,
      sort_key: key ?? PLAIN,
      put_at,
      state: STATES[s]!,
      visible_at,
      deliveries,
      token,
      lease_expires: le,
      leased_at: la,
      completed_at: ca,
      group: group ?? null,
    }),
  );
}

const STATE_SLOT: Record<ItemState, number> = { ready: T_READY, leased: T_LEASED, dead: T_DEAD, done: T_DONE };

const min = (a: number | null, b: number): number => (a === null || b < a ? b : a);
const max = (a: number | null, b: number): number => (a === null || b > a ? b : a);

/** Recomputes a segment's columns from its items and keys (event counters are carried, not derived). */
export function summarize(segment: Segment): void {
  const s = segment.summary;
  Object.assign(s, { head_key: "", ready: 0, leased: 0, dead: 0, delayed: 0, visible_at: null, lease_expires: null });
  s.completed_at = null;
  s.keys_expire = null;
  segment.bytes = 0;
  // A group's puts and completions are events, carried; its counts by state are derived from the items.
  const carried = s.groups;
  const groups: Record<string, GroupTally> = {};
  if (carried)
    for (const [g, t] of Object.entries(carried))
      groups[g] = [0, 0, 0, 0, t[T_PUTS], t[T_COMPLETED], t[T_LAST], t[T_FIRST] ?? 0];
  for (const item of segment.items) {
    segment.bytes += item.value.length;
    if (item.group !== null) {
      const t = groups[item.group] ?? [...EMPTY_TALLY];
      groups[item.group] = t;
      const slot = STATE_SLOT[item.state];
      t[slot] = t[slot]! + 1;
      t[T_LAST] = Math.max(t[T_LAST], item.completed_at ?? item.put_at);
      t[T_FIRST] = earliest(t[T_FIRST], item.put_at);
    }
    if (item.state === "ready") {
      if (s.ready === 0 || item.sort_key < s.head_key) s.head_key = item.sort_key;
      s.ready++;
      if (item.visible_at > 0) {
        s.delayed++;
        s.visible_at = min(s.visible_at, item.visible_at);
      }
    } else if (item.state === "leased") {
      s.leased++;
      // A grouped item taken without a lease stays leased with no end (leases.ts): it has no deadline.
      if (item.lease_expires !== null) s.lease_expires = min(s.lease_expires, item.lease_expires);
    } else if (item.state === "dead") s.dead++;
    else s.completed_at = max(s.completed_at, item.completed_at!);
  }
  s.groups = Object.keys(groups).length ? groups : null;
  for (const [, expires] of Object.values(segment.keys)) s.keys_expire = max(s.keys_expire, expires);
}

/** Whether a ready item may be taken at `now`. */
export const visible = (item: Item, now: number): boolean =>
  item.state === "ready" && (item.visible_at === 0 || item.visible_at <= now);

/** Whether the summary says some ready item may be visible at `now` (then the items tell which). */
export const mayHaveVisible = (s: Summary, now: number): boolean =>
  s.ready > s.delayed || (s.visible_at !== null && s.visible_at <= now);

/** A segment nothing needs any more: no item in the queue, no completion or key still remembered. */
export const spent = (s: Summary, completedBefore: number, now: number): boolean =>
  s.ready + s.leased + s.dead === 0 &&
  (s.completed_at === null || s.completed_at < completedBefore) &&
  (s.keys_expire === null || s.keys_expire <= now);

/** A segment takes appended items while it holds fewer than this many, and this much text: a row stays small. */
export const SEGMENT_ITEMS = 256;
export const SEGMENT_BYTES = 256 * 1024;

export const emptySummary = (id: number): Summary => ({
  id,
  head_key: "",
  last_id: id,
  ready: 0,
  leased: 0,
  dead: 0,
  delayed: 0,
  visible_at: null,
  lease_expires: null,
  completed_at: null,
  keys_expire: null,
  deliveries: 0,
  redeliveries: 0,
  completed: 0,
  groups: null,
});
