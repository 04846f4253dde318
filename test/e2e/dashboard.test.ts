// The dashboard in a real browser (Debian's chromium, driven by playwright-core) against `wrangler dev`: live
// counters without reloads, dead letters and redrive, recovery after the server restarts, and sign-in when
// authentication is on. Each view's screenshot is saved under test-artifacts/.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { freePort, kill, serve, start } from "./server.ts";

const artifacts = join(import.meta.dirname, "../../test-artifacts");
const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(artifacts, `dashboard-${name}.png`), fullPage: true });

/** Debian's chromium (CHROMIUM_PATH overrides): .ci/run installs it; a missing browser fails, never skips. */
function chromiumPath(): string {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  try {
    return execFileSync("sh", ["-c", "command -v chromium"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error(
      "the dashboard tests need a browser: `apt-get install chromium` (as .ci/run does), or set CHROMIUM_PATH",
    );
  }
}

let browser: Browser;
let port: number;
let persist: string;
let server: Awaited<ReturnType<typeof start>>;
const url = () => `http://127.0.0.1:${port}`;
const restart = async () => (server = await start(port, persist, "npm start"));

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  const flags = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
  ];
  browser = await chromium.launch({ executablePath: chromiumPath(), args: flags });
  [port, persist] = [await freePort(), mkdtempSync(join(tmpdir(), "jq-dashboard-"))];
  await restart();
});
afterAll(async () => {
  await browser?.close();
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

it("the overview lists a new queue and shows its counters live: 3 within a second, then 0 and drained", async () => {
  await api("PUT", "/v1/queues/dash-live", {});
  const page = await browser.newPage();
  await page.goto(`${url()}/`); // a browser at / is sent to the dashboard
  const row = page.locator('tr[data-queue="dash-live"]');
  await row.waitFor();
  expect(await row.locator('[data-col="join"]').innerText()).toBe("drained");
  await api("POST", "/v1/queues/dash-live/put", { items: [{ item: 1 }, { item: 2 }, { item: 3 }] });
  const putAt = Date.now();
  await expect.poll(() => row.locator('[data-col="qsize"]').innerText(), { timeout: 1000, interval: 50 }).toBe("3");
  expect(Date.now() - putAt).toBeLessThan(1000);
  expect(await row.locator('[data-col="join"]').innerText()).toMatch(/^3 left/);
  await shot(page, "overview");
  const { items } = await api("POST", "/v1/queues/dash-live/get", { max: 3 });
  for (const d of items) await api("POST", "/v1/queues/dash-live/task_done", { receipt: d.receipt });
  await expect.poll(() => row.locator('[data-col="qsize"]').innerText(), { timeout: 1000, interval: 50 }).toBe("0");
  await expect
    .poll(() => row.locator('[data-col="join"]').innerText(), { timeout: 1000, interval: 50 })
    .toBe("drained");
  // Keyboard: a focused column header sorts with Enter. Phone width: nothing overflows the page.
  await page.getByRole("button", { name: "Backlog" }).focus();
  await page.keyboard.press("Enter");
  expect(await page.locator("th[aria-sort]").innerText()).toBe("Backlog");
  await page.setViewportSize({ width: 375, height: 740 });
  expect(await page.evaluate("document.documentElement.scrollWidth <= innerWidth")).toBe(true);
  await shot(page, "phone");
  await page.close();
});

it("a queue's view shows its dead letters, and redrive from the page puts them back", async () => {
  await api("PUT", "/v1/queues/dash-dlq", { max_deliveries: 1 });
  await api("POST", "/v1/queues/dash-dlq/put", { item: { poison: true } });
  const got = await api("POST", "/v1/queues/dash-dlq/get", {});
  expect(await api("POST", "/v1/queues/dash-dlq/release", { receipt: got.receipt })).toEqual({ dead_lettered: true });
  const page = await browser.newPage();
  await page.goto(`${url()}/dashboard/#/queue/dash-dlq`);
  await page.locator("#dead table").getByText('{"poison":true}').waitFor();
  expect(await page.locator("#join").innerText()).toMatch(/^Drained/); // a dead letter counts as done for join
  await page.locator("#chart svg").waitFor();
  await shot(page, "queue");
  await page.getByRole("button", { name: "Redrive all" }).click();
  await expect.poll(async () => (await api("GET", "/v1/queues/dash-dlq")).dead_lettered, { timeout: 2000 }).toBe(0);
  expect(await api("GET", "/v1/queues/dash-dlq")).toMatchObject({ qsize: 1, unfinished_tasks: 1 });
  await expect.poll(() => page.locator("#dead").innerText(), { timeout: 2000 }).toBe("None.");
  await page.close();
});

it("when the socket is cut (the server restarts) the page says it is reconnecting, then shows live values again", async () => {
  await api("PUT", "/v1/queues/dash-cut", {});
  const page = await browser.newPage();
  await page.goto(`${url()}/dashboard/`);
  const row = page.locator('tr[data-queue="dash-cut"]');
  await row.waitFor();
  await kill(server);
  await expect.poll(() => page.locator("#connection").innerText(), { timeout: 5000 }).toMatch(/^Reconnecting/);
  await shot(page, "reconnecting");
  await restart();
  await expect.poll(() => page.locator("#connection").innerText(), { timeout: 15_000 }).toMatch(/^Live/);
  await api("POST", "/v1/queues/dash-cut/put", { item: "after the restart" });
  await expect.poll(() => row.locator('[data-col="qsize"]').innerText(), { timeout: 2000 }).toBe("1");
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
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await page.getByLabel("Token").fill("not-the-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.locator("#login-error").innerText()).toMatch(/^That token was refused: .+/);
    await shot(page, "sign-in");
    await page.getByLabel("Token").fill(secret);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator('tr[data-queue="dash-secure"]').waitFor(); // its socket opened with a ticket
    await expect.poll(() => page.locator('tr[data-queue="dash-secure"] [data-col="qsize"]').innerText()).toBe("0");
    await page.close();
  } finally {
    await secure.stop();
  }
});
