// Test harness: a core queue on an in-memory node:sqlite database, and a way to watch a call that may block.
import { DatabaseSync } from "node:sqlite";
import { coreLimits } from "../../src/contract/limits.ts";
import { JoinableQueue, type Limits } from "../../src/core/queue.ts";
import { type Sql, type SqlValue, Store } from "../../src/core/store.ts";
import type { QueueConfig } from "../../src/core/types.ts";

export const CONFIG: QueueConfig = { maxsize: 0, order: "fifo", lease_seconds: null, max_deliveries: null };

export function sqliteSql(db = new DatabaseSync(":memory:")): Sql {
  return { exec: <T>(query: string, ...params: SqlValue[]) => db.prepare(query).all(...params) as T[] };
}

/** A queue plus `reopen()`, which rebuilds it from the same database as a restarted Durable Object would. */
export function newQueue(config: Partial<QueueConfig> = {}, limits: Limits = coreLimits()) {
  const sql = sqliteSql();
  const q = JoinableQueue.create(Store.create(sql), { ...CONFIG, ...config }, limits);
  return { q, sql, reopen: () => JoinableQueue.open(Store.open(sql)!, limits)! };
}

/** Captures the answer of a call that may block; `value` stays undefined while it waits. */
export function call<T>() {
  const c = {
    value: undefined as T | undefined,
    reply: (v: T) => {
      if (c.value !== undefined) throw new Error("answered twice");
      c.value = v;
    },
  };
  return c;
}
