// The queue's counters and settings in memory, and the meta row that makes them survive: written only when waking
// from the segments could not tell the same story.
//
// Most changes are recorded where they happen: a put, a get or a task_done changes the items of a segment, whose
// columns count its ready, leased and dead items and the deliveries and completions it saw (segment.ts). The meta
// row keeps only the rest — settings, shutdown, and each counter's part that no live segment holds (an item taken
// without a lease, an anonymous task_done, the events of segments since deleted) — so a job writes no meta row.

import type { Limits } from "./limits.ts";
import { randomHex, SHARD_ID_SPAN } from "./receipt.ts";
import { T_COMPLETED, T_DEAD, T_LAST, T_LEASED, T_PUTS, T_READY } from "./segment.ts";
import type { Store, Totals } from "./store.ts";
import type { GroupStats, QueueConfig, Stats } from "./types.ts";

/** A group's puts, completions and latest event that no live segment holds any more: [puts, completed, latest]. */
export type Folded = Record<string, [number, number, number]>;

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
  groups: Folded;
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
  groups?: Folded;
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
    groups: m.groups ?? {}, // shared with the row as read: `open` takes a copy for the state
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
  };
}

export class Persistence {
  /**
   * Keeps what deleted segments counted of each group, and drops groups drained past the replay window; says
   * whether anything changed (then the meta row is written: the folded counts change only when segments are deleted).
   */
  private fold(now: number): boolean {
    const folded = this.store.takeFolded();
    const groups = this.state.groups;
    for (const [g, [puts, completed, last]] of folded) {
      const f: [number, number, number] = Object.hasOwn(groups, g) ? groups[g]! : [0, 0, 0];
      groups[g] = [f[0] + puts, f[1] + completed, Math.max(f[2], last)];
    }
    let changed = folded.size > 0;
    if (!changed && this.state.forgot_at !== now) return false;
    for (const [g, f] of Object.entries(groups)) {
      if (!this.store.groups.has(g) && f[2] < now - this.limits.ackKeepMs) {
        delete groups[g];
        changed = true;
      }
    }
    return changed;
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
    state.groups = structuredClone(state.groups); // the state's own: it changes, the row as read does not
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
   * One group's counters, or undefined for a group the queue does not know or has forgotten: one drained (nothing
   * unfinished, no dead letters) whose latest put or completion is older than the replay window.
   */
  group(name: string, now: number): GroupStats | undefined {
    const t = this.store.groups.get(name);
    const f = Object.hasOwn(this.state.groups, name) ? this.state.groups[name] : undefined;
    if (!t && !f) return undefined;
    const [ready, leased, dead] = t ? [t[T_READY], t[T_LEASED], t[T_DEAD]] : [0, 0, 0];
    const last = Math.max(t?.[T_LAST] ?? 0, f?.[2] ?? 0);
    if (ready + leased + dead === 0 && last < now - this.limits.ackKeepMs) return undefined;
    return {
      group: name,
      unfinished_tasks: ready + leased,
      in_flight: leased,
      puts: (t?.[T_PUTS] ?? 0) + (f?.[0] ?? 0),
      completed: (t?.[T_COMPLETED] ?? 0) + (f?.[1] ?? 0),
      dead_lettered: dead,
    };
  }

  /** The names of every group the queue holds (live or drained within the replay window, or not yet swept). */
  groupNames(): string[] {
    const names = new Set(this.store.groups.keys());
    for (const g of Object.keys(this.state.groups)) names.add(g);
    return [...names];
  }

  holds(group: string): boolean {
    return this.store.groups.has(group) || Object.hasOwn(this.state.groups, group);
  }

  /** How many groups the queue holds: what the cap counts. */
  get groupCount(): number {
    let n = this.store.groups.size;
    for (const g of Object.keys(this.state.groups)) if (!this.store.groups.has(g)) n++;
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
    const folded = this.fold(now);
    // The groups' folded counts are compared by `fold`, not re-encoded on every step (there may be thousands).
    const json = JSON.stringify({ ...this.state, groups: null });
    const same = () => JSON.stringify({ ...derive(this.saved!, this.store.totals), groups: null }) === json;
    if (this.saved && !folded && same()) return;
    this.saved = stored(this.state, this.store.totals);
    this.store.saveMeta(JSON.stringify(this.saved));
  }
}
