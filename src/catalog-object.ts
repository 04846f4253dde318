// The catalog: one Durable Object that lists the queues, so GET /v1/queues needs no scan of every queue object.
//
// The queue objects are the truth about whether a queue exists; the Worker updates the catalog after each create
// and delete. A crash between the two steps leaves the catalog behind, and repeating the same create or delete
// (both idempotent) repairs it.
import { DurableObject } from "cloudflare:workers";
import type { QueueConfig } from "./core/types.ts";

export interface CatalogEntry extends QueueConfig {
  name: string;
  created_at: string;
}

export class CatalogObject extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS queues (name TEXT PRIMARY KEY, config TEXT NOT NULL, created_at TEXT NOT NULL)",
    );
  }

  add(name: string, config: QueueConfig): void {
    this.ctx.storage.sql.exec(
      "INSERT INTO queues (name, config, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET config = excluded.config",
      name,
      JSON.stringify(config),
      new Date().toISOString(),
    );
  }

  remove(name: string): boolean {
    return this.ctx.storage.sql.exec("DELETE FROM queues WHERE name = ? RETURNING name", name).toArray().length > 0;
  }

  /** Queues in name order, `limit` at a time, after the name `after`. */
  list(limit: number, after = ""): CatalogEntry[] {
    return this.ctx.storage.sql
      .exec<{ name: string; config: string; created_at: string }>(
        "SELECT name, config, created_at FROM queues WHERE name > ? ORDER BY name LIMIT ?",
        after,
        limit,
      )
      .toArray()
      .map((row) => ({ name: row.name, ...(JSON.parse(row.config) as QueueConfig), created_at: row.created_at }));
  }
}
