// Many callers at once, as a fleet of serverless functions calls a queue: 32 clients loop single-item put / get /
// task_done on a plain queue and 32 on a sharded one, with scoped tokens, through wrangler dev, for longer than
// anything a Worker keeps between requests (a shard count: 10 s; the revoked-token list: 30 s). Every answer must
// be a 2xx, and both queues drain to exactly 0. Plain fetch, no retries: a failure here is a failure a user sees.
import { afterAll, beforeAll, expect, it } from "vitest";
import { serve } from "./server.ts";

const ADMIN = "crowd-admin-secret-0123456789abcdef";
const CLIENTS = 32;
// The revoked-token list is refreshed every 30 s: the run crosses that refresh, and a shard count's (10 s) thrice.
const RUN_MS = 33_000;
let server: Awaited<ReturnType<typeof serve>>;

beforeAll(async () => {
  server = await serve("plain", { ADMIN_TOKEN: ADMIN });
});
afterAll(async () => server?.stop());

async function call(token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get("content-type"), text };
}

it("32 clients at once on a plain and a sharded queue: no answer but 2xx, and each drains to 0", async () => {
  const queues = { plain: `crowd-plain-${Date.now()}`, sharded: `crowd-sharded-${Date.now()}` };
  expect((await call(ADMIN, "PUT", `/v1/queues/${queues.plain}`, { lease_seconds: 30 })).status).toBe(201);
  expect((await call(ADMIN, "PUT", `/v1/queues/${queues.sharded}`, { lease_seconds: 30, shards: 4 })).status).toBe(201);
  const issued = await call(ADMIN, "POST", "/v1/tokens", { queues: ["crowd-*"], rights: ["produce", "consume"] });
  const token = (JSON.parse(issued.text) as { token: string }).token;

  const failures: string[] = [];
  const done = { plain: 0, sharded: 0 };
  const deadline = Date.now() + RUN_MS;
  const client = async (which: keyof typeof queues, n: number) => {
    const q = `/v1/queues/${queues[which]}`;
    const expectOk = (what: string, a: Awaited<ReturnType<typeof call>>) => {
      if (a.status >= 200 && a.status < 300) return true;
      failures.push(`${which} ${what}: ${a.status} ${a.type} ${a.text.slice(0, 200)}`);
      return false;
    };
    for (let i = 0; Date.now() < deadline; i++) {
      if (!expectOk("put", await call(token, "POST", `${q}/put`, { item: `${n}-${i}`, idempotency_key: `${n}-${i}` })))
        continue;
      const got = await call(token, "POST", `${q}/get`, { timeout: 10 });
      if (!expectOk("get", got)) continue;
      const { receipt } = JSON.parse(got.text) as { receipt: string };
      if (expectOk("task_done", await call(token, "POST", `${q}/task_done`, { receipt }))) done[which]++;
    }
  };
  await Promise.all(
    (["plain", "sharded"] as const).flatMap((which) => Array.from({ length: CLIENTS }, (_, n) => client(which, n))),
  );

  expect(failures).toEqual([]);
  for (const which of ["plain", "sharded"] as const) {
    const stats = JSON.parse((await call(ADMIN, "GET", `/v1/queues/${queues[which]}`)).text);
    expect(stats).toMatchObject({ unfinished_tasks: 0, qsize: 0, in_flight: 0, puts: done[which] });
    expect(done[which]).toBeGreaterThan(CLIENTS);
  }
}, 120_000);
