// One HTTP call to the service: bearer token, JSON in and out, problem documents turned into error classes, and
// transient failures (network errors, 408, 429, 5xx) retried with capped exponential backoff and full jitter.
import { type Problem, QueueError, toError } from "./errors.ts";

export interface ClientOptions {
  /** The admin secret or a scoped token; not needed where the deployment sets AUTH = "none". */
  token?: string;
  /** A fetch to use instead of the global one (a service binding's `fetch`, a test double). */
  fetch?: typeof fetch;
  /** A WebSocket constructor where the runtime has none (Node 20: `ws`, or run `node --experimental-websocket`). */
  WebSocket?: typeof WebSocket;
  /**
   * Retries of a transient failure (network error, 408, 429, 5xx) before it is thrown: default 4 (5 attempts),
   * 0 for none. A waiting call counts the failures in a row: each answer of the service starts the count again.
   */
  retries?: number;
}

export interface Call {
  body?: unknown;
  /** Instead of `body`: made again for each attempt (a wait sends what is left of its timeout). */
  bodyFor?: () => unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /**
   * `any` (the default) retries every transient failure: for calls whose repeat changes nothing more (a put's key,
   * a receipt). `unsent` retries only failures that show the service did nothing (no connection was made, 429):
   * for a call a repeat of which would be a second call (Python's anonymous task_done, a redrive).
   */
  retry?: "any" | "unsent";
  /** After a retry of an attempt that may have taken effect: the refusal that means it did (a delete's 404). */
  landed?: (e: QueueError) => boolean;
}

export const DEFAULT_RETRIES = 4;
const BASE_DELAY_MS = 100;
/** The longest wait between attempts, a `Retry-After` included. */
export const MAX_DELAY_MS = 5_000;

/** Resolves after `ms`, or rejects with the signal's reason (an AbortError) as soon as it is aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): spreads retries of many clients. */
export const backoff = (attempt: number): number =>
  Math.random() * Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt);

/** One attempt that failed: why, whether the service may have acted on it, and how long it asked us to wait. */
interface Failure {
  error: unknown;
  transient: boolean;
  unsent: boolean;
  retryAfterMs?: number;
}

// Errors (undici's `cause.code`) raised before a request left: the service cannot have acted on it.
const UNSENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH"]);

export class Transport {
  readonly baseUrl: string;
  readonly options: ClientOptions;
  readonly retries: number;
  private readonly fetch: typeof fetch;

  constructor(baseUrl: string, options: ClientOptions = {}) {
    const retries = options.retries ?? DEFAULT_RETRIES;
    if (!Number.isInteger(retries) || retries < 0)
      throw new TypeError(`retries must be an integer ≥ 0, not ${retries}`);
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.options = options;
    this.retries = retries;
    this.fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** Sends one call; answers its JSON (undefined for 204), or throws the problem as its error class. */
  async request<T>(method: string, path: string, call: Call = {}): Promise<T> {
    const { signal, retry = "any" } = call;
    let mayHaveLanded = false;
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.attempt<T>(method, path, call);
      if (!("error" in outcome)) return outcome.value;
      const { error, transient, unsent, retryAfterMs = 0 } = outcome;
      if (mayHaveLanded && error instanceof QueueError && call.landed?.(error)) return undefined as T;
      if (!transient || (retry === "unsent" && !unsent) || attempt >= this.retries) throw error;
      mayHaveLanded ||= !unsent;
      await sleep(Math.min(MAX_DELAY_MS, Math.max(retryAfterMs, backoff(attempt))), signal);
    }
  }

  private async attempt<T>(method: string, path: string, call: Call): Promise<{ value: T } | Failure> {
    const headers: Record<string, string> = { accept: "application/json", ...call.headers };
    const body = call.bodyFor ? call.bodyFor() : call.body;
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    const init = { method, headers, signal: call.signal, body: body === undefined ? undefined : JSON.stringify(body) };
    try {
      const res = await this.fetch(`${this.baseUrl}${path}`, init);
      if (res.ok) return { value: (res.status === 204 ? undefined : await res.json()) as T };
      const problem = await readProblem(res);
      // 408, 429 and 5xx are transient, unless the deployment is not configured (which no retry can change). A
      // 429 is a documented cap that did nothing; the service says when to come back.
      const transient =
        (res.status >= 500 || res.status === 408 || res.status === 429) && problem.code !== "not_configured";
      return { error: toError(problem), transient, unsent: res.status === 429, retryAfterMs: retryAfter(res) };
    } catch (e) {
      if (call.signal?.aborted) throw call.signal.reason;
      // fetch rejects with a TypeError when the network fails (also while reading the body); in Workers, a binding's
      // fetch may reject with an Error marked `retryable` (not when `overloaded`: retrying adds to the load).
      const { retryable, overloaded } = (e ?? {}) as { retryable?: unknown; overloaded?: unknown };
      const transient = e instanceof TypeError || (retryable === true && overloaded !== true);
      return { error: e, transient, unsent: UNSENT.has(causeCode(e) ?? "") };
    }
  }
}

function causeCode(e: unknown): string | undefined {
  const cause = (e as { cause?: { code?: unknown; errors?: { code?: unknown }[] } }).cause;
  const code = cause?.code ?? cause?.errors?.[0]?.code;
  return typeof code === "string" ? code : undefined;
}

/** `Retry-After` in ms (seconds or an HTTP date), or undefined. */
function retryAfter(res: Response): number | undefined {
  const value = res.headers.get("retry-after");
  if (value === null) return undefined;
  const ms = /^\d+$/.test(value.trim()) ? Number(value) * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) ? Math.max(0, ms) : undefined;
}

async function readProblem(res: Response): Promise<Problem> {
  const text = await res.text();
  try {
    const p = JSON.parse(text) as Problem;
    if (typeof p.code === "string") return p;
  } catch {
    // not a problem document: a proxy or the platform answered
  }
  const code =
    res.status === 429 ? "limit_exceeded" : res.status >= 500 || res.status === 408 ? "unavailable" : "invalid_request";
  return { status: res.status, code, detail: `HTTP ${res.status} ${res.statusText}: ${text.slice(0, 200)}` };
}
