// Idempotency keys, kept in the segment of their put's first item: a keyed put writes no row of its own, and a key
// leaves with its segment, or for free with the next write of its row once expired. They are read from the
// segments on first use after waking (not on waking), then kept in memory.
import type { Keys } from "./segment.ts";
import type { Segments } from "./segments.ts";
import type { Sql } from "./sql.ts";

export class IdempotencyKeys {
  /** Key → [the put's ids as JSON, expiry]; undefined until first used. */
  private map: Map<string, [string, number]> | undefined;

  constructor(
    private readonly sql: Sql,
    private readonly segments: Segments,
  ) {}

  /** The ids an earlier put with this key answered, while the key is remembered. */
  idempotent(key: string, now: number): string | undefined {
    const found = this.keys().get(key);
    return found && found[1] > now ? found[0] : undefined;
  }

  /** Remembers a put's key in the segment of its first item (dropping that row's expired keys). */
  remember(key: string, firstId: number, result: string, expiresAt: number, now: number): void {
    const { segment } = this.segments.find(firstId)!;
    this.segments.change(segment, () => {
      const kept: Keys = {};
      for (const [k, v] of Object.entries(segment.keys)) if (v[1] > now) kept[k] = v;
      kept[key] = [result, expiresAt];
      segment.keys = kept;
    });
    this.keys().set(key, [result, expiresAt]);
  }

  forget(now: number): void {
    for (const [k, v] of this.map ?? []) if (v[1] <= now) this.map!.delete(k);
  }

  private keys(): Map<string, [string, number]> {
    if (!this.map) {
      const map = new Map<string, [string, number]>();
      for (const row of this.sql.exec<{ id: number; keys: string }>(
        "SELECT id, keys FROM segments WHERE keys IS NOT NULL",
      )) {
        const keys = this.segments.cache.get(row.id)?.keys ?? (JSON.parse(row.keys) as Keys);
        for (const [k, v] of Object.entries(keys)) if ((map.get(k)?.[1] ?? -1) < v[1]) map.set(k, v);
      }
      this.map = map;
    }
    return this.map;
  }
}
