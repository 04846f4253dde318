// End to end: SIGKILL a running `wrangler dev` right after acknowledged puts and task_dones, or amid 32 clients'
// calls, restart it on the same storage folder, and find every acknowledged item and the exact counter.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { freePort, kill, start } from "./server.ts";

const persist = mkdtempSync(join(tmpdir(), "jq-crash-"));
let server: ChildProcess | undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterAll(async () => {
  if (server) await kill(server);
  rmSync(persist, { recursive: true, force: true });
});

it("keeps every acknowledged put and task_done across a SIGKILL of wrangler dev", async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}/v1/queues/crash`;
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  server = await start(port, persist);
  const created = await fetch(base, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ lease_seconds: 3600 }),
  });
  expect(created.status).toBe(201);
  for (let i = 0; i < 50; i++) expect((await post("/put", { item: { n: i } })).status).toBe(201);
  const taken = [];
  for (let i = 0; i < 20; i++) taken.push((await post("/get", {})).body);
  for (const d of taken.slice(0, 15)) expect((await post("/task_done", { receipt: d.receipt })).status).toBe(200);
  await kill(server); // right after the last acknowledged task_done

  server = await start(port, persist);
  const stats = (await (await fetch(base)).json()) as Record<string, number>;
  expect(stats).toMatchObject({ qsize: 30, leased: 5, unfinished_tasks: 35 });
  const rest = (await post("/get", { max: 100 })).body.items.map((d: { item: { n: number } }) => d.item.n);
  expect(rest).toEqual(Array.from({ length: 30 }, (_, i) => i + 20));
  for (const d of taken.slice(15)) expect((await post("/task_done", { receipt: d.receipt })).status).toBe(200);
  expect(((await (await fetch(base)).json()) as Record<string, number>).unfinished_tasks).toBe(30);
  await kill(server);
});

it("a SIGKILL amid 32 clients' calls loses no answered put or task_done, and no put is kept in part", async () => {
  // Group commit (src/objects/queue/group-commit.ts) applies the calls that arrive together in memory and writes
  // them once: the kill lands between steps and their write. Each put is a batch of three items under its own key.
  const port = await freePort();
  const base = `http://127.0.0.1:${port}/v1/queues/crowd-crash`;
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  server = await start(port, persist);
  expect((await call("PUT", "", { lease_seconds: 3600 })).status).toBe(201);
  const acked = new Map<string, number[]>(); // a put's key → its ids, once answered
  const taken = new Map<string, string>(); // an answered get's receipt → its item
  const completed = new Set<string>(); // receipts whose task_done was answered
  let running = true;
  const client = async (c: number) => {
    try {
      for (let i = 0; running; i++) {
        const key = `c${c}-${i}`;
        const items = [0, 1, 2].map((k) => ({ item: `${key}/${k}` }));
        const put = await call("POST", "/put", { items }, { "idempotency-key": key });
        if (put.status === 201) acked.set(key, put.body.ids);
        const got = await call("POST", "/get", { block: false });
        if (got.status !== 200) continue;
        taken.set(got.body.receipt, got.body.item);
        if ((await call("POST", "/task_done", { receipt: got.body.receipt })).status === 200)
          completed.add(got.body.receipt);
      }
    } catch {
      // the server was killed under this call: it may or may not have been applied, and nobody was answered
    }
  };
  const clients = Promise.all(Array.from({ length: 32 }, (_, c) => client(c)));
  while (acked.size < 300) await sleep(5);
  await kill(server);
  running = false;
  await clients;

  server = await start(port, persist);
  // Every answered put is there whole: a retry of it is a replay with the same ids.
  for (const [key, ids] of acked) {
    const items = [0, 1, 2].map((k) => ({ item: `${key}/${k}` }));
    expect((await call("POST", "/put", { items }, { "idempotency-key": key })).body).toEqual({ ids, replayed: true });
  }
  // Every answered task_done is remembered; every other answered get's delivery completes now.
  for (const receipt of taken.keys()) {
    const done = await call("POST", "/task_done", { receipt });
    expect(done.status).toBe(200);
    if (completed.has(receipt)) expect(done.body.replayed).toBe(true);
  }
  // Where every stored item is now: delivered above, leased by a get nobody was answered for, or still ready.
  const leased = (await call("GET", "/items?state=leased&limit=100")).body.items.map((d: { item: string }) => d.item);
  const ready: string[] = [];
  for (;;) {
    const got = await call("POST", "/get", { max: 100, block: false });
    if (got.status !== 200) break;
    ready.push(...got.body.items.map((d: { item: string }) => d.item));
  }
  const all = [...taken.values(), ...ready, ...leased];
  expect(new Set(all).size).toBe(all.length); // no item twice
  const perKey = new Map<string, number>();
  for (const item of all) perKey.set(item.split("/")[0]!, (perKey.get(item.split("/")[0]!) ?? 0) + 1);
  expect([...perKey.values()].filter((n) => n !== 3)).toEqual([]); // a put is kept whole or not at all
  for (const key of acked.keys()) expect(perKey.get(key)).toBe(3);
  const stats = (await call("GET", "")).body;
  expect(stats.puts).toBe(all.length);
  console.log(
    `crash amid 32 clients: ${acked.size} puts answered, ${perKey.size - acked.size} unanswered kept whole, ` +
      `${completed.size} task_dones answered, ${taken.size - completed.size} deliveries unfinished at the kill`,
  );
});
