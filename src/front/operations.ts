// What the two front doors — the HTTP routes and the service binding's RPC entrypoint — do the same way: create,
// configure, delete and list queues through the catalog (push URLs checked against PUSH_ORIGINS), register join
// callbacks, and wait past the cap.

import { cap, LIMITS } from "../contract/limits.ts";
import { refusePushUrl } from "../contract/push-origins.ts";
import type { Refusal } from "../contract/put-items.ts";
import type { QueueConfig } from "../contract/queue-config.ts";
import { refuseOnShards } from "../contract/shards.ts";
import type { Outcome } from "../core/types.ts";
import type { CallbackRequest } from "../objects/push/join-callbacks.ts";
import { catalog, queueObject, shardObject } from "../objects/stubs.ts";
import { forgetShards, queueOf, shardsOf } from "./queues.ts";

/** Why a push or callback URL is refused (a clear 400 when it is configured, not a failed delivery later). */
function refusedUrl(env: Env, field: string, url: string | undefined): Refusal | undefined {
  const refused = url === undefined ? undefined : refusePushUrl(env.PUSH_ORIGINS, url);
  return refused === undefined ? undefined : { ok: false, code: "invalid_request", message: `${field}: ${refused}` };
}

/** Lists the name in the catalog (within the deployment's cap), then creates the queue's object. */
export async function createQueue(
  env: Env,
  name: string,
  config: QueueConfig,
): Promise<Outcome<{ created: boolean; webhook_secret?: string }> | Refusal> {
  const refused = refusedUrl(env, "push.url", config.push?.url);
  if (refused) return refused;
  const max = cap(env.MAX_QUEUES, LIMITS.maxQueues);
  if (!(await catalog(env).admit(name, config, max))) {
    return {
      ok: false,
      code: "limit_exceeded",
      message: `this deployment already has ${max} queues (the cap): delete some first`,
    };
  }
  const { shards = 1, ...plain } = config;
  forgetShards(name);
  // The first shard decides (a queue of another configuration is a conflict); a repeat re-creates missing shards.
  const created = await queueObject(env, name).create(shards > 1 ? { ...plain, shards, shard: 0 } : plain);
  if (created.ok && shards > 1) {
    const rest = Array.from({ length: shards - 1 }, (_, i) => i + 1);
    const made = await Promise.all(rest.map((i) => shardObject(env, name, i).create({ ...plain, shards, shard: i })));
    const failed = made.find((o) => !o.ok);
    if (failed) return failed;
  }
  if (created.ok) await catalog(env).add(name, config); // repairs the listing if a crash came between the two steps
  return created;
}

/** Deletes the queue's object and its catalog entry; false when neither existed. */
export async function deleteQueue(env: Env, name: string): Promise<boolean> {
  forgetShards(name);
  const existed = await (await queueOf(env, name)).destroy();
  forgetShards(name);
  const listed = await catalog(env).remove(name);
  return existed || listed;
}

/** Changes a queue's settings, and its catalog entry so the listing shows them. */
export async function configureQueue(env: Env, name: string, changes: Partial<Omit<QueueConfig, "order">>) {
  const refused = refusedUrl(env, "push.url", changes.push?.url);
  if (refused) return refused;
  const queue = await queueOf(env, name);
  if ((await shardsOf(env, name)) > 1) {
    const refused = refuseOnShards(changes);
    if (refused) return refused;
  }
  const outcome = await queue.configure(changes);
  if (outcome.ok) {
    const { maxsize, order, lease_seconds, max_deliveries } = outcome.stats;
    await catalog(env).add(name, { maxsize, order, lease_seconds, max_deliveries });
  }
  return outcome;
}

/** Registers a join callback, once its URL is one the deployment may call. */
export async function addJoinCallback(env: Env, name: string, request: CallbackRequest) {
  return refusedUrl(env, "url", request.url) ?? (await (await queueOf(env, name)).addJoinCallback(request));
}

/** One page of queue names in order, and where the next page starts (null at the end). */
export async function listQueues(env: Env, limit: number, after?: string) {
  const page = await catalog(env).list(limit, after);
  return { queues: page, next: page.length === limit ? page.at(-1)!.name : null };
}

/**
 * Waits as long as the caller asked: each call to the object ends within the server's cap with `poll_again`,
 * and is made again with what is left of `timeout` (undefined: no limit). RPC callers have no cap to respect.
 */
export async function untilAnswered<T extends object>(
  timeout: number | undefined,
  call: (left: number | undefined) => Promise<Outcome<T>>,
): Promise<Outcome<T>> {
  const deadline = timeout === undefined ? Infinity : Date.now() + timeout * 1000;
  for (;;) {
    const outcome = await call(deadline === Infinity ? undefined : Math.max(0, (deadline - Date.now()) / 1000));
    if (outcome.ok || outcome.code !== "poll_again") return outcome;
  }
}
