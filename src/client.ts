// A TypeScript client with Python's names and exceptions: it turns `poll_again` into waiting without limit.
//
// Works wherever `fetch` does (Node 18+, Workers, browsers). Every put carries an idempotency key, so the poll
// loop and retries of a restarted object never add an item twice.
import type { Delivery as CoreDelivery, JoinResult, QueueConfig, Stats } from "./core/types.ts";

/** A delivery as the API answers it: the item parsed from its JSON text. */
export type Delivery = Omit<CoreDelivery, "json"> & { item: unknown };

export class QueueError extends Error {
  constructor(readonly code: string, readonly status: number, detail: string) {
    super(detail);
    this.name = "QueueError";
  }
}
/** Python's queue.Empty, queue.Full and queue.ShutDown. */
export class Empty extends QueueError {}
export class Full extends QueueError {}
export class ShutDown extends QueueError {}
/** 401: no token, or one that is malformed, expired or revoked. */
export class Unauthorized extends QueueError {}
/** 403: a valid token without the right, or outside its scope. */
export class Forbidden extends QueueError {}

const ERRORS: Record<string, typeof QueueError> = { empty: Empty, full: Full, shutdown: ShutDown, unauthorized: Unauthorized, forbidden: Forbidden };

export interface ClientOptions {
  token?: string;
  fetch?: typeof fetch;
  /** Retries of a call answered 503 `unavailable` (the queue's object restarted). */
  retries?: number;
}

interface WaitOptions {
  block?: boolean;
  /** Seconds; undefined waits without limit, as Python's None. */
  timeout?: number;
}

export class QueueClient {
  private readonly fetch: typeof fetch;

  constructor(private readonly baseUrl: string, private readonly options: ClientOptions = {}) {
    this.fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  queue(name: string): RemoteQueue {
    return new RemoteQueue(this, name);
  }

  async create(name: string, config: Partial<QueueConfig> = {}): Promise<RemoteQueue> {
    await this.request("PUT", `/v1/queues/${encodeURIComponent(name)}`, config);
    return this.queue(name);
  }

  async delete(name: string): Promise<void> {
    await this.request("DELETE", `/v1/queues/${encodeURIComponent(name)}`);
  }

  /** Sends one request; answers its JSON, or throws the problem document as an exception. */
  async request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const res = await this.fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (res.ok) return (res.status === 204 ? undefined : await res.json()) as T;
      const problem = (await res.json().catch(() => ({}))) as { code?: string; detail?: string };
      const code = problem.code ?? "internal";
      if (code === "unavailable" && attempt < (this.options.retries ?? 3)) {
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
        continue;
      }
      const Kind = ERRORS[code] ?? QueueError;
      throw new Kind(code, res.status, problem.detail ?? res.statusText);
    }
  }
}

export class RemoteQueue {
  constructor(private readonly client: QueueClient, readonly name: string) {}

  private get path(): string {
    return `/v1/queues/${encodeURIComponent(this.name)}`;
  }

  /** Re-polls while the server answers `poll_again`, with what is left of the caller's timeout. */
  private async poll<T>(verb: string, body: Record<string, unknown>, timeout: number | undefined, headers?: Record<string, string>): Promise<T> {
    const deadline = timeout === undefined ? Infinity : Date.now() + timeout * 1000;
    for (;;) {
      const left = deadline === Infinity ? null : Math.max(0, (deadline - Date.now()) / 1000);
      try {
        return await this.client.request<T>("POST", `${this.path}/${verb}`, { ...body, timeout: left }, headers);
      } catch (e) {
        if (!(e instanceof QueueError && e.code === "poll_again")) throw e;
      }
    }
  }

  async put(item: unknown, options: WaitOptions & { priority?: number; delay?: number; idempotencyKey?: string } = {}): Promise<number> {
    const { block = true, timeout, priority, delay, idempotencyKey = crypto.randomUUID() } = options;
    const body = { item, priority, delay, block };
    const result = await this.poll<{ id: number }>("put", body, block ? timeout : 0, { "idempotency-key": idempotencyKey });
    return result.id;
  }

  putNowait(item: unknown, options: { priority?: number } = {}): Promise<number> {
    return this.put(item, { ...options, block: false });
  }

  get(options: WaitOptions & { leaseSeconds?: number } = {}): Promise<Delivery> {
    const { block = true, timeout, leaseSeconds } = options;
    return this.poll<Delivery>("get", { block, lease_seconds: leaseSeconds }, block ? timeout : 0);
  }

  getNowait(): Promise<Delivery> {
    return this.get({ block: false });
  }

  /** With the delivery's receipt: exactly that delivery, once. Without: CPython's anonymous task_done. */
  taskDone(delivery?: Pick<Delivery, "receipt">): Promise<{ unfinished_tasks: number }> {
    return this.client.request("POST", `${this.path}/task_done`, { receipt: delivery?.receipt ?? undefined });
  }

  join(timeout?: number): Promise<JoinResult> {
    return this.poll<JoinResult>("join", {}, timeout);
  }

  shutdown(immediate = false): Promise<Stats> {
    return this.client.request("POST", `${this.path}/shutdown`, { immediate });
  }

  stats(): Promise<Stats> {
    return this.client.request("GET", this.path);
  }

  async qsize(): Promise<number> {
    return (await this.stats()).qsize;
  }

  async empty(): Promise<boolean> {
    return (await this.stats()).empty;
  }

  async full(): Promise<boolean> {
    return (await this.stats()).full;
  }
}
