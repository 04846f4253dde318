// End to end: SIGKILL a running `wrangler dev` right after acknowledged puts and task_dones, restart it on the same
// storage folder, and find every acknowledged item and the exact counter.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";

const persist = mkdtempSync(join(tmpdir(), "jq-crash-"));
let server: ChildProcess | undefined;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** Starts wrangler dev in its own process group, so one SIGKILL takes wrangler and its workerd processes down. */
async function start(port: number): Promise<ChildProcess> {
  const child = spawn("npx", ["wrangler", "dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", persist, "--show-interactive-dev-session=false"], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true" },
  });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/`)).ok) return child;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`wrangler dev did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  process.kill(-child.pid!, "SIGKILL");
  return exited;
}

afterAll(async () => {
  if (server && server.exitCode === null && server.signalCode === null) await kill(server);
  rmSync(persist, { recursive: true, force: true });
});

it("keeps every acknowledged put and task_done across a SIGKILL of wrangler dev", async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}/v1/queues/crash`;
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  server = await start(port);
  const created = await fetch(base, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ lease_seconds: 3600 }) });
  expect(created.status).toBe(201);
  for (let i = 0; i < 50; i++) expect((await post("/put", { item: { n: i } })).status).toBe(201);
  const taken = [];
  for (let i = 0; i < 20; i++) taken.push((await post("/get", {})).body);
  for (const d of taken.slice(0, 15)) expect((await post("/task_done", { receipt: d.receipt })).status).toBe(200);
  await kill(server); // right after the last acknowledged task_done

  server = await start(port);
  const stats = (await (await fetch(base)).json()) as Record<string, number>;
  expect(stats).toMatchObject({ qsize: 30, leased: 5, unfinished_tasks: 35 });
  const rest = (await post("/get", { max: 100 })).body.items.map((d: { item: { n: number } }) => d.item.n);
  expect(rest).toEqual(Array.from({ length: 30 }, (_, i) => i + 20));
  for (const d of taken.slice(15)) expect((await post("/task_done", { receipt: d.receipt })).status).toBe(200);
  expect(((await (await fetch(base)).json()) as Record<string, number>).unfinished_tasks).toBe(30);
  await kill(server);
});
