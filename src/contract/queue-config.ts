// A queue's configuration as the doors and objects see it: the core's settings, and push delivery's beside them.
import type { z } from "@hono/zod-openapi";
import type { QueueConfig as CoreConfig } from "../core/types.ts";
import type { PushConfig as PushSchema } from "./schemas.ts";

/** Where and how the queue object POSTs each item (see docs/push-and-callbacks.md). */
export type PushConfig = z.output<typeof PushSchema>;

export type QueueConfig = Omit<CoreConfig, "push"> & { push?: PushConfig | null };

/** The push settings stored with a queue's configuration, as the schema checked them when they were set. */
export const pushOf = (config: CoreConfig): PushConfig | null | undefined =>
  config.push as PushConfig | null | undefined;
