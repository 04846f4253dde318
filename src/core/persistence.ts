// The queue's counters and settings in memory, and the meta row that makes them survive: written only when waking
// from the segments could not tell the same story.
//
// Most changes are recorded where they happen: a put, a get or a task_done changes the items of a segment, whose
// columns count its ready, leased and dead items and the deliveries and completions it saw (segment.ts). The meta
// row keeps only the rest — settings, shutdown, and each counter's part that no live segment holds (an item taken
// without a lease, an anonymous task_done, the events of segments since deleted) — so a job writes no meta row.

import type { Limits } from "./limits.ts";
import { randomHex } from "./receipt.ts";
import type { Store, Totals } from "./store.ts";
import type { QueueConfig, Stats } from "./types.ts";

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
  /** The next item's id: ids are never reused, so an old receipt can never name a newer item. */
  next_id: number;
  /** When completions, keys and tickets past their time were last deleted. */
  forgot_at: number;
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
  forgot_at: number;
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
    next_id,
    forgot_at: m.forgot_at,
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
    forgot_at: s.forgot_at,
  };
}

export class Persistence {
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
    return meta && new Persistence(store, limits, derive(meta, store.totals), meta);
  }

  static create(store: Store, config: QueueConfig, limits: Limits): Persistence {
    const state: QueueState = {
      config,
      tag: randomHex(4),
      unfinished_tasks: 0,
      shutdown: false,
      immediate: false,
      deliveries: 0,
      redeliveries: 0,
      puts: 0,
      completed: 0,
      next_id: 1,
      forgot_at: 0,
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
    const json = JSON.stringify(this.state);
    if (this.saved && JSON.stringify(derive(this.saved, this.store.totals)) === json) return;
    this.saved = stored(this.state, this.store.totals);
    this.store.saveMeta(JSON.stringify(this.saved));
  }
}
