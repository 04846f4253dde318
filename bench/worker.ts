// The benchmark's Worker: the service's own app and objects, plus the ceiling they are measured against — a bare
// SQLite Durable Object reached through the same Hono, doing the least possible work — and a driver that calls
// objects from inside the Worker, so object-side figures have no HTTP in the loop.
import { DurableObject } from "cloudflare:workers";
import { Hono } from "hono";
import type { JoinableQueue } from "../src/core/queue.ts";
import { app as service } from "../src/front/http/app.ts";
import { QueueObject } from "../src/objects/queue/queue-object.ts";
import { queueObject } from "../src/objects/stubs.ts";

export { CatalogObject } from "../src/objects/catalog/catalog-object.ts";

type BenchEnv = Env & { BARE: DurableObjectNamespace<BareObject>; BENCH_ADMIN_TOKEN?: string };

/** The service's queue object, unchanged, with a way to be evicted (to time its wake-up) and to age. */
export class BenchQueueObject extends QueueObject {
  evict(): void {
    this.ctx.abort("bench: evicted to time the wake-up");
  }

  /** Runs the queue's clock `ms` ahead, as a later call would find it: what the meter's "forgotten" row costs. */
  later(ms: number): void {
    const { queue } = this as unknown as { queue: JoinableQueue };
    queue.tick(Date.now() + ms);
    queue.flush(); // what the object's next flush would write of it
  }
}

/** The ceiling: one SQLite object doing nothing, one INSERT, a long-poll, or a hibernatable broadcast. */
export class BareObject extends DurableObject<Env> {
  private waiters: (() => void)[] = [];

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, value TEXT NOT NULL)");
  }

  noop(): number {
    return 1;
  }

  insert(value: string): number {
    return this.ctx.storage.sql.exec<{ id: number }>("INSERT INTO items (value) VALUES (?) RETURNING id", value).one()
      .id;
  }

  wait(): Promise<number> {
    return new Promise((resolve) => this.waiters.push(() => resolve(1)));
  }

  waiting(): number {
    return this.waiters.length;
  }

  release(n: number): number {
    const released = this.waiters.splice(0, n);
    for (const wake of released) wake();
    return released.length;
  }

  broadcast(message: string): number {
    const sockets = this.ctx.getWebSockets();
    for (const ws of sockets) ws.send(message);
    return sockets.length;
  }

  evict(): void {
    this.ctx.abort("bench: evicted to time the wake-up");
  }

  override async fetch(): Promise<Response> {
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** The ceiling for socket work: every message answered with itself. */
  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    ws.send(message);
  }
}

const bare = (env: BenchEnv) => env.BARE.get(env.BARE.idFromName("bare"));

/** Object-side operations, as the Worker calls them; receipts of gets wait here for the task_dones. */
const receipts: string[] = [];
const PAD = "x".repeat(100);
const OPS: Record<string, (env: BenchEnv, queue: string) => Promise<unknown>> = {
  "bare-noop": (env) => bare(env).noop(),
  "bare-insert": (env) => bare(env).insert(`{"n":1,"pad":"${PAD}"}`),
  put: (env, q) => queueObject(env, q).put({ items: [{ json: `{"n":1,"pad":"${PAD}"}` }], block: true }),
  get: async (env, q) => {
    const got = await queueObject(env, q).get({ block: false });
    if (got.ok) receipts.push(got.deliveries[0]!.receipt!);
  },
  task_done: (env, q) => queueObject(env, q).taskDone(receipts.pop()),
};

const ms = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

const bench = new Hono<{ Bindings: BenchEnv }>();

bench.post("/bare/noop", async (c) => c.json({ n: await bare(c.env).noop() }));
bench.post("/bare/insert", async (c) => {
  const body = await c.req.json<{ item: unknown }>();
  return c.json({ id: await bare(c.env).insert(JSON.stringify(body.item)) }, 201);
});
bench.post("/bare/wait", async (c) => c.json({ n: await bare(c.env).wait() }));
bench.get("/bare/waiting", async (c) => c.json({ waiting: await bare(c.env).waiting() }));
bench.post("/bare/release", async (c) =>
  c.json({ released: await bare(c.env).release((await c.req.json<{ n: number }>()).n) }),
);
bench.post("/bare/broadcast", async (c) => c.json({ sent: await bare(c.env).broadcast('{"type":"joined"}') }));
bench.get("/bare/ws", (c) => bare(c.env).fetch(c.req.raw));

// Runs one object-side operation for `seconds` over `concurrency` loops, inside the Worker: rate and latency.
bench.post("/drive", async (c) => {
  const {
    op,
    queue = "bench",
    seconds,
    concurrency,
  } = await c.req.json<{ op: string; queue?: string; seconds: number; concurrency: number }>();
  const call = OPS[op]!;
  const latencies: number[] = [];
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const t = performance.now();
        await call(c.env, queue);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return c.json({
    ops: latencies.length,
    rate: latencies.length / elapsed,
    p50: ms(latencies, 0.5),
    p99: ms(latencies, 0.99),
  });
});

// Fills a queue to `size` items with object-side batch puts (far faster than HTTP), for the growth figures.
bench.post("/fill", async (c) => {
  const { queue, size } = await c.req.json<{ queue: string; size: number }>();
  const q = queueObject(c.env, queue);
  const item = { json: `{"pad":"${PAD}"}` };
  for (let have = 0; have < size; have += 1000) {
    const r = await q.put({ items: Array.from({ length: Math.min(1000, size - have) }, () => item), block: false });
    if (!r.ok) return c.json(r, 500);
  }
  return c.json(await q.stats());
});

// The queue object's meter (rows written and read, alarms set, steps run), and its clock run ahead, for the cost
// table. `object` names one object of a sharded queue (`name#i`, src/objects/shards/names.ts); `queue`, its first.
const benchQueue = (env: BenchEnv, name: string) =>
  env.QUEUES.get(env.QUEUES.idFromName(name)) as unknown as DurableObjectStub<BenchQueueObject>;
bench.post("/meter", async (c) => {
  const { queue, object } = await c.req.json<{ queue?: string; object?: string }>();
  return c.json(await benchQueue(c.env, object ?? queue!).meter());
});
bench.post("/later", async (c) => {
  const { queue, ms } = await c.req.json<{ queue: string; ms: number }>();
  await benchQueue(c.env, queue).later(ms);
  return c.json({});
});

// Evicts an object, then times its first call (the wake-up: constructor, storage load) and a warm second one.
bench.post("/wake", async (c) => {
  const { target, queue } = await c.req.json<{ target: "queue" | "bare"; queue: string }>();
  const stub =
    target === "bare" ? bare(c.env) : (c.env.QUEUES.get(c.env.QUEUES.idFromName(queue)) as unknown as BenchQueueObject);
  await Promise.resolve(stub.evict()).catch(() => undefined); // the abort rejects this very call
  const call = target === "bare" ? () => bare(c.env).noop() : () => queueObject(c.env, queue).stats();
  const t0 = performance.now();
  await call();
  const t1 = performance.now();
  await call();
  return c.json({ wake: t1 - t0, warm: performance.now() - t1 });
});

// For the auth figure, the same app reached the same way with authentication on (/secure) and off (/open).
for (const [prefix, auth] of [
  ["/secure", { AUTH: undefined }],
  ["/open", { AUTH: "none" }],
] as const) {
  bench.all(`${prefix}/*`, (c) => {
    const url = new URL(c.req.url);
    url.pathname = url.pathname.slice(prefix.length);
    return service.fetch(
      new Request(url, c.req.raw),
      { ...c.env, ...auth, ADMIN_TOKEN: c.env.BENCH_ADMIN_TOKEN },
      c.executionCtx,
    );
  });
}

bench.all("*", (c) => service.fetch(c.req.raw, c.env, c.executionCtx));

export default bench;
