// One signed POST to a receiver: a 2xx is success; anything else, a redirect, a timeout or a network error fails.
import { refusePushUrl } from "../../contract/push-origins.ts";
import { signedHeaders } from "../../contract/webhook-signature.ts";

/** How a request leaves the object: global fetch in production, a receiver of their own in the worker tests. */
export type Send = (url: string, init: RequestInit) => Promise<Response>;

/**
 * Global fetch, to URLs PUSH_ORIGINS allows now: one allowed when it was configured but not since is not sent to.
 * (Worker tests replace the whole Send, with URLs no deployment lists: see test/worker/push.test.ts.)
 */
export const fetchAllowed =
  (env: Env): Send =>
  (url, init) => {
    const refused = refusePushUrl(env.PUSH_ORIGINS, url);
    return refused ? Promise.reject(new Error(refused)) : fetch(url, init);
  };

export interface Message {
  url: string;
  /** The Standard Webhooks message id: the same on every retry of one message, so receivers can de-duplicate. */
  id: string;
  body: string;
  timeoutMs: number;
  secrets: string[];
}

export type Sent = { ok: true } | { ok: false; error: string };

export async function sendSigned(send: Send, m: Message, now: number): Promise<Sent> {
  const headers = {
    "content-type": "application/json",
    "user-agent": "joinable-queues",
    ...(await signedHeaders(m.secrets, m.id, m.body, now)),
  };
  // A timer, not AbortSignal.timeout alone: the verdict must come on time even if a sender ignores its signal.
  const abort = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<Sent>((resolve) => {
    timer = setTimeout(() => {
      abort.abort();
      resolve({ ok: false, error: `timed out after ${m.timeoutMs / 1000} s` });
    }, m.timeoutMs);
  });
  // Redirects are not followed: a receiver that moved must be reconfigured, and a redirect could leave PUSH_ORIGINS.
  const answered = send(m.url, { method: "POST", headers, body: m.body, redirect: "manual", signal: abort.signal })
    .then(async (res): Promise<Sent> => {
      await res.body?.cancel().catch(() => undefined); // the answer's body is never needed
      if (res.status >= 200 && res.status < 300) return { ok: true };
      return { ok: false, error: `answered ${res.status}` };
    })
    .catch((e: unknown): Sent => ({ ok: false, error: e instanceof Error ? e.message : String(e) }));
  try {
    return await Promise.race([answered, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
