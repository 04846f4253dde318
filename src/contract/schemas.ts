// The API's request and response shapes: zod schemas that validate at the edge and generate the OpenAPI document.
import { z } from "@hono/zod-openapi";
import { LIMITS } from "./limits.ts";
import { RIGHTS } from "./rights.ts";
import { refuseOnShards } from "./shards.ts";

export const QueueName = z
  .string()
  .regex(LIMITS.namePattern, "a queue name is 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit")
  .openapi({ param: { name: "name", in: "path" }, example: "thumbnails" });

export const NameParams = z.object({ name: QueueName });

/** A group: a name a producer gives items, so that join can wait for those items only (docs/http-api.md#groups). */
export const GroupName = z
  .string()
  .regex(LIMITS.groupPattern, "a group name is 1-64 letters, digits, '-', '_' or '.'")
  .openapi({ example: "request-7f3a" });
export const GroupParams = z.object({
  name: QueueName,
  group: GroupName.openapi({ param: { name: "group", in: "path" } }),
});
export const GroupListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  after: GroupName.optional().openapi({ param: { name: "after", in: "query" } }),
});

const seconds = (max: number) => z.number().min(0).max(max);

const Weight = z.number().int().min(1).max(LIMITS.maxGroupWeight);
const InFlightCap = z.number().int().min(1).max(LIMITS.maxGroupInFlight);

/** A queue's settings for its groups (docs/groups.md), in its configuration and in changes to it. */
const GroupDispatchFields = {
  dispatch: z
    .enum(["fifo", "fair"])
    .optional()
    .openapi({
      description:
        'Which ready item a get takes: "fifo" (the default) the queue\'s order over all items; "fair" from the group ' +
        "with the smallest share of deliveries in flight by weight, the queue's order inside each (ungrouped items " +
        "are one more group).",
    }),
  group_max_in_flight: InFlightCap.nullable()
    .optional()
    .openapi({ description: "Deliveries of one group in flight at once; null (the default): no cap." }),
  group_retention_seconds: z
    .number()
    .int()
    .min(LIMITS.minGroupRetentionSeconds)
    .max(LIMITS.maxGroupRetentionSeconds)
    .optional()
    .openapi({ description: "How long a drained or cancelled group's status stays readable (default 86,400)." }),
};

/** One group's own settings (PATCH …/groups/{group}). */
export const GroupConfigBody = z
  .object({
    weight: Weight.optional().openapi({ description: "Its share of a fair queue's deliveries (default 1)." }),
    max_in_flight: InFlightCap.nullable()
      .optional()
      .openapi({ description: "Its own cap on deliveries in flight; null: the queue's group_max_in_flight again." }),
  })
  .strict()
  .openapi("GroupConfigChange");

/**
 * Python's `timeout`: seconds to wait, or null/absent for "no limit" (the server still answers poll_again). Its
 * range is checked by `blockingTimeout`: as in CPython, a call that does not block ignores it.
 */
const Timeout = z
  .number()
  .nullable()
  .optional()
  .openapi({
    description: `Seconds to wait; null or absent waits without limit (each call still ends within ${LIMITS.maxWaitSeconds} s with poll_again).`,
  });

const timeoutProblem = `must be 0-${LIMITS.maxTimeoutSeconds} seconds`;
const timeoutInRange = (t: number | null | undefined) => t == null || (t >= 0 && t <= LIMITS.maxTimeoutSeconds);
/** A timeout in range, unless the call does not block (CPython's `block=False` ignores `timeout`). */
const blockingTimeout = (b: { block?: boolean; timeout?: number | null }) =>
  b.block === false || timeoutInRange(b.timeout);

const LeaseSeconds = z.number().int().min(LIMITS.minLeaseSeconds).max(LIMITS.maxLeaseSeconds);
const Receipt = z.string().min(1).max(200).openapi({ example: "5f0c2a9e.17.1.9b1c3f0a7d2e4c11" });

const PushUrl = z.string().url().max(LIMITS.maxPushUrlLength).openapi({
  description: "Must match the deployment's PUSH_ORIGINS (none by default: push is off).",
  example: "https://jobs.example.com/push",
});

/** Push delivery: the queue POSTs each item to `url`, signed (docs/push-and-callbacks.md). */
export const PushConfig = z
  .object({
    url: PushUrl,
    concurrency: z.number().int().min(1).max(LIMITS.maxPushConcurrency).default(10),
    timeout_seconds: z
      .number()
      .min(0.1)
      .max(LIMITS.maxPushTimeoutSeconds)
      .default(LIMITS.defaultPushTimeoutSeconds)
      .openapi({ description: "A delivery not answered 2xx within this is a failure (its lease is this plus 5 s)." }),
    min_backoff_seconds: z.number().min(0.01).max(3600).default(1),
    max_backoff_seconds: z.number().min(0.01).max(LIMITS.maxDelaySeconds).default(300),
    paused: z.boolean().default(false).openapi({ description: "Stops pushing; items stay in the queue." }),
  })
  .strict()
  .refine((p) => p.min_backoff_seconds <= p.max_backoff_seconds, {
    message: "min_backoff_seconds must not exceed max_backoff_seconds",
    path: ["max_backoff_seconds"],
  })
  .openapi("PushConfig");

export const QueueConfigBody = z
  .object({
    maxsize: z.number().int().min(0).max(LIMITS.maxMaxsize).default(0).openapi({ description: "0 means unbounded." }),
    order: z.enum(["fifo", "lifo", "priority"]).default("fifo"),
    lease_seconds: LeaseSeconds.nullable().default(LIMITS.defaultLeaseSeconds).openapi({
      description: "How long a get holds an item before it is redelivered; null: never (pure CPython).",
    }),
    max_deliveries: z
      .number()
      .int()
      .min(1)
      .max(LIMITS.maxMaxDeliveries)
      .nullable()
      .default(LIMITS.defaultMaxDeliveries)
      .openapi({
        description: "After this many deliveries an item goes to the dead letters; null: never.",
      }),
    push: PushConfig.optional(),
    ...GroupDispatchFields,
    shards: z
      .number()
      .int()
      .min(1)
      .max(LIMITS.maxShards)
      .optional()
      .openapi({
        description:
          "Objects the queue is spread over (docs/shards.md), fixed when it is created; 1 (the default) is one. " +
          "A sharded queue keeps order per shard and per shard_key, is unbounded, has leases and does not push.",
      }),
  })
  .strict()
  .superRefine((b, ctx) => {
    const refused = (b.shards ?? 1) > 1 ? refuseOnShards(b) : undefined;
    if (refused) ctx.addIssue({ code: "custom", message: refused.message, path: [refused.message.split(":")[0]!] });
  })
  .openapi("QueueConfig");

// z.unknown, not z.json: zod-to-openapi recurses forever on z.json's lazy definition. JSON parsing already
// guarantees the value is JSON; only presence needs checking.
const Item = z
  .unknown()
  .openapi({ description: `Any JSON value, at most ${LIMITS.maxItemBytes} bytes encoded.`, example: { job: 1 } });
// Python's priorities: numbers, strings, and tuples of them (nested two deep here; zod-to-openapi cannot recurse).
const KeyScalar = z.union([z.number(), z.string().max(64)]);
const Priority = z
  .union([KeyScalar, z.array(z.union([KeyScalar, z.array(KeyScalar).max(8)])).max(8)])
  .refine(
    (k) => JSON.stringify(k).length <= LIMITS.maxPriorityKeyLength,
    `a priority key is at most ${LIMITS.maxPriorityKeyLength} characters of JSON`,
  )
  .optional()
  .openapi({
    description:
      "Priority queues only: lower comes first, ordered as Python orders it. A number, a string, or an array of them " +
      "(Python's tuple, compared element by element; numbers sort before strings, both before arrays).",
    example: [1, "resize"],
  });

export const PutBody = z
  .object({
    item: Item.optional(),
    priority: Priority,
    items: z
      .array(
        z
          .object({
            item: Item.refine((v) => v !== undefined, "each entry needs an 'item'"),
            priority: Priority,
            group: GroupName.optional().openapi({ description: "This item's group (instead of the call's)." }),
          })
          .strict(),
      )
      .min(1)
      .max(LIMITS.maxBatch)
      .optional()
      .openapi({
        description: "A batch, all-or-nothing, instead of `item`.",
      }),
    block: z.boolean().default(true),
    timeout: Timeout,
    delay: seconds(LIMITS.maxDelaySeconds)
      .optional()
      .openapi({ description: "Seconds before the item becomes visible to get." }),
    idempotency_key: z.string().min(1).max(LIMITS.maxIdempotencyKeyLength).optional(),
    group: GroupName.optional().openapi({
      description: "The group of every item of the call (an entry of `items` may name its own): join can wait for it.",
    }),
    shard_key: z.string().min(1).max(LIMITS.maxShardKeyLength).optional().openapi({
      description: "A sharded queue puts items with the same key on the same shard, in order (ignored with one).",
    }),
  })
  .strict()
  .refine((b) => (b.item === undefined) !== (b.items === undefined), "give exactly one of 'item' or 'items'")
  .refine((b) => b.items === undefined || b.priority === undefined, "with 'items', give each item its own 'priority'")
  .refine(blockingTimeout, { message: timeoutProblem, path: ["timeout"] })
  .openapi("PutRequest");

export const GetBody = z
  .object({
    block: z.boolean().default(true),
    timeout: Timeout,
    max: z
      .number()
      .int()
      .min(1)
      .max(LIMITS.maxBatch)
      .optional()
      .openapi({ description: "Answer a batch of up to this many items." }),
    lease_seconds: LeaseSeconds.optional(),
  })
  .strict()
  .refine(blockingTimeout, { message: timeoutProblem, path: ["timeout"] })
  .openapi("GetRequest");

export const TaskDoneBody = z
  .object({
    receipt: Receipt.optional(),
    receipts: z
      .array(Receipt)
      .min(1)
      .max(LIMITS.maxBatch)
      .optional()
      .openapi({
        description: `Complete up to ${LIMITS.maxBatch} deliveries at once; each one's outcome is answered.`,
      }),
  })
  .strict()
  .refine((b) => b.receipt === undefined || b.receipts === undefined, {
    message: "give 'receipt' or 'receipts', not both",
    path: ["receipts"],
  })
  .openapi("TaskDoneRequest");
export const TaskDoneResults = z
  .object({
    unfinished_tasks: z.number().int(),
    results: z.array(z.enum(["done", "replayed", "stale", "invalid"])).openapi({
      description:
        "Each receipt's outcome, in order: done now, done before (a repeat), stale (its lease ended or the item " +
        "was taken, completed or removed), or invalid (not a receipt of this queue's deliveries).",
    }),
  })
  .openapi("TaskDoneResults");
export const JoinBody = z
  .object({
    timeout: Timeout,
    group: GroupName.optional().openapi({ description: "Wait for this group's items only." }),
  })
  .strict()
  .refine((b) => timeoutInRange(b.timeout), { message: timeoutProblem, path: ["timeout"] })
  .openapi("JoinRequest");
export const QueueConfigPatch = z
  .object({
    maxsize: QueueConfigBody.shape.maxsize.removeDefault().optional(),
    lease_seconds: LeaseSeconds.nullable().optional(),
    max_deliveries: QueueConfigBody.shape.max_deliveries.removeDefault().optional(),
    push: PushConfig.nullable().optional().openapi({ description: "null turns push delivery off." }),
    ...GroupDispatchFields,
  })
  .strict()
  .openapi("QueueConfigChange");

export const ShutdownBody = z
  .object({ immediate: z.boolean().default(false) })
  .strict()
  .openapi("ShutdownRequest");
export const ExtendBody = z.object({ receipt: Receipt, lease_seconds: LeaseSeconds }).strict().openapi("ExtendRequest");
export const ReleaseBody = z
  .object({ receipt: Receipt, delay: seconds(LIMITS.maxDelaySeconds).default(0) })
  .strict()
  .openapi("ReleaseRequest");
// Responses are flat objects (never `allOf` over the strict request schema, which no answer could satisfy).
const ConfigFields = {
  maxsize: z.number().int(),
  order: z.enum(["fifo", "lifo", "priority"]),
  lease_seconds: z.number().int().nullable(),
  max_deliveries: z.number().int().nullable(),
};
export const CatalogEntry = z
  .object({
    name: z.string(),
    ...ConfigFields,
    shards: z.number().int().optional().openapi({ description: "A sharded queue's shard count." }),
    created_at: z.string(),
  })
  .openapi("CatalogEntry");

const Scope = z
  .string()
  .regex(
    LIMITS.scopePattern,
    "a scope is a queue name, or a prefix of one followed by '*' (e.g. 'etl-*'; '*' alone is every queue)",
  );
const Right = z.enum(RIGHTS);

export const TokenRequest = z
  .object({
    queues: z
      .array(Scope)
      .min(1)
      .max(LIMITS.maxTokenScopes)
      .openapi({ example: ["jobs", "etl-*"] }),
    rights: z
      .array(Right)
      .min(1)
      .max(RIGHTS.length)
      .openapi({ example: ["produce", "observe"] }),
    ttl_seconds: z
      .number()
      .int()
      .min(60)
      .max(LIMITS.maxTokenTtlSeconds)
      .optional()
      .openapi({ description: "Absent: valid until revoked." }),
    label: z.string().max(100).optional(),
  })
  .strict()
  .openapi("TokenRequest");

export const TokenInfo = z
  .object({
    id: z.string(),
    label: z.string().nullable(),
    queues: z.array(z.string()),
    rights: z.array(Right),
    created_at: z.string(),
    expires_at: z.string().nullable(),
    revoked_at: z.string().nullable(),
  })
  .openapi("Token");

export const IssuedToken = z
  .object({ ...TokenInfo.shape, token: z.string().openapi({ description: "The bearer secret: shown this once." }) })
  .openapi("IssuedToken");
export const TokenParams = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: "id", in: "path" } }),
});

export const IdempotencyHeader = z.object({
  "idempotency-key": z
    .string()
    .min(1)
    .max(LIMITS.maxIdempotencyKeyLength)
    .optional()
    .openapi({
      param: { in: "header" },
      description: `A retried put with the same key within ${LIMITS.idempotencyMinutes} minutes adds nothing and answers as the first did.`,
    }),
});

export const LimitQuery = z.object({
  limit: z.coerce.number().int().min(1).max(LIMITS.maxDeadLettersPage).default(100),
});
export const RedriveBody = z
  .object({ limit: z.number().int().min(1).max(LIMITS.maxDeadLettersPage).default(LIMITS.maxDeadLettersPage) })
  .strict();
export const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  after: QueueName.optional().openapi({ param: { name: "after", in: "query" } }),
});

// ---- responses

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string().openapi({ description: "Stable, machine-readable; see docs/http-api.md#errors." }),
    detail: z.string(),
    instance: z.string().optional(),
    request_id: z.string().optional().openapi({ description: "On 500s: the id the server's log line carries too." }),
  })
  .openapi("Problem");

export const Delivery = z
  .object({
    id: z.number().int(),
    item: Item,
    priority: z
      .union([z.number(), z.string(), z.array(z.unknown())])
      .openapi({ description: "As it was put (0 when none was given)." }),
    deliveries: z.number().int(),
    group: GroupName.nullable().openapi({ description: "The item's group; null when it has none." }),
    receipt: z.string().nullable(),
    lease_expires_at: z.number().nullable().openapi({ description: "Unix ms; null without a lease." }),
  })
  .openapi("Delivery");

export const PushStats = z
  .object({
    url: z.string(),
    concurrency: z.number().int(),
    timeout_seconds: z.number(),
    min_backoff_seconds: z.number(),
    max_backoff_seconds: z.number(),
    paused: z.boolean(),
    in_flight: z.number().int().openapi({ description: "Pushes awaiting their receiver's answer." }),
    failures: z.number().int().openapi({ description: "Pushes answered non-2xx, timed out or failed, ever." }),
    last_error: z.string().nullable(),
    last_error_at: z.number().nullable().openapi({ description: "Unix ms." }),
    next_retry_at: z.number().nullable().openapi({ description: "Unix ms when the next failed item returns." }),
  })
  .openapi("PushStats");

export const JoinCallback = z
  .object({
    id: z.string(),
    url: z.string(),
    repeat: z.boolean(),
    min_backoff_seconds: z.number(),
    group: GroupName.optional().openapi({ description: "Present when it fires for one group." }),
    state: z.enum(["waiting", "sending", "delivered", "failed"]),
    attempts: z.number().int().openapi({ description: "Failed attempts at the current drain's message." }),
    delivered: z.number().int(),
    failed: z
      .number()
      .int()
      .openapi({ description: `Drains whose message failed ${LIMITS.joinCallbackAttempts} times.` }),
    last_error: z.string().nullable(),
    next_retry_at: z.number().nullable(),
  })
  .openapi("JoinCallback");

export const Stats = z
  .object({
    name: z.string(),
    ...ConfigFields,
    dispatch: z.enum(["fifo", "fair"]),
    group_max_in_flight: z.number().int().nullable(),
    group_retention_seconds: z.number().int(),
    qsize: z.number().int(),
    empty: z.boolean(),
    full: z.boolean(),
    unfinished_tasks: z.number().int(),
    in_flight: z.number().int(),
    leased: z.number().int(),
    delayed: z.number().int(),
    dead_lettered: z.number().int(),
    deliveries: z.number().int(),
    redeliveries: z.number().int(),
    puts: z.number().int().openapi({ description: "Items put since the queue was created." }),
    completed: z.number().int().openapi({ description: "task_dones since the queue was created." }),
    shutdown: z.boolean(),
    immediate: z.boolean(),
    waiting: z.object({ getters: z.number().int(), putters: z.number().int(), joiners: z.number().int() }).openapi({
      description:
        "Calls waiting now. A socket consumer counts as the gets its credit stands for (a client's gets waiting " +
        "on one socket), an HTTP get as one.",
    }),
    shards: z
      .number()
      .int()
      .optional()
      .openapi({ description: "A sharded queue's shard count (absent: one object); its counts add up every shard's." }),
    push: PushStats.nullable()
      .optional()
      .openapi({ description: "Present when the queue has (or had) push delivery." }),
    join_callbacks: z
      .array(JoinCallback)
      .optional()
      .openapi({ description: "Present when the queue has push delivery or join callbacks." }),
    webhook_secret: z
      .string()
      .optional()
      .openapi({ description: "Answered once, when push is first configured: signs every push (Standard Webhooks)." }),
  })
  .openapi("QueueStats");

export const JoinResult = z
  .object({
    drained: z.boolean(),
    group: GroupName.optional().openapi({ description: "Present when the join was for one group." }),
    unfinished_tasks: z.number().int(),
    dead_lettered: z.number().int(),
    cancelled: z
      .number()
      .int()
      .optional()
      .openapi({ description: "Present when the group was cancelled: the items the cancel removed." }),
  })
  .openapi("JoinResult");

export const GroupStats = z
  .object({
    group: GroupName,
    unfinished_tasks: z.number().int().openapi({ description: "Its items not yet done: what join waits for." }),
    in_flight: z.number().int().openapi({ description: "Its items taken and not yet done." }),
    puts: z.number().int(),
    completed: z.number().int(),
    dead_lettered: z.number().int(),
    state: z.enum(["open", "drained", "cancelled"]).openapi({
      description: '"cancelled" once cancelled; else "open" while it has unfinished tasks, "drained" when none.',
    }),
    cancelled: z.number().int().openapi({ description: "Its items the cancel removed (0: not cancelled)." }),
    weight: z.number().int(),
    max_in_flight: z.number().int().nullable().openapi({ description: "The cap in force: its own, else the queue's." }),
    first_put_at: z.number().nullable().openapi({ description: "Unix ms of its first put still counted." }),
    updated_at: z.number().openapi({ description: "Unix ms of its latest put, completion or change." }),
  })
  .openapi("GroupStats");
export const GroupCancelled = z
  .object({
    group: GroupName,
    cancelled: z.number().int().openapi({ description: "Its waiting and delayed items removed now." }),
    in_flight: z.number().int().openapi({ description: "Its deliveries still out: they may still finish." }),
  })
  .openapi("GroupCancelled");
export const GroupList = z.object({ groups: z.array(GroupStats), next: GroupName.nullable() }).openapi("GroupList");

const SubscriptionId = z.string().max(LIMITS.maxSubscriptionIdLength);

/** One WebSocket frame from a subscriber (see docs/sockets.md). */
export const SubscriberMessage = z.discriminatedUnion("op", [
  z
    .object({
      op: z.literal("join"),
      id: SubscriptionId.optional(),
      repeat: z.boolean().optional(),
      group: GroupName.optional(),
    })
    .strict(),
  z.object({ op: z.literal("unjoin"), id: SubscriptionId.optional() }).strict(),
  z.object({ op: z.literal("watch") }).strict(),
  z.object({ op: z.literal("unwatch") }).strict(),
]);
export type SubscriberMessage = z.infer<typeof SubscriberMessage>;

// Work over the same socket: each frame is {"op", "id", ...the HTTP call's body}, and its answer repeats the id.
export const FrameId = z.union([z.string().min(1).max(LIMITS.maxSubscriptionIdLength), z.number().int()]);
export const ConsumeBody = z
  .object({
    prefetch: z.number().int().min(1).max(LIMITS.maxPrefetchPerSocket).default(1),
    lease_seconds: LeaseSeconds.optional(),
  })
  .strict();
export const WORK_FRAMES = {
  put: PutBody,
  consume: ConsumeBody,
  cancel: z.object({}).strict(),
  task_done: TaskDoneBody,
  extend: ExtendBody,
  release: ReleaseBody,
} as const;
export type WorkOp = keyof typeof WORK_FRAMES;

/** A precise one-line account of what failed validation, e.g. `timeout: Too small: expected number to be >=0`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => (i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message)).join("; ");
}

// ---- observing: peek, the catalog's live feed

export const PeekQuery = z.object({
  state: z
    .enum(["leased", "ready", "delayed"])
    .openapi({ description: "leased: taken and not yet done (what join waits for); ready: next to be got; delayed." }),
  limit: z.coerce.number().int().min(1).max(LIMITS.maxPeek).default(20),
});

export const PeekedItem = z
  .object({
    id: z.number().int(),
    item: Item,
    priority: Delivery.shape.priority,
    state: z.enum(["leased", "ready", "delayed"]),
    deliveries: z.number().int().openapi({ description: "Deliveries so far (0: never got)." }),
    lease_expires_at: z
      .number()
      .nullable()
      .openapi({ description: "Unix ms when the lease ends; null unless leased." }),
    visible_at: z
      .number()
      .nullable()
      .openapi({ description: "Unix ms when a delayed item becomes visible; null unless delayed." }),
    put_at: z
      .number()
      .nullable()
      .openapi({ description: "Unix ms when it was put (its age); null for an item put before this was recorded." }),
    leased_at: z
      .number()
      .nullable()
      .openapi({ description: "Unix ms when the delivery in flight began (how long it is held); null unless leased." }),
  })
  .openapi("PeekedItem");

const PrefixPattern = /^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,63})?$/;

/** One WebSocket frame to the catalog's feed: show this page of queues (see docs/observability.md#live-catalog-feed). */
export const FeedMessage = z.discriminatedUnion("op", [
  z
    .object({
      op: z.literal("page"),
      prefix: z.string().regex(PrefixPattern, "a prefix is the start of a queue name").default(""),
      after: z.string().regex(PrefixPattern, "after is a queue name").default(""),
      limit: z.number().int().min(1).max(LIMITS.maxFeedPage).default(50),
    })
    .strict(),
]);
export type FeedMessage = z.infer<typeof FeedMessage>;

// ---- push delivery and join callbacks (docs/push-and-callbacks.md)

export const JoinCallbackBody = z
  .object({
    url: PushUrl,
    repeat: z.boolean().default(false).openapi({ description: "false: once, at the next drain; true: every drain." }),
    min_backoff_seconds: z.number().min(0.01).max(3600).default(1),
    group: GroupName.optional().openapi({
      description: "Fire when this group drains (its message is type group.drained, with data.group).",
    }),
  })
  .strict()
  .openapi("JoinCallbackRequest");

export const JoinCallbackCreated = z
  .object({ ...JoinCallback.shape, webhook_secret: Stats.shape.webhook_secret })
  .openapi("JoinCallbackCreated");

export const CallbackParams = z.object({
  name: QueueName,
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: "id", in: "path" } }),
});

export const WebhookSecret = z
  .object({
    webhook_secret: z.string().openapi({ description: "The new secret, shown this once." }),
    previous_expires_at: z
      .number()
      .nullable()
      .openapi({
        description: `Unix ms until which the previous secret still signs too (${LIMITS.webhookSecretOverlapHours} h).`,
      }),
  })
  .openapi("WebhookSecret");
