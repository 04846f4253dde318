// Receipts name one delivery of one item of one queue: `<queue tag>.<item id>.<delivery number>.<random token>`.
// A shard's tag ends in `-<shard>`, so a receipt names the object that holds its item without a lookup.

export interface Receipt {
  tag: string;
  id: number;
  delivery: number;
  token: string;
}

const SHAPE = /^([0-9a-f]{8}(?:-(\d{1,2}))?)\.(\d{1,16})\.(\d{1,9})\.([0-9a-f]{16})$/;

/** Random lowercase hex from Web Crypto, which Workers and Node both provide. */
export function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
}

export const formatReceipt = (r: Receipt): string => `${r.tag}.${r.id}.${r.delivery}.${r.token}`;

export function parseReceipt(text: string): Receipt | undefined {
  const m = SHAPE.exec(text);
  return m ? { tag: m[1]!, id: Number(m[3]), delivery: Number(m[4]), token: m[5]! } : undefined;
}

/** The shard a receipt's item is held by (0 for a queue of one object, or a receipt that is no receipt at all). */
export const shardOf = (receipt: string): number => Number(SHAPE.exec(receipt)?.[2] ?? 0);

/** Shards number their items apart (shard i's ids start at i·2^47 + 1), so an id names one item of the queue. */
export const SHARD_ID_SPAN = 2 ** 47;
