// `npm run bench`: every figure beside the platform's own ceiling, measured in the same run on the same machine.
// Starts the bench Worker (bench/wrangler.toml: the service's app and objects, unchanged, plus a bare SQLite
// Durable Object and an in-Worker driver) under `wrangler dev` on 127.0.0.1, runs each scenario for a bounded
// time, prints a table, writes bench/results/latest.json, and stops what it started. Asserts nothing.
// Environment: BENCH_SECONDS (per phase, default 2), BENCH_BIG (largest queue for growth, default 1000000),
// BENCH_ONLY (a comma-separated list of scenarios to run, e.g. "cost,e2e"; default all: then latest.json is
// written whole; with BENCH_ONLY, what ran is merged into it and every other scenario's figures are kept).
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import { join } from "node:path";
import { fair } from "./fair.mjs";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const BIG = Number(process.env.BENCH_BIG ?? 1_000_000);
const ONLY = process.env.BENCH_ONLY?.split(",");
const root = join(import.meta.dirname, "..");
const port = await new Promise((resolve) => {
  const s = createServer().listen(0, "127.0.0.1", () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});
const persist = mkdtempSync(join(os.tmpdir(), "jq-bench-"));
const secret = randomBytes(32).toString("hex");
const log = join(persist, "wrangler.log");
/** Starts the bench Worker under wrangler dev, in a process group of its own (so that it can be killed whole). */
const launch = () =>
  spawn(
    "npx",
    [
      "wrangler",
      "dev",
      "-c",
      "bench/wrangler.toml",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--persist-to",
      persist,
      "--var",
      `BENCH_ADMIN_TOKEN:${secret}`,
      "--show-interactive-dev-session=false",
      // BENCH_INSPECT=port opens workerd's inspector there (bench/profile.mjs takes a CPU profile through it).
      ...(process.env.BENCH_INSPECT ? ["--inspector-port", process.env.BENCH_INSPECT] : []),
    ],
    {
      cwd: root,
      detached: true,
      stdio: ["ignore", openSync(log, "a"), openSync(log, "a")],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
    },
  );
let dev = launch();
let restarts = 0;
const base = `http://127.0.0.1:${port}`;
const started = Date.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let socketRetries = 0;
/**
 * fetch, again when the request never reached the Worker: a kept-alive connection the proxy closed just as it was
 * reused (undici's race), or a connection refused while thousands open at once (the listen backlog overflowed).
 */
async function send(url, init) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetch(url, init);
    } catch (e) {
      const code = e.cause?.code;
      const refused = (code === "ECONNRESET" || code === "ECONNREFUSED") && e.cause?.syscall === "connect";
      if (!(code === "UND_ERR_SOCKET" || refused) || attempt === 5) throw e;
      socketRetries++;
      await sleep(20 * 2 ** attempt);
    }
  }
}

async function call(path, body, headers = {}, method = "POST") {
  const init = { method, headers: { "content-type": "application/json", ...headers } };
  const res = await send(base + path, { ...init, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}
const q = (name) => `/v1/queues/${name}`;
const item = { n: 1, pad: "x".repeat(100) };
const batch = Array.from({ length: 100 }, () => ({ item }));

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
/** Runs `op(loop)` over `concurrency` loops for `seconds`: operations per second and latency percentiles in ms. */
async function phase(concurrency, op, seconds = SECONDS) {
  const latencies = [];
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, loop) => {
      while (performance.now() < until) {
        const t = performance.now();
        await op(loop);
        latencies.push(performance.now() - t);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return {
    rate: latencies.length / ((performance.now() - t0) / 1000),
    p50: pct(latencies, 0.5),
    p99: pct(latencies, 0.99),
    n: latencies.length,
  };
}
const drive = (op, concurrency, queue = "object") => call("/drive", { op, queue, seconds: SECONDS, concurrency });
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The workerd processes wrangler started: pid and resident memory (KiB). */
function workerd() {
  const out = execFileSync("ps", ["-eo", "pid=,pgid=,rss=,comm="], { encoding: "utf8" });
  return out
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter(([, pgid, , comm]) => Number(pgid) === dev.pid && comm?.includes("workerd"))
    .map(([pid, , rss]) => ({ pid, rss: Number(rss) }));
}
const workerdRss = () => workerd().reduce((sum, p) => sum + p.rss, 0);
const workerdFiles = () => workerd().reduce((sum, p) => sum + readdirSync(`/proc/${p.pid}/fd`).length, 0);

/**
 * Waits until the previous scenario's kept-alive connections have closed: each open request holds about four
 * files in workerd, whose limit here is 20,000, so two scenarios of 4,000 calls must not overlap.
 */
async function quiesce() {
  for (const until = Date.now() + 60_000; workerdFiles() > 1000 && Date.now() < until; ) await sleep(250);
}

/** workerd's open-file limit (the machine's, per process). */
const fileLimit = () => {
  const pid = workerd()[0]?.pid;
  const line = pid && readFileSync(`/proc/${pid}/limits`, "utf8").match(/Max open files\s+(\d+)/);
  return line ? Number(line[1]) : Infinity;
};

/** Waits until the bench Worker answers. */
async function listening() {
  for (let up = false; !up; await sleep(250)) {
    up = await fetch(`${base}/`).then(
      (r) => r.ok,
      () => false,
    );
  }
}

/**
 * Makes room for a scenario that holds `files` more open files in workerd. workerd keeps connections its clients
 * closed in CLOSE-WAIT (seen: ~10,000 after the object-side, batch and wake-up scenarios), and at its limit it
 * dies, and every later scenario with it: so wrangler dev is started again, on the same storage, when needed.
 */
async function room(files) {
  await quiesce();
  const limit = fileLimit();
  if (workerdFiles() + files <= limit * 0.95) return;
  console.log(`  (restarting wrangler dev: workerd holds ${workerdFiles()} of its ${limit} files)`);
  const exited = new Promise((resolve) => dev.once("exit", resolve));
  process.kill(-dev.pid, "SIGKILL");
  await exited;
  dev = launch();
  restarts++;
  await listening();
  const open = workerdFiles();
  if (open + files > limit * 0.95) {
    throw new Error(`needs ~${files} more open files in workerd, which holds ${open} of its ${limit}`);
  }
}

const rows = [];
const results = { scenarios: ONLY ?? "all", figures: {}, ratios: {}, goals: [], skipped: [] };

/** Runs one scenario; one that fails is said and recorded, and the run goes on to the next. */
async function scenario(name, run) {
  if (ONLY && !ONLY.includes(name)) return;
  try {
    await run();
  } catch (e) {
    const reason = String(e?.cause?.code ?? e?.message ?? e).split("\n")[0];
    results.skipped.push({ scenario: name, reason });
    console.error(`skipped ${name}: ${reason}`);
  }
}
function row(scenario, figure, ratio, reference) {
  rows.push({ scenario, figure, ratio, reference });
  console.log(
    `${scenario.padEnd(44)} ${figure.padEnd(34)} ${ratio === undefined ? "" : `${(100 * ratio).toFixed(0)} % of ${reference}`}`,
  );
}
const fmt = (r, unit = "ops/s") =>
  `${Math.round(r.rate)} ${unit}, p50 ${r.p50.toFixed(1)} / p99 ${r.p99.toFixed(1)} ms`;
function goal(name, value, target, holds) {
  results.goals.push({ name, value, target, met: holds });
  return holds;
}

async function main() {
  await listening();
  for (const name of ["e2e", "object", "batch", "wake", "waiters", "fan"]) await call(q(name), {}, {}, "PUT");
  console.log(`bench Worker on ${base}; ${SECONDS} s per phase\n`);
  await scenario("cost", cost);
  await scenario("sockets", sockets);

  await scenario("e2e", async () => {
    // 1 + 2. End to end through wrangler dev, alternating with the ceiling (two rounds) so drift hits both.
    const e2e = { 1: [], 32: [] };
    for (let round = 0; round < 2; round++) {
      for (const c of [1, 32]) {
        const noop = await phase(c, () => call("/bare/noop"));
        const insert = await phase(c, () => call("/bare/insert", { item }));
        const put = await phase(c, () => call(`${q("e2e")}/put`, { item }));
        await refill("e2e", 3000);
        const pair = await phase(c, async () => {
          const d = await call(`${q("e2e")}/get`, { block: false });
          await call(`${q("e2e")}/task_done`, { receipt: d.receipt });
        });
        const cycle = await phase(c, async () => {
          await call(`${q("e2e")}/put`, { item });
          const d = await call(`${q("e2e")}/get`, { block: false });
          await call(`${q("e2e")}/task_done`, { receipt: d.receipt });
        });
        e2e[c].push({ noop, insert, put, pair, cycle });
      }
    }
    for (const c of [1, 32]) {
      const avg = (k) => ({
        rate: mean(e2e[c].map((r) => r[k].rate)),
        p50: mean(e2e[c].map((r) => r[k].p50)),
        p99: mean(e2e[c].map((r) => r[k].p99)),
      });
      const ratio = (k, requests) => mean(e2e[c].map((r) => (requests * r[k].rate) / r.insert.rate));
      const f = { noop: avg("noop"), insert: avg("insert"), put: avg("put"), pair: avg("pair"), cycle: avg("cycle") };
      results.figures[`e2e_${c}`] = f;
      results.ratios[`e2e_put_${c}`] = ratio("put", 1);
      results.ratios[`e2e_get_task_done_${c}`] = ratio("pair", 2);
      results.ratios[`e2e_cycle_${c}`] = ratio("cycle", 3);
      row(`ceiling: bare RPC, no work (${c} client${c > 1 ? "s" : ""})`, fmt(f.noop, "req/s"));
      row(`ceiling: bare one-INSERT (${c})`, fmt(f.insert, "req/s"));
      row(`put (${c})`, fmt(f.put), results.ratios[`e2e_put_${c}`], "INSERT req/s");
      row(
        `get + task_done, leased (${c})`,
        fmt(f.pair, "pairs/s"),
        results.ratios[`e2e_get_task_done_${c}`],
        "INSERT req/s, 2 req a pair",
      );
      row(
        `put → get → task_done (${c})`,
        fmt(f.cycle, "cycles/s"),
        results.ratios[`e2e_cycle_${c}`],
        "INSERT req/s, 3 req a cycle",
      );
    }
    goal(
      "end-to-end put ≥ 95 % of one-INSERT (32 clients)",
      results.ratios.e2e_put_32,
      0.95,
      results.ratios.e2e_put_32 >= 0.95,
    );
    const pairs = results.ratios.e2e_get_task_done_32;
    goal("end-to-end get + task_done ≥ 80 % of one-INSERT (32 clients, requests)", pairs, 0.8, pairs >= 0.8);
  });

  await scenario("object-side", async () => {
    // 3. Object-side capacity: the same operations as RPCs from inside the Worker, no HTTP in the loop.
    await call("/fill", { queue: "object", size: 50_000 });
    for (const c of [1, 32]) {
      const insertBefore = await drive("bare-insert", c);
      const noop = await drive("bare-noop", c);
      const put = await drive("put", c);
      const get = await drive("get", c);
      const done = await drive("task_done", c);
      const insertAfter = await drive("bare-insert", c);
      const both = (k) => mean([insertBefore[k], insertAfter[k]]);
      const insert = { rate: both("rate"), p50: both("p50"), p99: both("p99") };
      results.figures[`object_${c}`] = { noop, insert, put, get, task_done: done };
      for (const [k, r] of Object.entries({ put, get, task_done: done }))
        results.ratios[`object_${k}_${c}`] = r.rate / insert.rate;
      const how = c === 1 ? "sequential" : `${c} concurrent`;
      row(`object-side ceiling: bare RPC, no work (${how})`, fmt(noop, "calls/s"));
      row(`object-side ceiling: bare one-INSERT (${how})`, fmt(insert, "calls/s"));
      row(`object-side put (${how})`, fmt(put, "calls/s"), results.ratios[`object_put_${c}`], "INSERT calls/s");
      row(`object-side get, leased (${how})`, fmt(get, "calls/s"), results.ratios[`object_get_${c}`], "INSERT calls/s");
      row(
        `object-side task_done (${how})`,
        fmt(done, "calls/s"),
        results.ratios[`object_task_done_${c}`],
        "INSERT calls/s",
      );
    }
    goal(
      "object-side put ≥ 50 % of a bare one-INSERT RPC (sequential)",
      results.ratios.object_put_1,
      0.5,
      results.ratios.object_put_1 >= 0.5,
    );
  });

  await scenario("batches", async () => {
    // 4. Batches of 100, against single items at the same concurrency.
    const batchPut = await phase(32, () => call(`${q("batch")}/put`, { items: batch }));
    const singleGet = await phase(32, () => call(`${q("batch")}/get`, { block: false }));
    await call("/fill", { queue: "batch", size: 60_000 }); // enough that batch gets never find it empty
    const batchGet = await phase(32, () => call(`${q("batch")}/get`, { block: false, max: 100 }));
    results.figures.batch = {
      put_items_per_s: batchPut.rate * 100,
      get_items_per_s: batchGet.rate * 100,
      single_get: singleGet,
    };
    results.ratios.batch_put = (batchPut.rate * 100) / results.figures.e2e_32.put.rate;
    results.ratios.batch_get = (batchGet.rate * 100) / singleGet.rate;
    row(
      "batch put, items of 100 (32)",
      `${Math.round(batchPut.rate * 100)} items/s`,
      results.ratios.batch_put,
      "single puts",
    );
    row(
      "batch get, max 100 (32)",
      `${Math.round(batchGet.rate * 100)} items/s`,
      results.ratios.batch_get,
      "single gets",
    );
    goal("batch of 100 ≥ 20× the single-item rate (put)", results.ratios.batch_put, 20, results.ratios.batch_put >= 20);
  });

  await scenario("wake-up latency", async () => {
    // 5. Wake-up latency: a get blocked on an empty queue, from the put's answer to the getter's answer.
    const wakes = [];
    for (let i = 0; i < 1000; i++) {
      const init = { method: "POST", headers: { "content-type": "application/json" }, body: '{"timeout":30}' };
      const getter = send(`${base}${q("wake")}/get`, init).then(async (r) => {
        await r.text();
        return performance.now();
      });
      await sleep(2);
      await call(`${q("wake")}/put`, { item: i });
      const putAnswered = performance.now();
      wakes.push((await getter) - putAnswered);
    }
    wakes.sort((a, b) => a - b);
    const rtt = results.figures.e2e_1.noop.p50;
    results.figures.wake = {
      p50: pct(wakes, 0.5),
      p99: pct(wakes, 0.99),
      samples: wakes.length,
      bare_round_trip_p50: rtt,
    };
    results.ratios.wake_p99 = pct(wakes, 0.99) / rtt;
    const woke = `p50 ${pct(wakes, 0.5).toFixed(1)} / p99 ${pct(wakes, 0.99).toFixed(1)} ms (1000)`;
    row(
      "wake-up: blocked get, put's answer → get's",
      woke,
      results.ratios.wake_p99,
      `bare round trip (${rtt.toFixed(1)} ms), p99`,
    );
    goal("wake-up p50 ≤ bare round trip + 1 ms", pct(wakes, 0.5), rtt + 1, pct(wakes, 0.5) <= rtt + 1);
    goal("wake-up p99 ≤ 3× bare round trip", pct(wakes, 0.99), 3 * rtt, pct(wakes, 0.99) <= 3 * rtt);
  });

  await scenario("waiters", async () => {
    // 6. 4,000 waiting calls, released by puts; against 4,000 bare long-polls released.
    const WAITERS = 4000;
    const release = async (label, waitOne, waiting, releaseAll) => {
      await room(4 * WAITERS); // each held request costs workerd about four files
      const rss0 = workerdRss();
      const answers = [];
      for (let i = 0; i < WAITERS; i += 250) {
        // in steps, so the proxy's listen backlog keeps up
        answers.push(
          ...Array.from({ length: 250 }, () => waitOne().catch((e) => ({ failed: e.cause?.code ?? String(e) }))),
        );
        await sleep(50);
      }
      for (let t = Date.now(); (await waiting()) < WAITERS; await sleep(100))
        if (Date.now() - t > 60_000) throw new Error(`${label}: waiters never all arrived`);
      const rss1 = workerdRss();
      const t0 = performance.now();
      await releaseAll();
      const got = await Promise.all(answers);
      const seconds = (performance.now() - t0) / 1000;
      const failed = got.filter((g) => g?.failed);
      if (failed.length)
        console.error(
          `${label}: ${failed.length} waiting calls failed: ${[...new Set(failed.map((f) => f.failed))].join(", ")}`,
        );
      return { seconds, kib_per_waiter: (rss1 - rss0) / WAITERS, got, failed: failed.length };
    };
    const service = () =>
      release(
        "service",
        () => call(`${q("waiters")}/get`, { timeout: 60 }),
        async () => (await call(q("waiters"), undefined, {}, "GET")).waiting.getters,
        () => Promise.all(Array.from({ length: WAITERS / 100 }, () => call(`${q("waiters")}/put`, { items: batch }))),
      );
    const bare = () =>
      release(
        "bare",
        () => call("/bare/wait"),
        async () => (await call("/bare/waiting", undefined, {}, "GET")).waiting,
        () => Promise.all(Array.from({ length: WAITERS / 100 }, () => call("/bare/release", { n: 100 }))),
      );
    // Each side holds 4,000 connections, about 16,000 of workerd's 20,000 files: one round each is what fits here
    // (a second round ran out of files while the first round's connections were still closing).
    const svc = await service();
    const bareRelease = await bare();
    const distinct = new Set(svc.got.map((d) => d.id)).size; // every item delivered once
    results.figures.waiters = {
      count: WAITERS,
      seconds: svc.seconds,
      distinct_items: distinct,
      kib_per_waiter: svc.kib_per_waiter,
      bare_seconds: bareRelease.seconds,
      bare_kib_per_waiter: bareRelease.kib_per_waiter,
    };
    results.ratios.waiters_release = svc.seconds / bareRelease.seconds;
    const released = (r) => `${(r.seconds * 1000).toFixed(0)} ms, ${r.kib_per_waiter.toFixed(1)} KiB each`;
    row(
      `${WAITERS} waiting gets released by 40 batch puts`,
      `${released(svc)}, ${distinct} distinct`,
      results.ratios.waiters_release,
      `bare release (${released(bareRelease)})`,
    );
    goal(
      "4,000 waiting gets released ≤ 1.25× the bare long-poll release",
      results.ratios.waiters_release,
      1.25,
      results.ratios.waiters_release <= 1.25,
    );
  });

  await scenario("fan-out", async () => {
    // 7. Join fan-out: 2,000 WebSocket subscribers told; against a bare hibernatable broadcast.
    const SUBSCRIBERS = 2000;
    let peakFiles = 0;
    const fanOut = async (path, hello, trigger) => {
      await room(2 * SUBSCRIBERS);
      let told = 0;
      let last = 0;
      let allTold;
      const done = new Promise((r) => (allTold = r));
      const sockets = await Promise.all(
        Array.from(
          { length: SUBSCRIBERS },
          () =>
            new Promise((resolve, reject) => {
              const ws = new WebSocket(`${base.replace("http", "ws")}${path}`);
              ws.addEventListener("open", () => {
                if (hello) ws.send(hello);
                resolve(ws);
              });
              ws.addEventListener("error", reject);
              ws.addEventListener("message", (e) => {
                if (!String(e.data).includes('"joined"')) return;
                last = performance.now();
                if (++told === SUBSCRIBERS) allTold();
              });
            }),
        ),
      );
      await sleep(500); // every join subscription registered
      peakFiles = Math.max(peakFiles, workerdFiles());
      const sent = performance.now();
      const answered = await trigger();
      await done;
      for (const ws of sockets) ws.close();
      await Promise.all(
        sockets.map((ws) => ws.readyState === WebSocket.CLOSED || new Promise((r) => ws.addEventListener("close", r))),
      );
      // The last message often arrives before the trigger's own answer: time both from the moment it was sent.
      return { fromSend: last - sent, afterAnswer: Math.max(0, last - answered) };
    };
    await call(`${q("fan")}/put`, { item });
    const held = await call(`${q("fan")}/get`, {});
    const join = await fanOut(`${q("fan")}/ws`, '{"op":"join"}', async () => {
      await call(`${q("fan")}/task_done`, { receipt: held.receipt });
      return performance.now();
    });
    const broadcast = await fanOut("/bare/ws", undefined, async () => {
      await call("/bare/broadcast");
      return performance.now();
    });
    results.figures.join_fan_out = {
      subscribers: SUBSCRIBERS,
      join,
      bare_broadcast: broadcast,
      workerd_open_files_peak: peakFiles,
    };
    results.ratios.join_fan_out = join.fromSend / broadcast.fromSend;
    const told = `${join.fromSend.toFixed(0)} ms from task_done sent (${join.afterAnswer.toFixed(0)} after its answer)`;
    row(
      `join told to ${SUBSCRIBERS} WebSocket subscribers`,
      told,
      results.ratios.join_fan_out,
      `bare broadcast (${broadcast.fromSend.toFixed(0)} ms)`,
    );
    goal(
      "2,000 join subscribers told ≤ 1.25× the bare broadcast",
      results.ratios.join_fan_out,
      1.25,
      results.ratios.join_fan_out <= 1.25,
    );
  });

  await scenario("growth", async () => {
    // 8. Growth: rates, stats latency and wake-up with 0, 100,000 and BIG items already queued.
    const growth = {};
    for (const size of [0, 100_000, BIG]) {
      const name = `grow-${size}`;
      await call(q(name), {}, {}, "PUT");
      if (size) await call("/fill", { queue: name, size });
      const put = await phase(32, () => call(`${q(name)}/put`, { item }), 1.5);
      await refill(name, size + 2000); // so the gets below never find the queue empty
      const get = await phase(32, () => call(`${q(name)}/get`, { block: false }), 1.5);
      const stats = await phase(1, () => call(q(name), undefined, {}, "GET"), 1);
      const samples = [];
      for (let i = 0; i < 5; i++) samples.push((await call("/wake", { target: "queue", queue: name })).wake);
      const wake = median(samples);
      // The rows one put, one leased get and its task_done write here, by the queue's meter (the same at any size).
      const rows = async (step) => {
        const before = await call("/meter", { queue: name });
        await step();
        const after = await call("/meter", { queue: name });
        return after.rows_written + after.alarms_set - before.rows_written - before.alarms_set;
      };
      let receipt;
      const job = {
        put: await rows(() => call(`${q(name)}/put`, { item })),
        get: await rows(async () => {
          receipt = (await call(`${q(name)}/get`, { block: false })).receipt;
        }),
        task_done: await rows(() => call(`${q(name)}/task_done`, { receipt })),
      };
      growth[size] = { put: put.rate, get: get.rate, stats_p50: stats.p50, wake_ms: wake, rows: job };
      const written = `rows ${job.put}/${job.get}/${job.task_done}`;
      const figures = `put ${Math.round(put.rate)}/s, get ${Math.round(get.rate)}/s, stats p50 ${stats.p50.toFixed(1)} ms, wake ${wake} ms, ${written}`;
      row(`${size.toLocaleString("en")} items queued`, figures);
    }
    const bareWake = [];
    for (let i = 0; i < 5; i++) bareWake.push((await call("/wake", { target: "bare", queue: "" })).wake);
    results.figures.growth = { ...growth, bare_wake_ms: median(bareWake) };
    results.ratios.wake_big = growth[BIG].wake_ms / Math.max(1, growth[0].wake_ms);
    row("wake-up, bare object (evicted, first call)", `${median(bareWake)} ms`);
    row(
      `wake-up with ${BIG.toLocaleString("en")} items`,
      `${growth[BIG].wake_ms} ms`,
      results.ratios.wake_big,
      "wake-up with none",
    );
    goal(
      `wake-up with ${BIG.toLocaleString("en")} items ≤ 2× wake-up with none`,
      results.ratios.wake_big,
      2,
      results.ratios.wake_big <= 2,
    );
  });

  await scenario("auth", async () => {
    // 9. Auth's cost: the same put, open, with the admin secret, and with a scoped token (32 clients).
    await call(`/secure${q("e2e")}`, {}, { authorization: `Bearer ${secret}` }, "PUT").catch(() => undefined);
    const token = (
      await call("/secure/v1/tokens", { queues: ["e2e"], rights: ["produce"] }, { authorization: `Bearer ${secret}` })
    ).token;
    const open = await phase(32, () => call(`/open${q("e2e")}/put`, { item }));
    const admin = await phase(32, () =>
      call(`/secure${q("e2e")}/put`, { item }, { authorization: `Bearer ${secret}` }),
    );
    const scoped = await phase(32, () =>
      call(`/secure${q("e2e")}/put`, { item }, { authorization: `Bearer ${token}` }),
    );
    results.figures.auth = { open, admin_secret: admin, scoped_token: scoped };
    results.ratios.auth_scoped_token = scoped.rate / open.rate;
    row("put, no authentication (32)", fmt(open));
    row("put, admin secret (32)", fmt(admin), admin.rate / open.rate, "no authentication");
    row("put, scoped token (32)", fmt(scoped), results.ratios.auth_scoped_token, "no authentication");
  });

  await scenario("shards", shards);
  await scenario("fair", () => fair({ call, send, q, base, item, row, goal, results, quiesce, median }));

  console.log("\ngoals (ratios, same run):");
  for (const g of results.goals)
    console.log(
      `  ${g.met ? "met   " : "missed"} ${g.name}: ${typeof g.value === "number" ? g.value.toFixed(2) : g.value}`,
    );
}

try {
  await main().catch((e) => {
    const lines = readFileSync(log, "utf8")
      .split("\n")
      .filter((l) => !l.includes("[wrangler:info]"));
    console.error(`wrangler dev's last words:\n${lines.slice(-15).join("\n")}`);
    throw e;
  });
} finally {
  // What was measured is written even when a scenario, or wrangler itself, failed part-way.
  const pkg = (...paths) => {
    for (const p of paths) {
      try {
        return JSON.parse(readFileSync(join(root, "node_modules", p, "package.json"), "utf8")).version;
      } catch {
        // not installed there
      }
    }
  };
  results.machine = {
    cpu: os.cpus()[0]?.model,
    cores: os.cpus().length,
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    wrangler: pkg("wrangler"),
    workerd: pkg("wrangler/node_modules/@cloudflare/workerd-linux-64", "@cloudflare/workerd-linux-64", "workerd"), // wrangler's own
    date: new Date().toISOString(),
    seconds_per_phase: SECONDS,
  };
  results.table = rows;
  results.socket_retries = socketRetries;
  results.wrangler_restarts = restarts;
  results.duration_s = (Date.now() - started) / 1000;
  mkdirSync(join(root, "bench/results"), { recursive: true });
  const latest = join(root, "bench/results/latest.json");
  writeFileSync(latest, `${JSON.stringify(ONLY ? merged(latest, results) : results, null, 2)}\n`);
  console.log(`\n${results.duration_s.toFixed(0)} s; written to bench/results/latest.json`);
  process.kill(-dev.pid, "SIGKILL");
  rmSync(persist, { recursive: true, force: true });
}

/**
 * 0. The bill: billable units per job, counted inside workerd by the queue object's meter (rows written and read
 * per cursor, alarms set), the later deletes of what a job leaves for replays included; priced at the published
 * rates, beside Cloudflare Queues and SQS. Duration is left out: it is wall time on Cloudflare, not measurable here.
 */
async function cost() {
  const RATES = { as_of: "2026-12-01", worker_request: 0.3, do_request: 0.15, row_written: 1, row_read: 0.001 };
  // `priority.of(n, i)`: the priority of item i of the put at job n (priority queues only).
  const run = async (label, size, jobs, { order = "fifo", keyed = true, priority } = {}) => {
    const name = `cost-${order}-${size}-${keyed ? "keyed" : "plain"}-${priority ? priority.name : "0"}`;
    await call(q(name), { lease_seconds: 300, order }, {}, "PUT");
    const before = await call("/meter", { queue: name });
    for (let n = 0; n < jobs; n += size) {
      const key = keyed ? { "idempotency-key": `${name}-${n}` } : {};
      const one = (i) => (priority ? { item, priority: priority.of(n, i) } : { item });
      const body =
        size === 1 ? one(0) : { items: batch.slice(0, size).map((b, i) => ({ ...b, ...one(i), item: b.item })) };
      await call(`${q(name)}/put`, body, key);
      const got = await call(`${q(name)}/get`, size === 1 ? {} : { max: size });
      const receipts = (got.items ?? [got]).map((d) => d.receipt);
      await call(`${q(name)}/task_done`, size === 1 ? { receipt: receipts[0] } : { receipts });
    }
    const ran = await call("/meter", { queue: name });
    await call("/later", { queue: name, ms: 61 * 60_000 }); // past the hour a completion is kept for replays
    const after = await call("/meter", { queue: name });
    const per = (m) => ({
      rows_written: (m.rows_written + m.alarms_set - before.rows_written - before.alarms_set) / jobs,
      rows_read: (m.rows_read - before.rows_read) / jobs,
    });
    const requests = 3 / size; // put, get, task_done: each one Worker request and one Durable Object request
    const steady = per(after);
    const dollars =
      requests * (RATES.worker_request + RATES.do_request) +
      steady.rows_written * RATES.row_written +
      steady.rows_read * RATES.row_read;
    const figures = { order, keyed, jobs, as_calls_run: per(ran), steady, requests, dollars_per_million: dollars };
    results.figures[`cost_${label}`] = figures;
    const rows = `${per(ran).rows_written.toFixed(3)} rows as calls run, ${steady.rows_written.toFixed(3)} steady`;
    row(`cost: ${label} job`, `$${dollars.toFixed(2)}/M jobs, ${rows}`);
  };
  // Priority queues: ten priorities in turn, one per job (single items and whole batches), or mixed in a batch.
  const byJob = { name: "by-job", of: (n) => Math.floor(n / 100) % 10 };
  const single = { name: "single", of: (n) => n % 10 };
  const mixed = { name: "mixed", of: (_, i) => i % 10 };
  await crowd(RATES);
  await run("single-item", 1, 200);
  await run("batched (100)", 100, 2000);
  await run("single-item unkeyed", 1, 200, { keyed: false });
  await run("batched (100) unkeyed", 100, 2000, { keyed: false });
  await run("lifo single-item", 1, 200, { order: "lifo" });
  await run("lifo batched (100)", 100, 2000, { order: "lifo" });
  await run("priority single-item (10 priorities)", 1, 200, { order: "priority", priority: single });
  await run("priority batched (100; 10 priorities, one a batch)", 100, 2000, { order: "priority", priority: byJob });
  await run("priority batched (100; 10 priorities in each)", 100, 2000, { order: "priority", priority: mixed });
  results.figures.cost_rates = RATES;
  results.figures.cost_reference = { cloudflare_queues: 1.2, sqs: 1.2, sqs_batches_of_10: 0.12 };
  row("cost: Cloudflare Queues (write + read + delete)", "$1.20/M jobs");
  row("cost: SQS (send + receive + delete; batches of 10)", "$1.20/M jobs; $0.12/M in batches");
}

/**
 * 0b. The bill under concurrency, where group commit (src/objects/queue/group-commit.ts) shares one write among the
 * calls that arrive together: single-item jobs from 32 HTTP clients at once (keyed put, leased get, task_done by
 * receipt), and from 8 sockets each putting single items and consuming with prefetch 8.
 */
async function crowd(RATES) {
  const price = (name, jobs, before, ran, requests, label) =>
    (async () => {
      await call("/later", { queue: name, ms: 61 * 60_000 }); // past the hour a completion is kept for replays
      const after = await call("/meter", { queue: name });
      const written = (m) => (m.rows_written + m.alarms_set - before.rows_written - before.alarms_set) / jobs;
      const steady = written(after);
      const dollars = requests * (RATES.worker_request + RATES.do_request) + steady * RATES.row_written;
      const flushes = (ran.flushes - before.flushes) / jobs;
      results.figures[`cost_${label}`] = {
        jobs,
        as_calls_run: written(ran),
        steady,
        flushes,
        dollars_per_million: dollars,
      };
      row(
        `cost: ${label}`,
        `$${dollars.toFixed(2)}/M jobs, ${steady.toFixed(3)} rows, ${flushes.toFixed(3)} writes a job`,
      );
      return steady;
    })();
  const http = "cost-crowd-http";
  await call(q(http), { lease_seconds: 300 }, {}, "PUT");
  let before = await call("/meter", { queue: http });
  const perClient = 40;
  await Promise.all(
    Array.from({ length: 32 }, async (_, c) => {
      for (let i = 0; i < perClient; i++) {
        await call(`${q(http)}/put`, { item }, { "idempotency-key": `${c}-${i}` });
        const got = await call(`${q(http)}/get`, { block: false });
        if (got.receipt) await call(`${q(http)}/task_done`, { receipt: got.receipt });
      }
    }),
  );
  const httpRows = await price(
    http,
    32 * perClient,
    before,
    await call("/meter", { queue: http }),
    3,
    "single-item, 32 HTTP clients at once",
  );
  goal("32 HTTP clients at once: ≤ 0.5 rows a single-item job", httpRows, 0.5, httpRows <= 0.5);

  // Sockets bill an incoming message as 1/20 of a request; the Worker request is the upgrade's, once a socket.
  const sockets = "cost-crowd-sockets";
  await call(q(sockets), { lease_seconds: 300 }, {}, "PUT");
  before = await call("/meter", { queue: sockets });
  const perSocket = 200;
  const total = 8 * perSocket;
  let done = 0; // an item put on one socket may be delivered to any: the run ends when all are done
  let allDone;
  const finished = new Promise((resolve) => (allDone = resolve));
  await Promise.all(
    Array.from({ length: 8 }, async (_, s) => {
      const ws = new WebSocket(`${base.replace("http", "ws")}${q(sockets)}/ws`);
      await new Promise((resolve, reject) => {
        ws.addEventListener("open", resolve);
        ws.addEventListener("error", reject);
      });
      ws.addEventListener("message", (e) => {
        const m = JSON.parse(String(e.data));
        if (m.type === "delivery") ws.send(JSON.stringify({ op: "task_done", id: `t${m.id}`, receipt: m.receipt }));
        if (m.type === "task_done" && ++done === total) allDone();
      });
      ws.send(JSON.stringify({ op: "consume", id: "c", prefetch: 8 }));
      for (let i = 0; i < perSocket; i++)
        ws.send(JSON.stringify({ op: "put", id: `p${i}`, item, idempotency_key: `${s}-${i}` }));
      await finished;
      ws.close();
    }),
  );
  const socketRows = await price(
    sockets,
    8 * perSocket,
    before,
    await call("/meter", { queue: sockets }),
    3 / 20,
    "single-item, 8 sockets (prefetch 8)",
  );
  goal("8 sockets, prefetch 8: ≤ 0.25 rows a single-item job", socketRows, 0.25, socketRows <= 0.25);
}

/** One WebSocket as a channel: `ask(frame, until)` sends and resolves with the first message `until` accepts. */
async function channel(path) {
  const ws = new WebSocket(`${base.replace("http", "ws")}${path}`);
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve);
    ws.addEventListener("error", reject);
  });
  const inbox = []; // what arrived before anyone asked for it (a delivery may come before the put's answer)
  let waiting;
  ws.addEventListener("message", (e) => {
    inbox.push(JSON.parse(String(e.data)));
    if (waiting) take();
  });
  const take = () => {
    const at = inbox.findIndex(waiting.until);
    if (at < 0) return;
    const { resolve } = waiting;
    waiting = undefined;
    resolve(inbox.splice(at, 1)[0]);
  };
  const ask = (frame, until) =>
    new Promise((resolve) => {
      waiting = { resolve, until };
      if (frame) ws.send(JSON.stringify(frame));
      take();
    });
  return { ws, ask };
}

/**
 * 10. Jobs over sockets: 32 sockets, each a producer and a consumer (prefetch 1) doing put → delivery →
 * task_done, against the same job over HTTP (three requests) and against a bare object echoing messages.
 */
async function sockets() {
  await quiesce();
  const C = 32;
  await call(q("sockets"), { lease_seconds: 300 }, {}, "PUT");
  // Each measured after a second of the same work, so that none is timed cold (the runs vary less).
  const warm = async (op) => {
    await phase(C, op, 1);
    return phase(C, op);
  };
  const echo = await Promise.all(Array.from({ length: C }, () => channel("/bare/ws")));
  const bare = await warm((loop) => echo[loop].ask({ n: 1 }, () => true));
  for (const c of echo) c.ws.close();
  const workers = await Promise.all(Array.from({ length: C }, () => channel(`${q("sockets")}/ws`)));
  await Promise.all(
    workers.map((c, i) => c.ask({ op: "consume", id: `c${i}`, prefetch: 1 }, (m) => m.type === "consume")),
  );
  const jobs = await warm(async (loop) => {
    const c = workers[loop];
    await c.ask({ op: "put", id: "p", item }, (m) => m.type === "put");
    const d = await c.ask(undefined, (m) => m.type === "delivery");
    await c.ask({ op: "task_done", id: "t", receipt: d.receipt }, (m) => m.type === "task_done");
  });
  for (const c of workers) c.ws.close();
  const http = await warm(async () => {
    await call(`${q("sockets")}/put`, { item });
    const d = await call(`${q("sockets")}/get`, { block: false });
    await call(`${q("sockets")}/task_done`, { receipt: d.receipt });
  });
  results.figures.sockets = { jobs, http_jobs: http, bare_echo: bare };
  results.ratios.socket_jobs_vs_http = jobs.rate / http.rate;
  results.ratios.socket_messages_vs_echo = (3 * jobs.rate) / bare.rate;
  row("put → get → task_done over 32 sockets", fmt(jobs, "jobs/s"), results.ratios.socket_jobs_vs_http, "HTTP jobs/s");
  row("  the same over HTTP (32 clients)", fmt(http, "jobs/s"));
  row(
    "  messages over sockets (3 a job)",
    `${Math.round(3 * jobs.rate)} msgs/s`,
    results.ratios.socket_messages_vs_echo,
    `bare echo (${Math.round(bare.rate)}/s)`,
  );
  goal(
    "jobs over sockets ≥ 5× over HTTP",
    results.ratios.socket_jobs_vs_http,
    5,
    results.ratios.socket_jobs_vs_http >= 5,
  );
  goal(
    "socket messages ≥ 50 % of the bare echo",
    results.ratios.socket_messages_vs_echo,
    0.5,
    results.ratios.socket_messages_vs_echo >= 0.5,
  );
}

/** Tops a queue up to `least` items with batch puts, so a phase of gets never finds it empty. */
async function refill(name, least) {
  const { qsize } = await call(q(name), undefined, {}, "GET");
  const batch = Array.from({ length: 100 }, () => ({ item }));
  for (let have = qsize; have < least; have += 100) await call(`${q(name)}/put`, { items: batch });
}

/**
 * A BENCH_ONLY run merged into the last latest.json: its figures, ratios, goals and table rows replace those of the
 * same name, the rest are kept; the top-level machine, date and scenarios stay the earlier run's, and this run's
 * own are listed under `merged` (so each figure can be traced to the run that measured it).
 */
function merged(path, results) {
  let before;
  try {
    before = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return results; // nothing to merge into
  }
  const ran = new Set(results.table.map((r) => r.scenario));
  const goals = new Set(results.goals.map((g) => g.name));
  const { scenarios, machine, socket_retries, wrangler_restarts, duration_s } = results;
  return {
    ...before,
    figures: { ...before.figures, ...results.figures },
    ratios: { ...before.ratios, ...results.ratios },
    goals: [...(before.goals ?? []).filter((g) => !goals.has(g.name)), ...results.goals],
    skipped: [...(before.skipped ?? []).filter((s) => !scenarios.includes(s.scenario)), ...results.skipped],
    table: [...(before.table ?? []).filter((r) => !ran.has(r.scenario)), ...results.table],
    merged: [
      ...(before.merged ?? []).filter((m) => !m.scenarios.every((s) => scenarios.includes(s))),
      { scenarios, machine, socket_retries, wrangler_restarts, duration_s },
    ],
  };
}

/**
 * 11. Shards: one queue over N = 1, 4 and 8 objects under the same load — a fixed number of single-item
 * put → get → task_done jobs by 4 producers and 4 consumers over HTTP — read by every object's meter: the busiest
 * object's share of the steps (goal ≤ 1.25 / N), rows written per job, and the join's latency after the last
 * task_done. Then the longest an item waits beside an idle getter: 2 getters long-poll the queue (each on a random
 * shard), single items are put one at a time, and the put's answer is timed to the getter's.
 * BENCH_SHARD_JOBS (jobs a run, default 120) and BENCH_SHARD_RUNS (runs per N, default 3) size it; the join is
 * timed in those runs and in 5 more of 8 jobs each per N.
 */
async function shards() {
  const JOBS = Number(process.env.BENCH_SHARD_JOBS ?? 120);
  const RUNS = Number(process.env.BENCH_SHARD_RUNS ?? 3);
  const PRODUCERS = 4;
  const CONSUMERS = 4;
  const GETTERS = 2;
  const JOIN_TRIALS = 5;
  const SAMPLES = 50;
  const PAUSE_MS = 50;
  const shardName = (name, i) => (i === 0 ? name : `${name}#${i}`); // src/objects/shards/names.ts
  /** A request whose 409 (empty, a wait that ran out) or 503 poll_again is an answer, not a failure: undefined. */
  const attempt = async (path, body, signal) => {
    let res;
    let text;
    try {
      res = await send(base + path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal,
      });
      text = await res.text();
    } catch (e) {
      if (e?.name === "AbortError") return undefined;
      throw e;
    }
    if (res.ok) return JSON.parse(text);
    if (res.status === 409 || res.status === 503) return undefined;
    throw new Error(`POST ${path}: ${res.status} ${text}`);
  };
  const meters = (name, n) =>
    Promise.all(Array.from({ length: n }, (_, i) => call("/meter", { object: shardName(name, i) })));
  const fig = {
    jobs_per_run: JOBS,
    runs: RUNS,
    producers: PRODUCERS,
    consumers: CONSUMERS,
    by_n: {},
    delivery: {},
    retried: [],
  };
  let serial = 0;
  /**
   * Runs again what failed: `wrangler dev` reloads the Worker whenever a source file changes (others may be
   * editing the tree), which fails the requests under way and resets every object, meters included.
   */
  const retrying = async (run) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await run();
      } catch (e) {
        if (attempt === 4) throw e;
        fig.retried.push(String(e?.message ?? e).split("\n")[0]);
        console.log(`  (shards: a run failed and is run again: ${fig.retried.at(-1)})`);
        await sleep(1000);
        await listening();
      }
    }
  };
  /**
   * One run: a fresh queue of N shards, a sentinel job held open while `jobs` jobs run, then its task_done, the
   * last: the join started before the work is timed from that task_done (from its sending and after its answer).
   */
  const runJobs = async (N, jobs) => {
    const name = `shards-${N}-${serial++}`;
    await call(q(name), { shards: N, lease_seconds: 300 }, {}, "PUT");
    const before = await meters(name, N);
    await call(`${q(name)}/put`, { item });
    const sentinel = await call(`${q(name)}/get`, { timeout: 5 });
    let joined;
    const join = call(`${q(name)}/join`, { timeout: 60 }).then((j) => {
      joined = performance.now();
      return j;
    });
    join.catch(() => undefined); // awaited below; a failure before then is that await's
    let broken = false;
    await sleep(50); // the join is waiting (on a sharded queue: its first wave has read every shard)
    const t0 = performance.now();
    let taken = 0;
    let done = 0;
    // The getters still blocked when the last item is taken are given up (locally the Worker is not told: each
    // times out on its own, after this run's figures are read).
    const over = new AbortController();
    const producers = Array.from({ length: PRODUCERS }, async (_, p) => {
      for (let i = p; i < jobs && !broken; i += PRODUCERS) await call(`${q(name)}/put`, { item });
    });
    const consumers = Array.from({ length: CONSUMERS }, async () => {
      while (taken < jobs && !broken) {
        const d = await attempt(`${q(name)}/get`, { timeout: 1 }, over.signal);
        if (!d) continue;
        if (++taken === jobs) over.abort();
        await call(`${q(name)}/task_done`, { receipt: d.receipt });
        done++;
      }
    });
    try {
      await Promise.all([...producers, ...consumers]);
    } catch (e) {
      broken = true;
      over.abort();
      throw e;
    }
    const seconds = (performance.now() - t0) / 1000;
    if (done !== jobs || joined !== undefined) throw new Error(`N=${N}: ${done} jobs done, join early: ${!!joined}`);
    const sent = performance.now();
    await call(`${q(name)}/task_done`, { receipt: sentinel.receipt });
    const answered = performance.now();
    const j = await join;
    if (!j.drained) throw new Error(`N=${N}: the join answered ${JSON.stringify(j)}`);
    const after = await meters(name, N);
    if (after.some((m, i) => m.woke_at !== before[i].woke_at)) throw new Error("an object restarted during the run");
    return {
      steps: after.map((m, i) => m.steps - before[i].steps),
      written: after.reduce(
        (n, m, i) => n + m.rows_written + m.alarms_set - before[i].rows_written - before[i].alarms_set,
        0,
      ),
      read: after.reduce((n, m, i) => n + m.rows_read - before[i].rows_read, 0),
      jobs: jobs + 1,
      seconds,
      join_from_send: joined - sent,
      join_after_answer: Math.max(0, joined - answered),
    };
  };
  for (const N of [1, 4, 8]) {
    const runs = [];
    for (let run = 0; run < RUNS; run++) runs.push(await retrying(() => runJobs(N, JOBS)));
    // More joins, timed the same way over small runs (their meters are not counted).
    const trials = [...runs];
    for (let t = 0; t < JOIN_TRIALS; t++) trials.push(await retrying(() => runJobs(N, 8)));
    const steps = Array.from({ length: N }, (_, i) => runs.reduce((n, r) => n + r.steps[i], 0));
    const jobs = runs.reduce((n, r) => n + r.jobs, 0);
    const written = runs.reduce((n, r) => n + r.written, 0);
    const read = runs.reduce((n, r) => n + r.read, 0);
    const seconds = runs.reduce((n, r) => n + r.seconds, 0);
    const total = steps.reduce((a, b) => a + b, 0);
    const busiest = Math.max(...steps);
    const share = busiest / total;
    const timed = (k) => {
      const xs = trials.map((r) => r[k]).sort((a, b) => a - b);
      return { p50: pct(xs, 0.5), max: xs.at(-1), samples: xs.length };
    };
    const f = {
      steps_per_object: steps,
      busiest_object: steps.indexOf(busiest),
      busiest_share: share,
      share_goal: 1.25 / N,
      steps_per_job: total / jobs,
      busiest_steps_per_job: busiest / jobs,
      rows_written_per_job: written / jobs,
      rows_read_per_job: read / jobs,
      jobs_per_s_local: (RUNS * JOBS) / seconds,
      join_after_last_task_done_ms: timed("join_after_answer"),
      join_from_last_task_done_sent_ms: timed("join_from_send"),
      projected_jobs_per_s: 1000 / (share * (total / jobs)),
    };
    fig.by_n[N] = f;
    row(
      `shards ${N}: busiest object's share of steps`,
      `${(100 * share).toFixed(1)} % (object ${f.busiest_object}; goal ≤ ${(100 * f.share_goal).toFixed(1)} %)`,
    );
    row(
      `shards ${N}: per job`,
      `${f.steps_per_job.toFixed(2)} steps, ${f.rows_written_per_job.toFixed(2)} rows written, ${f.rows_read_per_job.toFixed(1)} read`,
    );
    const ja = f.join_after_last_task_done_ms;
    const js = f.join_from_last_task_done_sent_ms;
    row(
      `shards ${N}: join after the last task_done's answer`,
      `p50 ${ja.p50.toFixed(1)} / max ${ja.max.toFixed(1)} ms (${ja.samples}; from its sending p50 ${js.p50.toFixed(1)} / max ${js.max.toFixed(1)})`,
    );
    row(
      `shards ${N}: projected deployed (1,000 req/s an object)`,
      `${Math.round(f.projected_jobs_per_s)} jobs/s (local ${Math.round(f.jobs_per_s_local)} jobs/s)`,
    );
    if (N > 1) goal(`shards ${N}: busiest object ≤ 1.25 / N of the steps`, share, 1.25 / N, share <= 1.25 / N);
  }
  for (const N of [4, 8]) {
    const rows1 = fig.by_n[1].rows_written_per_job;
    const r = fig.by_n[N].rows_written_per_job / rows1;
    results.ratios[`shards_${N}_rows_per_job`] = r;
    goal(`shards ${N}: rows written per job ≤ 1.05× one object's`, r, 1.05, r <= 1.05);
  }

  // An item beside an idle getter: getters long-poll, single items are put one at a time, a pause between.
  const idle = async (N) => {
    const name = `shards-idle-${N}-${serial++}`;
    await call(q(name), { shards: N, lease_seconds: 300 }, {}, "PUT");
    let stop = false;
    let pending;
    const early = [];
    let broken;
    const getters = Array.from({ length: GETTERS }, async () => {
      while (!stop && !broken) {
        const d = await attempt(`${q(name)}/get`, { timeout: 20 });
        if (!d) continue;
        const at = performance.now();
        if (pending) pending({ at, shard: Number(/^[0-9a-f]{8}-(\d{1,2})\./.exec(d.receipt)?.[1] ?? 0) });
        else early.push(at);
        pending = undefined;
        await call(`${q(name)}/task_done`, { receipt: d.receipt });
      }
    }).map((g) => g.catch((e) => (broken = e)));
    const waits = [];
    const slowest = []; // the three slowest, with the shard each item was put on (its receipt's)
    let lost = 0;
    try {
      for (let i = 0; i < SAMPLES; i++) {
        await sleep(PAUSE_MS); // every getter blocked again, and its shard has asked its siblings
        if (broken) throw broken;
        const answered = new Promise((r) => (pending = r));
        await call(`${q(name)}/put`, { item: i });
        const put = performance.now();
        const got = await Promise.race([answered, sleep(5000).then(() => undefined)]);
        if (got === undefined) {
          lost++;
          waits.push(5000);
          pending = undefined;
        } else {
          waits.push(got.at - put);
          slowest.push({ ms: got.at - put, sample: i, item_shard: got.shard });
        }
      }
    } catch (e) {
      stop = true; // the getters give up at their next answer
      throw e;
    }
    slowest.sort((a, b) => b.ms - a.ms).splice(3);
    stop = true;
    for (let g = 0; g < GETTERS; g++) await call(`${q(name)}/put`, { item: "release" });
    await Promise.all(getters);
    if (broken) throw broken;
    waits.sort((a, b) => a - b);
    const f = {
      getters: GETTERS,
      samples: SAMPLES,
      pause_ms: PAUSE_MS,
      p50: pct(waits, 0.5),
      p99: pct(waits, 0.99),
      max: waits.at(-1),
      over_5s: lost,
      slowest,
    };
    return f;
  };
  for (const N of [1, 4, 8]) {
    const f = await retrying(() => idle(N));
    fig.delivery[N] = f;
    row(
      `shards ${N}: item beside idle getters, put's answer → get's`,
      `p50 ${f.p50.toFixed(1)} / max ${f.max.toFixed(1)} ms (${SAMPLES}${f.over_5s ? `, ${f.over_5s} over 5 s` : ""})`,
    );
  }
  results.figures.shards = fig;
  for (const N of [1, 4, 8]) results.ratios[`shards_${N}_busiest_share`] = fig.by_n[N].busiest_share;
}
