// Verifying the service's pushes and join callbacks (Standard Webhooks) in a receiver: a Worker, Node, Deno, Bun.
//
// The service signs `${webhook-id}.${webhook-timestamp}.${body}` with HMAC-SHA256 under the queue's `whsec_…`
// secret; the `standardwebhooks` package verifies the same headers, so either works.

export class WebhookVerificationError extends Error {
  override name = "WebhookVerificationError";
}

/** A push: one item, delivered as a consumer's get would be. Answer 2xx to complete it (its task_done). */
export interface PushMessage<T = unknown> {
  type: "queue.item";
  timestamp: string;
  data: {
    queue: string;
    id: number;
    item: T;
    priority: unknown;
    deliveries: number;
    lease_expires_at: number | null;
    receipt: string | null;
  };
}

/** A join callback: the queue drained (unfinished_tasks reached 0). */
export interface DrainedMessage {
  type: "queue.drained";
  timestamp: string;
  data: { queue: string; callback_id: string; drained: true; unfinished_tasks: 0; dead_lettered: number };
}

export type WebhookMessage<T = unknown> = PushMessage<T> | DrainedMessage;

export interface VerifyOptions {
  /** How far the timestamp may be from now, in seconds (default 300, as Standard Webhooks recommends). */
  toleranceSeconds?: number;
  /** Now, in ms (for tests). */
  now?: number;
}

type HeaderSource = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeaderSource, name: string): string {
  const value = headers instanceof Headers ? headers.get(name) : (headers[name] ?? headers[name.toLowerCase()]);
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) throw new WebhookVerificationError(`missing ${name} header`);
  return text;
}

const decode = (b64: string): Uint8Array<ArrayBuffer> => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

/** Compares in time independent of where the bytes differ. */
function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * Checks a request's signature and timestamp and answers its parsed body; throws WebhookVerificationError.
 * `secret` may be a list, for a receiver switching secrets during a rotation. `body` must be the raw text.
 */
export async function verifyWebhook<T = unknown>(
  secret: string | string[],
  headers: HeaderSource,
  body: string,
  options: VerifyOptions = {},
): Promise<WebhookMessage<T>> {
  const id = header(headers, "webhook-id");
  const timestamp = header(headers, "webhook-timestamp");
  const signatures = header(headers, "webhook-signature");
  const seconds = Number(timestamp);
  if (!/^\d+$/.test(timestamp)) throw new WebhookVerificationError("webhook-timestamp is not a number of seconds");
  const now = (options.now ?? Date.now()) / 1000;
  const tolerance = options.toleranceSeconds ?? 300;
  if (Math.abs(now - seconds) > tolerance) {
    throw new WebhookVerificationError(`webhook-timestamp is more than ${tolerance} s from now`);
  }
  const signed = new TextEncoder().encode(`${id}.${timestamp}.${body}`);
  const given = signatures
    .split(" ")
    .filter((s) => s.startsWith("v1,"))
    .map((s) => {
      try {
        return decode(s.slice(3));
      } catch {
        return new Uint8Array();
      }
    });
  for (const s of Array.isArray(secret) ? secret : [secret]) {
    const raw = decode(s.startsWith("whsec_") ? s.slice(6) : s);
    const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const expected = new Uint8Array(await crypto.subtle.sign("HMAC", key, signed));
    if (given.some((g) => equal(g, expected))) return JSON.parse(body) as WebhookMessage<T>;
  }
  throw new WebhookVerificationError("no signature matches this secret");
}
