// The one-method SQL port that both a Durable Object's `ctx.storage.sql` and node:sqlite satisfy.

export type SqlValue = string | number | null;

/** Runs one statement and returns its rows. The Durable Object adapts `ctx.storage.sql`; tests adapt `node:sqlite`. */
export interface Sql {
  exec<T extends Record<string, SqlValue>>(query: string, ...params: SqlValue[]): T[];
}
