// What a sharded queue gives up (docs/shards.md): settings no shard can keep alone are refused, with the reason.
import type { Refusal } from "./put-items.ts";

/** Why a sharded queue cannot take these settings (undefined: it can). */
export function refuseOnShards(config: { maxsize?: number; push?: unknown; lease_seconds?: number | null }) {
  const refuse = (message: string): Refusal => ({ ok: false, code: "invalid_request", message });
  if (config.maxsize !== undefined && config.maxsize > 0) {
    return refuse("maxsize: a sharded queue is unbounded (0): no shard knows the others' sizes when it takes a put");
  }
  if (config.push) return refuse("push: a sharded queue does not push (its consumers get, or use a socket)");
  if (config.lease_seconds === null) {
    return refuse("lease_seconds: a sharded queue needs leases, so that task_done's receipt names the item's shard");
  }
  return undefined;
}
