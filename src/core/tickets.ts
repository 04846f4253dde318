// WebSocket tickets: each opens exactly one socket, so a spent one is kept (one row) until it expires.
import type { Sql } from "./sql.ts";

export class Tickets {
  constructor(private readonly sql: Sql) {}

  /** Spends a single-use ticket; false when it was already spent or has expired. */
  spend(id: string, expiresAt: number, now: number): boolean {
    if (expiresAt <= now) return false;
    // Tickets are spent seldom (one a socket): forgetting the expired ones here costs no extra step.
    this.sql.exec("DELETE FROM tickets WHERE expires_at <= ?", now);
    const spent = "INSERT INTO tickets (id, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING id";
    return this.sql.exec(spent, id, expiresAt).length > 0;
  }
}
