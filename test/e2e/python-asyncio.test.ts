// The asyncio client (joinable_queues.aio) end to end, against a wrangler dev of its own: CPython 3.13's own
// Lib/test/test_asyncio/test_queues.py with the client's queue classes in place of asyncio's (the 48 tests of the
// public interface: 34 pass, and the 14 that assert one loop step after a call what only the service's answer can
// tell fail, exactly those), on the queue's WebSocket and over HTTP; 1,000 tasks waiting in `await q.get()` on one
// event loop, whose program counts its WebSockets and threads; the client's own tests (cancellation that loses
// nothing, waits woken by other processes, groups, shards, leases, retries) on the `python3` on PATH (pyenv's on this
// image, without the websockets library: HTTP), as python.test.ts's unittest discovery runs them on Debian's python3,
// on sockets; and the examples of docs/python-asyncio.md and of docs/python.md's asyncio section as written. The runs
// go at once, against one server.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { serve } from "./server.ts";

type Run = { status: number | null; stdout: string; stderr: string };

const work = mkdtempSync(join(tmpdir(), "jq-python-asyncio-"));
const debianPython = "/usr/bin/python3"; // the one python3-websockets installs for (.ci/run installs it)
let server: Awaited<ReturnType<typeof serve>> | undefined;
let runs: Record<"cpythonSocket" | "cpythonHttp" | "waiters" | "clientHttp" | "example" | "pythonMd", Promise<Run>>;

/** A Python >= 3.13 (CPython's test package with test_asyncio/test_queues.py): on PATH, else pyenv's newest. */
function python313(): string {
  const pyenv = join(homedir(), ".pyenv", "versions");
  const versions = existsSync(pyenv) ? readdirSync(pyenv).filter((v) => /^3\.(1[3-9]|[2-9]\d)\./.test(v)) : [];
  const sorted = versions.sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  const candidates = ["python3.13", ...sorted.reverse().map((v) => join(pyenv, v, "bin", "python3"))];
  for (const python of candidates) {
    if (spawnSync(python, ["-c", "import test.test_asyncio.test_queues"]).status === 0) return python;
  }
  throw new Error(`no Python >= 3.13 with CPython's test package (tried ${candidates.join(", ")})`);
}

/** The first ```python block of a piece of markdown. */
function firstPython(markdown: string): string {
  return markdown.match(/```python\n([\s\S]*?)```/)![1]!;
}

function run(python: string, args: string[], env: Record<string, string>, cwd = "clients/python/tests"): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(python, args, { cwd, env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 380_000);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  const site = join(work, "site");
  const pip = spawnSync(
    "python3",
    ["-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", site, "./clients/python"],
    { encoding: "utf8", env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: "1", PIP_ROOT_USER_ACTION: "ignore" } },
  );
  expect(pip.status, pip.stderr).toBe(0);
  const library = spawnSync(debianPython, ["-c", "import websockets; print(websockets.__file__)"], {
    encoding: "utf8",
  });
  expect(
    library.status,
    `${debianPython} cannot import websockets: apt-get install -y --no-install-recommends python3-websockets`,
  ).toBe(0);
  // Debian's websockets (pure Python; its optional C speedups are 3.11's and are skipped) on 3.13's path, alone.
  const sockets = join(work, "websockets-for-3.13");
  mkdirSync(sockets);
  symlinkSync(dirname(library.stdout.trim()), join(sockets, "websockets"));
  const newest = python313();
  server = await serve();
  const env = { JOINABLE_QUEUES_URL: server.url, PYTHONPATH: site };
  const runner = ["cpython_test_asyncio_queues.py"];
  runs = {
    cpythonSocket: run(newest, runner, { ...env, PYTHONPATH: [site, sockets].join(delimiter) }),
    cpythonHttp: run(newest, runner, env),
    waiters: run(debianPython, ["-m", "unittest", "aio_waiters"], {
      ...env,
      JOINABLE_QUEUES_WAITERS: "1000",
      JOINABLE_QUEUES_SOCKETS: "required", // a missing library fails the test instead of skipping it
    }),
    clientHttp: run("python3", ["-m", "unittest", "test_aio", "test_aio_http"], env),
    example: run(
      debianPython,
      ["-c", readFileSync("docs/python-asyncio.md", "utf8").match(/```python\n([\s\S]*?)```/)![1]!],
      env,
    ),
    pythonMd: run(
      debianPython,
      ["-c", firstPython(readFileSync("docs/python.md", "utf8").split("\n## asyncio\n")[1]!)],
      env,
    ),
  };
}, 120_000);

afterAll(async () => {
  if (runs) await Promise.all(Object.values(runs));
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
}, 400_000);

it("CPython 3.13's test_asyncio/test_queues.py with the client's classes: 34 of 48 pass, the 14 expected fail", async () => {
  for (const [name, sockets] of [
    ["cpythonSocket", "True"],
    ["cpythonHttp", "False"],
  ] as const) {
    const { status, stdout, stderr } = await runs[name];
    expect(status, `${stdout}\n${stderr}`).toBe(0);
    // The runner succeeds only when the tests that fail are exactly its EXPECTED_TO_FAIL (docs/python-asyncio.md).
    expect(stdout).toMatch(
      new RegExp(`^34 of 48 passed \\(59 in the module\\) in [\\d.]+ s, sockets: ${sockets}$`, "m"),
    );
  }
}, 400_000);

it("the asyncio client's own tests pass over HTTP, on a Python without the websockets library", async () => {
  const { status, stderr } = await runs.clientHttp;
  expect(status, stderr).toBe(0);
  expect(stderr.trim().split("\n").slice(-3).join("\n")).toMatch(/Ran \d+ tests[\s\S]*OK/);
}, 400_000);

it("1,000 tasks waiting in await q.get() on one loop: each gets one item, over one WebSocket, with no thread", async () => {
  const { status, stderr } = await runs.waiters;
  expect(status, stderr).toBe(0);
  expect(stderr).not.toMatch(/skipped=/);
  const line = stderr.match(/^1000 waiting gets: (.*)$/m);
  expect(line, stderr).not.toBeNull();
  const seen = JSON.parse(line![1]!) as Record<string, Record<string, number> | boolean>;
  const waiting = seen["while waiting"] as Record<string, number>;
  expect(seen["got each once"]).toBe(true);
  expect(waiting.waiting).toBe(1000);
  expect(waiting.websockets).toBe(1);
  expect(Math.max(waiting.threads!, waiting.os_threads!)).toBeLessThanOrEqual(3);
}, 400_000);

it("the example of docs/python-asyncio.md runs as written", async () => {
  const { status, stdout, stderr } = await runs.example;
  expect(status, stderr).toBe(0);
  expect(stdout).toMatch(/^worker-\d has slept for [\d.]+ seconds$/m);
  expect(stdout).toMatch(
    /^====\n3 workers slept in parallel for [\d.]+ seconds\ntotal expected sleep time: [\d.]+ seconds\n$/m,
  );
}, 400_000);

it("the asyncio example of docs/python.md runs as written", async () => {
  const { status, stdout, stderr } = await runs.pythonMd;
  expect(status, stderr).toBe(0);
  expect(stdout).toBe("All tasks processed! [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]\n");
}, 400_000);
