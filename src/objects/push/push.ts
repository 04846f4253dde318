// Push delivery: the queue object is its own consumer, POSTing each item to the queue's URL, and tells join callbacks.
//
// A push is an ordinary leased get taken by the object (lease = timeout + a margin), so the lease machinery gives
// durability for free: a 2xx is task_done with the receipt; anything else is a release with backoff, which counts a
// delivery, so max_deliveries ends in the dead letters. The fetches in flight live only in memory: after a crash
// their leases expire and the items are pushed again (at least once), and a late answer's receipt is stale, so
// nothing is counted twice. Plain queues never reach past `changed`'s first line: push costs them no row.
import { LIMITS } from "../../contract/limits.ts";
import { type PushConfig, pushOf } from "../../contract/queue-config.ts";
import type { QueueCalls } from "../../contract/requests.ts";
import { msAfter } from "../../core/clock.ts";
import type { JoinableQueue } from "../../core/queue.ts";
import type { Sql } from "../../core/store.ts";
import type { Delivery, Outcome, Stats } from "../../core/types.ts";
import {
  backoffSeconds,
  type CallbackRequest,
  type CallbackView,
  type Drains,
  JoinCallbacks,
} from "./join-callbacks.ts";
import { fetchAllowed, type Send, sendSigned } from "./webhook-send.ts";
import { WebhookState } from "./webhook-state.ts";

export interface PushStats extends PushConfig {
  in_flight: number;
  failures: number;
  last_error: string | null;
  last_error_at: number | null;
  next_retry_at: number | null;
}

export class Push {
  /** Replaced by the worker tests with a receiver of their own (the DO's fetch is global fetch otherwise). */
  send: Send;
  private readonly state: WebhookState;
  private readonly callbacks: JoinCallbacks;
  /** Receipt → its push in flight (by receipt: after a lease expired, one item may be pushed twice at once). */
  private readonly inFlight = new Map<string, Delivery>();
  /** A sharded queue's coordinator counts drains across its shards (shards/coordinator.ts), not in its own core. */
  view: (() => Drains) | undefined;
  /** Item id → when a failed push's item comes back (memory only: shown as next_retry_at). */
  private readonly retries = new Map<number, number>();

  constructor(
    private readonly ctx: DurableObjectState,
    env: Env,
    sql: Sql,
    private readonly queue: () => JoinableQueue | undefined,
    private readonly calls: QueueCalls,
    after: () => void,
  ) {
    this.send = fetchAllowed(env);
    this.state = new WebhookState(sql);
    this.callbacks = new JoinCallbacks(
      this.state,
      (url, id, body, timeoutMs) => this.signed(url, id, body, timeoutMs),
      after,
    );
  }

  private get name(): string {
    return this.ctx.id.name ?? "";
  }

  /** Called first in every step's afterChange: starts pushes while there is room, and sends due callbacks. */
  changed(now: number): void {
    const q = this.queue();
    if (!q) return;
    this.pump(q, pushOf(q.config), now);
    this.callbacks.changed(this.view?.() ?? q, this.name, now);
  }

  nextDeadline(): number | undefined {
    return this.callbacks.nextDeadline();
  }

  /** What the join callbacks wait for: a group, or (null) the whole queue. */
  callbackTargets(): (string | null)[] {
    return this.callbacks.list().map((cb) => cb.group ?? null);
  }

  /** The queue's secret, made now if push is being configured and it has none (answered this once). */
  configured(push: PushConfig | null | undefined): { webhook_secret?: string } {
    const webhook_secret = push ? this.state.ensureSecret() : undefined;
    return webhook_secret ? { webhook_secret } : {};
  }

  rotateSecret(now: number) {
    return this.state.rotate(now);
  }

  addCallback(request: CallbackRequest): Outcome<{ callback: CallbackView; webhook_secret?: string }> {
    return this.callbacks.add(request);
  }

  removeCallback(id: string): boolean {
    return this.callbacks.remove(id);
  }

  /** The queue was deleted: in-flight answers find no queue (or a new one whose receipts differ). */
  reset(): void {
    this.inFlight.clear();
    this.retries.clear();
    this.state.reset();
  }

  /** Stats with push state and join callbacks, when the queue has either (a plain queue's stats are unchanged). */
  stats(s: Stats, now: number): Stats & { join_callbacks?: CallbackView[] } {
    const callbacks = this.callbacks.list();
    const push = pushOf(s);
    if (!push && callbacks.length === 0) return s;
    for (const [id, at] of this.retries) if (at <= now) this.retries.delete(id);
    const record = this.state.push();
    const next = this.retries.size ? Math.min(...this.retries.values()) : null;
    const state: PushStats | null | undefined = push && {
      ...push,
      in_flight: this.inFlight.size,
      ...record,
      next_retry_at: next,
    };
    return { ...s, push: state, join_callbacks: callbacks };
  }

  private pump(q: JoinableQueue, push: PushConfig | null | undefined, now: number): void {
    if (!push || push.paused) return;
    const lease_seconds = push.timeout_seconds + LIMITS.pushLeaseMarginSeconds;
    while (this.inFlight.size < push.concurrency) {
      let taken: Delivery[] = [];
      const max = Math.min(LIMITS.maxBatch, push.concurrency - this.inFlight.size);
      q.get({ block: false, max, lease_seconds }, now, (o) => {
        if (o.ok) taken = o.deliveries;
      });
      if (taken.length === 0) return;
      for (const d of taken) this.deliver(d, push);
    }
  }

  private deliver(d: Delivery, push: PushConfig): void {
    this.inFlight.set(d.receipt!, d);
    this.retries.delete(d.id);
    const data = `{"queue":${JSON.stringify(this.name)},"id":${d.id},"item":${d.json},${JSON.stringify({
      priority: d.priority,
      deliveries: d.deliveries,
      lease_expires_at: d.lease_expires_at,
      receipt: d.receipt,
    }).slice(1)}`;
    const body = `{"type":"queue.item","timestamp":${JSON.stringify(new Date().toISOString())},"data":${data}}`;
    // The same id on every redelivery of the item, so a receiver can de-duplicate (delivery is at least once).
    const id = `msg_${this.name}_${d.id}`;
    const sent = this.signed(push.url, id, body, push.timeout_seconds * 1000).then(async (result) => {
      this.inFlight.delete(d.receipt!);
      const q = this.queue();
      if (!q) return;
      // Through the queue's own operations, as any consumer's task_done or release. A receipt gone stale (the
      // lease expired and the item went elsewhere, or the queue was recreated) does nothing: whoever holds the
      // item now answers for it.
      if (result.ok) return void (await this.calls.taskDone(d.receipt!));
      const now = Date.now();
      const record = this.state.push();
      this.state.savePush({ failures: record.failures + 1, last_error: result.error, last_error_at: now });
      const current = pushOf(q.config) ?? push;
      const delay = backoffSeconds(d.deliveries, current.min_backoff_seconds, current.max_backoff_seconds);
      const released = await this.calls.release(d.receipt!, delay);
      if (released.ok && !released.dead_lettered) this.retries.set(d.id, msAfter(now, delay));
    });
    this.ctx.waitUntil(sent);
  }

  private async signed(url: string, id: string, body: string, timeoutMs: number) {
    const now = Date.now();
    return sendSigned(this.send, { url, id, body, timeoutMs, secrets: this.state.secrets(now) }, now);
  }
}
