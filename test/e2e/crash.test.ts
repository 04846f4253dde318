// End to end: SIGKILL a running `wrangler dev` right after acknowledged puts and task_dones, restart it on the same
// storage folder, and find every acknowledged item and the exact counter.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { freePort, kill, start } from "./server.ts";

const persist = mkdtempSync(join(tmpdir(), "jq-crash-"));
let server: ChildProcess | undefined;

afterAll(async () => {
  if (server) await kill(server);
  rmSync(persist, { recursive: true, force: true });
});

it("keeps every acknowledged put and task_done across a SIGKILL of wrangler dev", async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}/v1/queues/crash`;
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  server = await start(port, persist);
  const created = await fetch(base, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ lease_seconds: 3600 }),
  });
  expect(created.status).toBe(201);
  for (let i = 0; i < 50; i++) expect((await post("/put", { item: { n: i } })).status).toBe(201);
  const taken = [];
  for (let i = 0; i < 20; i++) taken.push((await post("/get", {})).body);
  for (const d of taken.slice(0, 15)) expect((await post("/task_done", { receipt: d.receipt })).status).toBe(200);
  await kill(server); // right after the last acknowledged task_done

  server = await start(port, persist);
  const stats = (await (await fetch(base)).json()) as Record<string, number>;
  expect(stats).toMatchObject({ qsize: 30, leased: 5, unfinished_tasks: 35 });
  const rest = (await post("/get", { max: 100 })).body.items.map((d: { item: { n: number } }) => d.item.n);
  expect(rest).toEqual(Array.from({ length: 30 }, (_, i) => i + 20));
  for (const d of taken.slice(15)) expect((await post("/task_done", { receipt: d.receipt })).status).toBe(200);
  expect(((await (await fetch(base)).json()) as Record<string, number>).unfinished_tasks).toBe(30);
  await kill(server);
});
