// End to end on fair groups against a real `wrangler dev`: a queue with fair dispatch, a cap of 2 deliveries in flight
// a group and 2 s leases; three groups (big 80, small 6, third 30); live consumers over HTTP and sockets, and two that
// die holding items (a socket consumer whose process is SIGKILLed, an HTTP consumer that just stops). No group ever
// has more than 2 deliveries out; the dead consumers' slots come back (socket close, lease end) and their items are
// redelivered; small's join answers while big still has most of its items; every item is completed exactly once and
// every join answers with exact counts. The third group is cancelled mid-way while a live consumer holds one of its
// deliveries: its join answers, with the count cancelled, only after that consumer's task_done (told cancelled: true).
// Timing never decides an assertion: gates hold completions where an order matters, waits are bounded polls.
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Body, callJson, serve } from "./server.ts";

type Delivery = { id: number; item: string; group: string; receipt: string; deliveries: number };

let server: Awaited<ReturnType<typeof serve>>;
let base = "";
const cleanup: (() => unknown)[] = []; // what a failed test leaves running

beforeAll(async () => {
  server = await serve();
  base = `${server.url}/v1/queues`;
});
afterAll(async () => {
  for (const f of cleanup) await f();
  await server?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const call = (path: string, body?: unknown, method = "POST") => callJson(base, path, body, method);

/** Waits until `check` holds, polling; fails with `what` after `seconds`. */
async function until(what: string, check: () => boolean | Promise<boolean>, seconds = 20): Promise<void> {
  for (const end = Date.now() + seconds * 1000; !(await check()); await sleep(25))
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
}

/** A join over HTTP, asked again on poll_again: its answer, and the task_dones sent when it came. */
function join(queue: string, group: string | undefined, sent: () => Record<string, number>) {
  return (async () => {
    for (;;) {
      const r = await call(`${queue}/join`, group === undefined ? { timeout: 15 } : { group, timeout: 15 });
      if (r.status === 409 && r.body.code === "poll_again") continue;
      return { ...r, sent: sent() };
    }
  })();
}

/** A deferred gate: `wait` resolves once `open` is called. */
function gate() {
  let open: () => void = () => undefined;
  const wait = new Promise<void>((r) => {
    open = r;
  });
  let isOpen = false;
  return {
    wait,
    open: () => {
      isOpen = true;
      open();
    },
    get isOpen() {
      return isOpen;
    },
  };
}

/** A socket consumer in a process of its own, which prints each delivery as a line: SIGKILLed to "die". */
function doomedSocketConsumer(url: string, prefetch: number) {
  const script = `
    const ws = new WebSocket(process.argv[1]);
    ws.onopen = () => ws.send(JSON.stringify({ op: "consume", id: "c", prefetch: ${prefetch}, lease_seconds: 60 }));
    ws.onmessage = (e) => { const m = JSON.parse(String(e.data)); if (m.type === "delivery") console.log(JSON.stringify(m)); };
    ws.onerror = () => process.exit(2);`;
  const child: ChildProcess = spawn(process.execPath, ["-e", script, url], { stdio: ["ignore", "pipe", "inherit"] });
  const deliveries: Delivery[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => deliveries.push(JSON.parse(line)));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  };
  cleanup.push(kill);
  return { deliveries, kill };
}

it("fair groups with caps: dying consumers free their slots, small joins first, cancel mid-way, exact counts", async () => {
  const name = `fair-groups-${process.pid}`;
  const CAP = 2;
  const WORK_MS = 40;
  const sizes = { big: 80, small: 6, third: 30 } as const;
  type G = keyof typeof sizes;
  const items = (g: G) => Array.from({ length: sizes[g] }, (_, i) => ({ item: `${g}-${i}` }));

  const created = await call(name, { dispatch: "fair", group_max_in_flight: CAP, lease_seconds: 2 }, "PUT");
  expect(created).toMatchObject({ status: 201, body: { dispatch: "fair", group_max_in_flight: CAP } });

  // What live consumers did: deliveries held now per group (from arrival to the task_done's sending: never more
  // than the queue counts, since a live lease of 30 s cannot run out here), completions per item.
  const held: Record<string, number> = { big: 0, small: 0, third: 0 };
  const mostHeld: Record<string, number> = { big: 0, small: 0, third: 0 };
  const sent: Record<string, number> = { big: 0, small: 0, third: 0 }; // task_dones sent, per group
  const done = new Map<string, number>(); // item -> task_done answers that completed it
  const doneBy = new Map<string, Delivery[]>(); // item -> the live deliveries completed
  const toldCancelled: string[] = []; // items whose task_done answered cancelled: true
  const failures: unknown[] = [];
  const count = (g: string) => [...done.keys()].filter((k) => k.startsWith(`${g}-`)).length;

  // Gates where an order matters: big's completions wait, once small's six are done, until small's join has
  // answered (so "big still has most of its items" does not depend on the join's latency); third's wait, once three
  // are done, until the cancel has answered (so the cancel finds items waiting and deliveries out).
  const smallJoined = gate();
  const thirdCancelled = gate();
  let thirdThree: () => void = () => undefined;
  const threeOfThird = new Promise<void>((r) => {
    thirdThree = r;
  });
  const before = async (d: Delivery) => {
    if (d.group === "big" && count("small") === sizes.small) await smallJoined.wait;
    if (d.group === "third" && count("third") >= 3) await thirdCancelled.wait;
  };
  const received = (d: Delivery) => {
    const now = (held[d.group] ?? 0) + 1;
    held[d.group] = now;
    mostHeld[d.group] = Math.max(mostHeld[d.group] ?? 0, now);
  };
  const sending = (d: Delivery) => {
    held[d.group] = (held[d.group] ?? 0) - 1;
    sent[d.group] = (sent[d.group] ?? 0) + 1;
  };
  const answered = (d: Delivery, ok: boolean, answer: Body) => {
    if (!ok) return void failures.push({ task_done: answer, item: d.item });
    done.set(d.item, (done.get(d.item) ?? 0) + 1);
    doneBy.set(d.item, [...(doneBy.get(d.item) ?? []), d]);
    if (answer.cancelled === true) toldCancelled.push(d.item);
    if (d.group === "third" && count("third") === 3) thirdThree();
  };

  // 1. The third group first, and a live consumer (the holder) takes one of its items, with a lease of 60 s.
  expect((await call(`${name}/put`, { items: items("third"), group: "third" })).status).toBe(201);
  const holder = await call(`${name}/get`, { block: false, lease_seconds: 60 });
  expect(holder).toMatchObject({ status: 200, body: { group: "third" } });
  received(holder.body as Delivery);

  // 2. Big, then the two consumers that will die take every slot left (big 2, third 1): an HTTP get on the queue's
  // 2 s lease, never completed, and a socket consumer in a process of its own (prefetch 2, a lease of 60 s: its slots
  // come back by the close).
  expect((await call(`${name}/put`, { items: items("big"), group: "big" })).status).toBe(201);
  const bigJoin = join(name, "big", () => ({ ...sent }));
  const stopped = await call(`${name}/get`, { block: false });
  expect(stopped.status).toBe(200);
  const doomed = doomedSocketConsumer(`${base.replace(/^http/, "ws")}/${name}/ws`, 2);
  await until("the doomed socket consumer's two deliveries", () => doomed.deliveries.length === 2);
  const dead = [stopped.body as Delivery, ...doomed.deliveries];
  const inFlight = async (g: G) => (await call(`${name}/groups/${g}`, undefined, "GET")).body.in_flight as number;
  expect(await inFlight("third")).toBe(CAP); // the holder's and the doomed socket's, on long leases

  // 3. Small, its join, the queue's join; the cap watched from the server's side throughout.
  expect((await call(`${name}/put`, { items: items("small"), group: "small" })).status).toBe(201);
  const smallJoin = join(name, "small", () => ({ ...sent })).then(async (r) => {
    const big = (await call(`${name}/groups/big`, undefined, "GET")).body;
    smallJoined.open();
    return { ...r, big };
  });
  const queueJoin = join(name, undefined, () => ({ ...sent }));
  const seenInFlight: Record<string, number> = { big: 0, small: 0, third: 0 };
  const overCap: Body[] = [];
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      for (const g of ["big", "small", "third"] as const) {
        const s = (await call(`${name}/groups/${g}`, undefined, "GET")).body;
        seenInFlight[g] = Math.max(seenInFlight[g]!, s.in_flight);
        if (s.in_flight > CAP) overCap.push(s);
      }
      await sleep(50);
    }
  })();

  // 4. Live consumers: three over HTTP (long-poll gets with 30 s leases, task_done by receipt), two sockets
  // (prefetch 2, 30 s leases, task_done frames).
  let running = true;
  const work = async (d: Delivery) => {
    await sleep(WORK_MS);
    await before(d);
    sending(d);
  };
  const httpConsumers = Array.from({ length: 3 }, async () => {
    while (running) {
      const r = await call(`${name}/get`, { timeout: 1, lease_seconds: 30 });
      if (r.status === 409 && (r.body.code === "empty" || r.body.code === "poll_again")) continue;
      if (r.status !== 200) {
        failures.push({ get: r });
        continue;
      }
      const d = r.body as Delivery;
      received(d);
      await work(d);
      const t = await call(`${name}/task_done`, { receipt: d.receipt });
      answered(d, t.status === 200 && t.body.replayed === false, t.body);
    }
  });
  const sockets = await Promise.all(
    [0, 1].map(async () => {
      const ws = new WebSocket(`${base.replace(/^http/, "ws")}/${name}/ws`);
      await new Promise((resolve, reject) => {
        ws.addEventListener("open", resolve, { once: true });
        ws.addEventListener("error", reject, { once: true });
      });
      const pending = new Map<string, Delivery>();
      ws.addEventListener("message", (event) => {
        const m = JSON.parse(String(event.data)) as Body;
        if (m.type === "delivery") {
          const d = m as unknown as Delivery;
          received(d);
          void work(d).then(() => {
            pending.set(`t${d.id}.${d.deliveries}`, d);
            ws.send(JSON.stringify({ op: "task_done", id: `t${d.id}.${d.deliveries}`, receipt: d.receipt }));
          });
        } else if (m.type === "task_done" || (m.type === "error" && pending.has(m.id))) {
          const d = pending.get(m.id)!;
          pending.delete(m.id);
          answered(d, m.type === "task_done" && m.replayed === false, m);
        } else if (m.type !== "consume") failures.push({ frame: m });
      });
      ws.send(JSON.stringify({ op: "consume", id: "c", prefetch: 2, lease_seconds: 30 }));
      return ws;
    }),
  );

  // 5. The socket consumer dies (its process SIGKILLed): its deliveries come back at once; the HTTP one's at its
  // lease's end.
  await doomed.kill();

  // 6. Third is cancelled mid-way: three of its items done, the holder's delivery (and perhaps one more) out.
  await Promise.race([threeOfThird, sleep(30_000)]);
  expect(count("third")).toBeGreaterThanOrEqual(3);
  const thirdJoinBefore = join(name, "third", () => ({ ...sent }));
  const cancel = await call(`${name}/groups/third/cancel`, {});
  thirdCancelled.open();
  expect(cancel.status).toBe(200);
  expect(cancel.body.group).toBe("third");
  expect(cancel.body.cancelled).toBeGreaterThan(0);
  expect(cancel.body.in_flight).toBeGreaterThanOrEqual(1); // the holder's, at least
  const thirdJoinAfter = join(name, "third", () => ({ ...sent }));
  let thirdAnswered = false;
  void Promise.all([thirdJoinBefore, thirdJoinAfter]).then(() => (thirdAnswered = true));
  expect(await call(`${name}/put`, { item: "third-late", group: "third" })).toMatchObject({
    status: 410,
    body: { code: "group_cancelled" },
  });
  // Every other delivery of third ends (completed by live consumers, or a dead one's lease runs out): the holder's
  // is the last out, and the joins still wait for it.
  await until("third's only delivery out to be the holder's", async () => (await inFlight("third")) === 1);
  expect(thirdAnswered).toBe(false);
  sending(holder.body as Delivery);
  const holderDone = await call(`${name}/task_done`, { receipt: holder.body.receipt });
  expect(holderDone).toMatchObject({ status: 200, body: { replayed: false, cancelled: true } });
  answered(holder.body as Delivery, true, holderDone.body);

  // 7. Everything else completes; the joins answer.
  const all = async () => {
    const [b, s] = [count("big"), count("small")];
    return b === sizes.big && s === sizes.small;
  };
  await until("every item of big and small done", all, 40);
  const small = await smallJoin;
  const [big, third1, third2, queue] = await Promise.all([bigJoin, thirdJoinBefore, thirdJoinAfter, queueJoin]);
  running = false;
  watching = false;
  await Promise.all([...httpConsumers, watcher]);
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((r) => {
          ws.addEventListener("close", () => r(), { once: true });
          ws.close();
        }),
    ),
  );

  const groupOf = async (g: G) => (await call(`${name}/groups/${g}`, undefined, "GET")).body;
  const [bigStats, smallStats, thirdStats] = [await groupOf("big"), await groupOf("small"), await groupOf("third")];
  const stats = (await call(name, undefined, "GET")).body;
  const report = { held: mostHeld, seenInFlight, overCap, dead, cancel: cancel.body, small, thirdStats, failures };

  // The cap: never more than 2 of a group out, as the queue counts them and as the live consumers held them.
  expect(overCap, JSON.stringify(report)).toEqual([]);
  for (const g of ["big", "small", "third"]) expect(mostHeld[g]).toBeLessThanOrEqual(CAP);
  expect(failures, JSON.stringify(report)).toEqual([]);

  // The dead consumers' items came back (a delivery more each) and were completed by live consumers, once; a dead
  // delivery of third may instead have been removed by the cancel when its lease ran out.
  for (const d of dead) {
    if (d.group === "third" && !done.has(d.item)) continue;
    expect(done.get(d.item), d.item).toBe(1);
    expect(doneBy.get(d.item)![0]!.deliveries, d.item).toBeGreaterThan(d.deliveries);
  }

  // Fairness: small's join answered while big had most of its items unfinished, and after small's six task_dones.
  expect(small).toMatchObject({ status: 200, body: { drained: true, group: "small", unfinished_tasks: 0 } });
  expect(small.sent.small).toBe(sizes.small);
  expect(small.big.unfinished_tasks).toBeGreaterThanOrEqual(sizes.big / 2);

  // Exactly once: every item of big and small completed once; third's completed at most once, the rest cancelled.
  for (const g of ["big", "small"] as const) for (const { item } of items(g)) expect(done.get(item), item).toBe(1);
  const thirdDone = items("third").filter(({ item }) => done.has(item));
  for (const { item } of thirdDone) expect(done.get(item), item).toBe(1);
  expect(toldCancelled).toContain(holder.body.item);

  // The joins, with exact counts.
  expect(big).toMatchObject({
    status: 200,
    body: { drained: true, group: "big", unfinished_tasks: 0, dead_lettered: 0 },
  });
  expect(big.sent.big).toBe(sizes.big);
  const cancelled = sizes.third - thirdDone.length;
  for (const j of [third1, third2]) {
    expect(j).toMatchObject({ status: 200, body: { drained: true, group: "third", unfinished_tasks: 0, cancelled } });
    expect(j.sent.third).toBe(thirdDone.length);
  }
  expect(cancelled).toBeGreaterThanOrEqual(cancel.body.cancelled);
  expect(queue).toMatchObject({ status: 200, body: { drained: true, unfinished_tasks: 0, dead_lettered: 0 } });
  expect(queue.sent).toEqual({ big: sizes.big, small: sizes.small, third: thirdDone.length });

  // The groups' status and the queue's, after the drain.
  expect(bigStats).toMatchObject({ state: "drained", puts: 80, completed: 80, cancelled: 0, in_flight: 0 });
  expect(smallStats).toMatchObject({ state: "drained", puts: 6, completed: 6, cancelled: 0, in_flight: 0 });
  expect(thirdStats).toMatchObject({
    state: "cancelled",
    puts: 30,
    completed: thirdDone.length,
    cancelled,
    unfinished_tasks: 0,
    in_flight: 0,
  });
  expect(stats).toMatchObject({ qsize: 0, unfinished_tasks: 0, in_flight: 0, dead_lettered: 0 });
  expect(stats.completed).toBe(sizes.big + sizes.small + thirdDone.length);
  console.log(
    `fair groups: most in flight a group ${JSON.stringify(seenInFlight)}; dead held ${dead.map((d) => d.item)}; ` +
      `small joined with big ${small.big.unfinished_tasks} unfinished; third: ${thirdDone.length} done, ${cancelled} cancelled`,
  );
});
