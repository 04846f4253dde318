// CPython's three conditions (not_full, not_empty, all_tasks_done) as FIFO lists of waiting calls. Instead of waking
// a thread to re-check, the queue answers a waiter once its condition holds; a call is answered exactly once.
import { msAfter } from "./clock.ts";
import type { Limits } from "./limits.ts";
import {
  type Delivery,
  fail,
  type GetRequest,
  type JoinResult,
  type Outcome,
  type PutRequest,
  type PutResult,
  type QueueError,
  type WaitOptions,
} from "./types.ts";

export interface Waiter<R> {
  id: string | undefined;
  /** When the wait ends: the caller's timeout or the poll cap, whichever is first. */
  deadline: number;
  /** When the caller's own timeout ends (Infinity for none). */
  timeoutAt: number;
  reply: (outcome: R) => void;
  timedOut: () => R;
}
export type PutWaiter = Waiter<Outcome<PutResult>> & { request: PutRequest };
export type GetWaiter = Waiter<Outcome<{ deliveries: Delivery[] }>> & { request: GetRequest };
export type JoinWaiter = Waiter<Outcome<JoinResult>> & { group?: string };

export class Waiters {
  readonly putters: PutWaiter[] = [];
  readonly getters: GetWaiter[] = [];
  readonly joiners: JoinWaiter[] = [];

  constructor(private readonly limits: Limits) {}

  private get lists(): Waiter<unknown>[][] {
    return [this.putters, this.getters, this.joiners] as Waiter<unknown>[][];
  }

  /**
   * The calls waiting. A socket consumer's standing get stands for as many gets as it has credit for (a client's
   * gets that wait on one socket, each a credit), an HTTP get for one, whatever its `max`.
   */
  get counts(): { getters: number; putters: number; joiners: number } {
    const getters = this.getters.reduce((n, g) => n + (g.request.standing ? (g.request.max ?? 1) : 1), 0);
    return { getters, putters: this.putters.length, joiners: this.joiners.length };
  }

  /** Queues a call that must wait, or answers at once when it may not (CPython's block / timeout rules). */
  block<W extends PutWaiter | GetWaiter | JoinWaiter>(
    list: W[],
    waiter: NoInfer<Omit<W, "deadline" | "timeoutAt">>,
    options: WaitOptions,
    now: number,
  ): void {
    const { reply, timedOut } = waiter as unknown as Waiter<unknown>;
    if (options.block === false) return reply(timedOut());
    if (options.timeout !== undefined && !(options.timeout >= 0)) {
      return reply(fail("invalid_request", "'timeout' must be a non-negative number"));
    }
    const timeoutAt = options.timeout === undefined ? Infinity : msAfter(now, options.timeout);
    if (timeoutAt <= now) return reply(timedOut());
    if (this.putters.length + this.getters.length + this.joiners.length >= this.limits.maxWaiters) {
      const message = `this queue already has ${this.limits.maxWaiters} waiting calls (the cap); retry shortly`;
      return reply(fail("limit_exceeded", message));
    }
    const deadline = options.standing ? Infinity : Math.min(timeoutAt, now + this.limits.maxWaitMs);
    list.push({ ...waiter, timeoutAt, deadline } as W);
  }

  answer<R>(list: Waiter<R>[], waiter: Waiter<R>, outcome: R): void {
    list.splice(list.indexOf(waiter), 1);
    waiter.reply(outcome);
  }

  /** Takes back a waiting call whose client went away, before anything is handed to it. */
  withdraw(waiterId: string): boolean {
    for (const list of this.lists) {
      const waiter = list.find((w) => w.id === waiterId);
      if (waiter) {
        this.answer(list, waiter, fail("poll_again", "the call was withdrawn"));
        return true;
      }
    }
    return false;
  }

  /** Answers every waiter (used when the queue is deleted) and forgets them. */
  abandon(outcome: QueueError): void {
    for (const list of this.lists) {
      for (const w of list.splice(0)) w.reply(outcome);
    }
  }

  /** Ends the waits whose deadline passed: the caller's timeout, or the server's cap (poll_again). */
  expire(now: number): void {
    for (const list of this.lists) {
      for (const w of list.filter((w) => w.deadline <= now)) {
        const cap = fail("poll_again", "the wait reached the server's cap; call again");
        this.answer(list, w, w.timeoutAt <= now ? w.timedOut() : cap);
      }
    }
  }

  /** When the earliest in-memory wait ends. */
  nextDeadline(): number | undefined {
    const next = Math.min(...[...this.putters, ...this.getters, ...this.joiners].map((w) => w.deadline));
    return next === Infinity ? undefined : next;
  }
}
