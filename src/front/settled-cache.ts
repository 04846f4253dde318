// Values a Worker isolate keeps between requests: only settled ones, never a promise.
//
// workerd ties every I/O object (an RPC call's promise, a stub, a stream) to the request whose handler made it; a
// second request that awaits the same in-flight promise is answered 500 "Cannot perform I/O on behalf of a
// different request" when timing lines up. So an isolate shares answers, not asks: each request that needs a value
// nobody holds asks for it itself, and what it gets is kept for the others. While a kept value is being refreshed
// by one request, the others go on with it for at most `graceMs`: a refresh that never ends (its request was
// cancelled) is taken over by the next caller.

export class SettledCache<K, V> {
  private readonly entries = new Map<K, { value: V; until: number; refreshing: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly graceMs: number,
    private readonly maxEntries = 10_000,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The kept value while it is fresh (or being refreshed by another request), else `ask`'s, kept from now. */
  async get(key: K, ask: () => Promise<V>): Promise<V> {
    const now = this.clock();
    const kept = this.entries.get(key);
    if (kept && (now < kept.until || now < kept.refreshing)) return kept.value;
    if (kept) kept.refreshing = now + this.graceMs;
    const value = await ask();
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, { value, until: this.clock() + this.ttlMs, refreshing: 0 });
    return value;
  }

  /** A kept value, fresh or not, without asking. */
  peek(key: K): V | undefined {
    return this.entries.get(key)?.value;
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }
}
