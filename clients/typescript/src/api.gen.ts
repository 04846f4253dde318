// Generated from the service's OpenAPI document (/v1/openapi.json) by `npm run client-types`: do not edit.
// The client's own types (types.ts) are defined from these.

export type Problem = {
  type: string;
  title: string;
  status: number;
  /** Stable, machine-readable; see docs/http-api.md#errors. */
  code: string;
  detail: string;
  instance?: string;
  /** On 500s: the id the server's log line carries too. */
  request_id?: string;
};

export type CatalogEntry = {
  name: string;
  maxsize: number;
  order: "fifo" | "lifo" | "priority";
  lease_seconds: number | null;
  max_deliveries: number | null;
  /** A sharded queue's shard count. */
  shards?: number;
  created_at: string;
};

export type QueueStats = {
  name: string;
  maxsize: number;
  order: "fifo" | "lifo" | "priority";
  lease_seconds: number | null;
  max_deliveries: number | null;
  dispatch: "fifo" | "fair";
  group_max_in_flight: number | null;
  group_retention_seconds: number;
  qsize: number;
  empty: boolean;
  full: boolean;
  unfinished_tasks: number;
  in_flight: number;
  leased: number;
  delayed: number;
  dead_lettered: number;
  deliveries: number;
  redeliveries: number;
  /** Items put since the queue was created. */
  puts: number;
  /** task_dones since the queue was created. */
  completed: number;
  shutdown: boolean;
  immediate: boolean;
  /** Calls waiting now. A socket consumer counts as the gets its credit stands for (a client's gets waiting on one socket), an HTTP get as one. */
  waiting: {
    getters: number;
    putters: number;
    joiners: number;
  };
  /** A sharded queue's shard count (absent: one object); its counts add up every shard's. */
  shards?: number;
  /** Present when the queue has (or had) push delivery. */
  push?: {
    url: string;
    concurrency: number;
    timeout_seconds: number;
    min_backoff_seconds: number;
    max_backoff_seconds: number;
    paused: boolean;
    /** Pushes awaiting their receiver's answer. */
    in_flight: number;
    /** Pushes answered non-2xx, timed out or failed, ever. */
    failures: number;
    last_error: string | null;
    /** Unix ms. */
    last_error_at: number | null;
    /** Unix ms when the next failed item returns. */
    next_retry_at: number | null;
  } | null;
  /** Present when the queue has push delivery or join callbacks. */
  join_callbacks?: JoinCallback[];
  /** Answered once, when push is first configured: signs every push (Standard Webhooks). */
  webhook_secret?: string;
};

export type JoinCallback = {
  id: string;
  url: string;
  repeat: boolean;
  min_backoff_seconds: number;
  /** Present when it fires for one group. */
  group?: string;
  state: "waiting" | "sending" | "delivered" | "failed";
  /** Failed attempts at the current drain's message. */
  attempts: number;
  delivered: number;
  /** Drains whose message failed 10 times. */
  failed: number;
  last_error: string | null;
  next_retry_at: number | null;
};

export type QueueConfig = {
  /** 0 means unbounded. */
  maxsize?: number;
  order?: "fifo" | "lifo" | "priority";
  /** How long a get holds an item before it is redelivered; null: never (pure CPython). */
  lease_seconds?: number | null;
  /** After this many deliveries an item goes to the dead letters; null: never. */
  max_deliveries?: number | null;
  push?: PushConfig;
  /** Which ready item a get takes: "fifo" (the default) the queue's order over all items; "fair" from the group with the smallest share of deliveries in flight by weight, the queue's order inside each (ungrouped items are one more group). */
  dispatch?: "fifo" | "fair";
  /** Deliveries of one group in flight at once; null (the default): no cap. */
  group_max_in_flight?: number | null;
  /** How long a drained or cancelled group's status stays readable (default 86,400). */
  group_retention_seconds?: number;
  /** Objects the queue is spread over (docs/shards.md), fixed when it is created; 1 (the default) is one. A sharded queue keeps order per shard and per shard_key, is unbounded, has leases and does not push. */
  shards?: number;
};

export type PushConfig = {
  /** Must match the deployment's PUSH_ORIGINS (none by default: push is off). */
  url: string;
  concurrency?: number;
  /** A delivery not answered 2xx within this is a failure (its lease is this plus 5 s). */
  timeout_seconds?: number;
  min_backoff_seconds?: number;
  max_backoff_seconds?: number;
  /** Stops pushing; items stay in the queue. */
  paused?: boolean;
};

export type QueueConfigChange = {
  maxsize?: number;
  lease_seconds?: number | null;
  max_deliveries?: number | null;
  /** null turns push delivery off. */
  push?: {
    /** Must match the deployment's PUSH_ORIGINS (none by default: push is off). */
    url: string;
    concurrency?: number;
    /** A delivery not answered 2xx within this is a failure (its lease is this plus 5 s). */
    timeout_seconds?: number;
    min_backoff_seconds?: number;
    max_backoff_seconds?: number;
    /** Stops pushing; items stay in the queue. */
    paused?: boolean;
  } | null;
  /** Which ready item a get takes: "fifo" (the default) the queue's order over all items; "fair" from the group with the smallest share of deliveries in flight by weight, the queue's order inside each (ungrouped items are one more group). */
  dispatch?: "fifo" | "fair";
  /** Deliveries of one group in flight at once; null (the default): no cap. */
  group_max_in_flight?: number | null;
  /** How long a drained or cancelled group's status stays readable (default 86,400). */
  group_retention_seconds?: number;
};

export type ShutdownRequest = {
  immediate?: boolean;
};

export type JoinCallbackCreated = {
  id: string;
  url: string;
  repeat: boolean;
  min_backoff_seconds: number;
  /** Present when it fires for one group. */
  group?: string;
  state: "waiting" | "sending" | "delivered" | "failed";
  /** Failed attempts at the current drain's message. */
  attempts: number;
  delivered: number;
  /** Drains whose message failed 10 times. */
  failed: number;
  last_error: string | null;
  next_retry_at: number | null;
  /** Answered once, when push is first configured: signs every push (Standard Webhooks). */
  webhook_secret?: string;
};

export type JoinCallbackRequest = {
  /** Must match the deployment's PUSH_ORIGINS (none by default: push is off). */
  url: string;
  /** false: once, at the next drain; true: every drain. */
  repeat?: boolean;
  min_backoff_seconds?: number;
  /** Fire when this group drains (its message is type group.drained, with data.group). */
  group?: string;
};

export type WebhookSecret = {
  /** The new secret, shown this once. */
  webhook_secret: string;
  /** Unix ms until which the previous secret still signs too (24 h). */
  previous_expires_at: number | null;
};

export type PutRequest = {
  /** Any JSON value, at most 131072 bytes encoded. */
  item?: unknown;
  /** Priority queues only: lower comes first, ordered as Python orders it. A number, a string, or an array of them (Python's tuple, compared element by element; numbers sort before strings, both before arrays). */
  priority?: number | string | (number | string | (number | string)[])[];
  /** A batch, all-or-nothing, instead of `item`. */
  items?: {
    /** Any JSON value, at most 131072 bytes encoded. */
    item: unknown;
    /** Priority queues only: lower comes first, ordered as Python orders it. A number, a string, or an array of them (Python's tuple, compared element by element; numbers sort before strings, both before arrays). */
    priority?: number | string | (number | string | (number | string)[])[];
    /** This item's group (instead of the call's). */
    group?: string;
  }[];
  block?: boolean;
  /** Seconds to wait; null or absent waits without limit (each call still ends within 20 s with poll_again). */
  timeout?: number | null;
  /** Seconds before the item becomes visible to get. */
  delay?: number;
  idempotency_key?: string;
  /** The group of every item of the call (an entry of `items` may name its own): join can wait for it. */
  group?: string;
  /** A sharded queue puts items with the same key on the same shard, in order (ignored with one). */
  shard_key?: string;
};

export type Delivery = {
  id: number;
  /** Any JSON value, at most 131072 bytes encoded. */
  item?: unknown;
  /** As it was put (0 when none was given). */
  priority: number | string | unknown[];
  deliveries: number;
  /** The item's group; null when it has none. */
  group: string | null;
  receipt: string | null;
  /** Unix ms; null without a lease. */
  lease_expires_at: number | null;
};

export type GetRequest = {
  block?: boolean;
  /** Seconds to wait; null or absent waits without limit (each call still ends within 20 s with poll_again). */
  timeout?: number | null;
  /** Answer a batch of up to this many items. */
  max?: number;
  lease_seconds?: number;
};

export type TaskDoneResults = {
  unfinished_tasks: number;
  /** Each receipt's outcome, in order: done now, done before (a repeat), stale (its lease ended or the item was taken, completed or removed), or invalid (not a receipt of this queue's deliveries). */
  results: ("done" | "replayed" | "stale" | "invalid")[];
};

export type TaskDoneRequest = {
  receipt?: string;
  /** Complete up to 100 deliveries at once; each one's outcome is answered. */
  receipts?: string[];
};

export type ExtendRequest = {
  receipt: string;
  lease_seconds: number;
};

export type ReleaseRequest = {
  receipt: string;
  delay?: number;
};

export type JoinResult = {
  drained: boolean;
  /** Present when the join was for one group. */
  group?: string;
  unfinished_tasks: number;
  dead_lettered: number;
  /** Present when the group was cancelled: the items the cancel removed. */
  cancelled?: number;
};

export type JoinRequest = {
  /** Seconds to wait; null or absent waits without limit (each call still ends within 20 s with poll_again). */
  timeout?: number | null;
  /** Wait for this group's items only. */
  group?: string;
};

export type GroupStats = {
  group: string;
  /** Its items not yet done: what join waits for. */
  unfinished_tasks: number;
  /** Its items taken and not yet done. */
  in_flight: number;
  puts: number;
  completed: number;
  dead_lettered: number;
  /** "cancelled" once cancelled; else "open" while it has unfinished tasks, "drained" when none. */
  state: "open" | "drained" | "cancelled";
  /** Its items the cancel removed (0: not cancelled). */
  cancelled: number;
  weight: number;
  /** The cap in force: its own, else the queue's. */
  max_in_flight: number | null;
  /** Unix ms of its first put still counted. */
  first_put_at: number | null;
  /** Unix ms of its latest put, completion or change. */
  updated_at: number;
};

export type GroupConfigChange = {
  /** Its share of a fair queue's deliveries (default 1). */
  weight?: number;
  /** Its own cap on deliveries in flight; null: the queue's group_max_in_flight again. */
  max_in_flight?: number | null;
};

export type GroupCancelled = {
  group: string;
  /** Its waiting and delayed items removed now. */
  cancelled: number;
  /** Its deliveries still out: they may still finish. */
  in_flight: number;
};

export type GroupList = {
  groups: GroupStats[];
  next: string | null;
};

export type WebSocketProtocol = {
  websocket: string;
  send: string[];
  receive: string[];
};

export type WebSocketTicket = {
  ticket: string;
  /** Unix seconds. */
  expires_at: number;
  url: string;
};

export type IssuedToken = {
  id: string;
  label: string | null;
  queues: string[];
  rights: ("produce" | "consume" | "observe" | "admin")[];
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  /** The bearer secret: shown this once. */
  token: string;
};

export type TokenRequest = {
  queues: string[];
  rights: ("produce" | "consume" | "observe" | "admin")[];
  /** Absent: valid until revoked. */
  ttl_seconds?: number;
  label?: string;
};

export type Token = {
  id: string;
  label: string | null;
  queues: string[];
  rights: ("produce" | "consume" | "observe" | "admin")[];
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
};

export type PeekedItem = {
  id: number;
  /** Any JSON value, at most 131072 bytes encoded. */
  item?: unknown;
  /** As it was put (0 when none was given). */
  priority: number | string | unknown[];
  state: "leased" | "ready" | "delayed";
  /** Deliveries so far (0: never got). */
  deliveries: number;
  /** Unix ms when the lease ends; null unless leased. */
  lease_expires_at: number | null;
  /** Unix ms when a delayed item becomes visible; null unless delayed. */
  visible_at: number | null;
  /** Unix ms when it was put (its age); null for an item put before this was recorded. */
  put_at: number | null;
  /** Unix ms when the delivery in flight began (how long it is held); null unless leased. */
  leased_at: number | null;
};

export type FeedProtocol = {
  websocket: string;
  send: string[];
  receive: string[];
};

/** Each operation, by its operationId: the JSON body it takes, and the JSON it answers on success (undefined: none). */
export interface Operations {
  /** GET /v1/queues */
  listQueues: {
    answer: {
      queues: CatalogEntry[];
      next: string | null;
    };
  };
  /** PUT /v1/queues/{name} */
  createQueue: {
    body: QueueConfig;
    answer: QueueStats;
  };
  /** GET /v1/queues/{name} */
  getStats: {
    answer: QueueStats;
  };
  /** PATCH /v1/queues/{name} */
  configureQueue: {
    body: QueueConfigChange;
    answer: QueueStats;
  };
  /** DELETE /v1/queues/{name} */
  deleteQueue: {
    answer: undefined;
  };
  /** POST /v1/queues/{name}/shutdown */
  shutdown: {
    body: ShutdownRequest;
    answer: QueueStats;
  };
  /** POST /v1/queues/{name}/join_callbacks */
  addJoinCallback: {
    body: JoinCallbackRequest;
    answer: JoinCallbackCreated;
  };
  /** DELETE /v1/queues/{name}/join_callbacks/{id} */
  removeJoinCallback: {
    answer: undefined;
  };
  /** POST /v1/queues/{name}/webhook_secret */
  rotateWebhookSecret: {
    answer: WebhookSecret;
  };
  /** POST /v1/queues/{name}/put */
  put: {
    body: PutRequest;
    answer: {
      id?: number;
      ids?: number[];
      replayed: boolean;
    };
  };
  /** POST /v1/queues/{name}/get */
  get: {
    body: GetRequest;
    answer:
      | Delivery
      | {
          items: Delivery[];
        };
  };
  /** POST /v1/queues/{name}/task_done */
  taskDone: {
    body: TaskDoneRequest;
    answer:
      | {
          unfinished_tasks: number;
          replayed: boolean;
          /** Present when the delivery's group was cancelled: its work may be abandoned. */
          cancelled?: true;
        }
      | TaskDoneResults;
  };
  /** POST /v1/queues/{name}/extend */
  extendLease: {
    body: ExtendRequest;
    answer: {
      lease_expires_at: number;
      /** Present when the delivery's group was cancelled: its work may be abandoned. */
      cancelled?: true;
    };
  };
  /** POST /v1/queues/{name}/release */
  releaseLease: {
    body: ReleaseRequest;
    answer: {
      dead_lettered: boolean;
    };
  };
  /** POST /v1/queues/{name}/join */
  join: {
    body: JoinRequest;
    answer: JoinResult;
  };
  /** GET /v1/queues/{name}/dead_letters */
  readDeadLetters: {
    answer: {
      items: Delivery[];
    };
  };
  /** DELETE /v1/queues/{name}/dead_letters */
  purgeDeadLetters: {
    answer: {
      purged: number;
    };
  };
  /** POST /v1/queues/{name}/dead_letters/redrive */
  redriveDeadLetters: {
    body: {
      limit?: number;
    };
    answer: {
      ids: number[];
    };
  };
  /** GET /v1/queues/{name}/groups/{group} */
  getGroup: {
    answer: GroupStats;
  };
  /** PATCH /v1/queues/{name}/groups/{group} */
  configureGroup: {
    body: GroupConfigChange;
    answer: GroupStats;
  };
  /** POST /v1/queues/{name}/groups/{group}/cancel */
  cancelGroup: {
    answer: GroupCancelled;
  };
  /** GET /v1/queues/{name}/groups */
  listGroups: {
    answer: GroupList;
  };
  /** GET /v1/queues/{name}/ws */
  subscribe: {
    answer: WebSocketProtocol;
  };
  /** POST /v1/queues/{name}/ws-ticket */
  issueWebSocketTicket: {
    answer: WebSocketTicket;
  };
  /** POST /v1/tokens */
  issueToken: {
    body: TokenRequest;
    answer: IssuedToken;
  };
  /** GET /v1/tokens */
  listTokens: {
    answer: {
      tokens: Token[];
    };
  };
  /** DELETE /v1/tokens/{id} */
  revokeToken: {
    answer: undefined;
  };
  /** GET /v1/queues/{name}/items */
  peekItems: {
    answer: {
      /** The server's clock (Unix ms). */
      now: number;
      items: PeekedItem[];
    };
  };
  /** GET /v1/metrics */
  getMetrics: {
    answer: undefined;
  };
  /** GET /v1/catalog/ws */
  subscribeCatalog: {
    answer: FeedProtocol;
  };
  /** POST /v1/catalog/ws-ticket */
  issueCatalogTicket: {
    answer: {
      ticket: string;
      expires_at: number;
      url: string;
    };
  };
}
