// Both clients split batches and cap a single call's timeout at the server's own limits (LIMITS), so neither
// sends what the server refuses: a longer timeout is more polls, a longer list more requests.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { BATCH, MAX_TIMEOUT } from "../../clients/typescript/src/queue.ts";
import { LIMITS } from "../../src/contract/limits.ts";

const python = (file: string) =>
  readFileSync(join(import.meta.dirname, "../../clients/python/joinable_queues", file), "utf8");
const constant = (file: string, name: string) =>
  Number(new RegExp(`^${name} = ([\\d_]+)`, "m").exec(python(file))?.[1]?.replaceAll("_", ""));

it("the TypeScript and Python clients batch and cap timeouts at the server's limits", () => {
  expect({ BATCH, MAX_TIMEOUT }).toEqual({ BATCH: LIMITS.maxBatch, MAX_TIMEOUT: LIMITS.maxTimeoutSeconds });
  expect({ _BATCH: constant("_queue.py", "_BATCH"), _LONGEST_WAIT: constant("_http.py", "_LONGEST_WAIT") }).toEqual({
    _BATCH: LIMITS.maxBatch,
    _LONGEST_WAIT: LIMITS.maxTimeoutSeconds,
  });
});
