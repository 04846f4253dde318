// Benchmark: starts `wrangler dev` on a free port with throwaway storage and authentication on, then measures
// puts (with the admin secret and with a scoped token: the cost of auth), gets with task_done, and how fast a
// blocked get wakes. Prints figures; asserts nothing. Usage: npm run bench [-- N C]
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const N = Number(process.argv[2] ?? 2000); // operations per phase
const C = Number(process.argv[3] ?? 32); // concurrent clients

const port = await new Promise((resolve) => {
  const s = createServer().listen(0, "127.0.0.1", () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});
const persist = mkdtempSync(join(tmpdir(), "jq-bench-"));
const secret = randomBytes(32).toString("hex");
const dev = spawn("npx", ["wrangler", "dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", persist, "--var", `ADMIN_TOKEN:${secret}`], {
  detached: true,
  stdio: "ignore",
  env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
});
const base = `http://127.0.0.1:${port}/v1/queues/bench`;
let authorization = `Bearer ${secret}`;
const post = (verb, body) =>
  fetch(`${base}/${verb}`, { method: "POST", headers: { "content-type": "application/json", authorization }, body: JSON.stringify(body) }).then((r) => r.json());

try {
  for (let up = false; !up; ) up = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.ok, () => new Promise((r) => setTimeout(() => r(false), 250)));
  await fetch(base, { method: "PUT", headers: { "content-type": "application/json", authorization }, body: "{}" });
  const scoped = await fetch(`http://127.0.0.1:${port}/v1/tokens`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization },
    body: JSON.stringify({ queues: ["bench*"], rights: ["produce"] }),
  }).then((r) => r.json());

  /** Runs `op` N times over C concurrent loops; answers ops/s and latency percentiles in ms. */
  async function phase(label, op) {
    const latencies = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(Array.from({ length: C }, async () => {
      for (let i = next++; i < N; i = next++) {
        const t = performance.now();
        await op(i);
        latencies.push(performance.now() - t);
      }
    }));
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const p = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(1);
    console.log(`${label.padEnd(26)} ${String(Math.round(N / seconds)).padStart(6)} ops/s   p50 ${p(0.5)} ms   p99 ${p(0.99)} ms`);
    return N / seconds;
  }

  console.log(`wrangler dev on 127.0.0.1:${port}; ${N} operations per phase, ${C} concurrent clients`);
  // Auth's cost on the hot path: the admin secret is a constant-time compare, a scoped token an HMAC check.
  const putOne = (i) => post("put", { item: { n: i, pad: "x".repeat(100) } });
  const withSecret = await phase("put (admin secret)", putOne);
  authorization = `Bearer ${scoped.token}`;
  const withToken = await phase("put (scoped token)", putOne);
  authorization = `Bearer ${secret}`;
  console.log(`scoped token / admin secret ${(withToken / withSecret).toFixed(2)} (ratio of put rates, same run)`);
  await phase("get + task_done (leased)", async () => {
    const d = await post("get", {});
    await post("task_done", { receipt: d.receipt });
  });
  const batch = Array.from({ length: 100 }, (_, i) => ({ item: i }));
  const t = performance.now();
  for (let i = 0; i < 20; i++) await post("put", { items: batch });
  console.log(`batch put (100 items)       ${Math.round(2000 / ((performance.now() - t) / 1000))} items/s`);

  /** Takes and completes everything left in the queue. */
  async function drain() {
    for (;;) {
      const got = await post("get", { max: 100, block: false });
      if (!got.items) return;
      await Promise.all(got.items.map((d) => post("task_done", { receipt: d.receipt })));
    }
  }
  await drain();

  // Fan-out: many consumers long-polling at once, released by batch puts.
  const W = 1000;
  const waiters = Array.from({ length: W }, () => post("get", { timeout: 15 }));
  for (let tries = 0; (await fetch(base, { headers: { authorization } }).then((r) => r.json())).waiting.getters < W; tries++) {
    if (tries > 100) throw new Error("the waiting gets never all arrived");
    await new Promise((r) => setTimeout(r, 50));
  }
  const fanStart = performance.now();
  for (let i = 0; i < W / 100; i++) await post("put", { items: batch });
  const answered = await Promise.all(waiters);
  const fanMs = performance.now() - fanStart;
  const delivered = new Set(answered.map((d) => d.id)).size;
  console.log(`${W} waiting gets released   ${fanMs.toFixed(0)} ms for all (${delivered} distinct items delivered)`);
  await Promise.all(answered.map((d) => post("task_done", { receipt: d.receipt })));

  const wakes = [];
  for (let i = 0; i < 50; i++) {
    await drain();
    const waiting = post("get", { timeout: 5 });
    await new Promise((r) => setTimeout(r, 20));
    const sent = performance.now();
    await post("put", { item: i });
    await waiting;
    wakes.push(performance.now() - sent);
  }
  wakes.sort((a, b) => a - b);
  console.log(`blocked get woken by put    p50 ${wakes[25].toFixed(1)} ms   max ${wakes.at(-1).toFixed(1)} ms (put sent -> get answered)`);
} finally {
  process.kill(-dev.pid, "SIGKILL");
  rmSync(persist, { recursive: true, force: true });
}
