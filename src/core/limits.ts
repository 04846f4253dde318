// What the core is told about time and room: the caps it enforces and how long it remembers.

export interface Limits {
  /** The longest one call waits before it is answered `poll_again`. */
  maxWaitMs: number;
  /** How long a put's idempotency key is remembered. */
  idempotencyMs: number;
  /** How long a completed delivery is remembered, so repeating its task_done is recognised. */
  ackKeepMs: number;
  /** Calls that may wait at once (get + put + join): each holds a connection and memory. */
  maxWaiters: number;
  /** Groups a queue holds at once (live, or drained within ackKeepMs); 10,000 when not given. */
  maxGroups?: number;
}
