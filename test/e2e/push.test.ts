// End to end: push delivery and join callbacks from a real `wrangler dev` (`npm start` allows http://127.0.0.1) to a
// Node receiver; then SIGKILL the server mid-push and restart it on the same storage: nothing lost, counted once.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, expect, it } from "vitest";
import { verifyWebhook } from "../../clients/typescript/src/webhooks.ts";
import { parseOpenMetrics } from "./openmetrics.ts";
import { freePort, kill, start } from "./server.ts";

interface Arrival {
  path: string;
  body: Record<string, any>;
  headers: Record<string, string>;
}

const persist = mkdtempSync(join(tmpdir(), "jq-push-"));
let server: ChildProcess | undefined;
let port = 0;
const arrivals: Arrival[] = [];
const secrets = new Map<string, string>(); // queue → its webhook secret
let bad = 0;
/** While true, /hold never answers (the push stays in flight); false answers it 200. */
let holding = true;
const held: ServerResponse[] = [];
const seenIds = new Set<string>();

const receiver = createServer(async (req: IncomingMessage, res: ServerResponse) => {
  let text = "";
  for await (const chunk of req) text += chunk;
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
  const body = JSON.parse(text);
  const secret = secrets.get(body.data.queue) ?? "";
  try {
    new Webhook(secret).verify(text, headers);
    await verifyWebhook(secret, headers, text);
  } catch {
    bad++;
  }
  arrivals.push({ path: req.url!, body, headers });
  const first = !seenIds.has(headers["webhook-id"]!);
  seenIds.add(headers["webhook-id"]!);
  if (req.url === "/flaky" && first) return res.writeHead(500).end();
  if (req.url === "/redirect") return res.writeHead(302, { location: "/ok" }).end();
  if (req.url === "/hold" && holding) return void held.push(res);
  res.writeHead(200).end("ok");
});

beforeAll(async () => {
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  port = await freePort();
  server = await start(port, persist);
});

afterAll(async () => {
  if (server) await kill(server);
  for (const res of held) res.destroy();
  receiver.close();
  rmSync(persist, { recursive: true, force: true });
});

const api = () => `http://127.0.0.1:${port}/v1/queues`;
const target = (path: string) => `http://127.0.0.1:${(receiver.address() as { port: number }).port}${path}`;
async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`${api()}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as Record<string, any> };
}
const stats = async (name: string) => (await call("GET", `/${name}`)).body;
async function until(check: () => Promise<boolean>, ms = 30_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 100));
  }
}

it("refuses a URL outside PUSH_ORIGINS at configuration, with a clear 400", async () => {
  const refused = await call("PUT", "/outside", { push: { url: "https://evil.example/hook" } });
  expect(refused.status).toBe(400);
  expect(refused.body.detail).toMatch(/^push\.url: 'https:\/\/evil\.example' is not in PUSH_ORIGINS/);
  expect((await call("GET", "/outside")).status).toBe(404);
});

it("pushes signed items to a real receiver, retrying a 500, and tells a join callback when they are done", async () => {
  const push = { url: target("/flaky"), min_backoff_seconds: 0.05, paused: true };
  const created = await call("PUT", "/flaky", { push });
  expect(created.status).toBe(201);
  expect(created.body.webhook_secret).toMatch(/^whsec_/);
  secrets.set("flaky", created.body.webhook_secret);
  expect((await call("PUT", "/flaky", { push })).body).not.toHaveProperty("webhook_secret"); // shown once
  await call("POST", "/flaky/put", { items: Array.from({ length: 5 }, (_, i) => ({ item: { n: i } })) });
  // Registered while work is outstanding (on a drained queue it would fire at once, as join answers at once).
  expect((await call("POST", "/flaky/join_callbacks", { url: target("/done") })).status).toBe(201);
  expect((await call("PATCH", "/flaky", { push: { ...push, paused: false } })).status).toBe(200);
  await until(async () => (await stats("flaky")).unfinished_tasks === 0);
  await until(async () => arrivals.some((a) => a.path === "/done"));
  const s = await stats("flaky");
  expect(s).toMatchObject({ completed: 5, deliveries: 10, redeliveries: 5, dead_lettered: 0 });
  expect(s.push).toMatchObject({ failures: 5, last_error: "answered 500", in_flight: 0 });
  // Scrapers see it too (queues report their counters at most once a second).
  const metric = async (family: string) => {
    const text = await (await fetch(`http://127.0.0.1:${port}/v1/metrics`)).text();
    return parseOpenMetrics(text)
      .get(`joinable_queues_${family}`)
      ?.samples.find((m) => m.labels.queue === "flaky")?.value;
  };
  await until(async () => (await metric("push_failures")) === 5, 5000);
  expect(await metric("push_in_flight")).toBe(0);
  const done = arrivals.find((a) => a.path === "/done")!;
  expect(done.body).toMatchObject({
    type: "queue.drained",
    data: { queue: "flaky", drained: true, unfinished_tasks: 0 },
  });
  expect(bad).toBe(0);
});

it("does not follow a redirect: it is a failed delivery", async () => {
  const created = await call("PUT", "/moved", { max_deliveries: 1, push: { url: target("/redirect") } });
  secrets.set("moved", created.body.webhook_secret);
  await call("POST", "/moved/put", { item: "x" });
  await until(async () => (await stats("moved")).dead_lettered === 1);
  expect((await stats("moved")).push.last_error).toBe("answered 302");
  expect(arrivals.filter((a) => a.path === "/ok")).toHaveLength(0);
});

it("loses nothing and counts nothing twice when the server is SIGKILLed mid-push", async () => {
  const name = "held";
  const created = await call("PUT", `/${name}`, { push: { url: target("/hold"), concurrency: 4, timeout_seconds: 1 } });
  secrets.set(name, created.body.webhook_secret);
  await call("POST", `/${name}/put`, { items: Array.from({ length: 10 }, (_, i) => ({ item: { n: i } })) });
  await until(async () => held.length === 4); // four pushes in flight, unanswered
  expect(await stats(name)).toMatchObject({ leased: 4, qsize: 6, unfinished_tasks: 10 });
  await kill(server!);
  for (const res of held.splice(0)) res.destroy();
  holding = false;
  server = await start(port, persist);
  // The four leases expire (timeout + 5 s) and those items are pushed again; the other six go out at once.
  await until(async () => (await stats(name)).unfinished_tasks === 0);
  const s = await stats(name);
  expect(s).toMatchObject({ completed: 10, puts: 10, dead_lettered: 0, leased: 0, qsize: 0 });
  const ids = arrivals.filter((a) => a.body.data.queue === name).map((a) => a.body.data.id as number);
  expect([...new Set(ids)].sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
  expect(bad).toBe(0);
});
