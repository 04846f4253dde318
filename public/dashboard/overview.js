// The overview: a page of queues with live counters, over one catalog feed socket however many queues exist. The
// server sends the page (by name prefix, `limit` at a time) and pushes creates, deletes and counters as they happen.
import { api, enc, esc, every, fmt, LiveSocket, rate, scheduler } from "./api.js";

const PAGE = 50;
/** Queues report at most once a second while they change: a rate older than this is of a queue now quiet. */
const QUIET_MS = 2500;

const rateOf = (h, key) => (h && Date.now() - h.at < QUIET_MS ? h[key] : 0);
const waiting = (h) => h.waiting.getters + h.waiting.putters + h.waiting.joiners;

function joinState(h) {
  if (h.unfinished_tasks === 0) return "drained";
  const left = `${fmt(h.unfinished_tasks)} left`;
  const done = rateOf(h, "done_rate");
  return done > 0 ? `${left}, ETA ${Math.ceil(h.unfinished_tasks / done)} s` : `${left}, ETA unknown`;
}

function flags(h) {
  const out = [];
  if (h.shutdown) out.push('<span class="flag">shut down</span>');
  if (rateOf(h, "put_rate") > rateOf(h, "done_rate") && h.qsize > 0)
    out.push('<span class="flag growing">▲ growing</span>');
  if (h.dead_lettered > 0) out.push(`<span class="flag dead">⚠ ${fmt(h.dead_lettered)} dead-lettered</span>`);
  return out.join(" ") || "ok";
}

/** A sharded queue's badge: its figures add up its shards' (a queue of one object has none). */
const badge = (n) =>
  n > 1 ? ` <span class="badge" title="its figures add up its ${n} shards">${n} shards</span>` : "";

// [key, header, cell text, sort value]: every cell also carries its header as a label, for the narrow layout.
const COLUMNS = [
  ["qsize", "Backlog", (h) => fmt(h.qsize), (h) => h.qsize],
  ["unfinished", "Unfinished", (h) => fmt(h.unfinished_tasks), (h) => h.unfinished_tasks],
  ["in_flight", "In flight", (h) => fmt(h.in_flight), (h) => h.in_flight],
  ["dead", "Dead-lettered", (h) => fmt(h.dead_lettered), (h) => h.dead_lettered],
  [
    "waiting",
    "Waiting get / put / join",
    (h) => `${h.waiting.getters} / ${h.waiting.putters} / ${h.waiting.joiners}`,
    waiting,
  ],
  ["put_rate", "Put/s", (h) => rate(rateOf(h, "put_rate")), (h) => rateOf(h, "put_rate")],
  ["done_rate", "Done/s", (h) => rate(rateOf(h, "done_rate")), (h) => rateOf(h, "done_rate")],
  ["join", "Join", joinState, (h) => h.unfinished_tasks],
  ["state", "State", flags, (h) => (h.shutdown ? 2 : h.dead_lettered > 0 ? 1 : 0)],
];

export async function overview(main, params, onError) {
  // A socket that is refused says nothing of why: one plain call first, so a missing token asks for sign-in.
  await api("/v1/queues?limit=1");
  const state = { prefix: params.get("prefix") ?? "", cursors: [""], page: null, sort: { key: "name", dir: 1 } };
  main.innerHTML = `<h2>Queues</h2>
    <form class="filter" role="search"><label for="prefix">Name starts with</label>
      <input id="prefix" name="prefix" autocomplete="off" spellcheck="false" value="${esc(state.prefix)}">
      <span id="summary" aria-live="polite"></span></form>
    <table class="queues"><thead><tr><th scope="col"><button data-sort="name">Queue</button></th>${COLUMNS.map(
      ([key, label]) => `<th scope="col"><button data-sort="${key}">${label}</button></th>`,
    ).join("")}</tr></thead><tbody></tbody></table>
    <p id="empty" hidden></p>
    <nav class="pager" aria-label="Pages">
      <button id="prev">← Previous</button><button id="next">Next →</button></nav>`;
  const $ = (s) => main.querySelector(s);
  const tbody = $("tbody");

  const render = () => {
    const page = state.page;
    if (!page) return;
    for (const th of main.querySelectorAll("th")) th.removeAttribute("aria-sort");
    const th = $(`button[data-sort="${state.sort.key}"]`)?.parentElement;
    th?.setAttribute("aria-sort", state.sort.dir > 0 ? "ascending" : "descending");
    const rows = [...page.queues];
    const col = COLUMNS.find(([key]) => key === state.sort.key);
    if (col) {
      const value = (q) => (q.headline ? col[3](q.headline) : -1);
      rows.sort((a, b) => (value(a) - value(b) || (a.name < b.name ? -1 : 1)) * state.sort.dir);
    } else if (state.sort.dir < 0) rows.reverse();
    tbody.innerHTML = rows
      .map((q) => {
        const h = q.headline;
        const cells = COLUMNS.map(
          ([key, label, text]) => `<td data-col="${key}" data-label="${label}">${h ? text(h) : "…"}</td>`,
        );
        const link = `<a href="#/queue/${enc(q.name)}">${esc(q.name)}</a>${badge(q.shards)}`;
        return `<tr data-queue="${esc(q.name)}"><th scope="row">${link}</th>${cells.join("")}</tr>`;
      })
      .join("");
    // Pages are by name, not by number: a page's position is counted from the pages passed to reach it.
    const from = (state.cursors.length - 1) * PAGE;
    const to = from + page.queues.length;
    $("#summary").textContent =
      page.total === 0 ? "" : `${fmt(from + 1)}–${fmt(to)} of ${fmt(page.total)} queue${page.total === 1 ? "" : "s"}`;
    $("#empty").hidden = page.total > 0;
    $("#empty").innerHTML = state.prefix
      ? `No queue's name starts with <code>${esc(state.prefix)}</code>.`
      : "No queues yet: create one with <code>PUT /v1/queues/{name}</code>.";
    $("#prev").disabled = state.cursors.length === 1;
    $("#next").disabled = page.next === null;
  };
  const schedule = scheduler(render);

  const ask = () => feed.send({ op: "page", prefix: state.prefix, after: state.cursors.at(-1), limit: PAGE });
  const feed = new LiveSocket({
    path: "/v1/catalog/ws",
    ticketPath: "/v1/catalog/ws-ticket",
    onOpen: ask, // also after a reconnect: the server remembers nothing of a closed socket
    onError,
    onMessage: (m) => {
      if (m.type === "page") {
        // Counters not yet known to the server (it restarted) keep what this page last showed.
        const before = new Map((state.page?.queues ?? []).map((q) => [q.name, q.headline]));
        for (const q of m.queues) q.headline ??= before.get(q.name) ?? null;
        state.page = m;
      } else if (m.type === "headlines" && state.page) {
        for (const q of state.page.queues) if (m.queues[q.name]) q.headline = m.queues[q.name];
      }
      schedule();
    },
  });

  let typing;
  $("#prefix").addEventListener("input", (e) => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      state.prefix = e.target.value.trim();
      state.cursors = [""];
      history.replaceState(null, "", state.prefix ? `#/?prefix=${enc(state.prefix)}` : "#/");
      ask();
    }, 200);
  });
  $("form").addEventListener("submit", (e) => e.preventDefault());
  $("#next").addEventListener("click", () => {
    if (state.page?.next == null) return;
    state.cursors.push(state.page.next);
    ask();
  });
  $("#prev").addEventListener("click", () => {
    if (state.cursors.length > 1) state.cursors.pop();
    ask();
  });
  for (const b of main.querySelectorAll("th button")) {
    b.addEventListener("click", () => {
      const key = b.dataset.sort;
      state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : 1 };
      render();
    });
  }
  every(1000, schedule); // rates decay and ETAs move even when nothing is sent
}
