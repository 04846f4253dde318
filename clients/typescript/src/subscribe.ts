// join and watch over the WebSocket API, as async iterables. A dropped socket is reopened (with backoff) and its
// subscription sent again, so a subscriber outlives restarts; a repeating join may then be told twice.
import { NotFound, type Problem, QueueError, ShutDown, toError, Unavailable } from "./errors.ts";
import { backoff, sleep, type Transport } from "./transport.ts";
import type { JoinResult, Stats } from "./types.ts";

export interface SubscribeOptions {
  /** Aborting closes the socket and rejects the iteration with the signal's reason (an AbortError). */
  signal?: AbortSignal;
}

type Frame =
  | { type: "joined"; unfinished_tasks: number; dead_lettered: number; cancelled?: number }
  | { type: "stats" | "shutdown" | "deleted"; stats: Stats }
  | ({ type: "error" } & Problem);

/** What a subscription needs of a queue (never its items). */
export interface Subscribable {
  readonly name: string;
  readonly transport: Transport;
  stats(options: { signal?: AbortSignal }): Promise<Stats>;
}

/** The service closes a socket with these when its queue was shut down or deleted: nothing to reopen. */
const FINAL_CLOSE_CODES = [4001, 4004];
const CLOSED = Symbol("closed");

export async function* subscribeJoin(
  q: Subscribable,
  options: SubscribeOptions & { repeat?: boolean; group?: string },
): AsyncGenerator<JoinResult> {
  const group = options.group === undefined ? {} : { group: options.group };
  for await (const frame of frames(q, { op: "join", repeat: options.repeat ?? false, ...group }, options.signal)) {
    if (frame.type === "joined") {
      const { unfinished_tasks, dead_lettered, cancelled } = frame;
      yield {
        drained: true,
        ...group,
        unfinished_tasks,
        dead_lettered,
        ...(cancelled === undefined ? {} : { cancelled }),
      };
      if (!options.repeat) return;
    } else if (frame.type === "shutdown") {
      throw new ShutDown({ status: 410, code: "shutdown", detail: `the queue '${q.name}' was shut down` });
    } else if (frame.type === "deleted") {
      throw new NotFound({ status: 404, code: "not_found", detail: `the queue '${q.name}' was deleted` });
    }
  }
}

export async function* watch(q: Subscribable, options: SubscribeOptions): AsyncGenerator<Stats> {
  for await (const frame of frames(q, { op: "watch" }, options.signal)) {
    if (frame.type === "stats" || frame.type === "shutdown") yield frame.stats;
    if (frame.type === "shutdown" || frame.type === "deleted") return;
  }
}

/** Every frame the service sends after `hello`, across reconnections, until the socket closes for good. */
async function* frames(q: Subscribable, hello: object, signal?: AbortSignal): AsyncGenerator<Frame> {
  const { WebSocket: Socket = globalThis.WebSocket } = q.transport.options;
  const { retries } = q.transport;
  if (!Socket) {
    throw new TypeError(
      "this runtime has no WebSocket: pass { WebSocket } to QueueClient, use Node >= 22, or run Node 20 with " +
        "--experimental-websocket",
    );
  }
  for (let failures = 0; ; ) {
    signal?.throwIfAborted();
    const ws = new Socket(await socketUrl(q, signal));
    const inbox = new Inbox(ws, signal);
    try {
      await inbox.opened;
      failures = 0;
      ws.send(JSON.stringify(hello));
      for (let frame = await inbox.next(); frame !== CLOSED; frame = await inbox.next()) {
        if (frame.type === "error") throw toError(frame);
        yield frame;
      }
    } catch (e) {
      if (e instanceof QueueError || signal?.aborted) throw e;
      // A refused upgrade says nothing of why: a stats call throws the reason (no queue, no right) if there is one.
      if (!inbox.wasOpen) await q.stats({ signal });
      if (++failures > retries) {
        throw new Unavailable({
          status: 503,
          code: "unavailable",
          detail: `no WebSocket to '${q.name}' after ${failures} attempts: ${e}`,
        });
      }
    } finally {
      inbox.dispose();
      ws.close();
    }
    if (signal?.aborted) throw signal.reason;
    if (FINAL_CLOSE_CODES.includes(inbox.closeCode ?? 0)) return;
    await sleep(backoff(failures), signal);
  }
}

/** Where to open the socket: a single-use ticket's URL when the client holds a token (browsers cannot send one). */
export async function socketUrl(q: Subscribable, signal?: AbortSignal): Promise<string> {
  const base = q.transport.baseUrl.replace(/^http/, "ws");
  const path = `/v1/queues/${encodeURIComponent(q.name)}/ws`;
  if (!q.transport.options.token) return base + path;
  const { url } = await q.transport.request<{ url: string }>("POST", `${path}-ticket`, { signal });
  return base + url;
}

/**
 * Resolves when the socket opens; rejects if it fails first. A refused upgrade (the service answers 404 for a queue
 * that does not exist) reaches the client as a bare failure without its status, and Node 20's WebSocket then fires
 * `error` alone, never `close`: waiting for `close` only would never settle.
 */
export function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.addEventListener("open", () => resolve());
    ws.addEventListener("error", () => reject(new Error("the WebSocket failed before it opened")));
    ws.addEventListener("close", (e) => reject(new Error(`the WebSocket closed before it opened (${e.code})`)));
  });
}

/** A socket's frames as a pull queue, ending with CLOSED. */
class Inbox {
  readonly opened: Promise<void>;
  closeCode: number | undefined;
  wasOpen = false;
  private readonly frames: (Frame | typeof CLOSED)[] = [];
  private wake: (() => void) | undefined;
  private readonly onAbort: () => void;
  private readonly signal: AbortSignal | undefined;

  constructor(ws: WebSocket, signal?: AbortSignal) {
    this.signal = signal;
    this.opened = opened(ws).then(() => {
      this.wasOpen = true;
    });
    ws.addEventListener("message", (e) => this.push(JSON.parse(String(e.data)) as Frame));
    ws.addEventListener("close", (e) => {
      this.closeCode = e.code;
      this.push(CLOSED);
    });
    this.onAbort = () => ws.close();
    signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  private push(frame: Frame | typeof CLOSED): void {
    this.frames.push(frame);
    this.wake?.();
  }

  async next(): Promise<Frame | typeof CLOSED> {
    while (this.frames.length === 0) await new Promise<void>((resolve) => (this.wake = resolve));
    return this.frames.shift()!;
  }

  dispose(): void {
    this.signal?.removeEventListener("abort", this.onAbort);
  }
}
