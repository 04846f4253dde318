// One HTTP call to the service: bearer token, JSON in and out, problem documents turned into error classes, and
// transient failures retried with exponential backoff and full jitter.
import { type Problem, toError } from "./errors.ts";

export interface ClientOptions {
  /** The admin secret or a scoped token; not needed where the deployment sets AUTH = "none". */
  token?: string;
  /** A fetch to use instead of the global one (a service binding's `fetch`, a test double). */
  fetch?: typeof fetch;
  /** A WebSocket constructor where the runtime has none (Node 20: `ws`, or run `node --experimental-websocket`). */
  WebSocket?: typeof WebSocket;
  /** Retries of a transient failure (network error, 5xx) before it is thrown; default 4. */
  retries?: number;
}

export interface Call {
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** False for a call that must not run twice: one whose first attempt may have taken effect. */
  retry?: boolean;
}

const BASE_DELAY_MS = 100;
const MAX_DELAY_MS = 5_000;

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

export class Transport {
  readonly baseUrl: string;
  readonly options: ClientOptions;
  private readonly fetch: typeof fetch;

  constructor(baseUrl: string, options: ClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.options = options;
    this.fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** Sends one call; answers its JSON (undefined for 204), or throws the problem as its error class. */
  async request<T>(method: string, path: string, call: Call = {}): Promise<T> {
    const { body, signal, retry = true } = call;
    const headers: Record<string, string> = { accept: "application/json", ...call.headers };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    const init = { method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body) };
    const retries = retry ? (this.options.retries ?? 4) : 0;
    for (let attempt = 0; ; attempt++) {
      let problem: Problem;
      try {
        const res = await this.fetch(`${this.baseUrl}${path}`, init);
        if (res.ok) return (res.status === 204 ? undefined : await res.json()) as T;
        problem = await readProblem(res);
        // A 5xx is transient unless the deployment is not configured (which no retry can change).
        if (res.status < 500 || problem.code === "not_configured" || attempt >= retries) throw toError(problem);
      } catch (e) {
        if (signal?.aborted) throw signal.reason;
        // fetch rejects with a TypeError when the network fails; anything else is an answer or a bug.
        if (!(e instanceof TypeError) || attempt >= retries) throw e;
      }
      await sleep(backoff(attempt), signal);
    }
  }
}

async function readProblem(res: Response): Promise<Problem> {
  const text = await res.text();
  try {
    const p = JSON.parse(text) as Problem;
    if (typeof p.code === "string") return p;
  } catch {
    // not a problem document: a proxy or the platform answered
  }
  const code = res.status >= 500 ? "unavailable" : "invalid_request";
  return { status: res.status, code, detail: `HTTP ${res.status} ${res.statusText}: ${text.slice(0, 200)}` };
}
