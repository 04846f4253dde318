// The Worker's per-isolate cache keeps settled values only: each request that finds nothing fresh asks for itself,
// and a stale value is refreshed by one request while the others go on with it (src/front/settled-cache.ts).
import { describe, expect, it } from "vitest";
import { SettledCache } from "../../src/front/settled-cache.ts";

function gate<T>() {
  let open!: (v: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

describe("SettledCache", () => {
  it("shares no ask in flight: calls that find nothing kept each ask, and the first answer is kept", async () => {
    let now = 0;
    const cache = new SettledCache<string, number>(10_000, 2_000, 100, () => now);
    const asks: ReturnType<typeof gate<number>>[] = [];
    const ask = () => {
      const g = gate<number>();
      asks.push(g);
      return g.promise;
    };
    const first = cache.get("q", ask);
    const second = cache.get("q", ask);
    expect(asks).toHaveLength(2);
    asks[0]!.open(4);
    asks[1]!.open(4);
    expect([await first, await second]).toEqual([4, 4]);
    now = 9_999;
    expect(await cache.get("q", ask)).toBe(4);
    expect(asks).toHaveLength(2);
  });

  it("refreshes a stale value in one call, the others keep the old one for the grace period", async () => {
    let now = 0;
    const cache = new SettledCache<string, number>(10_000, 2_000, 100, () => now);
    let asked = 0;
    await cache.get("q", async () => ++asked);
    now = 10_000;
    const refresh = gate<number>();
    const refreshing = cache.get("q", () => {
      asked++;
      return refresh.promise;
    });
    const others = await Promise.all(Array.from({ length: 50 }, () => cache.get("q", async () => ++asked)));
    expect(others).toEqual(Array(50).fill(1));
    expect(asked).toBe(2);
    // A refresh that never ends (its request was cancelled) is taken over once the grace has passed.
    now = 12_000;
    expect(await cache.get("q", async () => 7)).toBe(7);
    refresh.open(9);
    expect(await refreshing).toBe(9);
  });

  it("without grace, every call asks while the value is stale; a failed ask keeps nothing", async () => {
    let now = 0;
    const cache = new SettledCache<string, Set<string>>(30_000, 0, 100, () => now);
    await cache.get("r", async () => new Set(["a"]));
    now = 30_000;
    let asked = 0;
    const ask = async () => {
      asked++;
      return new Set(["a", "b"]);
    };
    await Promise.all(Array.from({ length: 3 }, () => cache.get("r", ask)));
    expect(asked).toBe(3);
    await expect(cache.get("s", () => Promise.reject(new Error("catalog unavailable")))).rejects.toThrow();
    expect(cache.peek("s")).toBeUndefined();
  });
});
