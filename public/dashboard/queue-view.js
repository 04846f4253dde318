// One queue in detail: live counters from its `watch` socket, what join is waiting for (the deliveries in flight,
// who knows them by id, their deliveries and lease ends), each group's state, counters, weight and cap, the next
// ready and delayed items, the dead letters with their items, a chart, and the admin actions. Items are peeked,
// never taken: looking changes no counter.
import { api, duration, enc, esc, every, fmt, itemCell, LiveSocket, relative, scheduler } from "./api.js";
import { Chart, RANGES, sample } from "./chart.js";

const SHOWN = 50;

/**
 * An item table: each row is [its attributes, its cells' HTML], the last cell its item. Every cell carries its
 * column's name, which a phone shows beside the figure when the rows become cards (style.css).
 */
function table(head, rows) {
  const ths = head.map((h) => `<th scope="col">${h}</th>`).join("");
  const last = head.length - 1;
  const td = (html, i) => `<td data-label="${head[i]}"${i === last ? ' class="item"' : ""}>${html}</td>`;
  const trs = rows.map(([attrs, cells]) => `<tr${attrs}>${cells.map(td).join("")}</tr>`).join("");
  return `<div class="scroll"><table class="items"><thead><tr>${ths}</tr></thead><tbody>${trs}</tbody></table></div>`;
}

export async function queueView(main, name, onError) {
  const path = `/v1/queues/${enc(name)}`;
  let stats = await api(path);
  main.innerHTML = `<p><a href="#/">← All queues</a></p><h2>${esc(name)}</h2>
    <section aria-labelledby="join-h"><h3 id="join-h">Join</h3><p id="join" aria-live="polite"></p></section>
    <dl class="counters" id="counters"></dl>
    <section aria-labelledby="inflight-h"><h3 id="inflight-h">In flight</h3><p id="inflight-note"></p>
      <div id="inflight"></div></section>
    <section aria-labelledby="groups-h"><h3 id="groups-h">Groups</h3><div id="groups"></div>
      <nav class="pager" id="groups-pager" aria-label="Pages of groups" hidden>
        <button id="groups-prev">← Previous</button><button id="groups-next">Next →</button>
        <span id="groups-at" aria-live="polite"></span></nav></section>
    <section aria-labelledby="chart-h"><h3 id="chart-h">Over time</h3>
      <div class="actions" role="group" aria-label="Range">${Object.keys(RANGES)
        .map((r, i) => `<button data-range="${r}" aria-pressed="${i === 0}">Last ${r}</button>`)
        .join("")}</div>
      <div id="chart" class="chart" role="img" aria-label="Backlog, in flight and done per second over time"></div>
      <p class="note" id="chart-note"></p>
    </section>
    <section aria-labelledby="ready-h"><h3 id="ready-h">Next ready</h3><div id="ready"></div></section>
    <section aria-labelledby="delayed-h"><h3 id="delayed-h">Delayed</h3><div id="delayed"></div></section>
    <section aria-labelledby="dl-h"><h3 id="dl-h">Dead letters</h3><div class="actions">
      <button id="redrive">Redrive all</button><button id="purge" class="danger">Purge…</button></div>
      <div id="dead"></div></section>
    <section aria-labelledby="config-h"><h3 id="config-h">Configuration</h3><dl id="config"></dl></section>
    <section aria-labelledby="admin-h"><h3 id="admin-h">Shut down</h3><div class="actions">
      <button id="shutdown" class="danger">Shut down…</button>
      <button id="shutdown-now" class="danger">Shut down immediately…</button></div>
      <p id="message" role="alert"></p></section>`;
  const $ = (id) => document.getElementById(id);
  const chart = new Chart($("chart"), name);
  const peeked = { leased: [], ready: [], delayed: [], dead: [], groups: { groups: [], next: null }, skew: 0 };
  // Groups a page at a time in name order, as the overview pages queues: where each page shown starts.
  const groupPages = [""];

  // ---- the items, peeked whenever the counters say they changed (one peek at a time, the last change always seen)
  let peeking = false;
  let again = false;
  const refresh = async () => {
    if (peeking) {
      again = true;
      return;
    }
    peeking = true;
    try {
      do {
        again = false;
        const at = Date.now();
        const peek = (state, limit) => api(`${path}/items?state=${state}&limit=${limit}`);
        const after = groupPages.at(-1);
        const [leased, ready, delayed, dead, groups] = await Promise.all([
          peek("leased", SHOWN),
          peek("ready", 10),
          peek("delayed", 10),
          api(`${path}/dead_letters?limit=${SHOWN}`),
          api(`${path}/groups?limit=${SHOWN}${after ? `&after=${enc(after)}` : ""}`),
        ]);
        Object.assign(peeked, { leased: leased.items, ready: ready.items, delayed: delayed.items, dead: dead.items });
        peeked.groups = groups;
        peeked.skew = leased.now - (at + Date.now()) / 2; // the server's clock, for lease countdowns
        schedule();
      } while (again);
    } catch (e) {
      report(e);
    } finally {
      peeking = false;
    }
  };
  const itemsKey = (s) =>
    JSON.stringify([s.qsize, s.leased, s.delayed, s.dead_lettered, s.puts, s.completed, s.deliveries, s.redeliveries]);
  let shownKey = "";

  const render = () => {
    const s = stats;
    const now = Date.now() + peeked.skew;
    $("join").textContent =
      s.unfinished_tasks === 0
        ? "Drained: every task put has been done (join returns now)."
        : `Join is waiting for ${fmt(s.unfinished_tasks)} unfinished task${s.unfinished_tasks === 1 ? "" : "s"}: ` +
          `${fmt(s.in_flight)} in flight, ${fmt(s.qsize)} in the queue.`;
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
      Puts: s.puts,
      Completed: s.completed,
      Redeliveries: s.redeliveries,
    };
    $("counters").innerHTML = Object.entries(counters)
      .map(([k, v]) => `<div><dt>${k}</dt><dd>${fmt(v)}</dd></div>`)
      .join("");
    const leased = peeked.leased;
    // Nothing in flight: the heading alone, over "None." (join waits for no delivery, whatever the backlog).
    $("inflight-h").textContent =
      s.in_flight === 0
        ? "In flight"
        : `In flight: join is waiting for ${s.in_flight === 1 ? "this task" : `these ${fmt(s.in_flight)} tasks`}`;
    $("inflight-note").textContent =
      s.lease_seconds === null
        ? "This queue has no leases (lease_seconds: null): a taken item is not kept, so it cannot be listed here."
        : leased.length < s.leased
          ? `The ${fmt(leased.length)} whose leases end first of ${fmt(s.leased)}.`
          : "";
    $("inflight").innerHTML = leased.length
      ? table(
          ["Id", "Deliveries", "Held for", "Lease ends", "Item"],
          leased.map((d) => [
            ` data-id="${d.id}"${age(d, now)}`,
            [
              d.id,
              d.deliveries,
              d.leased_at ? duration(now - d.leased_at) : "—",
              `<span title="${new Date(d.lease_expires_at).toISOString()}">${relative(d.lease_expires_at - now)}</span>`,
              itemCell(d.item),
            ],
          ]),
        )
      : "<p>None.</p>";
    $("groups").innerHTML = groupsTable(peeked.groups.groups, groupPages.length === 1);
    $("groups-pager").hidden = groupPages.length === 1 && peeked.groups.next === null;
    $("groups-prev").disabled = groupPages.length === 1;
    $("groups-next").disabled = peeked.groups.next === null;
    const from = (groupPages.length - 1) * SHOWN; // counted from the pages passed to reach this one
    const shown = peeked.groups.groups.length;
    $("groups-at").textContent = shown ? `${fmt(from + 1)}–${fmt(from + shown)} in name order` : "";
    $("ready").innerHTML = peeked.ready.length
      ? table(
          ["Id", "Deliveries", "Priority", "Item"],
          peeked.ready.map((d) => [
            ` data-id="${d.id}"${age(d, now)}`,
            [d.id, d.deliveries, esc(JSON.stringify(d.priority)), itemCell(d.item)],
          ]),
        )
      : "<p>None.</p>";
    $("delayed").innerHTML = peeked.delayed.length
      ? table(
          ["Id", "Visible", "Item"],
          peeked.delayed.map((d) => [` data-id="${d.id}"`, [d.id, relative(d.visible_at - now), itemCell(d.item)]]),
        )
      : "<p>None.</p>";
    $("dead").innerHTML = peeked.dead.length
      ? table(
          ["Id", "Deliveries", "Item"],
          peeked.dead.map((d) => [` data-id="${d.id}"`, [d.id, d.deliveries, itemCell(d.item)]]),
        )
      : "<p>None.</p>";
    const config = {
      ...(s.shards > 1 && { Shards: `${s.shards} (the counters add them up)` }),
      Order: s.order,
      Maxsize: s.maxsize || "unbounded",
      "Lease (s)": s.lease_seconds ?? "none",
      "Max deliveries": s.max_deliveries ?? "no limit",
      ...(s.dispatch && {
        Dispatch: s.dispatch === "fair" ? "fair: groups share the workers, by weight" : "fifo: the queue's order",
        "In flight per group": s.group_max_in_flight ?? "no cap",
        "Group status kept": duration(s.group_retention_seconds * 1000),
      }),
      State: s.shutdown ? `shut down${s.immediate ? " (immediate)" : ""}` : "open",
      ...(s.push && {
        "Pushes to": `${s.push.url}${s.push.paused ? " (paused)" : ""}`,
        "Pushes in flight": `${fmt(s.push.in_flight)} of ${fmt(s.push.concurrency)}`,
        "Push failures": fmt(s.push.failures),
        "Last push error": s.push.last_error ?? "none",
        "Next retry": s.push.next_retry_at ? relative(s.push.next_retry_at - Date.now()) : "none due",
      }),
    };
    $("config").innerHTML = Object.entries(config)
      .map(([k, v]) => `<dt>${k}</dt><dd>${esc(v)}</dd>`)
      .join("");
    chart.update();
    $("chart-note").textContent = `What this page has seen since ${new Date(chart.since()).toLocaleTimeString("en")}.`;
  };
  const schedule = scheduler(render);
  const changed = (s) => {
    stats = s;
    sample(name, s);
    if (itemsKey(s) !== shownKey) {
      shownKey = itemsKey(s);
      void refresh();
    }
    schedule();
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
        await refresh();
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
  $("groups-next").addEventListener("click", () => {
    const next = peeked.groups.next;
    if (next === null || next === groupPages.at(-1)) return; // a second click before the next page came
    groupPages.push(next);
    void refresh();
  });
  $("groups-prev").addEventListener("click", () => {
    if (groupPages.length > 1) groupPages.pop();
    void refresh();
  });
  for (const b of main.querySelectorAll("[data-range]")) {
    b.addEventListener("click", () => {
      for (const other of main.querySelectorAll("[data-range]")) other.setAttribute("aria-pressed", other === b);
      chart.setRange(RANGES[b.dataset.range]);
    });
  }

  new LiveSocket({
    path: `${path}/ws`,
    ticketPath: `${path}/ws-ticket`,
    onOpen: (ws) => ws.send('{"op":"watch"}'),
    onMessage: (m) => m.stats && changed(m.stats),
    onError,
  });
  changed(stats);
  every(1000, () => {
    sample(name, stats); // the last values hold until the next change: the chart's time keeps moving
    schedule();
  });
  return () => chart.destroy();
}

const NO_GROUPS = '<p>None: items put with a <code>"group"</code> are counted here by group.</p>';
// [header, cell HTML]: its state, what its join waits for, its lifetime counters, then its settings.
const GROUP_COLUMNS = [
  ["State", (g) => (g.state === "cancelled" ? '<span class="flag">cancelled</span>' : esc(g.state))],
  ["Unfinished", (g) => fmt(g.unfinished_tasks)],
  ["In flight", (g) => fmt(g.in_flight)],
  ["Puts", (g) => fmt(g.puts)],
  ["Completed", (g) => fmt(g.completed)],
  ["Dead-lettered", (g) => fmt(g.dead_lettered)],
  ["Cancelled", (g) => fmt(g.cancelled)],
  ["Weight", (g) => fmt(g.weight)],
  ["Cap", (g) => (g.max_in_flight == null ? "none" : fmt(g.max_in_flight))],
];

/** A page of groups, each row headed by its name; on a phone each row is a card (style.css), as a queue's is. */
function groupsTable(groups, first) {
  if (!groups.length) return first ? NO_GROUPS : "<p>No more groups.</p>";
  const ths = ["Group", ...GROUP_COLUMNS.map(([h]) => h)].map((h) => `<th scope="col">${h}</th>`).join("");
  const trs = groups.map((g) => {
    const tds = GROUP_COLUMNS.map(([h, cell]) => `<td data-label="${h}">${cell(g)}</td>`).join("");
    const attrs = `data-group="${esc(g.group)}" title="last change ${duration(Date.now() - g.updated_at)} ago"`;
    return `<tr ${attrs}><th scope="row">${esc(g.group)}</th>${tds}</tr>`;
  });
  return `<table class="groups"><thead><tr>${ths}</tr></thead><tbody>${trs.join("")}</tbody></table>`;
}

/** A row's tooltip: how long ago its item was put (not recorded for items put before the service kept it). */
const age = (d, now) => (d.put_at ? ` title="put ${duration(now - d.put_at)} ago"` : "");
