// What push delivery and join callbacks keep in the queue's SQLite: secrets, callbacks, failure counts.
//
// One small key-value table, created only when a queue first uses webhooks, so a queue that never does writes
// nothing more than before (test/worker/cost.test.ts pins that), and waking reads one row of sqlite_master.
import { LIMITS } from "../../contract/limits.ts";
import { newSecret } from "../../contract/webhook-signature.ts";
import type { Sql } from "../../core/store.ts";

interface Secrets {
  current: string;
  /** The secret before the last rotation, still signing until `previous_expires_at` (ms). */
  previous: string | null;
  previous_expires_at: number | null;
}

/** Push failures, durable so that the stats tell them across restarts. */
export interface PushRecord {
  failures: number;
  last_error: string | null;
  last_error_at: number | null;
}

/** A registered join callback and the state of its current drain's delivery. */
export interface CallbackRecord {
  id: string;
  url: string;
  repeat: boolean;
  min_backoff_seconds: number;
  /** Fires when this group drains (absent: the whole queue). */
  group?: string;
  /** Waiting for the next drain (a repeating callback re-arms when work arrives). */
  armed: boolean;
  /** The message being delivered for the last drain, if any: retried until 2xx or the attempts run out. */
  pending: { msg_id: string; body: string; attempts: number; next_at: number } | null;
  state: "waiting" | "sending" | "delivered" | "failed";
  delivered: number;
  failed: number;
  last_error: string | null;
}

const TABLE = "CREATE TABLE IF NOT EXISTS webhooks (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID";

export class WebhookState {
  private rows: Map<string, string> | undefined;

  constructor(private readonly sql: Sql) {}

  private all(): Map<string, string> {
    if (!this.rows) {
      const exists = this.sql.exec("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'webhooks'");
      const rows = exists.length
        ? this.sql.exec<{ key: string; value: string }>("SELECT key, value FROM webhooks")
        : [];
      this.rows = new Map(rows.map((r) => [r.key, r.value]));
    }
    return this.rows;
  }

  private read<T>(key: string): T | undefined {
    const text = this.all().get(key);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }

  private write(key: string, value: unknown): void {
    const text = JSON.stringify(value);
    if (this.all().get(key) === text) return;
    if (this.all().size === 0) this.sql.exec(TABLE);
    this.sql.exec("INSERT OR REPLACE INTO webhooks (key, value) VALUES (?, ?)", key, text);
    this.all().set(key, text);
  }

  private remove(key: string): void {
    if (!this.all().delete(key)) return;
    this.sql.exec("DELETE FROM webhooks WHERE key = ?", key);
  }

  /** Forgets the in-memory copy (the queue was deleted with all its storage). */
  reset(): void {
    this.rows = new Map();
  }

  /** The secrets that sign now, the current one first. */
  secrets(now: number): string[] {
    const s = this.read<Secrets>("secrets");
    if (!s) return [];
    return s.previous && (s.previous_expires_at ?? 0) > now ? [s.current, s.previous] : [s.current];
  }

  /** Makes the queue's secret if it has none, answering it then (it is shown this once), else undefined. */
  ensureSecret(): string | undefined {
    if (this.read<Secrets>("secrets")) return undefined;
    const current = newSecret();
    this.write("secrets", { current, previous: null, previous_expires_at: null } satisfies Secrets);
    return current;
  }

  /** A new current secret; the old one keeps signing beside it for the overlap, so receivers can switch. */
  rotate(now: number): { webhook_secret: string; previous_expires_at: number | null } {
    const old = this.read<Secrets>("secrets");
    const current = newSecret();
    const previous_expires_at = old ? now + LIMITS.webhookSecretOverlapHours * 3_600_000 : null;
    this.write("secrets", { current, previous: old?.current ?? null, previous_expires_at } satisfies Secrets);
    return { webhook_secret: current, previous_expires_at };
  }

  push(): PushRecord {
    return this.read<PushRecord>("push") ?? { failures: 0, last_error: null, last_error_at: null };
  }

  savePush(record: PushRecord): void {
    this.write("push", record);
  }

  callbacks(): CallbackRecord[] {
    return [...this.all().keys()]
      .filter((k) => k.startsWith("callback:"))
      .map((k) => this.read<CallbackRecord>(k)!)
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  saveCallback(record: CallbackRecord): void {
    this.write(`callback:${record.id}`, record);
  }

  removeCallback(id: string): boolean {
    const had = this.all().has(`callback:${id}`);
    this.remove(`callback:${id}`);
    return had;
  }
}
