// A put's checks that need the queue's settings (the shape of a request is checked at the door, in contract/).
import { fail, type PutRequest, type QueueConfig, type QueueError } from "./types.ts";

export function invalidPut({ items, delay }: PutRequest, { maxsize, order }: QueueConfig): QueueError | undefined {
  if (items.length === 0) return fail("invalid_request", "a put needs at least one item");
  if (maxsize > 0 && items.length > maxsize) {
    return fail("batch_too_large", `a batch of ${items.length} items can never fit in a queue of maxsize ${maxsize}`);
  }
  if (order !== "priority" && items.some((i) => i.priority !== undefined)) {
    return fail("invalid_request", `'priority' only applies to priority queues; this queue is ${order}`);
  }
  if (delay !== undefined && !(delay >= 0)) return fail("invalid_request", "'delay' must be a non-negative number");
  return undefined;
}
