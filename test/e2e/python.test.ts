// The Python client: installed with pip into a temporary folder (as a user would, offline), then its unittest
// suite runs against `npm start`: threads, processes, a SIGKILLed consumer, the classic program, asyncio.

import type { ChildProcess } from "node:child_process";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { freePort, kill, start } from "./server.ts";

const work = mkdtempSync(join(tmpdir(), "jq-python-"));
let server: ChildProcess | undefined;

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
  // The tests import the installed copy: the source folder is not on the path, only the tests' own folder.
  const tests = spawnSync(
    "python3",
    ["-m", "unittest", "discover", "-s", "clients/python/tests", "-t", "clients/python/tests"],
    {
      encoding: "utf8",
      env: {
        ...process.env,
        PYTHONPATH: site,
        JOINABLE_QUEUES_URL: `http://127.0.0.1:${port}`,
        PYTHONDONTWRITEBYTECODE: "1",
      },
      timeout: 240_000,
    },
  );
  const summary = tests.stderr.trim().split("\n").slice(-3).join("\n");
  expect(tests.status, tests.stderr).toBe(0);
  expect(summary).toMatch(/Ran \d+ tests[\s\S]*OK$/);
}, 300_000);
