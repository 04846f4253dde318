// Typed stubs of the two Durable Object classes, as the Worker reaches them.
import type { CatalogObject } from "./catalog/catalog-object.ts";
import { CATALOG_NAME } from "./catalog/headlines.ts";
import type { QueueObject } from "./queue/queue-object.ts";
import { rpc } from "./rpc.ts";
import { shardName } from "./shards/names.ts";

/** One object per queue name: every call about a queue goes to the same single-threaded instance. */
export const queueObject = (env: Env, name: string) => shardObject(env, name, 0);

/** Shard `i` of a sharded queue (shards/names.ts). */
export const shardObject = (env: Env, name: string, i: number) =>
  rpc<QueueObject>(env.QUEUES.get(env.QUEUES.idFromName(shardName(name, i))));

/** The deployment's one catalog: queue names and tokens, off the hot path. */
export const catalog = (env: Env) => rpc<CatalogObject>(env.CATALOG.get(env.CATALOG.idFromName(CATALOG_NAME)));
