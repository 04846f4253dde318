// joinable-queues-client: Python's queue.Queue (put / get / task_done / join) across processes and machines.
export { QueueClient } from "./client.ts";
export * from "./errors.ts";
export { Group } from "./group.ts";
export type { Handler, ProcessOptions } from "./process.ts";
export { BATCH, type GetOptions, type PutManyOptions, type PutOptions, Queue, type WaitOptions } from "./queue.ts";
export { type ConsumeOptions, QueueSocket } from "./socket.ts";
export type { SubscribeOptions } from "./subscribe.ts";
export type { ClientOptions } from "./transport.ts";
export type {
  Dispatch,
  GroupCancelResult,
  GroupConfig,
  GroupStats,
  Job,
  JoinResult,
  Order,
  PriorityKey,
  PushConfig,
  QueueConfig,
  QueueConfigChange,
  QueueInfo,
  Stats,
  TaskDoneResult,
} from "./types.ts";
export {
  type DrainedMessage,
  type PushMessage,
  type VerifyOptions,
  verifyWebhook,
  type WebhookMessage,
  WebhookVerificationError,
} from "./webhooks.ts";
