// joinable-queues-client: Python's queue.Queue (put / get / task_done / join) across processes and machines.
export { QueueClient } from "./client.ts";
export { BATCH, Queue, type GetOptions, type PutManyOptions, type PutOptions, type WaitOptions } from "./queue.ts";
export type { Handler, ProcessOptions } from "./process.ts";
export type { SubscribeOptions } from "./subscribe.ts";
export type { ClientOptions } from "./transport.ts";
export type { Job, JoinResult, Order, PriorityKey, QueueConfig, QueueInfo, Stats } from "./types.ts";
export * from "./errors.ts";
