// Join callbacks: a coordinator's URL told the join result when unfinished_tasks reaches 0, once or on every drain.
//
// Like a WebSocket join subscription, but durable: each callback and the message for its last drain live in the
// webhook table, so a retry survives eviction (the alarm brings the object back at `next_at`).
import { LIMITS } from "../../contract/limits.ts";
import { msAfter } from "../../core/clock.ts";
import { randomHex } from "../../core/receipt.ts";
import { fail, type Outcome } from "../../core/types.ts";
import type { Sent } from "./webhook-send.ts";
import type { CallbackRecord, WebhookState } from "./webhook-state.ts";

/** What callbacks read of the queue: its core, or a sharded queue's coordinator's verdicts across shards. */
export interface Drains {
  unfinishedOf(group?: string): number;
  deadLetteredOf(group?: string): number;
  /** A cancelled group's cancelled items (undefined: not cancelled). */
  cancelledOf(group: string): number | undefined;
}

export interface CallbackRequest {
  url: string;
  repeat: boolean;
  min_backoff_seconds: number;
  /** Fire when this group drains instead of the whole queue. */
  group?: string;
}

/** A callback as the stats show it. */
export type CallbackView = Omit<CallbackRecord, "pending" | "armed"> & {
  attempts: number;
  next_retry_at: number | null;
};

/** Exponential backoff with jitter: in [base·2^(n-1)/2, base·2^(n-1)], so each wait is at least the last one. */
export function backoffSeconds(attempt: number, base: number, max: number): number {
  return Math.min(max, base * 2 ** Math.max(0, attempt - 1)) * (0.5 + Math.random() / 2);
}

export class JoinCallbacks {
  /** Callbacks with a request on the wire (memory only: after a restart a pending message is simply sent again). */
  private readonly sending = new Set<string>();

  constructor(
    private readonly state: WebhookState,
    private readonly send: (url: string, id: string, body: string, timeoutMs: number) => Promise<Sent>,
    private readonly after: () => void,
  ) {}

  add(request: CallbackRequest): Outcome<{ callback: CallbackView; webhook_secret?: string }> {
    if (this.state.callbacks().length >= LIMITS.maxJoinCallbacks) {
      return fail("limit_exceeded", `a queue may hold at most ${LIMITS.maxJoinCallbacks} join callbacks`);
    }
    const record: CallbackRecord = {
      id: randomHex(8),
      ...request,
      armed: true,
      pending: null,
      state: "waiting",
      delivered: 0,
      failed: 0,
      last_error: null,
    };
    const webhook_secret = this.state.ensureSecret();
    this.state.saveCallback(record);
    return { ok: true, callback: view(record), ...(webhook_secret ? { webhook_secret } : {}) };
  }

  remove(id: string): boolean {
    this.sending.delete(id);
    return this.state.removeCallback(id);
  }

  list(): CallbackView[] {
    return this.state.callbacks().map(view);
  }

  /** After every step: re-arms repeating callbacks when work arrives, starts a message per drain, sends what is due. */
  changed(q: Drains, queueName: string, now: number): void {
    for (const cb of this.state.callbacks()) {
      let next = cb;
      const group = cb.group;
      if (q.unfinishedOf(group) > 0) {
        if (cb.repeat && !cb.armed) next = { ...cb, armed: true, state: cb.pending ? cb.state : "waiting" };
      } else if (cb.armed) {
        // A cancelled group's drain (its deliveries in flight ended) is told as its cancel, with how many it removed.
        const cancelled = group === undefined ? undefined : q.cancelledOf(group);
        const data = {
          queue: queueName,
          callback_id: cb.id,
          ...(group === undefined ? {} : { group }),
          drained: true,
          unfinished_tasks: 0,
        };
        const type =
          group === undefined ? "queue.drained" : cancelled === undefined ? "group.drained" : "group.cancelled";
        const body = JSON.stringify({
          type,
          timestamp: new Date(now).toISOString(),
          data: { ...data, dead_lettered: q.deadLetteredOf(group), ...(cancelled === undefined ? {} : { cancelled }) },
        });
        next = {
          ...cb,
          armed: false,
          state: "sending",
          pending: { msg_id: `msg_${randomHex(12)}`, body, attempts: 0, next_at: now },
        };
      }
      if (next !== cb) this.state.saveCallback(next);
      if (next.pending && next.pending.next_at <= now && !this.sending.has(next.id)) this.dispatch(next);
    }
  }

  /** When the earliest retry is due (stored, so the alarm carries it across eviction). */
  nextDeadline(): number | undefined {
    const due = this.state
      .callbacks()
      .filter((cb) => cb.pending && !this.sending.has(cb.id))
      .map((cb) => cb.pending!.next_at);
    return due.length ? Math.min(...due) : undefined;
  }

  private dispatch(cb: CallbackRecord): void {
    const pending = cb.pending!;
    this.sending.add(cb.id);
    void this.send(cb.url, pending.msg_id, pending.body, LIMITS.joinCallbackTimeoutSeconds * 1000).then((sent) => {
      this.sending.delete(cb.id);
      const now = Date.now();
      const current = this.state.callbacks().find((c) => c.id === cb.id);
      // Removed meanwhile, or a newer drain replaced the message: this answer settles nothing.
      if (current?.pending?.msg_id === pending.msg_id) this.settle(current, pending, sent, now);
      this.after();
    });
  }

  private settle(cb: CallbackRecord, pending: NonNullable<CallbackRecord["pending"]>, sent: Sent, now: number): void {
    if (sent.ok) {
      if (!cb.repeat)
        this.state.removeCallback(cb.id); // done with: a one-off callback is forgotten once delivered
      else
        this.state.saveCallback({
          ...cb,
          pending: null,
          state: cb.armed ? "waiting" : "delivered",
          delivered: cb.delivered + 1,
        });
      return;
    }
    const attempts = pending.attempts + 1;
    if (attempts >= LIMITS.joinCallbackAttempts) {
      // Recorded as failed where the stats show it: a one-off callback stays listed until it is deleted.
      this.state.saveCallback({ ...cb, pending: null, state: "failed", failed: cb.failed + 1, last_error: sent.error });
      return;
    }
    const delay = backoffSeconds(attempts, cb.min_backoff_seconds, 300);
    this.state.saveCallback({
      ...cb,
      last_error: sent.error,
      pending: { ...pending, attempts, next_at: msAfter(now, delay) },
    });
  }
}

function view({ pending, armed: _, ...rest }: CallbackRecord): CallbackView {
  return {
    ...rest,
    attempts: pending?.attempts ?? 0,
    next_retry_at: pending && pending.attempts > 0 ? pending.next_at : null,
  };
}
