// Every documented limit of the service, in one place (README "Limits" lists the same numbers).
import type { Limits } from "./core/queue.ts";

export const LIMITS = {
  /** Longest single wait before the answer is `poll_again` (Workers may end incoming requests near 30 s). */
  maxWaitSeconds: 20,
  /** Largest caller timeout accepted; longer waits are the client's loop of polls. */
  maxTimeoutSeconds: 86_400,
  /** One item, as encoded JSON (a Durable Object SQLite value may be 2 MB: we keep a wide margin). */
  maxItemBytes: 128 * 1024,
  /** One request body. */
  maxBodyBytes: 1024 * 1024,
  /** Items in one batch put, or one batch get. */
  maxBatch: 100,
  maxMaxsize: 1_000_000,
  defaultLeaseSeconds: 30,
  minLeaseSeconds: 1,
  maxLeaseSeconds: 43_200,
  defaultMaxDeliveries: 10,
  maxMaxDeliveries: 1_000,
  maxDelaySeconds: 43_200,
  /** How long an idempotency key is remembered (SQS's window is 5 minutes). */
  idempotencyMinutes: 10,
  maxIdempotencyKeyLength: 128,
  /** How long a completed receipt is remembered, so a repeated task_done is recognised. */
  ackKeepMinutes: 60,
  /** Queue names: letters, digits, `-`, `_`, `.`, starting with a letter or digit. */
  namePattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
  maxDeadLettersPage: 1000,
} as const;

/** The limits the core enforces, in its units (ms). */
export const coreLimits = (maxWaitSeconds: number = LIMITS.maxWaitSeconds): Limits => ({
  maxWaitMs: maxWaitSeconds * 1000,
  idempotencyMs: LIMITS.idempotencyMinutes * 60_000,
  ackKeepMs: LIMITS.ackKeepMinutes * 60_000,
});
