// The queue's counters and settings in memory, and the meta row that makes them survive: written only when waking
// from the segments could not tell the same story.
//
// Most changes are recorded where they happen: a put, a get or a task_done changes the items of a segment, whose
// columns count its ready, leased and dead items and the deliveries and completions it saw (segment.ts). The meta
// row keeps only the rest — settings, shutdown, and each counter's part that no live segment holds (an item taken
// without a lease, an anonymous task_done, the events of segments since deleted) — so a job writes no meta row.

import type { Limits } from "./limits.ts";
import { randomHex, SHARD_ID_SPAN } from "./receipt.ts";
import { earliest, T_COMPLETED, T_DEAD, T_FIRST, T_LAST, T_LEASED, T_PUTS, T_READY } from "./segment.ts";
import { type Folded, foldTally } from "./segments.ts";
import type { Store, Totals } from "./store.ts";
import type { GroupSettings, GroupStats, QueueConfig, Stats } from "./types.ts";

/** How long a group's status is kept after its last change when the queue does not say. */
export const GROUP_RETENTION_SECONDS = 86_400;

/** The queue's state besides its items and waiters. */
export interface QueueState {
  config: QueueConfig;
  /** Random per queue incarnation: a receipt from another queue (or a deleted one) never matches. */
  tag: string;
  unfinished_tasks: number;
  shutdown: boolean;
  immediate: boolean;
  deliveries: number;
  redeliveries: number;
  /** Items put and task_dones since creation, for rates. */
  puts: number;
  completed: number;
  /** Dead letters put back by redrive: with puts, every rise of unfinished_tasks (a sharded join sums them). */
  redriven: number;
  /** The next item's id: ids are never reused, so an old receipt can never name a newer item. */
  next_id: number;
  /** When completions, keys and tickets past their time were last deleted. */
  forgot_at: number;
  /** Groups' counts from deleted segments: written only when a segment holding a group is deleted. */
  groups: Record<string, Folded>;
  /** Groups' weights, caps and cancels (types.ts): written only when one changes. */
  group_settings: Record<string, GroupSettings>;
}

/** The meta row: each counter less what the live segments count of it. */
interface StoredMeta {
  config: QueueConfig;
  tag: string;
  shutdown: boolean;
  immediate: boolean;
  /** unfinished_tasks less the items ready or leased: taken without a lease, less anonymous task_dones. */
  untracked: number;
  deliveries: number;
  redeliveries: number;
  completed: number;
  /** As of writing: ids from next_id on were put since, and count in puts (segments hold the highest id). */
  next_id: number;
  puts: number;
  redriven?: number;
  forgot_at: number;
  groups?: Record<string, Folded>;
  group_settings?: Record<string, GroupSettings>;
}

/** The state that waking derives from a meta row and the segments as they stand. */
function derive(m: StoredMeta, t: Totals): QueueState {
  const next_id = Math.max(m.next_id, t.maxId + 1);
  return {
    config: m.config,
    tag: m.tag,
    unfinished_tasks: m.untracked + t.ready + t.leased,
    shutdown: m.shutdown,
    immediate: m.immediate,
    deliveries: m.deliveries + t.deliveries,
    redeliveries: m.redeliveries + t.redeliveries,
    puts: m.puts + next_id - m.next_id,
    completed: m.completed + t.completed,
    redriven: m.redriven ?? 0,
    next_id,
    forgot_at: m.forgot_at,
    groups: m.groups ?? {}, // shared with the row as read: `open` takes copies for the state
    group_settings: m.group_settings ?? {},
  };
}

function stored(s: QueueState, t: Totals): StoredMeta {
  return {
    config: s.config,
    tag: s.tag,
    shutdown: s.shutdown,
    immediate: s.immediate,
    untracked: s.unfinished_tasks - t.ready - t.leased,
    deliveries: s.deliveries - t.deliveries,
    redeliveries: s.redeliveries - t.redeliveries,
    completed: s.completed - t.completed,
    next_id: s.next_id,
    puts: s.puts,
    ...(s.redriven ? { redriven: s.redriven } : {}),
    forgot_at: s.forgot_at,
    ...(Object.keys(s.groups).length ? { groups: structuredClone(s.groups) } : {}),
    ...(Object.keys(s.group_settings).length ? { group_settings: structuredClone(s.group_settings) } : {}),
  };
}

export class Persistence {
  /**
   * Keeps what deleted segments counted of each group, and forgets groups past their retention (no item left, no
   * change since); says whether anything changed (then the meta row is written: the folded counts change only when
   * segments are deleted).
   */
  private fold(now: number): boolean {
    const folded = this.store.takeFolded();
    const groups = this.state.groups;
    for (const [g, f] of folded) groups[g] = Object.hasOwn(groups, g) ? foldTally(groups[g]!, f) : f;
    let changed = folded.size > 0;
    if (!changed && this.state.forgot_at !== now) return false;
    const settings = this.state.group_settings;
    for (const g of new Set([...Object.keys(groups), ...Object.keys(settings)])) {
      if (this.store.groups.has(g) || this.lastChange(g) >= now - this.retentionMs) continue;
      delete groups[g];
      delete settings[g];
      changed = true;
    }
    return changed;
  }

  /** Whether a group's settings or cancel changed since the meta row was last written. */
  private settingsChanged = false;

  /** A group's counts from deleted segments (undefined: none). */
  private foldedOf(g: string): Folded | undefined {
    return Object.hasOwn(this.state.groups, g) ? this.state.groups[g] : undefined;
  }

  /** How long a group's status is kept after its last change. */
  private get retentionMs(): number {
    return (this.state.config.group_retention_seconds ?? GROUP_RETENTION_SECONDS) * 1000;
  }

  /** A group's latest put, completion or change of settings (0: none known). */
  private lastChange(g: string): number {
    return Math.max(this.store.groups.get(g)?.[T_LAST] ?? 0, this.foldedOf(g)?.[2] ?? 0, this.settingsOf(g)?.at ?? 0);
  }

  /** What a group's owner set for it, and its cancel (undefined: nothing). */
  settingsOf(g: string): GroupSettings | undefined {
    return Object.hasOwn(this.state.group_settings, g) ? this.state.group_settings[g] : undefined;
  }

  /** A cancelled group's items its cancel removed (and its deliveries ended since); undefined: not cancelled. */
  cancelledOf(g: string): number | undefined {
    return this.settingsOf(g)?.cancelled;
  }

  /** Records `n` more items of a group removed by its cancel (marking it cancelled, if it was not). */
  countCancelled(g: string, n: number, now: number): void {
    this.setGroup(g, now, (s) => {
      s.cancelled = (s.cancelled ?? 0) + n;
    });
  }

  /** Changes a group's settings (creating its entry), as of `now`. */
  setGroup(g: string, now: number, change: (s: GroupSettings) => void): void {
    const s = this.settingsOf(g) ?? { at: now };
    change(s);
    s.at = now;
    this.state.group_settings[g] = s;
    this.settingsChanged = true;
  }

  private constructor(
    private readonly store: Store,
    private readonly limits: Limits,
    readonly state: QueueState,
    /** The meta row as last written or read. */
    private saved: StoredMeta | undefined,
  ) {}

  /** The state stored in `store`, or undefined if no queue was created there. */
  static open(store: Store, limits: Limits): Persistence | undefined {
    const meta = store.loadMeta<StoredMeta>();
    if (!meta) return undefined;
    const state = derive(meta, store.totals);
    // The state's own: they change, the row as read does not.
    state.groups = structuredClone(state.groups);
    state.group_settings = structuredClone(state.group_settings);
    return new Persistence(store, limits, state, meta);
  }

  static create(store: Store, config: QueueConfig, limits: Limits): Persistence {
    const state: QueueState = {
      config,
      tag: randomHex(4) + (config.shard === undefined ? "" : `-${config.shard}`),
      unfinished_tasks: 0,
      shutdown: false,
      immediate: false,
      deliveries: 0,
      redeliveries: 0,
      puts: 0,
      completed: 0,
      redriven: 0,
      next_id: 1 + (config.shard ?? 0) * SHARD_ID_SPAN,
      forgot_at: 0,
      groups: {},
      group_settings: {},
    };
    const persistence = new Persistence(store, limits, state, undefined);
    persistence.save(0); // (at time 0: nothing to forget yet)
    return persistence;
  }

  /** The counters as observers see them (`delayed` and `waiting` are not stored: the caller counts them). */
  stats(delayed: number, waiting: Stats["waiting"]): Stats {
    const { config, unfinished_tasks: unfinished } = this.state;
    const { ready, leased, dead } = this.store.totals;
    return {
      ...config,
      dispatch: config.dispatch ?? "fifo",
      group_max_in_flight: config.group_max_in_flight ?? null,
      group_retention_seconds: config.group_retention_seconds ?? GROUP_RETENTION_SECONDS,
      qsize: ready,
      empty: ready === 0,
      full: config.maxsize > 0 && ready >= config.maxsize,
      unfinished_tasks: unfinished,
      in_flight: Math.max(0, unfinished - ready),
      leased,
      delayed,
      dead_lettered: dead,
      ...{ deliveries: this.state.deliveries, redeliveries: this.state.redeliveries },
      ...{ puts: this.state.puts, completed: this.state.completed },
      ...{ shutdown: this.state.shutdown, immediate: this.state.immediate },
      waiting,
    };
  }

  /**
   * One group's counters, or undefined for a group the queue does not know or has forgotten: one with no item left
   * whose last change is older than the queue's group retention.
   */
  group(name: string, now: number): GroupStats | undefined {
    const t = this.store.groups.get(name);
    const f = this.foldedOf(name);
    const s = this.settingsOf(name);
    if (!t && !f && !s) return undefined;
    const [ready, leased, dead] = t ? [t[T_READY], t[T_LEASED], t[T_DEAD]] : [0, 0, 0];
    const last = this.lastChange(name);
    if (ready + leased + dead === 0 && last < now - this.retentionMs) return undefined;
    const first = earliest(t?.[T_FIRST] ?? 0, f?.[3] ?? 0);
    return {
      group: name,
      state: s?.cancelled !== undefined ? "cancelled" : ready + leased > 0 ? "open" : "drained",
      unfinished_tasks: ready + leased,
      in_flight: leased,
      puts: (t?.[T_PUTS] ?? 0) + (f?.[0] ?? 0),
      completed: (t?.[T_COMPLETED] ?? 0) + (f?.[1] ?? 0),
      dead_lettered: dead,
      cancelled: s?.cancelled ?? 0,
      weight: s?.weight ?? 1,
      max_in_flight: this.capOf(name),
      first_put_at: first === 0 ? null : first,
      updated_at: last,
    };
  }

  /** The cap on a group's deliveries in flight: its own, else the queue's (null: none). */
  capOf(group: string): number | null {
    return this.settingsOf(group)?.max_in_flight ?? this.state.config.group_max_in_flight ?? null;
  }

  /** The names of every group the queue holds (live, or kept for their retention, or not yet swept). */
  groupNames(): string[] {
    const names = new Set(this.store.groups.keys());
    for (const g of Object.keys(this.state.groups)) names.add(g);
    for (const g of Object.keys(this.state.group_settings)) names.add(g);
    return [...names];
  }

  holds(group: string): boolean {
    return this.store.groups.has(group) || !!this.foldedOf(group) || !!this.settingsOf(group);
  }

  /** How many groups the queue holds: what the cap counts. */
  get groupCount(): number {
    let n = this.store.groups.size;
    for (const g of Object.keys(this.state.groups)) if (!this.store.groups.has(g)) n++;
    for (const g of Object.keys(this.state.group_settings))
      if (!this.store.groups.has(g) && !Object.hasOwn(this.state.groups, g)) n++;
    return n;
  }

  /**
   * Ends a step: forgets what is past its time (seldom: it walks every segment, and often enough that what is kept
   * past its time stays small), writes the segments the step changed, then the meta row unless waking would derive
   * the same state without it.
   */
  save(now: number): void {
    if (now - this.state.forgot_at >= Math.min(this.limits.idempotencyMs, this.limits.ackKeepMs) / 2) {
      this.store.forget(now - this.limits.ackKeepMs, now);
      this.state.forgot_at = now;
    }
    this.store.commit();
    const folded = this.fold(now) || this.settingsChanged;
    // The groups' folded counts and settings are tracked by `fold` and `setGroup`, not re-encoded on every step
    // (there may be thousands).
    const json = JSON.stringify({ ...this.state, groups: null, group_settings: null });
    const same = () =>
      JSON.stringify({ ...derive(this.saved!, this.store.totals), groups: null, group_settings: null }) === json;
    if (this.saved && !folded && same()) return;
    this.settingsChanged = false;
    this.saved = stored(this.state, this.store.totals);
    this.store.saveMeta(JSON.stringify(this.saved));
  }
}
