// The dashboard: every queue with live counters, and one queue in detail. Plain modules, no build, no framework:
// it uses the service's own API (/v1) and its WebSocket `watch` (no polling), with a token typed once when
// authentication is on (kept in sessionStorage; sockets open with single-use tickets).
const main = document.getElementById("main");
const connection = document.getElementById("connection");
const TOKEN = "joinable-queues-token";
const HISTORY_MS = 5 * 60_000;
const RATE_WINDOW_MS = 10_000;

class Unauthorized extends Error {}

const token = () => sessionStorage.getItem(TOKEN);
const enc = encodeURIComponent;
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const fmt = (n) => (Number.isFinite(n) ? n.toLocaleString("en") : "–");

async function api(path, init = {}) {
  const headers = {
    ...(init.body ? { "content-type": "application/json" } : {}),
    ...(token() ? { authorization: `Bearer ${token()}` } : {}),
  };
  const res = await fetch(path, { ...init, headers });
  const body = res.status === 204 ? null : await res.json();
  if (res.status === 401) throw new Unauthorized(body.detail);
  if (!res.ok) throw new Error(`${body.code}: ${body.detail}`);
  return body;
}

// ---- live stats: one `watch` socket per queue, reopened with backoff when it drops

/** name → { stats, history: [{ t, stats }], watch } */
const queues = new Map();

class Watch {
  constructor(name, onStats) {
    Object.assign(this, { name, onStats, attempt: 0, live: false, opened: false, stopped: false });
    void this.open(); // never rejects: open() retries its own failures
  }

  async open() {
    if (this.stopped) return;
    try {
      const path = `/v1/queues/${enc(this.name)}/ws`;
      const url = token() ? (await api(`${path}-ticket`, { method: "POST" })).url : path;
      const ws = new WebSocket(new URL(url, location.href).href.replace(/^http/, "ws"));
      this.ws = ws;
      ws.onopen = () => {
        Object.assign(this, { attempt: 0, live: true, opened: true });
        ws.send('{"op":"watch"}');
        showConnection();
      };
      ws.onmessage = (e) => {
        const m = JSON.parse(e.data);
        if (m.stats) this.onStats(m.stats);
      };
      ws.onclose = (e) => {
        this.live = false;
        // 4001: shut down, 4004: deleted — final states, nothing to reopen.
        if (e.code === 4001 || e.code === 4004) this.stopped = true;
        else this.retry();
        showConnection();
      };
    } catch {
      this.retry();
    }
  }

  retry() {
    if (this.stopped) return;
    this.live = false;
    showConnection();
    setTimeout(() => this.open(), Math.min(5000, 250 * 2 ** this.attempt++));
  }

  stop() {
    this.stopped = true;
    this.ws?.close();
  }
}

function showConnection() {
  const watches = [...queues.values()].map((q) => q.watch).filter((w) => w && !w.stopped);
  const dropped = watches.some((w) => !w.live && w.opened);
  connection.dataset.state = dropped ? "reconnecting" : "live";
  connection.textContent = dropped
    ? "Reconnecting… (the connection dropped; values may be stale)"
    : "Live: updates as they happen";
}

function track(name, onChange) {
  const q = queues.get(name) ?? { history: [] };
  queues.set(name, q);
  q.onChange = onChange;
  q.watch ??= new Watch(name, (stats) => {
    q.stats = stats;
    q.history.push({ t: Date.now(), stats });
    while (q.history.length > 2 && q.history[0].t < Date.now() - HISTORY_MS) q.history.shift();
    q.onChange?.();
  });
  return q;
}

function untrackAllBut(keep) {
  for (const [name, q] of queues) {
    if (keep.has(name)) continue;
    q.watch?.stop();
    queues.delete(name);
  }
}

/** Per second over the last 10 s of samples (the last sample carried to now, so a quiet queue decays to 0). */
function rate(q, key) {
  const now = Date.now();
  const recent = q.history.filter((h) => h.t >= now - RATE_WINDOW_MS);
  const first = recent[0] ?? q.history.at(-1);
  if (!first || !q.stats) return 0;
  const seconds = Math.max(1, (now - first.t) / 1000);
  return (q.stats[key] - first.stats[key]) / seconds;
}

const growing = (q) => {
  const past = q.history.find((h) => h.t >= Date.now() - RATE_WINDOW_MS);
  return past && q.stats && q.stats.qsize > past.stats.qsize && rate(q, "puts") > rate(q, "completed");
};

function joinState(stats, doneRate) {
  if (stats.unfinished_tasks === 0) return "drained";
  const left = `${fmt(stats.unfinished_tasks)} left`;
  return doneRate > 0 ? `${left}, ETA ${Math.ceil(stats.unfinished_tasks / doneRate)} s` : `${left}, ETA unknown`;
}

function flags(q) {
  const s = q.stats;
  if (!s) return "";
  const out = [];
  if (s.shutdown) out.push(`<span class="flag">shut down${s.immediate ? " (immediate)" : ""}</span>`);
  if (growing(q)) out.push('<span class="flag growing">▲ growing</span>');
  if (s.dead_lettered > 0) out.push(`<span class="flag dead">⚠ ${fmt(s.dead_lettered)} dead-lettered</span>`);
  return out.join(" ") || "ok";
}

// ---- views

let ticker;
function every(ms, fn) {
  clearInterval(ticker);
  ticker = setInterval(fn, ms);
}

const COLUMNS = [
  ["name", "Queue", (n) => n],
  ["qsize", "Backlog", (_n, s) => s.qsize],
  ["unfinished_tasks", "Unfinished", (_n, s) => s.unfinished_tasks],
  ["in_flight", "In flight", (_n, s) => s.in_flight],
  ["dead_lettered", "Dead-lettered", (_n, s) => s.dead_lettered],
  ["waiting", "Waiting get / put / join", (_n, s) => s.waiting.getters + s.waiting.putters + s.waiting.joiners],
  ["put_rate", "Put/s", (_n, _s, q) => rate(q, "puts")],
  ["done_rate", "Done/s", (_n, _s, q) => rate(q, "completed")],
  ["join", "Join", (_n, s) => s.unfinished_tasks],
  ["state", "State", (_n, s) => (s.shutdown ? 2 : s.dead_lettered > 0 ? 1 : 0)],
];
let sort = { key: "name", dir: 1 };

async function overview() {
  const names = [];
  for (let after = ""; after !== null; ) {
    const page = await api(`/v1/queues?limit=1000${after ? `&after=${enc(after)}` : ""}`);
    names.push(...page.queues.map((q) => q.name));
    after = page.next;
  }
  untrackAllBut(new Set(names));
  main.innerHTML = `<h2>Queues</h2>${names.length ? "" : "<p>No queues yet: create one with <code>PUT /v1/queues/{name}</code>.</p>"}
    <div class="scroll"><table><thead><tr>${COLUMNS.map(
      ([key, label], i) =>
        `<th scope="col" class="${i >= 5 && i <= 7 ? "wide" : ""}"><button data-sort="${key}">${label}</button></th>`,
    ).join("")}</tr></thead>
    <tbody></tbody></table></div>`;
  const tbody = main.querySelector("tbody");
  for (const b of main.querySelectorAll("th button")) {
    b.addEventListener("click", () => {
      sort = { key: b.dataset.sort, dir: sort.key === b.dataset.sort ? -sort.dir : 1 };
      render();
    });
  }
  let pending = false;
  const render = () => {
    pending = false;
    for (const th of main.querySelectorAll("th")) th.removeAttribute("aria-sort");
    const th = main.querySelector(`button[data-sort="${sort.key}"]`)?.parentElement;
    th?.setAttribute("aria-sort", sort.dir > 0 ? "ascending" : "descending");
    const rows = names.map((n) => [n, queues.get(n)]).filter(([, q]) => q?.stats);
    const col = COLUMNS.find(([key]) => key === sort.key);
    rows.sort(([a, qa], [b, qb]) => {
      const [x, y] = [col[2](a, qa.stats, qa), col[2](b, qb.stats, qb)];
      return (x < y ? -1 : x > y ? 1 : 0) * sort.dir;
    });
    tbody.innerHTML = rows
      .map(([n, q]) => {
        const s = q.stats;
        return `<tr data-queue="${esc(n)}"><th scope="row"><a href="#/queue/${enc(n)}">${esc(n)}</a></th>
        <td data-col="qsize">${fmt(s.qsize)}</td><td data-col="unfinished">${fmt(s.unfinished_tasks)}</td>
        <td>${fmt(s.in_flight)}</td><td>${fmt(s.dead_lettered)}</td>
        <td class="wide">${s.waiting.getters} / ${s.waiting.putters} / ${s.waiting.joiners}</td>
        <td class="wide">${rate(q, "puts").toFixed(1)}</td><td class="wide">${rate(q, "completed").toFixed(1)}</td>
        <td data-col="join">${joinState(s, rate(q, "completed"))}</td><td>${flags(q)}</td></tr>`;
      })
      .join("");
  };
  const schedule = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(render);
  };
  for (const n of names) track(n, schedule);
  every(1000, schedule); // rates decay and ETAs move even when nothing is sent
  render();
}

function chart(history) {
  const now = Date.now();
  const pts = history.filter((h) => h.t >= now - HISTORY_MS);
  if (pts.length) pts.push({ t: now, stats: pts.at(-1).stats }); // nothing sent since: the last values hold until now
  const series = [
    ["Backlog", (h) => h.stats.qsize, ""],
    ["In flight", (h) => h.stats.in_flight, "6 3"],
    [
      "Done/s",
      (h, i) => (i ? (h.stats.completed - pts[i - 1].stats.completed) / Math.max(0.1, (h.t - pts[i - 1].t) / 1000) : 0),
      "2 3",
    ],
  ];
  const values = series.map(([, f]) => pts.map(f));
  const max = Math.max(1, ...values.flat());
  const x = (t) => (1000 * (t - (now - HISTORY_MS))) / HISTORY_MS;
  const y = (v) => 190 - (180 * v) / max;
  const top = fmt(Math.round(max));
  const lines = series.map(([label, , dash], i) => {
    const points = pts.map((h, j) => `${x(h.t).toFixed(1)},${y(values[i][j]).toFixed(1)}`).join(" ");
    return `<polyline fill="none" stroke="currentColor" stroke-width="2" stroke-dasharray="${dash}" points="${points}">
      <title>${label}</title></polyline>`;
  });
  const about = `Backlog, in flight and done per second over the last 5 minutes; highest value ${top}`;
  return `<svg class="chart" viewBox="0 0 1000 200" preserveAspectRatio="none" role="img" aria-label="${about}">${lines.join("")}</svg>
    <p class="legend"><span>── Backlog</span><span>- - In flight</span><span>·· Done/s</span> (last 5 minutes, top = ${top})</p>`;
}

async function queueView(name) {
  untrackAllBut(new Set([name]));
  const path = `/v1/queues/${enc(name)}`;
  const first = await api(path);
  main.innerHTML = `<p><a href="#/">← All queues</a></p><h2>${esc(name)}</h2>
    <section aria-labelledby="join-h"><h3 id="join-h">Join</h3><p id="join" aria-live="polite"></p></section>
    <dl class="counters" id="counters"></dl>
    <section aria-labelledby="chart-h"><h3 id="chart-h">Over time</h3><div id="chart"></div></section>
    <section aria-labelledby="config-h"><h3 id="config-h">Configuration</h3><dl id="config"></dl></section>
    <section aria-labelledby="dl-h"><h3 id="dl-h">Dead letters</h3><div class="actions">
      <button id="redrive">Redrive all</button><button id="purge" class="danger">Purge…</button></div><div id="dead"></div></section>
    <section aria-labelledby="admin-h"><h3 id="admin-h">Shut down</h3><div class="actions">
      <button id="shutdown" class="danger">Shut down…</button><button id="shutdown-now" class="danger">Shut down immediately…</button></div>
      <p id="message" role="alert"></p></section>`;
  const $ = (id) => document.getElementById(id);
  const q = track(name, () => schedule());
  q.stats ??= first;
  let shownDead = -1;
  const deadLetters = async () => {
    const { items } = await api(`${path}/dead_letters?limit=100`);
    const rows = items.map(
      (d) => `<tr><td>${d.id}</td><td>${d.deliveries}</td><td><code>${esc(JSON.stringify(d.item))}</code></td></tr>`,
    );
    const head = '<th scope="col">Id</th><th scope="col">Deliveries</th><th scope="col">Item</th>';
    $("dead").innerHTML = items.length
      ? `<div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>${rows.join("")}</tbody></table></div>`
      : "<p>None.</p>";
  };
  let pending = false;
  const render = () => {
    pending = false;
    const s = q.stats;
    const done = rate(q, "completed");
    $("join").textContent =
      s.unfinished_tasks === 0
        ? "Drained: every task put has been done (join returns now)."
        : `Waiting: ${joinState(s, done)}.`;
    const counters = {
      Backlog: s.qsize,
      Unfinished: s.unfinished_tasks,
      "In flight": s.in_flight,
      Leased: s.leased,
      Delayed: s.delayed,
      "Dead-lettered": s.dead_lettered,
      "Waiting getters": s.waiting.getters,
      "Waiting putters": s.waiting.putters,
      "Waiting joiners": s.waiting.joiners,
      "Put/s": rate(q, "puts").toFixed(1),
      "Done/s": done.toFixed(1),
    };
    const counter = ([k, v]) => `<div><dt>${k}</dt><dd>${typeof v === "number" ? fmt(v) : v}</dd></div>`;
    $("counters").innerHTML = Object.entries(counters).map(counter).join("");
    $("chart").innerHTML = chart(q.history);
    const config = {
      Order: s.order,
      Maxsize: s.maxsize || "unbounded",
      "Lease (s)": s.lease_seconds ?? "none",
      "Max deliveries": s.max_deliveries ?? "no limit",
      State: s.shutdown ? `shut down${s.immediate ? " (immediate)" : ""}` : "open",
    };
    $("config").innerHTML = Object.entries(config)
      .map(([k, v]) => `<dt>${k}</dt><dd>${esc(v)}</dd>`)
      .join("");
    if (s.dead_lettered !== shownDead) {
      shownDead = s.dead_lettered;
      deadLetters().catch(report);
    }
  };
  const schedule = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(render);
  };
  const report = (e) => {
    $("message").textContent = String(e.message ?? e);
  };
  const act = (button, ask, call) =>
    $(button).addEventListener("click", async () => {
      if (ask && !confirm(ask)) return;
      try {
        await call();
        $("message").textContent = "Done.";
        await deadLetters();
      } catch (e) {
        report(e);
      }
    });
  act("redrive", null, () => api(`${path}/dead_letters/redrive`, { method: "POST", body: "{}" }));
  act("purge", `Purge every dead letter of '${name}'? They cannot be recovered.`, () =>
    api(`${path}/dead_letters`, { method: "DELETE" }),
  );
  const shutdown = (immediate) => () =>
    api(`${path}/shutdown`, { method: "POST", body: JSON.stringify({ immediate }) });
  act("shutdown", `Shut '${name}' down? Puts fail at once; gets drain what is left.`, shutdown(false));
  act("shutdown-now", `Shut '${name}' down immediately? Everything still queued is dropped.`, shutdown(true));
  every(1000, schedule);
  render();
}

function login(problem) {
  untrackAllBut(new Set());
  connection.dataset.state = "";
  connection.textContent = "Not signed in";
  main.innerHTML = `<h2>Sign in</h2><form class="login">
    <p>This service needs a token: the admin secret, or a scoped token with the <code>observe</code> right
    (and <code>admin</code> to redrive, purge or shut down). It is kept for this tab only.</p>
    <label for="token">Token</label><input id="token" name="token" type="password" autocomplete="off" required>
    <button type="submit">Sign in</button>
    <p id="login-error" class="error" role="alert">${problem ? `That token was refused: ${esc(problem)}` : ""}</p></form>`;
  main.querySelector("form").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN, main.querySelector("#token").value.trim());
    void route();
  });
  main.querySelector("#token").focus();
}

async function route() {
  const match = location.hash.match(/^#\/queue\/(.+)$/);
  try {
    await (match ? queueView(decodeURIComponent(match[1])) : overview());
  } catch (e) {
    if (e instanceof Unauthorized) {
      const refused = token() ? e.message : "";
      sessionStorage.removeItem(TOKEN);
      return login(refused);
    }
    main.innerHTML = `<p class="error" role="alert">${esc(e.message)}</p><p><a href="#/">← All queues</a></p>`;
  }
}

addEventListener("hashchange", route);
void route(); // never rejects: route() shows its own errors
