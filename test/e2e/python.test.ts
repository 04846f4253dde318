// The Python client: installed with pip into a temporary folder (as a user would, offline), then its unittest
// suite runs against `npm start`: threads, processes, a SIGKILLed consumer, the classic programs, asyncio; then the
// items a Python program put are read here with plain fetch, as the README says a TypeScript consumer sees them.
// The suite runs on Debian's /usr/bin/python3 with its python3-websockets, so every get that waits does so on the
// queue's WebSocket (tests/test_sockets.py among them); the queue tests run again on the `python3` on PATH (pyenv's
// on this image, which lacks the library: over HTTP), and a test with the library hidden checks the fallback.

import type { ChildProcess } from "node:child_process";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { freePort, kill, start } from "./server.ts";

const work = mkdtempSync(join(tmpdir(), "jq-python-"));
// Debian's Python: the one python3-websockets installs for (.ci/run installs it).
const debianPython = "/usr/bin/python3";
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
  const library = spawnSync(debianPython, ["-c", "import websockets; print(websockets.__version__)"], {
    encoding: "utf8",
  });
  expect(
    library.status,
    `${debianPython} cannot import websockets, which the Python socket tests need: ` +
      `apt-get install -y --no-install-recommends python3-websockets\n${library.stderr ?? library.error}`,
  ).toBe(0);
  const port = await freePort();
  server = await start(port, join(work, "storage"));
  url = `http://127.0.0.1:${port}`;
  // The tests import the installed copy: the source folder is not on the path, only the tests' own folder.
  const env = {
    ...process.env,
    PYTHONPATH: site,
    JOINABLE_QUEUES_URL: url,
    JOINABLE_QUEUES_HANDOFF: handoff,
    PYTHONDONTWRITEBYTECODE: "1",
  };
  const run = (python: string, args: string[], extra: Record<string, string> = {}) => {
    const tests = spawnSync(python, ["-m", "unittest", ...args], {
      cwd: "clients/python/tests",
      encoding: "utf8",
      env: { ...env, ...extra },
      timeout: 240_000,
    });
    const summary = tests.stderr.trim().split("\n").slice(-3).join("\n");
    expect(tests.status, tests.stderr).toBe(0);
    expect(summary).toMatch(/Ran \d+ tests[\s\S]*OK$/);
  };
  // On sockets: a missing library fails test_sockets (JOINABLE_QUEUES_SOCKETS=required) instead of skipping it.
  run(debianPython, ["discover", "-s", ".", "-t", "."], { JOINABLE_QUEUES_SOCKETS: "required" });
  // The queue's behaviour again, on the other Python (over HTTP where it lacks the library).
  run("python3", ["test_queue", "test_simple_queue", "test_shards", "test_sockets.WithoutTheLibraryTest"]);
}, 400_000);

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
