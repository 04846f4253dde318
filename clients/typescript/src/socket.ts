// Producing and consuming over one WebSocket: each deployed message costs a twentieth of a request and never
// runs the Worker. Requests are matched to answers by id; a dropped socket is reopened (with backoff) and what was
// in flight is sent again (puts carry an idempotency key, task_done is idempotent by receipt), and consumers
// resume. The service gives back what a closed socket's consumers held, so a delivery held across a drop comes
// again: its old receipt then answers StaleReceipt.
import { type Problem, QueueError, toError, Unavailable } from "./errors.ts";
import type { PutOptions } from "./options.ts";
import { opened, type Subscribable, socketUrl } from "./subscribe.ts";
import { backoff, sleep } from "./transport.ts";
import { type Job, type TaskDoneResult, toJob } from "./types.ts";

export interface ConsumeOptions {
  /** Deliveries held unfinished at once (1-100): the service sends the next when one is done or released. */
  prefetch?: number;
  /** This consumer's lease, overriding the queue's. */
  leaseSeconds?: number;
  /** Aborting cancels the consumer and ends the iteration. */
  signal?: AbortSignal;
}

type Answer = { type: string; id: string | number } & Record<string, unknown>;
type Pending = { frame: Record<string, unknown>; resolve: (a: Answer) => void; reject: (e: unknown) => void };
type Consumer = { hello: Record<string, unknown>; push: (job: Job | QueueError) => void };

export class QueueSocket<T = unknown> {
  private ws: WebSocket | undefined;
  private opening: Promise<WebSocket> | undefined;
  private closed = false;
  private seq = 0;
  private readonly pending = new Map<string, Pending>();
  private readonly consumers = new Map<string, Consumer>();

  private readonly q: Subscribable;

  constructor(q: Subscribable) {
    this.q = q;
  }

  /** Puts one item; answers its id once it is stored (a full queue holds the answer, as HTTP does). */
  async put(item: T, options: Pick<PutOptions, "priority" | "delay" | "idempotencyKey" | "group" | "shardKey"> = {}) {
    const { idempotencyKey = crypto.randomUUID(), shardKey: shard_key, ...rest } = options;
    const frame = { item, ...rest, shard_key, idempotency_key: idempotencyKey };
    return ((await this.waiting("put", frame)).ids as number[])[0]!;
  }

  /** Puts up to 100 items, all or nothing, and answers their ids. */
  async putMany(
    items: T[],
    options: Pick<PutOptions, "delay" | "idempotencyKey" | "group" | "shardKey"> = {},
  ): Promise<number[]> {
    const { idempotencyKey = crypto.randomUUID(), delay, group, shardKey: shard_key } = options;
    const body = { items: items.map((item) => ({ item })), delay, group, shard_key, idempotency_key: idempotencyKey };
    return (await this.waiting("put", body)).ids as number[];
  }

  /** Completes jobs by their receipts (up to 100 a call), answering each one's outcome. */
  async taskDone(jobs: Job | Job[]): Promise<TaskDoneResult[]> {
    const receipts = [jobs].flat().map(receiptOf);
    return (await this.request("task_done", { receipts })).results as TaskDoneResult[];
  }

  async release(job: Job, options: { delay?: number } = {}): Promise<{ dead_lettered: boolean }> {
    const answer = await this.request("release", { receipt: receiptOf(job), delay: options.delay ?? 0 });
    return { dead_lettered: answer.dead_lettered as boolean };
  }

  async extend(job: Job, seconds: number): Promise<number> {
    const answer = await this.request("extend", { receipt: receiptOf(job), lease_seconds: seconds });
    job.leaseExpiresAt = answer.lease_expires_at as number;
    if (answer.cancelled === true) job.cancelled = true; // its group was cancelled: the work may stop
    return job.leaseExpiresAt;
  }

  /** Deliveries as they arrive, at most `prefetch` unfinished; ends when the queue is shut down and empty. */
  async *consume(options: ConsumeOptions = {}): AsyncGenerator<Job<T>> {
    const id = `c${++this.seq}`;
    const inbox: (Job | QueueError)[] = [];
    let wake: (() => void) | undefined;
    const hello = { op: "consume", id, prefetch: options.prefetch ?? 1, lease_seconds: options.leaseSeconds };
    this.consumers.set(id, {
      hello,
      push: (job) => {
        inbox.push(job);
        wake?.();
      },
    });
    const onAbort = () => wake?.();
    options.signal?.addEventListener("abort", onAbort);
    try {
      (await this.connect()).send(JSON.stringify(hello));
      for (;;) {
        if (options.signal?.aborted) return;
        const next = inbox.shift();
        if (next instanceof QueueError) {
          if (next.code === "shutdown") return;
          throw next;
        }
        if (next) yield next as Job<T>;
        else await new Promise<void>((r) => (wake = r));
      }
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
      this.consumers.delete(id);
      if (this.ws?.readyState === 1) this.ws.send(JSON.stringify({ op: "cancel", id }));
    }
  }

  close(): void {
    this.closed = true;
    this.ws?.close();
    for (const p of this.pending.values()) p.reject(new Unavailable(gone("the socket was closed")));
    this.pending.clear();
  }

  /** A call that may wait (a put into a full queue): asked again, with the same key, past the server's cap. */
  private async waiting(op: string, body: Record<string, unknown>): Promise<Answer> {
    for (;;) {
      try {
        return await this.request(op, body);
      } catch (e) {
        if (!(e instanceof QueueError && e.code === "poll_again")) throw e;
      }
    }
  }

  private async request(op: string, body: Record<string, unknown>): Promise<Answer> {
    const id = `r${++this.seq}`;
    const frame = { op, id, ...body };
    const answered = new Promise<Answer>((resolve, reject) => this.pending.set(id, { frame, resolve, reject }));
    try {
      (await this.connect()).send(JSON.stringify(frame));
    } catch (e) {
      this.pending.delete(id); // no socket: its caller has the error, and close() must not reject it again
      throw e;
    }
    return answered;
  }

  /** The open socket, or a new one (with backoff); what was in flight is sent again on it. */
  private connect(): Promise<WebSocket> {
    if (this.ws?.readyState === 1) return Promise.resolve(this.ws);
    this.opening ??= this.open().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  private async open(): Promise<WebSocket> {
    const { WebSocket: Socket = globalThis.WebSocket } = this.q.transport.options;
    const { retries } = this.q.transport;
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new Unavailable(gone("the socket was closed"));
      try {
        const ws = new Socket(await socketUrl(this.q));
        // A refused upgrade says nothing of why: a stats call throws the reason (no queue, no right) if there is one.
        await opened(ws).catch(async (e) => {
          await this.q.stats({});
          throw e;
        });
        this.ws = ws;
        ws.addEventListener("message", (e) => this.received(JSON.parse(String(e.data)) as Answer));
        ws.addEventListener("close", () => this.dropped(ws));
        for (const c of this.consumers.values()) ws.send(JSON.stringify(c.hello));
        for (const p of this.pending.values()) ws.send(JSON.stringify(p.frame));
        return ws;
      } catch (e) {
        if (e instanceof QueueError || attempt >= retries) {
          throw e instanceof QueueError ? e : new Unavailable(gone(`no WebSocket to '${this.q.name}': ${e}`));
        }
        await sleep(backoff(attempt));
      }
    }
  }

  private received(frame: Answer): void {
    if (frame.type === "delivery") return this.consumers.get(String(frame.consumer))?.push(toJob(frame as never));
    const id = String(frame.id);
    if (frame.type === "error") {
      const problem = frame as unknown as Problem;
      this.pending.get(id)?.reject(toError(problem));
      this.consumers.get(id)?.push(toError(problem));
      this.pending.delete(id);
      return;
    }
    this.pending.get(id)?.resolve(frame);
    this.pending.delete(id);
  }

  /** Reopens a socket that dropped while in use (the service already gave back what its consumers held). */
  private dropped(ws: WebSocket): void {
    if (this.ws !== ws || this.closed) return;
    this.ws = undefined;
    if (this.pending.size + this.consumers.size === 0) return;
    this.connect().catch((e) => {
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
      for (const c of this.consumers.values()) c.push(e);
    });
  }
}

const gone = (detail: string): Problem => ({ status: 503, code: "unavailable", detail });

function receiptOf(job: Pick<Job, "receipt">): string {
  if (!job.receipt) throw new TypeError("this job has no receipt: its queue has no leases");
  return job.receipt;
}
