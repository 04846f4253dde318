// The `joinable-queues` CLI as a user runs it (the package's bin, a subprocess) against `wrangler dev`: each
// command, its exit codes (0 ok, 1 error, 2 usage, 3 Empty / Full / timeout), --json, progress, tokens.
import { execFile, spawn } from "node:child_process";
import { createServer } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { freePort, serve } from "./server.ts";

const bin = join(import.meta.dirname, "../../node_modules/.bin/joinable-queues");
let server: Awaited<ReturnType<typeof serve>>;

beforeAll(async () => {
  server = await serve("npm start", { MAX_WAIT_SECONDS: "2" });
});
afterAll(() => server?.stop());

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with `args` (and `stdin`), against the test server unless `--url` is given. */
function cli(args: string[], stdin = "", env: Record<string, string> = {}): Promise<Ran> {
  return new Promise((resolve) => {
    const child = execFile(
      bin,
      args,
      { env: { ...process.env, JOINABLE_QUEUES_URL: server.url, ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
    child.stdin!.end(stdin);
  });
}
const json = async (args: string[], stdin?: string) => {
  const ran = await cli([...args, "--json"], stdin);
  expect(ran.code, ran.stderr).toBe(0);
  return JSON.parse(ran.stdout);
};

it("create, put (an argument, and JSON lines from stdin in batches), stats, ls, get, task-done, join", async () => {
  expect(await cli(["create", "cli-jobs", "--lease-seconds", "30", "--max-deliveries", "none"])).toMatchObject({
    code: 0,
    stdout: "created cli-jobs: fifo · unbounded · lease 30 s · no delivery limit\n",
  });
  expect(await json(["create", "cli-jobs", "--lease-seconds", "30", "--max-deliveries", "none"])).toMatchObject({
    name: "cli-jobs",
    max_deliveries: null,
  });
  expect(await json(["put", "cli-jobs", '{"n":0}'])).toEqual({ id: 1 });
  const lines = Array.from({ length: 250 }, (_, i) => JSON.stringify({ n: i + 1 })).join("\n");
  const bulk = await cli(["put", "cli-jobs"], `${lines}\n\n`);
  expect(bulk).toMatchObject({ code: 0, stdout: "250 items put\n" });
  expect(bulk.stderr).toMatch(/^put cli-jobs: 250 items · [\d.]+\/s\n$/m); // not a TTY: plain lines
  expect(await json(["stats", "cli-jobs"])).toMatchObject({ qsize: 251, unfinished_tasks: 251 });
  expect((await cli(["stats", "cli-jobs"])).stdout).toBe(
    [
      "cli-jobs: fifo · unbounded · lease 30 s · no delivery limit",
      "join waits for 251 unfinished tasks: 251 queued, 0 in flight · 0 dead-lettered",
      "puts 251 · completed 0 · deliveries 0 (0 redelivered)",
      "waiting calls: 0 gets · 0 puts · 0 joins\n",
    ].join("\n"),
  );
  expect((await json(["ls"])).map((q: { name: string }) => q.name)).toContain("cli-jobs");
  const job = await json(["get", "cli-jobs"]);
  expect(Object.keys(job)).toEqual(["id", "item", "priority", "deliveries", "group", "receipt", "lease_expires_at"]);
  expect(job).toMatchObject({ id: 1, item: { n: 0 }, deliveries: 1, receipt: expect.any(String) });
  expect((await cli(["get", "cli-jobs"])).stdout).toMatch(/^\{"id":2,"item":\{"n":1\},.*"lease_expires_at":\d+\}\n$/);
  expect(await json(["task-done", "cli-jobs", job.receipt])).toEqual({ unfinished_tasks: 250, replayed: false });
  const many = await json(["get", "cli-jobs", "--max", "100", "--lease-seconds", "60"]);
  expect(many).toHaveLength(100);
  expect(many[0]).toHaveProperty("lease_expires_at");
  expect(await cli(["get", "cli-jobs", "--max", "101"])).toMatchObject({
    code: 1,
    stderr: expect.stringMatching(/max: Too big/),
  });
});

it("join: exit 3 when its timeout passes, with a progress line; then drained", async () => {
  await json(["create", "cli-join"]);
  await cli(["put", "cli-join"], "1\n2\n");
  await json(["get", "cli-join", "--max", "2"]);
  const joined = await cli(["join", "cli-join", "--timeout", "0.5"]);
  expect(joined.code).toBe(3);
  expect(joined.stdout).toBe("timed out: 2 unfinished\n");
  expect(joined.stderr).toMatch(
    /^join cli-join: 0\/2 done · 0\.0\/s · ETA \? · waits for 2: 0 queued, 2 in flight · dead-lettered 0$/m,
  );
  for (let i = 0; i < 2; i++) await cli(["task-done", "cli-join"]); // anonymous: Python's task_done()
  expect(await json(["join", "cli-join"])).toEqual({ drained: true, unfinished_tasks: 0, dead_lettered: 0 });
});

it("groups: put --group, stats --group, join --group with its progress line", async () => {
  await json(["create", "cli-groups"]);
  expect(await json(["put", "cli-groups", '"a1"', "--group", "a"])).toEqual({ id: 1 });
  await cli(["put", "cli-groups", "--group", "b"], '"b1"\n"b2"\n');
  expect((await cli(["stats", "cli-groups", "--group", "b"])).stdout).toMatch(
    new RegExp(
      "^cli-groups group b: open · weight 1 · no cap\n" +
        "join waits for 2 unfinished tasks: 2 queued, 0 in flight · 0 dead-lettered\n" +
        "puts 2 · completed 0 · cancelled 0 · first put \\d+ s ago · last change \\d+ s ago\n$",
    ),
  );
  expect(await json(["stats", "cli-groups", "--group", "b"])).toMatchObject({
    group: "b",
    state: "open",
    unfinished_tasks: 2,
    in_flight: 0,
    puts: 2,
    completed: 0,
    dead_lettered: 0,
    cancelled: 0,
  });
  const job = await json(["get", "cli-groups"]);
  expect(job).toMatchObject({ item: "a1", group: "a" });
  const joined = await cli(["join", "cli-groups", "--group", "b", "--timeout", "0.5"]);
  expect(joined.code).toBe(3);
  expect(joined.stderr).toMatch(
    /^join cli-groups group b: 0\/2 done · .* · waits for 2: 2 queued, 0 in flight · dead-lettered 0$/m,
  );
  await json(["task-done", "cli-groups", job.receipt]);
  expect(await json(["join", "cli-groups", "--group", "a"])).toEqual({
    drained: true,
    group: "a",
    unfinished_tasks: 0,
    dead_lettered: 0,
  });
});

it("fair groups: create/config --dispatch and caps, group status, group set, groups table, group cancel", async () => {
  expect(
    await cli(["create", "cli-fair", "--lease-seconds", "30", "--dispatch", "fair", "--group-max-in-flight", "2"]),
  ).toMatchObject({
    code: 0,
    stdout:
      "created cli-fair: fifo · unbounded · lease 30 s · max deliveries 10 · fair dispatch · max 2 in flight per group\n",
  });
  expect(await json(["config", "cli-fair", "--group-retention-seconds", "3600"])).toMatchObject({
    dispatch: "fair",
    group_max_in_flight: 2,
    group_retention_seconds: 3600,
  });
  await cli(["put", "cli-fair", "--group", "big"], "1\n2\n3\n");
  expect((await cli(["group", "cli-fair", "big"])).stdout).toMatch(
    /^cli-fair group big: open · weight 1 · max 2 in flight\njoin waits for 3 unfinished tasks: 3 queued, 0 in flight/,
  );
  expect(await json(["group", "set", "cli-fair", "big", "--weight", "3", "--max-in-flight", "1"])).toMatchObject({
    group: "big",
    weight: 3,
    max_in_flight: 1,
  });
  expect((await cli(["group", "set", "cli-fair", "big", "--max-in-flight", "none"])).stdout).toMatch(
    /^cli-fair group big: open · weight 3 · max 2 in flight\n/, // the queue's cap again
  );
  const held = await json(["get", "cli-fair"]);
  expect(held).toMatchObject({ item: 1, group: "big" });
  await json(["put", "cli-fair", '"s1"', "--group", "small"]);
  expect(await cli(["group", "cancel", "cli-fair", "big"])).toMatchObject({
    code: 0,
    stdout: "cancelled group big of cli-fair: 2 items removed · 1 still in flight\n",
  });
  expect(await json(["group", "cancel", "cli-fair", "big"])).toEqual({ group: "big", cancelled: 0, in_flight: 1 });
  expect(await cli(["put", "cli-fair", "4", "--group", "big"])).toMatchObject({
    code: 1,
    stderr: expect.stringMatching(/^joinable-queues: group_cancelled: /),
  });
  const status = (await cli(["group", "cli-fair", "big"])).stdout;
  expect(status).toMatch(/^cli-fair group big: cancelled · weight 3 · max 2 in flight\n/);
  expect(status).toMatch(/\ncancelled: puts to it fail; its deliveries in flight may still finish\n$/);
  const table = (await cli(["groups", "cli-fair"])).stdout;
  expect(table).toMatch(/^GROUP +STATE +UNFINISHED +IN-FLIGHT +PUTS +COMPLETED +DEAD +CANCELLED +WEIGHT +CAP\n/);
  expect(table).toMatch(/^big +cancelled +1 +1 +3 +0 +0 +2 +3 +2$/m);
  expect(table).toMatch(/^small +open +1 +0 +1 +0 +0 +0 +1 +2$/m);
  expect((await json(["groups", "cli-fair", "--limit", "1"])).map((g: { group: string }) => g.group)).toEqual(["big"]);
  await json(["task-done", "cli-fair", held.receipt]);
  expect(await json(["join", "cli-fair", "--group", "big"])).toMatchObject({ drained: true, cancelled: 2 });
  expect(await cli(["group", "cli-fair", "nothing-here"])).toMatchObject({
    code: 1,
    stderr: expect.stringMatching(/^joinable-queues: not_found: /),
  });
  for (const args of [
    ["group", "cli-fair"],
    ["group", "cancel", "cli-fair"],
    ["group", "set", "cli-fair", "big"],
    ["config", "cli-fair"],
  ]) {
    const ran = await cli(args);
    expect(ran.code, args.join(" ")).toBe(2);
    expect(ran.stderr, args.join(" ")).toMatch(/see joinable-queues --help/);
  }
});

it("shards: create --shards, put --shard-key (keeps its order), stats sums them, join drained", async () => {
  expect(await json(["create", "cli-shards", "--shards", "4"])).toMatchObject({ name: "cli-shards", shards: 4 });
  for (const n of [1, 2, 3]) await json(["put", "cli-shards", String(n), "--shard-key", "user-7"]);
  await cli(["put", "cli-shards", "--shard-key", "user-7"], "4\n5\n");
  expect(await json(["stats", "cli-shards"])).toMatchObject({ shards: 4, qsize: 5, unfinished_tasks: 5 });
  const jobs = await json(["get", "cli-shards", "--max", "5"]);
  expect(jobs.map((j: { item: number }) => j.item)).toEqual([1, 2, 3, 4, 5]); // one key: one shard, in order
  for (const job of jobs) await json(["task-done", "cli-shards", job.receipt]);
  expect(await json(["join", "cli-shards"])).toEqual({ drained: true, unfinished_tasks: 0, dead_lettered: 0 });
  expect(await cli(["create", "cli-shards-bounded", "--shards", "2", "--maxsize", "5"])).toMatchObject({
    code: 1,
    stderr: expect.stringMatching(/maxsize: a sharded queue is unbounded/),
  });
});

it("ls: a table with each queue's settings, shards and groups (--json: the API's entries with both)", async () => {
  const table = (await cli(["ls"])).stdout;
  expect(table).toMatch(/^NAME +ORDER +MAXSIZE +LEASE +MAX-DELIVERIES +SHARDS +GROUPS\n/);
  expect(table).toMatch(/^cli-groups +fifo +0 +30s +10 +1 +2$/m);
  expect(table).toMatch(/^cli-jobs +fifo +0 +30s +none +1 +0$/m);
  expect(table).toMatch(/^cli-shards +fifo +0 +30s +10 +4 +0$/m);
  const listed = await json(["ls"]);
  expect(listed.find((q: { name: string }) => q.name === "cli-groups")).toMatchObject({ shards: 1, groups: 2 });
  expect(listed.find((q: { name: string }) => q.name === "cli-shards")).toMatchObject({ shards: 4, groups: 0 });
});

it("dead-letters, redrive, watch, shutdown, delete", async () => {
  await json(["create", "cli-dlq", "--max-deliveries", "1", "--lease-seconds", "1"]);
  await json(["put", "cli-dlq", '"poison"']);
  await json(["get", "cli-dlq"]);
  await new Promise((r) => setTimeout(r, 1500)); // the lease lapses: one delivery was the maximum
  expect((await json(["dead-letters", "cli-dlq"])).map((j: { item: unknown }) => j.item)).toEqual(["poison"]);
  expect((await json(["redrive", "cli-dlq"])).ids).toHaveLength(1);
  const watching = (args: string[]) => {
    const child = spawn(bin, ["watch", "cli-dlq", ...args], {
      env: { ...process.env, JOINABLE_QUEUES_URL: server.url },
    });
    const seen = { out: "", exited: new Promise<number | null>((resolve) => child.on("exit", resolve)) };
    child.stdout.on("data", (d) => (seen.out += d));
    return seen;
  };
  const [lines, raw] = [watching([]), watching(["--json"])];
  while (!lines.out.includes("\n") || !raw.out.includes("\n")) await new Promise((r) => setTimeout(r, 50));
  const [time, line] = [lines.out.slice(0, 9), lines.out.slice(9, lines.out.indexOf("\n"))];
  expect(time).toMatch(/^\d\d:\d\d:\d\d $/);
  expect(line).toBe(
    "cli-dlq: 1 queued, 0 in flight · unfinished 1 · dead-lettered 0 · puts 1 · completed 0 · 0 gets waiting",
  );
  expect(JSON.parse(raw.out.split("\n")[0]!)).toMatchObject({ qsize: 1, dead_lettered: 0 });
  expect(await cli(["shutdown", "cli-dlq", "--immediate"])).toMatchObject({
    code: 0,
    stdout: "shut down cli-dlq (immediate): 0 queued, 0 in flight\n",
  });
  expect(await lines.exited).toBe(0); // watch ends when the queue shuts down
  expect(await raw.exited).toBe(0);
  expect(lines.out.trim().split("\n").at(-1)).toMatch(/ · shut down \(immediate\)$/);
  expect(raw.out.trim().split("\n").at(-1)).toMatch(/"shutdown":true/);
  expect(await cli(["delete", "cli-dlq"])).toMatchObject({ code: 0, stdout: "deleted cli-dlq\n" });
});

it("exit codes: 3 for Empty and Full, 2 for usage, 1 for errors", async () => {
  await json(["create", "cli-codes", "--maxsize", "1"]);
  expect(await cli(["get", "cli-codes", "--nowait"])).toMatchObject({
    code: 3,
    stderr: "joinable-queues: empty: the queue is empty\n",
  });
  expect((await cli(["get", "cli-codes", "--timeout", "0.2"])).code).toBe(3);
  await cli(["put", "cli-codes", "1"]);
  expect((await cli(["put", "cli-codes", "2", "--timeout", "0.2"])).code).toBe(3);
  for (const args of [["frobnicate", "x"], ["frob"]]) {
    expect(await cli(args)).toMatchObject({
      code: 2,
      stderr:
        `joinable-queues: unknown command '${args[0]}'; the commands: ls, create, config, stats, groups, group, put, ` +
        "get, task-done, join, watch, dead-letters, redrive, shutdown, delete\n(see joinable-queues --help)\n",
    });
  }
  for (const args of [
    ["frobnicate", "x"],
    ["put", "cli-codes", "not json"],
    ["get", "cli-codes", "--timeout", "soon"],
    ["stats"],
    ["stats", "x", "--bogus"],
  ]) {
    const ran = await cli(args);
    expect(ran.code, args.join(" ")).toBe(2);
    expect(ran.stderr, args.join(" ")).toMatch(/see joinable-queues --help/);
  }
  expect((await cli(["put", "cli-codes", "x"])).stderr).toMatch(
    /ITEM must be JSON \(a string is quoted: '"hello"'\), not x/,
  );
  expect(await cli([])).toMatchObject({ code: 2, stdout: expect.stringMatching(/^usage: joinable-queues/) });
  expect(await cli(["--help"])).toMatchObject({ code: 0 });
  expect(await cli(["stats", "cli-missing"])).toMatchObject({
    code: 1,
    stderr: expect.stringMatching(/not_found: no such queue/),
  });
  expect(await cli(["stats", "x", "--url", `http://127.0.0.1:${await freePort()}`])).toMatchObject({
    code: 1,
    stderr: expect.stringMatching(/fetch failed \(ECONNREFUSED\)/),
  });
});

it("sends --token, or JOINABLE_QUEUES_TOKEN, as the bearer token", async () => {
  const seen: (string | undefined)[] = [];
  const fake = createServer((req, res) => {
    seen.push(req.headers.authorization);
    res
      .writeHead(401, { "content-type": "application/problem+json" })
      .end(JSON.stringify({ status: 401, code: "unauthorized", detail: "bad token" }));
  });
  await new Promise<void>((r) => fake.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(fake.address() as { port: number }).port}`;
  try {
    expect(await cli(["stats", "q", "--url", url, "--token", "from-flag"])).toMatchObject({
      code: 1,
      stderr: "joinable-queues: unauthorized: bad token\n",
    });
    await cli(["stats", "q", "--url", url], "", { JOINABLE_QUEUES_TOKEN: "from-env" });
    expect(seen).toEqual(["Bearer from-flag", "Bearer from-env"]);
  } finally {
    fake.close();
  }
});
