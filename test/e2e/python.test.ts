// The Python client: installed with pip into a temporary folder (as a user would, offline), then its unittest
// suite runs against `npm start`: threads, processes, a SIGKILLed consumer, the classic programs, asyncio; then the
// items a Python program put are read here with plain fetch, as the README says a TypeScript consumer sees them.

import type { ChildProcess } from "node:child_process";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { freePort, kill, start } from "./server.ts";

const work = mkdtempSync(join(tmpdir(), "jq-python-"));
// The queue the Python suite leaves its items in (tests/test_multiprocessing.py), and `${handoff}-priority`.
const handoff = `handoff-${Date.now()}`;
let server: ChildProcess | undefined;
let url = "";

afterAll(async () => {
  if (server) await kill(server);
  rmSync(work, { recursive: true, force: true });
});

it("pip installs the package, and its unittest suite passes against the service", async () => {
  const site = join(work, "site");
  const pip = spawnSync(
    "python3",
    ["-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", site, "./clients/python"],
    {
      encoding: "utf8",
      env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: "1", PIP_ROOT_USER_ACTION: "ignore" },
    },
  );
  expect(pip.status, pip.stderr).toBe(0);
  const port = await freePort();
  server = await start(port, join(work, "storage"));
  url = `http://127.0.0.1:${port}`;
  // The tests import the installed copy: the source folder is not on the path, only the tests' own folder.
  const tests = spawnSync(
    "python3",
    ["-m", "unittest", "discover", "-s", "clients/python/tests", "-t", "clients/python/tests"],
    {
      encoding: "utf8",
      env: {
        ...process.env,
        PYTHONPATH: site,
        JOINABLE_QUEUES_URL: url,
        JOINABLE_QUEUES_HANDOFF: handoff,
        PYTHONDONTWRITEBYTECODE: "1",
      },
      timeout: 240_000,
    },
  );
  const summary = tests.stderr.trim().split("\n").slice(-3).join("\n");
  expect(tests.status, tests.stderr).toBe(0);
  expect(summary).toMatch(/Ran \d+ tests[\s\S]*OK$/);
}, 300_000);

it("a TypeScript consumer reads the items a Python program put as plain JSON, tuples and bytes tagged", async () => {
  const take = async (name: string) => {
    const res = await fetch(`${url}/v1/queues/${name}/get`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ max: 100, block: false }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { items: { item: unknown; priority: unknown }[] }).items;
  };
  expect((await take(handoff)).map((d) => d.item)).toEqual([
    { $tuple: ["https://example.com/a", 2] },
    { $tuple: [1, { $tuple: [2.5, { $tuple: ["deep", null] }] }, []] },
    { $bytes: "AP+JUE5H" },
    { frame: { $bytes: "AQI=" }, at: { $tuple: [3, 4] }, tags: ["a", "b"] },
    [{ $tuple: [1, 2] }, [3, 4]],
    { $ref: "#/x", $tuple: [1] },
    { $tuple: [] },
    "text",
    1,
    null,
    true,
  ]);
  // A PriorityQueue's own tuple is a plain array, as its priority key is.
  expect((await take(`${handoff}-priority`)).map((d) => [d.item, d.priority])).toEqual([
    [
      [0, { $tuple: ["nested", 2] }, { $bytes: "eA==" }],
      [0, ["nested", 2]],
    ],
    [
      [1, "resize"],
      [1, "resize"],
    ],
  ]);
});
