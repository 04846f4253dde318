// The catalog: one Durable Object that lists the queues (and caps their number) and records issued tokens.
//
// The queue objects are the truth about whether a queue exists; the Worker admits a name here before creating it
// and removes it after deleting it. A crash between the two steps leaves the catalog behind, and repeating the
// same create or delete (both idempotent) repairs it. Tokens are verified by signature in the Worker: the catalog
// only lists them and says which were revoked.
import { DurableObject } from "cloudflare:workers";
import { LIMITS } from "../../contract/limits.ts";
import type { QueueConfig } from "../../contract/queue-config.ts";
import type { Right } from "../../contract/rights.ts";
import { CatalogFeed } from "./feed.ts";
import type { Shown } from "./headline-board.ts";
import type { Headline } from "./headlines.ts";

export interface CatalogEntry extends QueueConfig {
  name: string;
  created_at: string;
}

export interface TokenRecord {
  id: string;
  label: string | null;
  queues: string[];
  rights: Right[];
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class CatalogObject extends DurableObject<Env> {
  /** The live feed and the headlines it shows: sockets, and counters in memory (feed.ts). */
  private readonly feed: CatalogFeed;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS queues (name TEXT PRIMARY KEY, config TEXT NOT NULL, created_at TEXT NOT NULL)",
    );
    ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS tokens (id TEXT PRIMARY KEY, label TEXT, queues TEXT NOT NULL, rights TEXT NOT NULL,
        created_at TEXT NOT NULL, expires_at TEXT, revoked_at TEXT)`,
    );
    this.feed = new CatalogFeed(ctx, env);
  }

  /** Lists a new name if fewer than `max` queues exist (an existing name is always admitted); false when full. */
  admit(name: string, config: QueueConfig, max: number): boolean {
    const sql = this.ctx.storage.sql;
    if (sql.exec("SELECT 1 FROM queues WHERE name = ?", name).toArray().length > 0) return true;
    if (sql.exec<{ n: number }>("SELECT count(*) AS n FROM queues").one().n >= max) return false;
    this.add(name, config);
    this.feed.created(name);
    return true;
  }

  add(name: string, config: QueueConfig): void {
    // A queue's shards are fixed when it is created: a reconfiguration, which does not name them, keeps them.
    const shards = config.shards ?? this.feed.shardsOf(name);
    this.ctx.storage.sql.exec(
      `INSERT INTO queues (name, config, created_at) VALUES (?, ?, ?)
        ON CONFLICT (name) DO UPDATE SET config = excluded.config`,
      name,
      JSON.stringify(shards > 1 ? { ...config, shards } : config),
      new Date().toISOString(),
    );
    this.feed.configured(name);
  }

  remove(name: string): boolean {
    const removed =
      this.ctx.storage.sql.exec("DELETE FROM queues WHERE name = ? RETURNING name", name).toArray().length > 0;
    if (removed) this.feed.deleted(name);
    return removed;
  }

  /**
   * A queue object's headline counters (headlines.ts), under the name it was addressed by (a sharded queue's
   * objects each report): kept in memory only, so a report writes nothing.
   */
  report(object: string, headline: Headline): void {
    this.feed.report(object, headline);
  }

  /** Every queue's last headline and shard count, for /v1/metrics: from memory, asking a bounded number first. */
  headlines(): Promise<Shown[]> {
    return this.feed.headlines(LIMITS.metricsFillPerScrape);
  }

  /** The live feed's WebSocket upgrades (the only fetch this object serves; the Worker has authorized it). */
  override async fetch(request: Request): Promise<Response> {
    return this.feed.accept(request);
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    this.feed.message(ws, message);
  }

  override webSocketClose(ws: WebSocket, code: number): void {
    this.feed.closed(ws, code);
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

  addToken(t: { id: string; label?: string; queues: string[]; rights: Right[]; expiresAt?: number }): TokenRecord {
    const record: TokenRecord = {
      id: t.id,
      label: t.label ?? null,
      queues: t.queues,
      rights: t.rights,
      created_at: iso(Date.now()),
      expires_at: t.expiresAt === undefined ? null : iso(t.expiresAt * 1000),
      revoked_at: null,
    };
    this.ctx.storage.sql.exec(
      "INSERT INTO tokens (id, label, queues, rights, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
      record.id,
      record.label,
      JSON.stringify(record.queues),
      JSON.stringify(record.rights),
      record.created_at,
      record.expires_at,
    );
    return record;
  }

  /** Every token not yet expired, newest first (the secret itself is never stored). */
  tokens(): TokenRecord[] {
    return this.ctx.storage.sql
      .exec<Record<string, string | null>>(
        "SELECT * FROM tokens WHERE expires_at IS NULL OR expires_at > ? ORDER BY created_at DESC",
        iso(Date.now()),
      )
      .toArray()
      .map((row) => ({ ...row, queues: JSON.parse(row.queues!), rights: JSON.parse(row.rights!) }) as TokenRecord);
  }

  /** Revokes a token (again, harmlessly); false when no such token was issued, or it has expired. */
  revokeToken(id: string): boolean {
    const rows = this.ctx.storage.sql.exec(
      "UPDATE tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ? RETURNING id",
      iso(Date.now()),
      id,
    );
    return rows.toArray().length > 0;
  }

  /** Ids of revoked tokens that would otherwise still be valid; expired ones are forgotten (expiry refuses them). */
  revokedTokens(): string[] {
    const now = iso(Date.now());
    this.ctx.storage.sql.exec("DELETE FROM tokens WHERE expires_at IS NOT NULL AND expires_at <= ?", now);
    return this.ctx.storage.sql
      .exec<{ id: string }>("SELECT id FROM tokens WHERE revoked_at IS NOT NULL")
      .toArray()
      .map((row) => row.id);
  }
}
