// The `fair` scenario of `npm run bench` (issue 34's goals): a small group behind a big one, with fifo and with
// fair dispatch; the same workers' throughput with fifo, fair, and fair with a cap on each group's deliveries in
// flight; and the rows a job writes with each. bench/run.mjs runs it with its own helpers (`ctx`).
//
// The workers are sockets, one delivery at a time (consume with prefetch 1: a delivery, 10 ms of "work", a task_done
// frame by receipt, then the next delivery): the bench's sockets scenario does jobs about 10× faster than HTTP here,
// whose ~10 ms a request on this machine would bury a 10 ms job. The callers put and join over HTTP.
// Last, informational: what fair dispatch costs the queue object when thousands of groups have an item ready.
// Environment: BENCH_FAIR_BIG (the big group, default 10000), BENCH_FAIR_FIFO_SECONDS (the longest the small group's
// join is waited for behind the big one with fifo dispatch, default 60; past it the figure is "> N s").

const WORKERS = 8;
const WORK_MS = 10;
const SMALL = 10;
const BIG = Number(process.env.BENCH_FAIR_BIG ?? 10_000);
const FIFO_SECONDS = Number(process.env.BENCH_FAIR_FIFO_SECONDS ?? 60);
const TRIALS = 5; // small groups timed, alone and behind the big one (fair)
const THROUGHPUT_JOBS = 2000;
const ROW_JOBS = 100; // sequential put → get → task_done, for the rows a job writes
const CAP = 4;
const MANY = 5000; // one-item groups, for dispatch's own cost

export async function fair(ctx) {
  const { call, send, q, base, item, row, goal, results, quiesce, median } = ctx;
  await quiesce();
  const fig = { workers: WORKERS, work_ms: WORK_MS, transport: "sockets, prefetch 1; puts and joins over HTTP" };

  const create = (name, settings) => call(q(name), { lease_seconds: 60, ...settings }, {}, "PUT");
  /** Puts `n` items in `group`, in batches of 100, from `producers` HTTP callers at once. */
  const putGroup = async (name, group, n, producers = 1) => {
    const batches = Array.from({ length: Math.ceil(n / 100) }, (_, b) => Math.min(100, n - 100 * b));
    let next = 0;
    await Promise.all(
      Array.from({ length: producers }, async () => {
        while (next < batches.length) {
          const size = batches[next++];
          await call(`${q(name)}/put`, { items: Array.from({ length: size }, () => ({ item })), group });
        }
      }),
    );
  };
  /** Joins a group (or the queue), asking again on poll_again, until `seconds`: its answer, or undefined. */
  const join = async (name, group, seconds = 120) => {
    const until = performance.now() + seconds * 1000;
    while (performance.now() < until) {
      const timeout = Math.max(0.1, Math.min(20, (until - performance.now()) / 1000));
      const res = await send(`${base}${q(name)}/join`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(group === undefined ? { timeout } : { group, timeout }),
      });
      const body = await res.json();
      if (res.ok && body.drained) return body;
      if (!(res.status === 409 && body.code === "poll_again") && !(res.ok && !body.drained))
        throw new Error(`join ${name} ${group ?? ""}: ${res.status} ${JSON.stringify(body)}`);
    }
    return undefined;
  };
  /** The time from a small group's put being sent until its join answers, in ms (undefined: past `seconds`). */
  const small = async (name, group, seconds) => {
    const t0 = performance.now();
    await putGroup(name, group, SMALL);
    const joined = await join(name, group, seconds);
    return joined && performance.now() - t0;
  };
  /** Cancels what is left of a big group and waits until the queue is drained (its deliveries out finish). */
  const finish = async (name, group) => {
    const cancelled = (await call(`${q(name)}/groups/${group}/cancel`, {})).cancelled;
    if (!(await join(name, undefined, 60))) throw new Error(`${name} did not drain after cancelling ${group}`);
    return cancelled;
  };

  // 1. Latency: 10 items alone, and put right after 10,000 of another group, with each dispatch.
  const latency = {};
  for (const dispatch of ["fair", "fifo"]) {
    const name = `fair-alone-${dispatch}`;
    await create(name, { dispatch });
    const workers = await pool(ctx, name);
    workers.start();
    const times = [];
    for (let t = 0; t < TRIALS; t++) times.push(await small(name, `small-${t}`, 30));
    await workers.close();
    latency[`alone_${dispatch}`] = { ms: times, median: median(times) };
  }
  {
    const name = "fair-behind-fair";
    await create(name, { dispatch: "fair" });
    const workers = await pool(ctx, name);
    workers.start();
    await putGroup(name, "big", BIG, 4);
    const times = [];
    for (let t = 0; t < TRIALS; t++) times.push(await small(name, `small-${t}`, 30));
    const left = (await call(`${q(name)}/groups/big`, undefined, {}, "GET")).unfinished_tasks;
    const cancelled = await finish(name, "big");
    await workers.close();
    latency.behind_fair = { ms: times, median: median(times), big_unfinished_after: left, big_cancelled: cancelled };
  }
  {
    const name = "fair-behind-fifo";
    await create(name, { dispatch: "fifo" });
    const workers = await pool(ctx, name);
    workers.start();
    await putGroup(name, "big", BIG, 4);
    const bigDoneBefore = workers.done();
    const ms = await small(name, "small", FIFO_SECONDS);
    const bigDoneBy = workers.done() - (ms === undefined ? 0 : SMALL);
    const cancelled = await finish(name, "big");
    await workers.close();
    latency.behind_fifo = {
      ms: ms ?? null,
      over_seconds: ms === undefined ? FIFO_SECONDS : null,
      big_done_when_small_put: bigDoneBefore,
      big_done_when_small_joined: bigDoneBy,
      big_cancelled: cancelled,
      jobs_per_s: ms === undefined ? null : (bigDoneBy - bigDoneBefore + SMALL) / (ms / 1000),
    };
  }
  fig.latency = latency;
  const ms = (x) => `${x.toFixed(0)} ms`;
  const trials = (l) => `median ${ms(l.median)} (${l.ms.map((x) => x.toFixed(0)).join(", ")})`;
  row(`fair: ${SMALL} items alone, put → join (fair)`, trials(latency.alone_fair));
  row(`fair: ${SMALL} items alone, put → join (fifo)`, trials(latency.alone_fifo));
  const behind = latency.behind_fair;
  results.ratios.fair_small_behind_big = behind.median / latency.alone_fair.median;
  row(
    `fair: ${SMALL} behind ${BIG.toLocaleString("en")}, fair dispatch`,
    `${trials(behind)}; big left ${behind.big_unfinished_after}`,
    results.ratios.fair_small_behind_big,
    "alone",
  );
  const fifo = latency.behind_fifo;
  row(
    `fair: ${SMALL} behind ${BIG.toLocaleString("en")}, fifo dispatch`,
    fifo.ms === null
      ? `> ${FIFO_SECONDS} s (big done: ${fifo.big_done_when_small_joined})`
      : `${(fifo.ms / 1000).toFixed(1)} s (big done: ${fifo.big_done_when_small_put} at put, ${fifo.big_done_when_small_joined} at join)`,
    fifo.ms === null ? undefined : fifo.ms / latency.alone_fifo.median,
    "alone",
  );
  goal(
    `fair: ${SMALL} items behind ${BIG.toLocaleString("en")} join ≤ 2× alone`,
    results.ratios.fair_small_behind_big,
    2,
    results.ratios.fair_small_behind_big <= 2,
  );

  // 2. Throughput: 2,000 items in 4 groups of 500 drained by the same workers, each dispatch 3 times (in rotation, so
  // that drift hits each alike; the median counts), and 100 groups of 20 once; the rows each drain wrote, by the
  // queue's meter, as it ran and with the completions' later deletes.
  const modes = {
    fifo: { dispatch: "fifo" },
    fair: { dispatch: "fair" },
    [`fair_cap_${CAP}`]: { dispatch: "fair", group_max_in_flight: CAP },
  };
  const drain = async (mode, groups, tag) => {
    const name = `fair-tp-${mode}-${groups}-${tag}`;
    await create(name, modes[mode]);
    const before = await call("/meter", { queue: name });
    for (let g = 0; g < groups; g++) await putGroup(name, `g${g}`, THROUGHPUT_JOBS / groups);
    const workers = await pool(ctx, name);
    const t0 = performance.now();
    workers.start();
    await workers.until(THROUGHPUT_JOBS, 120_000);
    const seconds = (performance.now() - t0) / 1000;
    await workers.close();
    const ran = await call("/meter", { queue: name });
    await call("/later", { queue: name, ms: 61 * 60_000 });
    const after = await call("/meter", { queue: name });
    const per = (m) => (m.rows_written + m.alarms_set - before.rows_written - before.alarms_set) / THROUGHPUT_JOBS;
    return {
      jobs_per_s: THROUGHPUT_JOBS / seconds,
      rows_written_per_job: per(ran),
      rows_written_per_job_steady: per(after),
      most_in_flight_per_group: workers.mostInFlight(),
    };
  };
  const names = Object.keys(modes);
  const throughput = Object.fromEntries(names.map((mode) => [mode, { runs: [] }]));
  for (let round = 0; round < 3; round++)
    for (const mode of [...names.slice(round), ...names.slice(0, round)])
      throughput[mode].runs.push(await drain(mode, 4, round));
  for (const mode of names) {
    const t = throughput[mode];
    const mid = (k) => median(t.runs.map((r) => r[k]));
    t.jobs_per_s = mid("jobs_per_s");
    t.rows_written_per_job = mid("rows_written_per_job");
    t.rows_written_per_job_steady = mid("rows_written_per_job_steady");
    t.most_in_flight_per_group = Math.max(...t.runs.map((r) => r.most_in_flight_per_group));
    t.many_groups = await drain(mode, 100, "many");
  }
  fig.throughput = throughput;
  const fifoRate = throughput.fifo.jobs_per_s;
  for (const mode of Object.keys(modes)) {
    const t = throughput[mode];
    const runs = t.runs.map((r) => r.jobs_per_s.toFixed(0)).join(", ");
    row(
      `fair: ${THROUGHPUT_JOBS} jobs, 4 groups, ${mode}`,
      `${t.jobs_per_s.toFixed(0)} jobs/s (${runs}), rows ${t.rows_written_per_job.toFixed(2)}/${t.rows_written_per_job_steady.toFixed(2)}, ≤ ${t.most_in_flight_per_group} a group`,
      mode === "fifo" ? undefined : t.jobs_per_s / fifoRate,
      "fifo",
    );
    const many = t.many_groups;
    row(
      `fair: ${THROUGHPUT_JOBS} jobs, 100 groups, ${mode}`,
      `${many.jobs_per_s.toFixed(0)} jobs/s, rows ${many.rows_written_per_job.toFixed(2)}/${many.rows_written_per_job_steady.toFixed(2)}, ≤ ${many.most_in_flight_per_group} a group`,
      mode === "fifo" ? undefined : many.jobs_per_s / throughput.fifo.many_groups.jobs_per_s,
      "fifo",
    );
  }
  results.ratios.fair_throughput = throughput.fair.jobs_per_s / fifoRate;
  // Informational: in a concurrent drain a flush shares a segment's row among fewer steps when gets alternate groups.
  results.ratios.fair_drain_rows_per_job =
    throughput.fair.rows_written_per_job_steady / throughput.fifo.rows_written_per_job_steady;
  results.ratios.fair_cap_throughput = throughput[`fair_cap_${CAP}`].jobs_per_s / fifoRate;
  goal(
    "fair: throughput ≥ 90 % of fifo (8 workers, 10 ms a job)",
    results.ratios.fair_throughput,
    0.9,
    results.ratios.fair_throughput >= 0.9,
  );
  goal(
    `fair: throughput with a cap of ${CAP} a group ≥ 90 % of fifo`,
    results.ratios.fair_cap_throughput,
    0.9,
    results.ratios.fair_cap_throughput >= 0.9,
  );

  // 3. Rows: single-item grouped jobs one after another (keyed put, leased get, task_done by receipt), as the cost
  // scenario's "single-item" job, 4 groups in turn: the same rows with each dispatch (and the completions' later
  // deletes, past the hour they are kept for replays).
  const rows = {};
  for (const mode of Object.keys(modes)) {
    const name = `fair-rows-${mode}`;
    await create(name, modes[mode]);
    const before = await call("/meter", { queue: name });
    for (let n = 0; n < ROW_JOBS; n++) {
      await call(`${q(name)}/put`, { item, group: `g${n % 4}` }, { "idempotency-key": `${name}-${n}` });
      const got = await call(`${q(name)}/get`, {});
      await call(`${q(name)}/task_done`, { receipt: got.receipt });
    }
    const ran = await call("/meter", { queue: name });
    await call("/later", { queue: name, ms: 61 * 60_000 });
    const after = await call("/meter", { queue: name });
    const per = (m) => (m.rows_written + m.alarms_set - before.rows_written - before.alarms_set) / ROW_JOBS;
    rows[mode] = { as_calls_run: per(ran), steady: per(after) };
    row(
      `fair: rows a single-item job, ${mode}`,
      `${per(ran).toFixed(3)} as calls run, ${per(after).toFixed(3)} steady`,
    );
  }
  fig.rows = rows;
  const extra = Math.max(...Object.values(rows).map((r) => r.steady - rows.fifo.steady));
  results.ratios.fair_rows_per_job = rows.fair.steady / rows.fifo.steady;
  goal("fair: no extra row a job (fair and capped vs fifo, steady)", extra, 0, extra <= 0.005);

  // 4. Dispatch's own cost with many groups: MANY items, each in a group of its own, drained by 4 HTTP clients with
  // gets of 100 and task_dones of 100 and no work, so that the queue object's time is what is measured; fifo and
  // fair in turn, twice (informational: no goal).
  const many = { groups: MANY, fifo: [], fair: [] };
  for (let round = 0; round < 2; round++)
    for (const dispatch of ["fifo", "fair"])
      many[dispatch].push(await manyGroups(ctx, `fair-many-${dispatch}-${round}`, dispatch));
  many.ratio = median(many.fair) / median(many.fifo);
  fig.many_groups_dispatch = many;
  results.ratios.fair_many_groups_dispatch = many.ratio;
  const rates = (xs) => xs.map((x) => x.toFixed(0)).join(", ");
  row(`fair: ${MANY.toLocaleString("en")} one-item groups, gets of 100, fifo`, `${rates(many.fifo)} items/s`);
  row(
    `fair: ${MANY.toLocaleString("en")} one-item groups, gets of 100, fair`,
    `${rates(many.fair)} items/s`,
    many.ratio,
    "fifo",
  );
  results.figures.fair = fig;
}

/** Puts MANY items, one a group, then drains them with 4 clients' gets of 100: items a second. */
async function manyGroups(ctx, name, dispatch) {
  const { call, send, q, base, item } = ctx;
  await call(q(name), { lease_seconds: 60, dispatch }, {}, "PUT");
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let b = next++; b < MANY / 100; b = next++) {
        const items = Array.from({ length: 100 }, (_, i) => ({ item, group: `m${100 * b + i}` }));
        await call(`${q(name)}/put`, { items });
      }
    }),
  );
  let got = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (;;) {
        const res = await send(`${base}${q(name)}/get`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ block: false, max: 100 }),
        });
        const body = await res.json();
        if (res.status === 409 && body.code === "empty") return;
        if (!res.ok) throw new Error(`get ${name}: ${res.status} ${JSON.stringify(body)}`);
        got += body.items.length;
        await call(`${q(name)}/task_done`, { receipts: body.items.map((d) => d.receipt) });
      }
    }),
  );
  if (got !== MANY) throw new Error(`${name}: ${got} of ${MANY} items drained`);
  return MANY / ((performance.now() - t0) / 1000);
}

/**
 * `WORKERS` workers on a queue's sockets, each holding one delivery at a time: `start()` sends their consume frames;
 * each delivery is worked for WORK_MS, then completed by receipt. Counts completions, and the most deliveries of one
 * group being worked at once (from its arrival to its task_done's sending: a lower bound of what the queue counts).
 */
async function pool(ctx, name) {
  const { base, q } = ctx;
  let done = 0;
  const errors = [];
  const held = new Map(); // group -> deliveries held now
  let most = 0;
  let waiting; // { n, resolve }
  const sockets = await Promise.all(
    Array.from(
      { length: WORKERS },
      () =>
        new Promise((resolve, reject) => {
          const ws = new WebSocket(`${base.replace("http", "ws")}${q(name)}/ws`);
          ws.addEventListener("open", () => resolve(ws));
          ws.addEventListener("error", reject);
        }),
    ),
  );
  for (const ws of sockets) {
    ws.addEventListener("message", (e) => {
      const m = JSON.parse(String(e.data));
      if (m.type === "delivery") {
        const n = (held.get(m.group) ?? 0) + 1;
        held.set(m.group, n);
        most = Math.max(most, n);
        setTimeout(() => {
          held.set(m.group, held.get(m.group) - 1); // worked: no longer counted as held from here on
          ws.send(JSON.stringify({ op: "task_done", id: `t${m.id}`, receipt: m.receipt }));
        }, WORK_MS);
      } else if (m.type === "task_done") {
        done++;
        if (waiting && done >= waiting.n) waiting.resolve();
      } else if (m.type === "error") errors.push(m);
    });
  }
  return {
    start: () => {
      for (const ws of sockets) ws.send(JSON.stringify({ op: "consume", id: "c", prefetch: 1, lease_seconds: 60 }));
    },
    done: () => done,
    mostInFlight: () => most,
    until: (n, ms) =>
      new Promise((resolve, reject) => {
        if (done >= n) return resolve();
        const timer = setTimeout(() => reject(new Error(`${name}: ${done} of ${n} jobs done in ${ms} ms`)), ms);
        waiting = {
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
      }),
    close: async () => {
      await Promise.all(
        sockets.map((ws) => {
          if (ws.readyState === WebSocket.CLOSED) return undefined;
          const closed = new Promise((r) => ws.addEventListener("close", r));
          ws.close();
          return closed;
        }),
      );
      if (errors.length) throw new Error(`${name}: ${errors.length} error frames, e.g. ${JSON.stringify(errors[0])}`);
    },
  };
}
