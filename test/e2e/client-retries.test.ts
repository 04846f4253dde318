// Transient failures injected between a client and `wrangler dev` by a small HTTP proxy: chosen calls are answered
// 503, 500 or 429 + Retry-After, or their connection is dropped before or after the service saw them. The
// TypeScript client and the CLI retry, and every operation takes effect exactly once: the queue's counters are
// exact afterwards, and a put whose answer was lost is not stored twice.
import { execFile } from "node:child_process";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { QueueClient, type Stats } from "../../clients/typescript/src/index.ts";
import { serve } from "./server.ts";

type Fault = "pass" | "503" | "500" | "429" | "drop-before" | "drop-after";

let server: Awaited<ReturnType<typeof serve>>;
let proxy: ReturnType<typeof faultyProxy> extends Promise<infer P> ? P : never;
let direct: QueueClient;

beforeAll(async () => {
  server = await serve("npm start", { MAX_WAIT_SECONDS: "2" });
  proxy = await faultyProxy(server.url);
  direct = new QueueClient(server.url);
});
afterAll(async () => {
  await proxy?.close();
  await server?.stop();
});

/**
 * A proxy to `upstream` that answers the requests matching an injected rule with its faults, one per request in
 * turn (`pass` forwards it untouched); `log` lists every request and what was done to it. WebSocket upgrades are
 * passed through (`dropSockets` cuts them).
 */
async function faultyProxy(upstream: string) {
  const rules: { method: string; suffix: string; faults: Fault[] }[] = [];
  const log: string[] = [];
  const sockets = new Set<Socket>();
  const http: Server = createServer(async (req, res) => {
    const body = await read(req);
    const path = req.url!.split("?")[0]!;
    const rule = rules.find((r) => r.method === req.method && path.endsWith(r.suffix) && r.faults.length > 0);
    const fault = rule?.faults.shift() ?? "pass";
    log.push(`${req.method} ${path.split("/").slice(3).join("/")} ${fault}`);
    if (fault === "drop-before") return req.socket.destroy();
    if (fault === "503" || fault === "500" || fault === "429") {
      const code = { "503": "unavailable", "500": "internal", "429": "limit_exceeded" }[fault];
      const headers = {
        "content-type": "application/problem+json",
        ...(fault === "429" ? { "retry-after": "1" } : {}),
      };
      return res.writeHead(Number(fault), headers).end(JSON.stringify({ status: Number(fault), code, detail: code }));
    }
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter(([k]) => !["host", "connection", "content-length"].includes(k)),
    ) as Record<string, string>;
    const answer = await fetch(upstream + req.url, {
      method: req.method,
      headers,
      body: body.length ? body : undefined,
    });
    const text = Buffer.from(await answer.arrayBuffer());
    if (fault === "drop-after") return req.socket.destroy(); // the service acted; its answer is lost
    const keep = ["content-type", "retry-after", "idempotent-replayed"];
    res.writeHead(answer.status, Object.fromEntries([...answer.headers].filter(([k]) => keep.includes(k))));
    res.end(text);
  });
  let cuts = 0;
  http.on("upgrade", (req: IncomingMessage, client: Socket, head: Buffer) => {
    // A cut socket passes the client's first frame on, loses the service's answer, and closes 200 ms later.
    const cut = cuts > 0 && cuts-- > 0;
    log.push(`UPGRADE ${req.url!.split("/").slice(3).join("/")}${cut ? " cut" : ""}`);
    let answering = true;
    const up = connect(Number(new URL(upstream).port), "127.0.0.1", () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(`${lines.join("\r\n")}\r\n\r\n`);
      up.write(head);
      client.on("data", (d: Buffer) => {
        up.write(d);
        if (cut && answering) {
          answering = false;
          setTimeout(() => client.destroy(), 200);
        }
      });
      up.on("data", (d: Buffer) => answering && client.write(d));
    });
    for (const s of [client, up]) {
      sockets.add(s);
      s.on("error", () => undefined);
      s.on("close", () => {
        sockets.delete(s);
        client.destroy();
        up.destroy();
      });
    }
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(http.address() as { port: number }).port}`,
    log,
    /** The next requests `METHOD …suffix` meet these faults, one each. */
    inject(method: string, suffix: string, ...faults: Fault[]) {
      rules.unshift({ method, suffix, faults });
    },
    /** The next `n` WebSockets are cut after their first frame. */
    cutSockets(n: number) {
      cuts = n;
    },
    close: () => {
      for (const s of sockets) s.destroy();
      http.closeAllConnections();
      return new Promise<void>((r) => http.close(() => r()));
    },
  };
}

const read = async (req: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

/** What the proxy did to the requests of queue `name` since `from`. */
const seen = (name: string, from = 0) => proxy.log.slice(from).filter((l) => l.includes(name));
const counters = (s: Stats) => ({
  qsize: s.qsize,
  unfinished_tasks: s.unfinished_tasks,
  puts: s.puts,
  completed: s.completed,
});

it("the client: each operation completes exactly once through 503s, 500s, a 429 and lost answers", async () => {
  const through = new QueueClient(proxy.url);
  const name = "retry-ops";
  const from = proxy.log.length;
  proxy.inject("PUT", `/queues/${name}`, "drop-after");
  const q = await through.createQueue(name, { lease_seconds: 2 });

  proxy.inject("POST", `/${name}/put`, "drop-after", "503");
  expect(await q.put({ n: 1 })).toBe(1);
  expect(counters(await direct.queue(name).stats())).toEqual({ qsize: 1, unfinished_tasks: 1, puts: 1, completed: 0 });

  // A get whose answer is lost leaves its item leased to no one: the retried get waits, and gets it when the lease
  // ends (delivered twice, completed once).
  proxy.inject("POST", `/${name}/get`, "drop-after");
  const first = await q.get();
  expect(first).toMatchObject({ item: { n: 1 }, deliveries: 2 });
  proxy.inject("POST", `/${name}/task_done`, "drop-after", "429");
  const started = Date.now();
  expect(await q.taskDone(first)).toEqual({ unfinished_tasks: 0, replayed: true });
  expect(Date.now() - started).toBeGreaterThanOrEqual(900); // the 429's Retry-After: 1

  proxy.inject("POST", `/${name}/put`, "500", "drop-after");
  expect(await q.putMany([{ n: 2 }, { n: 3 }])).toEqual([2, 3]);
  proxy.inject("POST", `/${name}/get`, "503", "drop-before");
  const jobs = await q.getMany(2);
  expect(jobs.map((j) => [j.item, j.deliveries])).toEqual([
    [{ n: 2 }, 1],
    [{ n: 3 }, 1],
  ]);
  proxy.inject("POST", `/${name}/task_done`, "500", "drop-after");
  expect(await q.taskDoneMany(jobs)).toEqual({ unfinished_tasks: 0, results: ["replayed", "replayed"] });

  proxy.inject("POST", `/${name}/join`, "503", "drop-after");
  expect(await q.join()).toEqual({ drained: true, unfinished_tasks: 0, dead_lettered: 0 });
  expect(counters(await direct.queue(name).stats())).toEqual({ qsize: 0, unfinished_tasks: 0, puts: 3, completed: 3 });

  proxy.inject("DELETE", `/queues/${name}`, "drop-after");
  await through.deleteQueue(name);
  await expect(direct.queue(name).stats()).rejects.toMatchObject({ code: "not_found" });
  expect(seen(name, from).filter((l) => !l.endsWith(" pass"))).toEqual([
    "PUT retry-ops drop-after",
    "POST retry-ops/put drop-after",
    "POST retry-ops/put 503",
    "POST retry-ops/get drop-after",
    "POST retry-ops/task_done drop-after",
    "POST retry-ops/task_done 429",
    "POST retry-ops/put 500",
    "POST retry-ops/put drop-after",
    "POST retry-ops/get 503",
    "POST retry-ops/get drop-before",
    "POST retry-ops/task_done 500",
    "POST retry-ops/task_done drop-after",
    "POST retry-ops/join 503",
    "POST retry-ops/join drop-after",
    "DELETE retry-ops drop-after",
  ]);
});

it("a blocking join keeps waiting through failures while a consumer finishes the work", async () => {
  const through = new QueueClient(proxy.url);
  const q = await through.createQueue("retry-join");
  await q.putMany(["a", "b"]);
  const jobs = await q.getMany(2);
  const from = proxy.log.length;
  // Its first wait ends poll_again after 2 s; then 503, a dropped connection, 500, and it waits again.
  proxy.inject("POST", "/retry-join/join", "pass", "503", "drop-before", "500", "pass");
  const joined = q.join();
  await new Promise((r) => setTimeout(r, 2_500));
  await direct.queue("retry-join").taskDone(jobs[0]!);
  await new Promise((r) => setTimeout(r, 1_000));
  await direct.queue("retry-join").taskDone(jobs[1]!);
  expect(await joined).toEqual({ drained: true, unfinished_tasks: 0, dead_lettered: 0 });
  expect(seen("retry-join", from).slice(0, 5)).toEqual([
    "POST retry-join/join pass",
    "POST retry-join/join 503",
    "POST retry-join/join drop-before",
    "POST retry-join/join 500",
    "POST retry-join/join pass",
  ]);
  await direct.deleteQueue("retry-join");
});

it("an anonymous task_done whose answer was lost is not sent again (it would complete a second task)", async () => {
  const q = await new QueueClient(proxy.url).createQueue("retry-anon", { lease_seconds: null });
  await q.putMany([1, 2]);
  await q.getMany(2);
  proxy.inject("POST", "/retry-anon/task_done", "drop-after");
  await expect(q.taskDone()).rejects.toThrow(/fetch failed/);
  expect((await direct.queue("retry-anon").stats()).unfinished_tasks).toBe(1); // once, not twice
  proxy.inject("POST", "/retry-anon/task_done", "429");
  expect(await q.taskDone()).toEqual({ unfinished_tasks: 0, replayed: false }); // a 429 did nothing: retried
  await direct.deleteQueue("retry-anon");
});

const bin = join(import.meta.dirname, "../../node_modules/.bin/joinable-queues");
function cli(args: string[], stdin = "", env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      bin,
      args,
      { env: { ...process.env, JOINABLE_QUEUES_URL: proxy.url, ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
    child.stdin!.end(stdin);
  });
}

it("the CLI retries too: create, put, bulk put over a dropped socket, get, task-done, join, delete", async () => {
  const name = "retry-cli";
  proxy.inject("PUT", `/queues/${name}`, "503");
  expect((await cli(["create", name, "--lease-seconds", "30"])).code).toBe(0);
  proxy.inject("POST", `/${name}/put`, "drop-after", "500");
  expect(await cli(["put", name, '"one"'])).toMatchObject({ code: 0, stdout: "put 1\n" });

  // 300 lines over a WebSocket cut twice, each time after its put reached the service: sent again with its key.
  const lines = Array.from({ length: 300 }, (_, i) => String(i)).join("\n");
  const from = proxy.log.length;
  proxy.cutSockets(2);
  expect(await cli(["put", name], lines)).toMatchObject({ code: 0, stdout: "300 items put\n" });
  expect(seen(name, from)).toEqual([`UPGRADE ${name}/ws cut`, `UPGRADE ${name}/ws cut`, `UPGRADE ${name}/ws`]);
  expect((await direct.queue(name).stats()).unfinished_tasks).toBe(301);

  proxy.inject("POST", `/${name}/get`, "503", "429");
  const got = await cli(["get", name, "--json"]);
  expect(got.code, got.stderr).toBe(0);
  const job = JSON.parse(got.stdout);
  expect(job).toMatchObject({ item: "one", deliveries: 1, lease_expires_at: expect.any(Number) });
  proxy.inject("POST", `/${name}/task_done`, "drop-after");
  expect(JSON.parse((await cli(["task-done", name, job.receipt, "--json"])).stdout)).toEqual({
    unfinished_tasks: 300,
    replayed: true,
  });
  const rest = direct.queue(name);
  for (let left = 300; left > 0; left -= 100) await rest.taskDoneMany(await rest.getMany(100));

  proxy.inject("POST", `/${name}/join`, "500", "drop-after");
  expect(await cli(["join", name])).toMatchObject({ code: 0, stdout: "all tasks done\n" });
  expect(counters(await direct.queue(name).stats())).toEqual({
    qsize: 0,
    unfinished_tasks: 0,
    puts: 301,
    completed: 301,
  });
  proxy.inject("DELETE", `/queues/${name}`, "drop-after");
  expect(await cli(["delete", name])).toMatchObject({ code: 0, stdout: `deleted ${name}\n` });
});

it("the CLI's --retries and JOINABLE_QUEUES_RETRIES: 0 shows the first failure; a bad value is usage", async () => {
  await direct.createQueue("retry-flag");
  proxy.inject("GET", "/queues/retry-flag", "503", "503", "503");
  expect(await cli(["stats", "retry-flag", "--retries", "0"])).toMatchObject({
    code: 1,
    stderr: "joinable-queues: unavailable: unavailable\n",
  });
  expect(await cli(["stats", "retry-flag"], "", { JOINABLE_QUEUES_RETRIES: "0" })).toMatchObject({ code: 1 });
  expect((await cli(["stats", "retry-flag"], "", { JOINABLE_QUEUES_RETRIES: "2" })).code).toBe(0);
  expect(await cli(["stats", "retry-flag", "--retries", "many"])).toMatchObject({
    code: 2,
    stderr: expect.stringMatching(/--retries must be a whole number ≥ 0, not 'many'/),
  });
  await direct.deleteQueue("retry-flag");
});
