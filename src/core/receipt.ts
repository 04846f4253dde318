// Receipts name one delivery of one item of one queue: `<queue tag>.<item id>.<delivery number>.<random token>`.

export interface Receipt {
  tag: string;
  id: number;
  delivery: number;
  token: string;
}

const SHAPE = /^([0-9a-f]{8})\.(\d{1,15})\.(\d{1,9})\.([0-9a-f]{16})$/;

/** Random lowercase hex from Web Crypto, which Workers and Node both provide. */
export function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
}

export const formatReceipt = (r: Receipt): string => `${r.tag}.${r.id}.${r.delivery}.${r.token}`;

export function parseReceipt(text: string): Receipt | undefined {
  const m = SHAPE.exec(text);
  return m ? { tag: m[1]!, id: Number(m[2]), delivery: Number(m[3]), token: m[4]! } : undefined;
}
