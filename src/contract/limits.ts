// Every documented limit of the service, in one place (docs/limits.md lists the same numbers).
import type { Limits } from "../core/limits.ts";
import { GROUP_RETENTION_SECONDS } from "../core/persistence.ts";

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
  /** Objects one queue may be spread over (docs/shards.md). */
  maxShards: 64,
  maxShardKeyLength: 128,
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
  /** Token scopes: a queue name, or a prefix of one followed by `*`. */
  scopePattern: /^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,63}|(?:[A-Za-z0-9][A-Za-z0-9._-]{0,62})?\*)$/,
  maxDeadLettersPage: 1000,
  /** A priority key, as JSON text: it is indexed, so it stays short. */
  maxPriorityKeyLength: 256,
  /** How deeply an item may nest arrays and objects (CPython's json module recurses about 1,000 levels). */
  maxItemDepth: 64,
  /** Groups one queue holds at once (live, or drained within the replay window); var MAX_GROUPS. */
  maxGroups: 10_000,
  /** A group's weight in fair dispatch, and its cap on deliveries in flight (docs/groups.md). */
  maxGroupWeight: 100,
  maxGroupInFlight: 100_000,
  /** How long a drained or cancelled group's status stays readable: a queue's group_retention_seconds. */
  minGroupRetentionSeconds: 60,
  defaultGroupRetentionSeconds: GROUP_RETENTION_SECONDS,
  maxGroupRetentionSeconds: 604_800,
  /** Group names: the queue-name alphabet, 1–64 characters. */
  groupPattern: /^[A-Za-z0-9._-]{1,64}$/,
  /** Calls waiting at once in one queue (get + put + join); var MAX_WAITERS. */
  maxWaiters: 10_000,
  /** WebSocket subscribers of one queue; var MAX_SUBSCRIBERS. */
  maxSubscribers: 5_000,
  /** Queues in one deployment, enforced by the catalog; var MAX_QUEUES. */
  maxQueues: 10_000,
  /** Join subscriptions one socket may hold, and the length of their ids: both bound the socket's attachment. */
  maxJoinsPerSocket: 32,
  maxSubscriptionIdLength: 64,
  /** A WebSocket frame from a subscriber, in bytes of UTF-8; a put's frame may be as large as a request body. */
  maxFrameBytes: 4096,
  /** Consumers one socket may hold, and the deliveries they may hold unfinished in all (receipts in its attachment). */
  maxConsumersPerSocket: 8,
  maxPrefetchPerSocket: 100,
  /** A browser's WebSocket ticket: single use, valid this long. */
  ticketSeconds: 60,
  /** How often a Worker isolate refreshes its list of revoked tokens: revocation takes effect within this. */
  revocationRefreshSeconds: 30,
  /** The admin secret signs tokens, so it must be a real key (e.g. `openssl rand -hex 32`). */
  minAdminTokenLength: 32,
  maxTokenTtlSeconds: 366 * 86_400,
  maxTokenScopes: 32,
  /** Items one peek (GET …/items) answers: each may be up to maxItemBytes, so a page stays a few MB at most. */
  maxPeek: 100,
  /** Queues one page of the catalog's live feed shows, and sockets the feed holds at once. */
  maxFeedPage: 200,
  maxFeedSubscribers: 1000,
  /** Queues whose counters the catalog asks for on one metrics scrape when it has none (after a restart). */
  metricsFillPerScrape: 100,
  /** Push delivery (docs/push-and-callbacks.md): deliveries in flight, and one's timeout. */
  maxPushConcurrency: 100,
  defaultPushTimeoutSeconds: 30,
  maxPushTimeoutSeconds: 300,
  /** A push delivery's lease outlasts its timeout by this much, so a failure is released before it expires. */
  pushLeaseMarginSeconds: 5,
  maxPushUrlLength: 2048,
  /** Join callbacks per queue; attempts at one drain's callback before it is recorded as failed; each's timeout. */
  maxJoinCallbacks: 32,
  joinCallbackAttempts: 10,
  joinCallbackTimeoutSeconds: 30,
  /** After a rotation the previous webhook secret still signs (beside the new one) for this long. */
  webhookSecretOverlapHours: 24,
  /** How old a webhook's timestamp may be before the clients' verifiers refuse it (Standard Webhooks' 5 min). */
  webhookToleranceSeconds: 300,
} as const;

/** The limits the core enforces, in its units (ms). */
export const coreLimits = (
  maxWaitSeconds: number = LIMITS.maxWaitSeconds,
  maxWaiters: number = LIMITS.maxWaiters,
  maxGroups: number = LIMITS.maxGroups,
): Limits => ({
  maxWaitMs: maxWaitSeconds * 1000,
  idempotencyMs: LIMITS.idempotencyMinutes * 60_000,
  ackKeepMs: LIMITS.ackKeepMinutes * 60_000,
  maxWaiters,
  maxGroups,
});

/** A cap the operator may override with a var (tests set small ones); anything but a positive integer is ignored. */
export function cap(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}
