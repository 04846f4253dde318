// The dashboard in a real browser (the Chromium of the npm package @sparticuz/chromium, driven by playwright-core;
// see browser.ts) against `wrangler dev`: the overview over one catalog feed socket (a new queue within a second,
// 2,000 queues paged without 2,000 sockets), what join waits for, peeking without changing a counter, dead letters,
// groups' counters, a sharded queue as one, recovery after the server restarts, sign-in, no text cut at 1,280 and
// 390 px, every table readable at 390 px, the chart's labels clear of each other, and no request that fails (the
// favicon included).
// Screenshots go under test-artifacts/; the overview at 1,280 px also to docs/dashboard.png, which the README shows.
// Every wait is for an event, bounded by EVENT: a bound for a busy machine, not a claim of speed.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { launch } from "./browser.ts";
import { freePort, kill, serve, start } from "./server.ts";

const artifacts = join(import.meta.dirname, "../../test-artifacts");
const docs = join(import.meta.dirname, "../../docs");
const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(artifacts, `dashboard-${name}.png`), fullPage: true });

let browser: Browser;
let closeBrowser: () => Promise<void>;
let port: number;
let persist: string;
let server: Awaited<ReturnType<typeof start>>;
const url = () => `http://127.0.0.1:${port}`;
/** How long a wait for something the page shows may take before the test fails (each ends when it happens). */
const EVENT = { timeout: 30_000 };
const restart = async () => (server = await start(port, persist, "npm start"));

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  [{ browser, close: closeBrowser }, port, persist] = await Promise.all([
    launch(),
    freePort(),
    // In memory where the machine has it: 2,000 creates are 4,000 catalog commits, each one an fsync on a disk.
    mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "jq-dashboard-")),
  ]);
  await restart();
}, 120_000); // unpacking the browser and starting wrangler dev take seconds each, most of a minute on a busy machine
afterAll(async () => {
  await closeBrowser?.();
  if (server) await kill(server);
  rmSync(persist, { recursive: true, force: true });
});

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(`${url()}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** A page that records the WebSockets it opens and every answer that failed (a 4xx or 5xx, the favicon's too). */
async function open(path: string, width = 1280) {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  const sockets: string[] = [];
  const failed: string[] = [];
  page.on("websocket", (ws) => sockets.push(new URL(ws.url()).pathname));
  page.on("response", (r) => r.status() >= 400 && failed.push(`${r.status()} ${new URL(r.url()).pathname}`));
  await page.goto(`${url()}${path}`);
  return { page, sockets, failed };
}

/** Nothing wider than the window, and no element that clips its own text (a scroll box counts as clipping). */
async function fits(page: Page, width: number) {
  await page.setViewportSize({ width, height: 900 });
  // The chart follows its box's width from a ResizeObserver, which runs before the next frame is drawn.
  await page.evaluate("new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))");
  // A string, not a function: this file is typed for Node, and the expression runs in the page.
  const clipped = await page.evaluate(`[...document.querySelectorAll("main *")]
    .filter((el) => !el.closest(".uplot") && getComputedStyle(el).overflowX !== "visible")
    .filter((el) => el.scrollWidth > el.clientWidth + 1)
    .map((el) => el.tagName + "." + el.className + ": " + el.scrollWidth + " > " + el.clientWidth)`);
  expect(clipped).toEqual([]);
  expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(width);
}

/**
 * Every table reads across at this width: no cell's text runs down the page a character or two a line (as the item
 * column did at 390 px, squeezed to ~10 px by its figures' unbreakable headers), and each item cell has room.
 */
async function readable(page: Page, width: number) {
  await page.setViewportSize({ width, height: 900 });
  await page.evaluate("new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))");
  // Lines are counted from the boxes of the cell's text (rectangles that overlap vertically share a line).
  const cells: { cell: string; chars: number; lines: number; width: number; item: boolean }[] =
    await page.evaluate(`[...document.querySelectorAll("main table :is(th, td)")]
    .filter((cell) => cell.getClientRects().length > 0 && cell.textContent.trim() !== "")
    .map((cell) => {
      const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
      const boxes = [];
      for (let text = walker.nextNode(); text; text = walker.nextNode()) {
        const range = document.createRange();
        range.selectNodeContents(text);
        boxes.push(...[...range.getClientRects()].filter((r) => r.width > 0));
      }
      boxes.sort((a, b) => a.top - b.top);
      let lines = 0;
      let bottom = -Infinity;
      for (const box of boxes) {
        const below = box.top >= bottom - 1; // starts under the line so far: a line of its own
        if (below) lines++;
        bottom = below ? box.bottom : Math.max(bottom, box.bottom);
      }
      const text = cell.textContent.trim();
      const column = cell.dataset.label ?? cell.dataset.col ?? cell.tagName;
      return {
        cell: cell.closest("table").className + " " + column + ": " + JSON.stringify(text.slice(0, 30)),
        chars: text.length,
        lines,
        width: Math.round(cell.getBoundingClientRect().width),
        item: cell.matches("td.item"),
      };
    })`);
  expect(cells.length).toBeGreaterThan(0);
  expect(cells.filter((c) => c.lines > 1 && c.chars / c.lines < 6).map((c) => `${c.cell}: ${c.lines} lines`)).toEqual(
    [],
  );
  // Each item: about the width of the page's content (1 rem of margin each side, and as much again to spare).
  const items = cells.filter((c) => c.item);
  expect(items.filter((c) => c.width < Math.min(width - 64, 600)).map((c) => `${c.cell}: ${c.width} px`)).toEqual([]);
  // Nothing reaches past the window's right edge.
  expect(
    await page.evaluate(
      `Math.max(...[...document.querySelectorAll("main *")].map((el) => el.getBoundingClientRect().right))`,
    ),
  ).toBeLessThanOrEqual(width);
  return { items: items.length };
}

it("shows a queue created after the page loaded as the catalog pushes it, with live counters", async () => {
  const { page, sockets, failed } = await open("/"); // a browser at / is sent to the dashboard
  await page.locator("#connection", { hasText: "Live" }).waitFor(EVENT);
  // What makes a new queue show within a second is that the catalog pushes it down the open socket: the page asks
  // nothing over HTTP for it. That is asserted; the time it took is only printed (a busy machine may take longer).
  const asked: string[] = [];
  page.on("request", (r) => {
    const { pathname } = new URL(r.url());
    if (pathname.startsWith("/v1/")) asked.push(`${r.method()} ${pathname}`); // not the browser's own favicon
  });
  await api("PUT", "/v1/queues/dash-live", {});
  const createdAt = Date.now();
  const row = page.locator('tr[data-queue="dash-live"]');
  await row.waitFor(EVENT);
  console.log(`a new queue appeared in the overview ${Date.now() - createdAt} ms after it was created`);
  expect(asked).toEqual([]);
  await expect.poll(() => row.locator('[data-col="join"]').innerText(), EVENT).toBe("drained");
  await api("POST", "/v1/queues/dash-live/put", { items: [{ item: 1 }, { item: 2 }, { item: 3 }] });
  // A queue reports at most once a second (its first report may just have gone): within about a second, then.
  await expect.poll(() => row.locator('[data-col="qsize"]').innerText(), EVENT).toBe("3");
  expect(await row.locator('[data-col="join"]').innerText()).toMatch(/^3 left/);
  const { items } = await api("POST", "/v1/queues/dash-live/get", { max: 3 });
  for (const d of items) await api("POST", "/v1/queues/dash-live/task_done", { receipt: d.receipt });
  await expect.poll(() => row.locator('[data-col="join"]').innerText(), EVENT).toBe("drained");
  expect(await row.locator('[data-col="qsize"]').innerText()).toBe("0");
  // Keyboard: a focused column header sorts with Enter.
  await page.getByRole("button", { name: "Backlog" }).focus();
  await page.keyboard.press("Enter");
  expect(await page.locator("th[aria-sort]").innerText()).toBe("Backlog");
  expect(sockets).toEqual(["/v1/catalog/ws"]);
  // The page names its icon (a browser asks for /favicon.ico, a 404, when a page names none), and it is there.
  const icon: { status: number; type: string | null } = await page.evaluate(`(async () => {
    const res = await fetch(document.querySelector('link[rel="icon"]').href);
    return { status: res.status, type: res.headers.get("content-type") };
  })()`);
  expect(icon).toEqual({ status: 200, type: "image/svg+xml" });
  expect(failed).toEqual([]);
  await page.close();
});

it("at 1,280 and 390 px the overview and a queue's view cut no text, and read across (screenshots of each)", async () => {
  await api("PUT", "/v1/queues/images", { lease_seconds: 300 });
  await api("POST", "/v1/queues/images/put", { items: Array.from({ length: 40 }, (_, i) => ({ item: { n: i } })) });
  await api("POST", "/v1/queues/images/get", { max: 4 });
  await api("PUT", "/v1/queues/etl-nightly-with-a-rather-long-name", { max_deliveries: 1 });
  await api("POST", "/v1/queues/etl-nightly-with-a-rather-long-name/put", { item: { table: "orders" } });
  const poison = await api("POST", "/v1/queues/etl-nightly-with-a-rather-long-name/get", {});
  await api("POST", "/v1/queues/etl-nightly-with-a-rather-long-name/release", { receipt: poison.receipt });
  const { page } = await open("/dashboard/");
  const row = page.locator('tr[data-queue="images"]');
  await expect.poll(() => row.locator('[data-col="join"]').innerText(), EVENT).toMatch(/^40 left/);
  const etl = page.locator('tr[data-queue="etl-nightly-with-a-rather-long-name"] [data-col="state"]');
  await expect.poll(() => etl.innerText(), EVENT).toMatch(/1 dead-lettered/);
  await fits(page, 1280);
  await shot(page, "overview-1280");
  mkdirSync(docs, { recursive: true });
  await page.screenshot({ path: join(docs, "dashboard.png") });
  await fits(page, 390);
  await readable(page, 390);
  await shot(page, "overview-390");
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${url()}/dashboard/#/queue/images`);
  await page.locator("#inflight tr[data-id]").first().waitFor(EVENT);
  await page.locator("#ready tr[data-id]").first().waitFor(EVENT);
  await page.locator("#chart canvas").waitFor(EVENT);
  await fits(page, 1280);
  await shot(page, "queue-1280");
  await fits(page, 390);
  // The in-flight table (4 rows), the next ready (10): each item has the card's width, not the column's few px.
  expect(await readable(page, 390)).toEqual({ items: 14 });
  await shot(page, "queue-390");
  await page.close();
});

/**
 * Records the text the page's canvases draw (the chart's labels), as each canvas drew it last, with where each label
 * starts and ends on its row. uPlot clears the whole canvas before it draws it again: that starts a canvas's record.
 */
const RECORD_CANVAS_TEXT = `(() => {
  const proto = CanvasRenderingContext2D.prototype;
  const { fillText, clearRect } = proto;
  const drawn = new Map();
  window.drawnText = () => [...drawn.values()].flat();
  proto.clearRect = function (x, y, w, h) {
    if (x === 0 && y === 0 && w >= this.canvas.width && h >= this.canvas.height) drawn.set(this.canvas, []);
    return clearRect.call(this, x, y, w, h);
  };
  proto.fillText = function (text, x, y, ...rest) {
    const m = this.getTransform();
    if (m.b === 0 && m.c === 0) { // rotated text (the axes' titles) runs along no row
      const w = this.measureText(text).width;
      const at = m.a * x + m.e;
      const left = this.textAlign === "center" ? at - w / 2 : ["right", "end"].includes(this.textAlign) ? at - w : at;
      if (!drawn.has(this.canvas)) drawn.set(this.canvas, []);
      drawn.get(this.canvas).push({ text: String(text), row: Math.round(m.d * y + m.f), left, right: left + w });
    }
    return fillText.call(this, text, x, y, ...rest);
  };
})()`;

it("the chart's time labels never run into each other, at 1,280 and 390 px, over 5 minutes and an hour", async () => {
  await api("PUT", "/v1/queues/dash-chart", {});
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, timezoneId: "UTC" });
  await page.addInitScript(RECORD_CANVAS_TEXT);
  // The page's clock stands at 12:05:44.5 (its timers run): the 5 minutes begin just before a tick at :45, a tick
  // away from the next minute's label. uPlot's own labels put the date under that first tick, into 12:01's label.
  await page.clock.setFixedTime(new Date(Date.UTC(2026, 11, 6, 12, 5, 44, 500)));
  await page.goto(`${url()}/dashboard/#/queue/dash-chart`);
  await page.locator("#chart canvas").waitFor(EVENT);
  const overlaps = async () => {
    await page.evaluate("new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))");
    await page.waitForTimeout(1200); // the chart is drawn again every second: one whole drawing at this size
    const drawn: { text: string; row: number; left: number; right: number }[] = await page.evaluate("drawnText()");
    const rows = new Map<number, typeof drawn>();
    for (const label of drawn) rows.set(label.row, [...(rows.get(label.row) ?? []), label]);
    const time = [...rows.values()].find((labels) => labels.some((l) => /\d\d:\d\d/.test(l.text)));
    expect(time, "the time axis's labels").toBeDefined();
    const clashes: string[] = [];
    for (const labels of rows.values()) {
      labels.sort((a, b) => a.left - b.left);
      for (let i = 1; i < labels.length; i++) {
        if (labels[i]!.left < labels[i - 1]!.right + 4) clashes.push(`${labels[i - 1]!.text} / ${labels[i]!.text}`);
      }
    }
    return { clashes, time: time!.map((l) => l.text) };
  };
  const fiveMinutes = await overlaps();
  expect(fiveMinutes.clashes).toEqual([]);
  expect(fiveMinutes.time.slice(0, 2)).toEqual([":45", "12:01"]); // one line each, the minute where it starts
  await page.getByRole("button", { name: "Last 1 h" }).click();
  expect((await overlaps()).clashes).toEqual([]);
  await page.setViewportSize({ width: 390, height: 900 });
  expect((await overlaps()).clashes).toEqual([]);
  await page.getByRole("button", { name: "Last 5 min" }).click();
  expect((await overlaps()).clashes).toEqual([]);
  await page.close();
});

it("shows a sharded queue as one queue, its counters added up, with its shard count", async () => {
  await api("PUT", "/v1/queues/dash-sharded", { shards: 4 });
  const keys = ["a", "b", "c", "d", "e", "f", "g", "h"]; // spread over the shards
  const putAll = () =>
    Promise.all(keys.map((k) => api("POST", "/v1/queues/dash-sharded/put", { item: k, shard_key: k })));
  await putAll();
  const { page } = await open("/dashboard/#/?prefix=dash-sharded");
  const row = page.locator('tr[data-queue="dash-sharded"]');
  await expect.poll(() => row.locator('[data-col="qsize"]').innerText(), EVENT).toBe("8");
  expect(await row.locator("th .badge").innerText()).toBe("4 shards");
  await page.goto(`${url()}/dashboard/#/queue/dash-sharded`);
  await expect.poll(() => page.locator("#config").innerText(), EVENT).toMatch(/^Shards\s+4 /);
  // The queue's socket lands on one shard and counts that shard alone: the page's counters are the queue's sum.
  await page.locator("#connection", { hasText: "Live" }).waitFor(EVENT);
  const counter = (k: string) => page.locator(`#counters div:has(> dt:text-is("${k}")) dd`).innerText();
  const shown = async () => [await counter("Backlog"), await counter("Puts")];
  const sums = async () => {
    const s = await api("GET", "/v1/queues/dash-sharded");
    return [s.qsize, s.puts].map(String);
  };
  await expect.poll(shown, EVENT).toEqual(["8", "8"]);
  expect(await shown()).toEqual(await sums());
  await putAll(); // the page stays open: the sums follow
  await expect.poll(shown, EVENT).toEqual(["16", "16"]);
  expect(await shown()).toEqual(await sums());
  await page.close();
});

it("shows a delivery held in flight, peeking changes no counter, and the row leaves on task_done", async () => {
  await api("PUT", "/v1/queues/dash-flight", { lease_seconds: 120 });
  await api("POST", "/v1/queues/dash-flight/put", {
    items: [{ item: { job: 1 } }, { item: { job: 2 } }, { item: "x" }],
  });
  const held = await api("POST", "/v1/queues/dash-flight/get", {});
  const before = await api("GET", "/v1/queues/dash-flight");
  const { page } = await open("/dashboard/#/queue/dash-flight");
  const row = page.locator(`#inflight tr[data-id="${held.id}"]`);
  await row.waitFor(EVENT);
  expect(await page.locator("#inflight-h").innerText()).toBe("In flight: join is waiting for this task");
  // Held for seconds; the 2 min lease ends "in 2 min" (90 s and more), or "in N s" if the page came late.
  expect(await row.innerText()).toMatch(/^1\s+1\s+\d+ s\s+in (?:2 min|\d+ s)\s+\{"job":1\}$/);
  expect(await row.getAttribute("title")).toMatch(/^put \d+ s ago$/);
  await page.locator("#ready table").getByText('{"job":2}').waitFor(EVENT);
  expect(await page.locator("#ready tbody tr").count()).toBe(2);
  expect(await api("GET", "/v1/queues/dash-flight")).toEqual(before); // looking took nothing and counted nothing
  await api("POST", "/v1/queues/dash-flight/task_done", { receipt: held.receipt });
  await row.waitFor({ state: "detached", ...EVENT });
  expect(await page.locator("#inflight").innerText()).toBe("None.");
  // Nothing in flight (two items still queued): the heading says no more than that, never "these 0 tasks".
  await expect.poll(() => page.locator("#inflight-h").innerText(), EVENT).toBe("In flight");
  expect(await page.locator("#join").innerText()).toBe(
    "Join is waiting for 2 unfinished tasks: 0 in flight, 2 in the queue.",
  );
  await page.close();
});

it("a queue's view shows its dead letters, and redrive from the page puts them back", async () => {
  await api("PUT", "/v1/queues/dash-dlq", { max_deliveries: 1 });
  await api("POST", "/v1/queues/dash-dlq/put", { item: { poison: true } });
  const got = await api("POST", "/v1/queues/dash-dlq/get", {});
  expect(await api("POST", "/v1/queues/dash-dlq/release", { receipt: got.receipt })).toEqual({ dead_lettered: true });
  const { page } = await open("/dashboard/#/queue/dash-dlq");
  await page.locator("#dead table").getByText('{"poison":true}').waitFor(EVENT);
  expect(await page.locator("#join").innerText()).toMatch(/^Drained/); // a dead letter counts as done for join
  await page.getByRole("button", { name: "Last 1 h" }).click();
  expect(await page.getByRole("button", { name: "Last 1 h" }).getAttribute("aria-pressed")).toBe("true");
  await page.getByRole("button", { name: "Redrive all" }).click();
  await expect.poll(async () => (await api("GET", "/v1/queues/dash-dlq")).dead_lettered, EVENT).toBe(0);
  expect(await api("GET", "/v1/queues/dash-dlq")).toMatchObject({ qsize: 1, unfinished_tasks: 1 });
  await expect.poll(() => page.locator("#dead").innerText(), EVENT).toBe("None.");
  await page.close();
});

it("a queue's view lists its groups with their state, counters, weight and cap as they change, 50 to a page", async () => {
  await api("PUT", "/v1/queues/dash-groups", { lease_seconds: 120 });
  const { page } = await open("/dashboard/#/queue/dash-groups");
  await expect.poll(() => page.locator("#groups").innerText(), EVENT).toMatch(/^None: items put with a "group"/);
  // The page stays open: the counters' changes bring the groups in, as they bring the items.
  await api("POST", "/v1/queues/dash-groups/put", { items: [{ item: 1 }, { item: 2 }, { item: 3 }], group: "req-a" });
  await api("POST", "/v1/queues/dash-groups/put", { items: [{ item: 4 }, { item: 5 }], group: "req-b" });
  const { items } = await api("POST", "/v1/queues/dash-groups/get", { max: 3 }); // req-a's three, in FIFO order
  for (const d of items.slice(0, 2)) await api("POST", "/v1/queues/dash-groups/task_done", { receipt: d.receipt });
  // Group, state, unfinished, in flight, puts, completed, dead-lettered, cancelled, weight, cap: the API's figures.
  const cells = (group: string) => page.locator(`#groups tr[data-group="${group}"] :is(th, td)`).allInnerTexts();
  const figures = async (group: string) => {
    const g = await api("GET", `/v1/queues/dash-groups/groups/${group}`);
    const counts = [g.unfinished_tasks, g.in_flight, g.puts, g.completed, g.dead_lettered, g.cancelled, g.weight];
    return [g.group, g.state, ...counts, g.max_in_flight ?? "none"].map(String);
  };
  await expect.poll(() => cells("req-a"), EVENT).toEqual(["req-a", "open", "1", "1", "3", "2", "0", "0", "1", "none"]);
  expect(await cells("req-a")).toEqual(await figures("req-a"));
  expect(await cells("req-b")).toEqual(["req-b", "open", "2", "0", "2", "0", "0", "0", "1", "none"]);
  expect(await cells("req-b")).toEqual(await figures("req-b"));
  expect(await page.locator("#groups-pager").isHidden()).toBe(true); // one page: no pager
  // A weight and a cap for one group, then the other cancelled: its two waiting items leave the queue, and the
  // counters' change brings both rows up to date.
  await api("PATCH", "/v1/queues/dash-groups/groups/req-a", { weight: 4, max_in_flight: 2 });
  expect(await api("POST", "/v1/queues/dash-groups/groups/req-b/cancel")).toEqual({
    group: "req-b",
    cancelled: 2,
    in_flight: 0,
  });
  await expect
    .poll(() => cells("req-b"), EVENT)
    .toEqual(["req-b", "cancelled", "0", "0", "2", "0", "0", "2", "1", "none"]);
  expect(await cells("req-b")).toEqual(await figures("req-b"));
  expect(await cells("req-a")).toEqual(["req-a", "open", "1", "1", "3", "2", "0", "0", "4", "2"]);
  expect(await cells("req-a")).toEqual(await figures("req-a"));
  expect(await page.locator("#config").innerText()).toMatch(/Dispatch\s+fifo/);
  // 57 groups: 50 to a page in name order, the next page read with `after`.
  const bulk = Array.from({ length: 55 }, (_, i) => ({ item: i, group: `bulk-${String(i).padStart(2, "0")}` }));
  await api("POST", "/v1/queues/dash-groups/put", { items: bulk });
  await expect.poll(() => page.locator("#groups-at").innerText(), EVENT).toBe("1–50 in name order");
  expect(await page.locator("#groups tbody tr").count()).toBe(50);
  expect(await page.locator("#groups tbody tr").last().getAttribute("data-group")).toBe("bulk-49");
  await fits(page, 390);
  await readable(page, 390);
  await shot(page, "groups-390");
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.getByRole("button", { name: "Next →" }).click();
  await expect.poll(() => page.locator("#groups-at").innerText(), EVENT).toBe("51–57 in name order");
  expect(await cells("req-a")).toEqual(await figures("req-a"));
  expect(await page.getByRole("button", { name: "Next →" }).isDisabled()).toBe(true);
  await page.getByRole("button", { name: "← Previous" }).click();
  await expect.poll(() => page.locator("#groups-at").innerText(), EVENT).toBe("1–50 in name order");
  await page.close();
});

it("when the socket is cut (the server restarts) the page says it is reconnecting, then is live again", async () => {
  await api("PUT", "/v1/queues/dash-cut", {});
  const { page } = await open("/dashboard/#/?prefix=dash-cut");
  const row = page.locator('tr[data-queue="dash-cut"]');
  await row.waitFor(EVENT);
  await kill(server);
  await expect.poll(() => page.locator("#connection").innerText(), EVENT).toMatch(/^Reconnecting/);
  await shot(page, "reconnecting");
  await restart();
  await expect.poll(() => page.locator("#connection").innerText(), EVENT).toMatch(/^Live/); // retries every ≤ 5 s
  await api("POST", "/v1/queues/dash-cut/put", { item: "after the restart" });
  await expect.poll(() => row.locator('[data-col="qsize"]').innerText(), EVENT).toBe("1");
  await page.close();
});

it("with authentication on, the page asks for a token and says clearly when one is refused", async () => {
  const secret = "dashboard-admin-secret-0123456789abcdef";
  const secure = await serve("plain", { ADMIN_TOKEN: secret });
  try {
    await fetch(`${secure.url}/v1/queues/dash-secure`, {
      method: "PUT",
      headers: { authorization: `Bearer ${secret}` },
    });
    const page = await browser.newPage();
    await page.goto(`${secure.url}/dashboard/`);
    await page.getByRole("heading", { name: "Sign in" }).waitFor(EVENT);
    await page.getByLabel("Token").fill("not-the-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.locator("#login-error").innerText(), EVENT).toMatch(/^That token was refused: .+/);
    await shot(page, "sign-in");
    await page.getByLabel("Token").fill(secret);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator('tr[data-queue="dash-secure"]').waitFor(EVENT); // the feed's socket opened with a ticket
    const qsize = page.locator('tr[data-queue="dash-secure"] [data-col="qsize"]');
    await expect.poll(() => qsize.innerText(), EVENT).toBe("0");
    await page.close();
  } finally {
    await secure.stop();
  }
});

it("pages 2,000 queues over one socket, and filters them by name prefix", async () => {
  const names = Array.from({ length: 2000 }, (_, i) => `bulk-${String(i).padStart(4, "0")}`);
  const started = Date.now();
  for (let i = 0; i < names.length; i += 100) {
    await Promise.all(names.slice(i, i + 100).map((n) => api("PUT", `/v1/queues/${n}`, {})));
  }
  console.log(`created 2,000 queues in ${Date.now() - started} ms`);
  const { page, sockets } = await open("/dashboard/#/?prefix=bulk-");
  const summary = page.locator("#summary");
  await expect.poll(() => summary.innerText(), EVENT).toBe("1–50 of 2,000 queues");
  expect(await page.locator("tbody tr").count()).toBe(50);
  await page.getByRole("button", { name: "Next →" }).click();
  await expect.poll(() => summary.innerText(), EVENT).toBe("51–100 of 2,000 queues");
  expect(await page.locator("tbody tr").first().getAttribute("data-queue")).toBe("bulk-0050");
  await expect
    .poll(() => page.locator('tr[data-queue="bulk-0050"] [data-col="join"]').innerText(), EVENT)
    .toBe("drained");
  await page.getByLabel("Name starts with").fill("bulk-01");
  await expect.poll(() => summary.innerText(), EVENT).toBe("1–50 of 100 queues");
  expect(await page.locator("tbody tr").first().getAttribute("data-queue")).toBe("bulk-0100");
  console.log(`sockets the overview opened for 2,000 queues: ${sockets.length}`);
  expect(sockets).toEqual(["/v1/catalog/ws"]);
  await page.close();
}, 300_000); // 2,000 creates take about 20 s on a quiet machine, a few times that beside a CPU hog
