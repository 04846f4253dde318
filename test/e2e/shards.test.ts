// End to end on a sharded queue (`{"shards": N}`) against a real `wrangler dev`:
// 1. 8 shards, 16 producers (half over HTTP, half over sockets; batch puts, some by shard_key) and 16 consumers
//    (half HTTP long-poll gets with task_done by receipt, half socket consumers with a prefetch), 10,000 items, and
//    two consumers that die holding items (a socket closed without task_done, an HTTP get with a 2 s lease never
//    completed): every item is completed exactly once, by a live consumer, and joins (HTTP on the coordinator,
//    socket subscriptions on random shards) answer once, drained, only after the last task_done.
// 2. SIGKILL of wrangler dev right after acknowledged puts and task_dones across shards, restart on the same
//    storage: every acknowledged item is there (summed stats, gets), the held receipts still complete, join drains.
// 3. A delivery handed from one shard to a getter waiting on another carries the lease that getter asked for.
// 4. Keyed puts retried until answered, through two SIGKILLs of wrangler dev, then every one sent once more: each
//    key's item is stored once (its retries reach the one shard that remembers the key).
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Body, callJson, freePort, kill, start } from "./server.ts";

const persist = mkdtempSync(join(tmpdir(), "jq-shards-"));
let server: ChildProcess | undefined;
let port = 0;
let base = "";

beforeAll(async () => {
  port = await freePort();
  server = await start(port, persist);
  base = `http://127.0.0.1:${port}/v1/queues`;
}, 90_000);

afterAll(async () => {
  if (server) await kill(server);
  rmSync(persist, { recursive: true, force: true });
});

const call = (path: string, body?: unknown, method = "POST") => callJson(base, path, body, method);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The shard a receipt names (`<tag>-<shard>.…`). */
const shardOfReceipt = (receipt: string) => Number(/^[0-9a-f]{8}-(\d{1,2})\./.exec(receipt)?.[1] ?? -1);

/** A queue's socket from Node: work frames answered by id, deliveries and joined frames to handlers. */
class Socket {
  private next = 0;
  private readonly waiting = new Map<string | number, (frame: Body) => void>();
  onDelivery: (frame: Body) => void = () => undefined;
  readonly joined: { at: number; frame: Body; context: Body }[] = [];
  context: () => Body = () => ({});
  readonly stray: Body[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (event) => {
      const frame = JSON.parse(String(event.data)) as Body;
      if (frame.type === "delivery") return this.onDelivery(frame);
      if (frame.type === "joined")
        return void this.joined.push({ at: performance.now(), frame, context: this.context() });
      const answer = frame.id === undefined ? undefined : this.waiting.get(frame.id);
      if (!answer) return void this.stray.push(frame);
      this.waiting.delete(frame.id);
      answer(frame);
    });
  }

  static async open(queue: string): Promise<Socket> {
    const ws = new WebSocket(`${base.replace(/^http/, "ws")}/${queue}/ws`);
    await new Promise((resolve, reject) => {
      ws.addEventListener("open", resolve, { once: true });
      ws.addEventListener("error", reject, { once: true });
    });
    return new Socket(ws);
  }

  /** Sends a work frame and resolves with its answer (or its error frame). */
  request(frame: Body): Promise<Body> {
    const id = frame.id ?? ++this.next;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.ws.send(JSON.stringify({ ...frame, id }));
    });
  }

  send(frame: Body): void {
    this.ws.send(JSON.stringify(frame));
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    const closed = new Promise<void>((r) => this.ws.addEventListener("close", () => r(), { once: true }));
    this.ws.close();
    return closed;
  }
}

it("spreads 10,000 items over 8 shards: 16 producers, 16 consumers (HTTP and sockets), two that die; join once", async () => {
  const TOTAL = 10_000;
  const SHARDS = 8;
  const PRODUCERS = 16;
  const BATCH = 100;
  const name = `shards-${process.pid}`;
  const began = performance.now();

  const created = await call(name, { shards: SHARDS, lease_seconds: 60 }, "PUT");
  expect(created.status).toBe(201);

  // A sentinel held until every put is acknowledged: the count cannot reach 0 while producers still run (it would,
  // legitimately, if consumers caught up), so a join started now may answer only after the last task_done.
  expect((await call(`${name}/put`, { item: "sentinel" })).status).toBe(201);
  const sentinel = await call(`${name}/get`, { timeout: 10, lease_seconds: 600 });
  expect(sentinel).toMatchObject({ status: 200, body: { item: "sentinel" } });

  // Joins before the work: one over HTTP (the coordinator's; re-called on poll_again), three socket subscriptions
  // (each socket on a random shard).
  const httpJoinAnswers: { at: number; status: number; body: Body; context: Body }[] = [];
  const context_: { get: () => Body } = { get: () => ({}) };
  const httpJoin = (async () => {
    for (;;) {
      const r = await call(`${name}/join`, { timeout: 300 });
      httpJoinAnswers.push({ at: performance.now(), ...r, context: context_.get() });
      if (r.status !== 409 || r.body.code !== "poll_again") return;
    }
  })();
  const joiners = await Promise.all([0, 1, 2].map(() => Socket.open(name)));
  for (const s of joiners) s.send({ op: "join", id: "all" });

  // What the consumers did, by item value.
  const live = new Map<number, string[]>(); // item -> live consumers it was delivered to
  const done = new Map<number, number>(); // item -> task_done answers that completed it (not replayed)
  const failures: unknown[] = [];
  let lastDoneAt = 0;
  let stopped = false;
  let finish: () => void = () => undefined;
  const allDone = new Promise<void>((r) => {
    finish = r;
  }).then(() => {
    stopped = true;
  });
  const delivered = (item: number, by: string) => live.set(item, [...(live.get(item) ?? []), by]);
  // Each delivery carries the lease its getter asked for (60 s), whichever shard's item it is.
  const leases: Body[] = [];
  const leaseOf = (d: Body, by: string, asked: number, receivedAt: number) => {
    const seconds = (d.lease_expires_at - receivedAt) / 1000; // the lease began before its answer arrived
    if (seconds < asked - 5 || seconds > asked + 0.5)
      leases.push({ by, item: d.item, asked, seconds, receipt: d.receipt });
  };
  let lastDoneBy = "";
  let inFlight = 0; // task_dones sent and not yet answered
  let lastSentAt = 0;
  const progress: string[] = [];
  const completed = (item: number, by: string) => {
    lastDoneAt = performance.now();
    lastDoneBy = by;
    done.set(item, (done.get(item) ?? 0) + 1);
    if (done.size % 1000 === 0) progress.push(`${done.size}@${((lastDoneAt - began) / 1000).toFixed(1)}`);
    if (done.size === TOTAL) finish();
  };
  const context = () => ({ done: done.size, inFlight, lastSentAt, lastDoneAt, lastDoneBy });
  context_.get = context;
  for (const j of joiners) j.context = context;

  // Two consumers that die holding items: their items must come back and be completed by the others.
  const killed: { socket: number[]; http: number[] } = { socket: [], http: [] };
  const killedReceipts: string[] = [];
  const doomed = await Socket.open(name);
  const doomedFull = new Promise<void>((resolve) => {
    doomed.onDelivery = (d) => {
      killed.socket.push(d.item);
      killedReceipts.push(`socket:${d.item}:${d.receipt}`);
      leaseOf(d, "doomed-socket", 600, Date.now());
      if (killed.socket.length === 5) resolve();
    };
  });
  expect(await doomed.request({ op: "consume", id: "c", prefetch: 5, lease_seconds: 600 })).toMatchObject({
    type: "consume",
  });
  const doomedSocket = Promise.race([doomedFull, sleep(20_000)]).then(() => doomed.close());
  const doomedHttp = call(`${name}/get`, { max: 5, timeout: 20, lease_seconds: 2 }).then((r) => {
    expect(r.status).toBe(200);
    killed.http.push(...(r.body.items as Body[]).map((d) => d.item as number));
    killedReceipts.push(...(r.body.items as Body[]).map((d) => `http:${d.item}:${d.receipt}`));
    for (const d of r.body.items as Body[]) leaseOf(d, "doomed-http", 2, Date.now());
  });

  // Producers: each its share in batches, half over HTTP (every other one by shard_key), half over a socket.
  const per = TOTAL / PRODUCERS;
  const producers = Array.from({ length: PRODUCERS }, async (_, p) => {
    const socket = p % 2 === 1 ? await Socket.open(name) : undefined;
    for (let from = p * per; from < (p + 1) * per; from += BATCH) {
      const items = Array.from({ length: Math.min(BATCH, (p + 1) * per - from) }, (_, i) => ({ item: from + i }));
      if (socket) {
        const answer = await socket.request({ op: "put", items });
        if (answer.type !== "put" || answer.ids.length !== items.length) failures.push({ put: answer });
      } else {
        const keyed = p % 4 === 2 ? { shard_key: `key-${from}` } : {};
        const r = await call(`${name}/put`, { items, ...keyed });
        if (r.status !== 201 || r.body.ids.length !== items.length) failures.push({ put: r });
      }
    }
    await socket?.close();
  });

  // Consumers: 8 over HTTP (long-poll gets, then task_done by receipt), 8 over sockets (prefetch 8, task_done frames).
  const httpConsumers = Array.from({ length: 8 }, async (_, c) => {
    while (!stopped) {
      const r = await call(`${name}/get`, { max: 10, timeout: 1, lease_seconds: 60 });
      if (r.status === 409 && (r.body.code === "empty" || r.body.code === "poll_again")) continue;
      if (r.status !== 200) {
        failures.push({ get: r });
        continue;
      }
      const deliveries = (r.body.items ?? [r.body]) as Body[];
      for (const d of deliveries) delivered(d.item, `http-${c}`);
      for (const d of deliveries) leaseOf(d, `http-${c}`, 60, Date.now());
      // task_done by receipt: one call for one delivery, one call with the receipts of a batch.
      inFlight += deliveries.length;
      lastSentAt = performance.now();
      const t =
        deliveries.length === 1
          ? await call(`${name}/task_done`, { receipt: deliveries[0]!.receipt })
          : await call(`${name}/task_done`, { receipts: deliveries.map((d) => d.receipt) });
      inFlight -= deliveries.length;
      const results = t.body.results ?? [t.body.replayed === false ? "done" : "replayed"];
      for (const [i, d] of deliveries.entries()) {
        if (t.status === 200 && results[i] === "done") completed(d.item, `http-${c}`);
        else failures.push({ task_done: t, item: d.item });
      }
    }
  });
  const sockets = await Promise.all(Array.from({ length: 8 }, () => Socket.open(name)));
  const socketConsumers = sockets.map(async (s, c) => {
    s.onDelivery = (d) => {
      delivered(d.item, `socket-${c}`);
      leaseOf(d, `socket-${c}`, 60, Date.now());
      inFlight++;
      lastSentAt = performance.now();
      void s.request({ op: "task_done", receipt: d.receipt }).then((t) => {
        inFlight--;
        if (t.type === "task_done" && t.replayed === false) completed(d.item, `socket-${c}`);
        else failures.push({ task_done: t, item: d.item });
      });
    };
    const answer = await s.request({ op: "consume", id: "c", prefetch: 16, lease_seconds: 60 });
    if (answer.type !== "consume") failures.push({ consume: answer });
  });

  // Once every put is acknowledged the count only falls: the sentinel goes, with the work not yet finished.
  await Promise.all(producers);
  const putsDoneAt = performance.now();
  const unfinishedAtRelease = TOTAL - done.size;
  const sentinelDone = await call(`${name}/task_done`, { receipt: sentinel.body.receipt });
  expect(sentinelDone).toMatchObject({ status: 200, body: { replayed: false } });
  lastDoneAt = Math.max(lastDoneAt, performance.now());
  expect(httpJoinAnswers.filter((a) => a.status !== 409)).toEqual([]); // nothing but poll_again so far
  expect(joiners.flatMap((s) => s.joined)).toEqual([]);

  const stuck = setTimeout(() => finish(), 40_000); // a lost item must fail the assertions below, not hang the test
  await allDone;
  clearTimeout(stuck);
  const workDoneAt = performance.now();
  await Promise.all([...httpConsumers, ...socketConsumers, doomedSocket, doomedHttp]);
  await Promise.race([httpJoin, sleep(15_000)]);
  const joinedAt = httpJoinAnswers.at(-1)?.at ?? Infinity;
  await sleep(1_000); // a second `joined` frame, or a stray answer, would arrive by now

  const missing = Array.from({ length: TOTAL }, (_, i) => i).filter((v) => done.get(v) !== 1);
  if (missing.length > 0) {
    const peek = async (state: string) => (await call(`${name}/items?state=${state}&limit=100`, undefined, "GET")).body;
    console.log(
      JSON.stringify({
        missing: missing.map((v) => ({ v, live: live.get(v), done: done.get(v) })),
        killed,
        killedReceipts,
        leases,
        stats: (await call(name, undefined, "GET")).body,
        leased: await peek("leased"),
        ready: await peek("ready"),
      }),
    );
  }
  expect(failures).toEqual([]);
  expect(leases).toEqual([]);
  // Every item completed exactly once, and delivered exactly once to a live consumer (a lease of 60 s never ran
  // out): the items the dead consumers held were redelivered, once each, and completed by the others.
  const values = Array.from({ length: TOTAL }, (_, i) => i);
  expect(values.filter((v) => done.get(v) !== 1)).toEqual([]);
  expect(values.filter((v) => live.get(v)?.length !== 1)).toEqual([]);
  expect(done.size).toBe(TOTAL);
  expect(killed.socket.length).toBe(5);
  expect(killed.http.length).toBeGreaterThan(0);
  for (const v of [...killed.socket, ...killed.http]) expect(done.get(v)).toBe(1);

  // The join: once, drained, after the last task_done's answer; the socket joins likewise, exactly once each.
  expect(unfinishedAtRelease).toBeGreaterThan(0); // the join had work left to wait for when the sentinel went
  const final = httpJoinAnswers.at(-1)!;
  expect(final).toMatchObject({ status: 200, body: { drained: true, unfinished_tasks: 0, dead_lettered: 0 } });
  expect(httpJoinAnswers.slice(0, -1).every((a) => a.status === 409 && a.body.code === "poll_again")).toBe(true);
  // Not before the last task_done was sent, and with every item's task_done sent by then (and all of them,
  // checked above, answered "done"). Not "after the last task_done's answer": a join proven the moment the last
  // task_done takes effect may reach the client a few ms before that task_done's own answer does (another
  // connection; a batch task_done across shards answers after its siblings' parts), which is no early answer.
  for (const j of [{ at: joinedAt, context: final.context }, ...joiners.map((s) => s.joined[0]!)]) {
    expect(j.at).toBeGreaterThan(j.context.lastSentAt);
    expect(j.context.done + j.context.inFlight).toBe(TOTAL);
  }
  for (const s of joiners) {
    expect(s.joined.map((j) => j.frame)).toEqual([
      expect.objectContaining({ type: "joined", id: "all", unfinished_tasks: 0, dead_lettered: 0 }),
    ]);
  }
  for (const s of [...joiners, ...sockets]) expect(s.stray).toEqual([]);

  // The queue's stats, summed over its shards.
  const stats = await call(name, undefined, "GET");
  expect(stats.body).toMatchObject({
    qsize: 0,
    unfinished_tasks: 0,
    leased: 0,
    in_flight: 0,
    dead_lettered: 0,
    puts: TOTAL + 1,
    completed: TOTAL + 1,
  });
  expect(stats.body.deliveries).toBeGreaterThanOrEqual(TOTAL + 1 + killed.socket.length + killed.http.length);

  await Promise.all([...joiners, ...sockets].map((s) => s.close()));
  expect((await call(name, undefined, "DELETE")).status).toBeLessThan(300);
  const s = (t: number) => `${((t - began) / 1000).toFixed(1)} s`;
  console.log(
    `sharded e2e: puts acknowledged at ${s(putsDoneAt)} (${unfinishedAtRelease} unfinished then), ` +
      `work done at ${s(workDoneAt)} (${progress.join(" ")}), join at ${s(joinedAt)} ` +
      `(join answer - last task_done answer: ${(joinedAt - lastDoneAt).toFixed(1)} ms; socket joins: ` +
      `${joiners.map((j) => (j.joined[0]!.at - lastDoneAt).toFixed(1)).join(", ")} ms), ` +
      `killed consumers held ${killed.socket.length} + ${killed.http.length} items`,
  );
});

it("keeps every acknowledged put and task_done of a sharded queue across a SIGKILL of wrangler dev", async () => {
  const name = `crash-shards-${process.pid}`;
  expect((await call(name, { shards: 4, lease_seconds: 3600 }, "PUT")).status).toBe(201);
  // 100 single puts (a shard at random each), 5 batches of 20 by shard_key, a batch of 10 over a socket.
  for (let i = 0; i < 100; i++) expect((await call(`${name}/put`, { item: i })).status).toBe(201);
  for (let b = 0; b < 5; b++) {
    const items = Array.from({ length: 20 }, (_, i) => ({ item: 100 + b * 20 + i }));
    expect((await call(`${name}/put`, { items, shard_key: `k${b}` })).status).toBe(201);
  }
  const socket = await Socket.open(name);
  const items = Array.from({ length: 10 }, (_, i) => ({ item: 200 + i }));
  expect(await socket.request({ op: "put", items })).toMatchObject({ type: "put", ids: expect.any(Array) });
  await socket.close();
  const taken: Body[] = [];
  while (taken.length < 30) {
    const r = await call(`${name}/get`, { max: 30 - taken.length, timeout: 5 });
    expect(r.status).toBe(200);
    taken.push(...(r.body.items as Body[]));
  }
  for (const d of taken.slice(0, 20))
    expect((await call(`${name}/task_done`, { receipt: d.receipt })).status).toBe(200);
  await kill(server!); // right after the last acknowledged task_done

  server = await start(port, persist);
  const stats = (await call(name, undefined, "GET")).body;
  expect(stats).toMatchObject({ qsize: 180, leased: 10, unfinished_tasks: 190, puts: 210, completed: 20 });
  const join = call(`${name}/join`, { timeout: 60 }).then((r) => ({ ...r, at: performance.now() }));

  // Non-blocking gets take what each shard has, then its siblings': every item not taken, once.
  const rest: Body[] = [];
  for (;;) {
    const r = await call(`${name}/get`, { max: 100, block: false });
    if (r.status === 409 && r.body.code === "empty") break;
    expect(r.status).toBe(200);
    rest.push(...(r.body.items as Body[]));
  }
  const takenValues = new Set(taken.map((d) => d.item as number));
  const expected = Array.from({ length: 210 }, (_, i) => i).filter((v) => !takenValues.has(v));
  expect(rest.map((d) => d.item as number).sort((a, b) => a - b)).toEqual(expected);
  // The items were on every shard.
  expect(new Set([...taken, ...rest].map((d) => shardOfReceipt(d.receipt))).size).toBe(4);

  // A receipt completed before the crash is remembered; the ten held through it still complete.
  expect(await call(`${name}/task_done`, { receipt: taken[0]!.receipt })).toMatchObject({
    status: 200,
    body: { replayed: true },
  });
  let lastSentAt = 0;
  for (const d of [...taken.slice(20), ...rest]) {
    lastSentAt = performance.now();
    expect(await call(`${name}/task_done`, { receipt: d.receipt })).toMatchObject({
      status: 200,
      body: { replayed: false },
    });
  }
  const joined = await join;
  expect(joined).toMatchObject({ status: 200, body: { drained: true, unfinished_tasks: 0, dead_lettered: 0 } });
  // After the last task_done was sent (its answer, on another connection, may arrive a hair later than the join's).
  expect(joined.at).toBeGreaterThan(lastSentAt);
  expect((await call(name, undefined, "GET")).body).toMatchObject({
    qsize: 0,
    leased: 0,
    unfinished_tasks: 0,
    puts: 210,
    completed: 210,
  });
});

/** The shard a shard key's items go to (src/objects/shards/shards.ts: FNV-1a of the key). */
function shardFor(key: string, count: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % count;
}

it("hands a getter an item of another shard under the lease that getter asked for", async () => {
  // Two getters wait with different leases; a batch lands on one shard. When both wait on the other shard (one
  // attempt in four), its handoff takes the items for both at once: each must still get its own lease.
  const keys = [0, 1].map((s) => Array.from({ length: 50 }, (_, i) => `k${i}`).find((k) => shardFor(k, 2) === s)!);
  const wrong: Body[] = [];
  for (let attempt = 0; attempt < 12; attempt++) {
    const name = `lease-${process.pid}-${attempt}`;
    expect((await call(name, { shards: 2, lease_seconds: 60 }, "PUT")).status).toBe(201);
    const getter = async (lease: number) => {
      const r = await call(`${name}/get`, { lease_seconds: lease, timeout: 10 });
      return { lease, seconds: (r.body.lease_expires_at - Date.now()) / 1000, receipt: r.body.receipt };
    };
    const long = getter(600);
    await sleep(300);
    const short = getter(5);
    await sleep(300);
    const items = [{ item: 1 }, { item: 2 }];
    expect((await call(`${name}/put`, { items, shard_key: keys[attempt % 2] })).status).toBe(201);
    for (const got of await Promise.all([long, short]))
      if (got.seconds > got.lease + 0.5 || got.seconds < got.lease - 5) wrong.push({ attempt, ...got });
    await call(name, undefined, "DELETE");
  }
  expect(wrong).toEqual([]);
});

it("stores each keyed put once on 8 shards, however its retries cross two SIGKILLs of wrangler dev", async () => {
  const name = `chaos-keys-${process.pid}`;
  expect((await call(name, { shards: 8 }, "PUT")).status).toBe(201);
  const keys = Array.from({ length: 320 }, (_, i) => `order-${i}`);
  /** Sends the put until it is answered 2xx (the server may be down, or dying mid-call); answers `replayed`. */
  const putUntilAnswered = async (key: string): Promise<boolean> => {
    for (;;) {
      try {
        const res = await fetch(`${base}/${name}/put`, {
          method: "POST",
          headers: { "content-type": "application/json", "idempotency-key": key },
          body: JSON.stringify({ item: key }),
        });
        if (res.ok) return ((await res.json()) as Body).replayed as boolean;
      } catch {
        // the connection was refused or cut: the put may or may not have been stored
      }
      await sleep(50);
    }
  };
  let answered = 0;
  const producers = Array.from({ length: 8 }, async (_, p) => {
    for (const key of keys.filter((_, i) => i % 8 === p)) {
      await putUntilAnswered(key);
      answered++;
    }
  });
  const all = Promise.all(producers);
  for (const at of [keys.length / 3, (2 * keys.length) / 3]) {
    while (answered < at) await sleep(10);
    await kill(server!); // with puts in flight: some stored and never answered
    server = await start(port, persist);
  }
  await all;
  // A retry of every put, each acknowledged once already: every one is a replay.
  const replays = await Promise.all(keys.map(putUntilAnswered));
  expect(replays.filter((r) => !r)).toEqual([]);
  expect((await call(name, undefined, "GET")).body).toMatchObject({ qsize: keys.length, puts: keys.length });
  const items: string[] = [];
  for (;;) {
    const r = await call(`${name}/get`, { max: 100, block: false });
    if (r.status === 409 && r.body.code === "empty") break;
    items.push(...(r.body.items as Body[]).map((d) => d.item as string));
  }
  expect(items.sort()).toEqual([...keys].sort());
});
