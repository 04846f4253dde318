// docs/deploy.md against what it describes: clients pointed at a closed server (as a deployment is) with
// JOINABLE_QUEUES_URL and a scoped JOINABLE_QUEUES_TOKEN run the examples and leave no queue behind; the page's costs
// are the measured ones in bench/results/latest.json; the service binding names this Worker and an entrypoint it
// exports. (The deploy bundle itself is built by `.ci/run`, with `wrangler deploy --dry-run`: no network reaches
// Cloudflare from here.)
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { serve } from "./server.ts";

const run = promisify(execFile);
const root = join(import.meta.dirname, "../..");
const read = (path: string) => readFileSync(join(root, path), "utf8");
const page = read("docs/deploy.md");
const secret = "deploy-test-admin-secret-0123456789abcdef";
let server: Awaited<ReturnType<typeof serve>>;

beforeAll(async () => {
  server = await serve("plain", { ADMIN_TOKEN: secret });
});
afterAll(() => server?.stop());

/** The API as the operator calls it, with the admin secret. */
async function admin(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(res.ok, `${method} ${path}: ${res.status}`).toBe(true);
  return res.status === 204 ? undefined : res.json();
}

/** The machine's own `node` (20 here), as the docs' commands run it, found on PATH outside node_modules. */
const node =
  (process.env.PATH ?? "")
    .split(delimiter)
    .filter((d) => !d.includes("node_modules"))
    .map((d) => join(d, "node"))
    .find(existsSync) ?? process.execPath;

it("clients reach a closed server with JOINABLE_QUEUES_URL and a scoped JOINABLE_QUEUES_TOKEN, and clean up", async () => {
  // Step 6 of the page: a token of the client's own, issued with the admin secret, for the queues it makes.
  const issued = await admin("POST", "/v1/tokens", {
    queues: ["classic-*", "sockets-*", "fan-out-*"],
    rights: ["produce", "consume", "observe", "admin"],
    label: "the examples",
  });
  const env = { ...process.env, JOINABLE_QUEUES_URL: server.url, JOINABLE_QUEUES_TOKEN: issued.token };
  const example = async (file: string) =>
    (await run(node, ["--experimental-websocket", join(root, "examples", file)], { env })).stdout;
  expect(await example("classic.mjs")).toMatch(/All tasks processed!\n(consumer \d: queue shut down, exiting\n){3}$/);
  expect(await example("sockets.mjs")).toMatch(/All tasks processed!\n\{ done: 5, failed: 0 \}\n$/);
  expect(await example("fan-out.mjs")).toMatch(/join exited 0; consumers did 1000 jobs, 0 failed\n$/); // the CLI too
  // Without the token the same client is refused, as a deployment refuses it.
  const refused = await run(node, [join(root, "examples/classic.mjs")], {
    env: { ...env, JOINABLE_QUEUES_TOKEN: "" },
  }).catch((e) => e);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/Unauthorized/);
  expect(await admin("GET", "/v1/queues")).toEqual({ queues: [], next: null }); // every example deleted its queue
  await admin("DELETE", `/v1/tokens/${issued.id}`);
});

it("the page's costs are the measured ones, with their date", () => {
  const bench = JSON.parse(read("bench/results/latest.json"));
  const [single, batched] = [bench.figures["cost_single-item"], bench.figures["cost_batched (100)"]];
  const rates = bench.figures.cost_rates;
  const row = (label: string) =>
    page
      .split("\n")
      .find((l) => l.startsWith(`| ${label}`))!
      .split("|")
      .slice(2, 5);
  const round = (x: number, digits: number) => (Math.round(x * 10 ** digits) / 10 ** digits).toFixed(digits);
  const cells = (figures: typeof single) => [
    `${figures.requests} + ${figures.requests}`,
    round(figures.steady.rows_written, figures.steady.rows_written < 1 ? 3 : 2),
    round(figures.dollars_per_million, 2),
  ];
  expect(row("one item a call").map((c) => c.trim())).toEqual(cells(single));
  expect(row("batches of 100").map((c) => c.trim())).toEqual(cells(batched));
  const text = page.replace(/\s+/g, " ");
  expect(text).toContain(`as measured by \`npm run bench\` on ${bench.machine.date.slice(0, 10)}`);
  expect(text).toContain(`Workers Paid rates as of ${rates.as_of}`);
  const prices: [string, number][] = [
    ["Worker requests", rates.worker_request],
    ["Durable Object requests", rates.do_request],
    ["rows written", rates.row_written],
    ["rows read", rates.row_read],
  ];
  for (const [what, rate] of prices) expect(text).toContain(`${what} $${rate.toFixed(rate < 0.01 ? 3 : 2)} a million`);
});

it("the service binding names this Worker and an entrypoint it exports, as the page shows it", () => {
  const name = read("wrangler.toml").match(/^name = "(.+)"$/m)![1];
  const caller = read("examples/service-binding/wrangler.toml");
  expect(caller).toContain(`service = "${name}"`);
  const entrypoint = caller.match(/^entrypoint = "(.+)"$/m)![1]!;
  expect(read("src/index.ts")).toMatch(new RegExp(`export \\{[^}]*\\b${entrypoint}\\b|export class ${entrypoint}\\b`));
  expect(page).toContain(`service = "${name}"`);
  expect(page).toContain(`entrypoint = "${entrypoint}"`);
});
