// A consumer loop: get, run the handler, task_done on success, release with a backoff delay on failure, and
// extend the lease while the handler runs, so a slow live consumer keeps its job and a dead one loses it.
import { ShutDown } from "./errors.ts";
import type { QueueSocket } from "./socket.ts";
import type { Job, Stats } from "./types.ts";

/** What the loop needs of a queue (structural, so that queue.ts can offer `process` without an import cycle). */
interface Consumable<T> {
  stats(options: { signal?: AbortSignal }): Promise<Stats>;
  get(options: { leaseSeconds?: number; signal?: AbortSignal }): Promise<Job<T>>;
  taskDone(job: Job<T>): Promise<unknown>;
  extend(job: Job<T>, seconds: number): Promise<unknown>;
  release(job: Job<T>, options: { delay?: number }): Promise<unknown>;
  socket(): QueueSocket<T>;
}

export type Handler<T> = (job: Job<T>) => unknown;

export interface ProcessOptions {
  /** Handlers running at once; default 1. */
  concurrency?: number;
  /** Each job's lease; default the queue's. The heartbeat renews it every third of this. */
  leaseSeconds?: number;
  /** Stops taking jobs; running handlers finish first. */
  signal?: AbortSignal;
  /** Seconds before a failed job is delivered again; default 2^(deliveries-1), at most 300. */
  retryDelay?: (job: Job) => number;
  /**
   * Jobs pushed over one WebSocket (a prefetch of `concurrency`), completed, extended and released on it, instead
   * of an HTTP request per call: deployed, a socket message costs a twentieth of a request.
   */
  socket?: boolean;
}

const defaultDelay = (job: Job) => Math.min(300, 2 ** (job.deliveries - 1));

/** Runs until the queue is shut down and empty, or `signal` aborts; answers how many jobs succeeded and failed. */
export async function process<T>(
  q: Consumable<T>,
  handler: Handler<T>,
  options: ProcessOptions = {},
): Promise<{ done: number; failed: number }> {
  const { concurrency = 1, retryDelay = defaultDelay } = options;
  const lease = options.leaseSeconds ?? (await q.stats({ signal: options.signal })).lease_seconds;
  const stop = new AbortController();
  const onAbort = () => stop.abort(options.signal!.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const counts = { done: 0, failed: 0 };
  const socket = options.socket ? q.socket() : undefined;
  if (socket) q = overSocket(q, socket, concurrency, options.leaseSeconds, stop.signal);

  const consume = async () => {
    while (!stop.signal.aborted) {
      let job: Job<T>;
      try {
        job = await q.get({ leaseSeconds: options.leaseSeconds, signal: stop.signal });
      } catch (e) {
        if (stop.signal.aborted) return;
        if (e instanceof ShutDown) return stop.abort(e); // the queue is shut down and empty: every consumer stops
        throw e;
      }
      const heartbeat = () => q.extend(job, lease!).catch(() => undefined); // a failed beat: the next one may land
      const beat = lease === null || job.receipt === null ? undefined : setInterval(heartbeat, (lease * 1000) / 3);
      try {
        await handler(job);
        await q.taskDone(job);
        counts.done++;
      } catch {
        counts.failed++;
        // A release that fails is no loss: a lapsed lease returns the job anyway.
        await q.release(job, { delay: retryDelay(job as Job) }).catch(() => undefined);
      } finally {
        clearInterval(beat);
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: concurrency }, consume));
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    socket?.close();
  }
  return counts;
}

/** The queue as the loop sees it, with every job taken and answered over one socket. */
function overSocket<T>(
  q: Consumable<T>,
  socket: QueueSocket<T>,
  prefetch: number,
  leaseSeconds: number | undefined,
  signal: AbortSignal,
): Consumable<T> {
  const jobs = socket.consume({ prefetch, leaseSeconds, signal });
  const ended = { status: 410, code: "shutdown", detail: "the queue is shut down and empty" };
  return {
    stats: (options) => q.stats(options),
    get: async () => {
      const next = await jobs.next();
      if (next.done) throw new ShutDown(ended);
      return next.value;
    },
    taskDone: (job) => socket.taskDone(job),
    extend: (job, seconds) => socket.extend(job, seconds),
    release: (job, options) => socket.release(job, options),
    socket: () => socket,
  };
}
