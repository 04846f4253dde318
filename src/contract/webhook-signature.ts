// Standard Webhooks signing (https://www.standardwebhooks.com): the headers every push and join callback carries.
//
// `webhook-signature` is `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one per valid secret separated by
// spaces, so a receiver holding either the old or the new secret verifies during a rotation's overlap.

const PREFIX = "whsec_";

const base64 = (bytes: Uint8Array): string => btoa(String.fromCharCode(...bytes));
const unbase64 = (text: string): Uint8Array<ArrayBuffer> => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

/** A new secret in the Standard Webhooks format: `whsec_` and 24 random bytes in base64. */
export function newSecret(): string {
  return PREFIX + base64(crypto.getRandomValues(new Uint8Array(24)));
}

// Importing a key costs a little each time: a queue signs every push with the same one or two secrets. The keys
// are kept once imported, never as promises: objects of one isolate must not await each other's work in flight.
const keys = new Map<string, CryptoKey>();
async function key(secret: string): Promise<CryptoKey> {
  const kept = keys.get(secret);
  if (kept) return kept;
  const raw = unbase64(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret);
  const imported = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  if (keys.size > 1000) keys.clear();
  keys.set(secret, imported);
  return imported;
}

/** `v1,<signature>` for one secret. */
export async function signature(secret: string, id: string, timestamp: number, body: string): Promise<string> {
  const mac = await crypto.subtle.sign(
    "HMAC",
    await key(secret),
    new TextEncoder().encode(`${id}.${timestamp}.${body}`),
  );
  return `v1,${base64(new Uint8Array(mac))}`;
}

/** The three headers for a message, signed with every secret given (the current one first). */
export async function signedHeaders(
  secrets: string[],
  id: string,
  body: string,
  nowMs: number,
): Promise<Record<string, string>> {
  const timestamp = Math.floor(nowMs / 1000);
  const signatures = await Promise.all(secrets.map((s) => signature(s, id, timestamp, body)));
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": signatures.join(" "),
  };
}
