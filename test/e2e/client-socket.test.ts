// The TypeScript client over one WebSocket against `wrangler dev`: put, consume with a prefetch, process() in
// socket mode, a socket dropped mid-work (reopened, consumers resumed, every job done exactly once), and sockets
// to a queue that does not exist (NotFound, at once, with Node 24's WebSocket and with Node 20's).
import { afterAll, beforeAll, expect, it } from "vitest";
import { NotFound, QueueClient } from "../../clients/typescript/src/index.ts";
import { serve } from "./server.ts";

let server: Awaited<ReturnType<typeof serve>>;
const sockets: WebSocket[] = [];
// A WebSocket that remembers each socket the client opens, so the test can drop one.
const Recording = class extends globalThis.WebSocket {
  constructor(url: string) {
    super(url);
    sockets.push(this);
  }
};
let client: QueueClient;

beforeAll(async () => {
  server = await serve();
  client = new QueueClient(server.url, { WebSocket: Recording as typeof WebSocket });
}, 90_000);
afterAll(() => server?.stop());

it("puts and consumes over one socket: ids, items, prefetch, task_done outcomes", async () => {
  const q = await client.createQueue<number>(`sock-${process.pid}`, { lease_seconds: 30 });
  const socket = q.socket();
  expect(await socket.put(1)).toBe(1);
  expect(await socket.putMany([2, 3, 4])).toEqual([2, 3, 4]);
  const got = [];
  for await (const job of socket.consume({ prefetch: 2 })) {
    got.push(job);
    expect(await socket.taskDone(job)).toEqual(["done"]);
    if (got.length === 4) break;
  }
  expect(got.map((j) => j.item)).toEqual([1, 2, 3, 4]);
  expect(await socket.taskDone(got[0]!)).toEqual(["replayed"]);
  expect(await q.join({ timeout: 1 })).toMatchObject({ drained: true });
  socket.close();
});

it("process() in socket mode survives a dropped socket: every job done once, join drained", async () => {
  const q = await client.createQueue<number>(`sock-process-${process.pid}`, { lease_seconds: 30 });
  await q.putMany(Array.from({ length: 60 }, (_, i) => i));
  const seen: number[] = [];
  const opened = sockets.length;
  const running = q.process(
    async (job) => {
      seen.push(job.item);
      if (seen.length === 20) sockets.at(-1)!.close(3000, "dropped by the test"); // mid-work, jobs held
      await new Promise((r) => setTimeout(r, 5));
    },
    { concurrency: 4, socket: true },
  );
  await q.join();
  await q.shutdown();
  const counts = await running;
  expect(sockets.length - opened).toBeGreaterThanOrEqual(2); // the first socket, and the one reopened
  expect(new Set(seen)).toEqual(new Set(Array.from({ length: 60 }, (_, i) => i)));
  expect(counts.done + counts.failed).toBe(seen.length);
  expect(await q.stats()).toMatchObject({ unfinished_tasks: 0, completed: 60, dead_lettered: 0 });
});

// Node 20's WebSocket, when the server refuses the upgrade, fires `error` and never `close` (Node 24's fires both):
// this one stops the `close` of a socket that never opened before any other listener hears it, as Node 20 does.
const Node20 = class extends globalThis.WebSocket {
  constructor(url: string) {
    super(url);
    let opened = false;
    this.addEventListener("open", () => (opened = true));
    this.addEventListener("close", (e) => opened || e.stopImmediatePropagation());
  }
};

it.each([
  ["Node 24's", globalThis.WebSocket],
  ["Node 20's", Node20 as typeof WebSocket],
])(
  "on a missing queue, subscribeJoin, watch and a socket's put and consume reject with NotFound at once (%s WebSocket)",
  async (_, WebSocket) => {
    const q = new QueueClient(server.url, { WebSocket }).queue(`sock-missing-${process.pid}`);
    const started = Date.now();
    const socket = q.socket();
    const outcomes = await Promise.all(
      [
        q.subscribeJoin().next(),
        q.subscribeJoin({ repeat: true, group: "g" }).next(),
        q.watch().next(),
        socket.put(1),
        socket.consume().next(),
      ].map((p) => p.catch((e: unknown) => e)),
    );
    socket.close();
    for (const e of outcomes) {
      expect(e).toBeInstanceOf(NotFound);
      expect(e).toMatchObject({ status: 404, code: "not_found" });
    }
    expect(Date.now() - started).toBeLessThan(5_000); // asked once: no socket retries, no backoff
  },
  15_000,
);
