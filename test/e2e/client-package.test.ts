// The client as a user gets it: `npm pack`ed, installed into an empty project and imported from plain Node (no
// flags, no TypeScript loader), against `wrangler dev`. Also what needs a real network: aborts, the WebSocket
// subscriptions with a dropped socket, and the README's examples, run as the docs say (the machine's own `node`),
// whose output is asserted and which leave no queue behind.
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QueueClient, ShutDown } from "../../clients/typescript/src/index.ts";
import { freePort, serve } from "./server.ts";

const run = promisify(execFile);
const root = join(import.meta.dirname, "../..");
let server: Awaited<ReturnType<typeof serve>>;
let client: QueueClient;

beforeAll(async () => {
  server = await serve("npm start", { MAX_WAIT_SECONDS: "2" });
  client = new QueueClient(server.url);
});
afterAll(() => server?.stop());

/** The machine's own Node (20 here), found on PATH outside node_modules, besides the one running the tests. */
const plainNodes = () => {
  const system = (process.env.PATH ?? "")
    .split(delimiter)
    .filter((d) => !d.includes("node_modules"))
    .map((d) => join(d, "node"))
    .find(existsSync);
  return [...new Set([process.execPath, ...(system ? [system] : [])])];
};

it("the packed package installs into an empty project and works from plain Node: producer, consumers, join", async () => {
  const project = mkdtempSync(join(tmpdir(), "jq-pack-"));
  try {
    const tarball = execFileSync("npm", ["pack", "--silent", "--pack-destination", project], {
      cwd: join(root, "clients/typescript"),
      encoding: "utf8",
    }).trim();
    writeFileSync(
      join(project, "package.json"),
      JSON.stringify({ name: "user-project", private: true, type: "module" }),
    );
    execFileSync("npm", ["install", "--silent", "--no-audit", "--no-fund", `./${tarball}`], { cwd: project });
    writeFileSync(
      join(project, "main.js"),
      `
      import { QueueClient, ShutDown } from "joinable-queues-client";
      const client = new QueueClient(process.argv[2]);
      const q = await client.createQueue("packed-" + process.pid);
      const done = [];
      const consumer = async () => {
        for (;;) {
          const job = await q.get().catch((e) => (e instanceof ShutDown ? null : Promise.reject(e)));
          if (!job) return;
          done.push(job.item);
          await q.taskDone(job);
        }
      };
      const consumers = [consumer(), consumer(), consumer()];
      await q.putMany([1, 2, 3, 4, 5]);
      const joined = await q.join();
      await q.shutdown();
      await Promise.all(consumers);
      console.log(JSON.stringify({ joined, done: done.sort() }));
    `,
    );
    const nodes = plainNodes();
    for (const node of nodes) {
      const { stdout } = await run(node, ["main.js", server.url], { cwd: project });
      expect(JSON.parse(stdout), node).toEqual({
        joined: { drained: true, unfinished_tasks: 0, dead_lettered: 0 },
        done: [1, 2, 3, 4, 5],
      });
    }
    writeFileSync(
      join(project, "check.ts"),
      `import { QueueClient, type Job } from "joinable-queues-client";\n` +
        `const j: Promise<Job<number>> = new QueueClient("x").queue<number>("q").get();\n`,
    );
    const { stdout: types } = await run(
      join(root, "node_modules/.bin/tsc"),
      ["--noEmit", "--strict", "--module", "nodenext", "--types", "", "--lib", "es2022,dom", "check.ts"],
      { cwd: project },
    ).catch((e) => ({ stdout: String(e.stdout) + e.stderr }));
    expect(types).toBe(""); // its .d.ts files type a user's code
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
});

describe("over the network", () => {
  it("an aborted wait rejects with the standard AbortError and stops polling", async () => {
    const q = await client.createQueue(`abort-${process.pid}`);
    const controller = new AbortController();
    const waiting = q.get({ signal: controller.signal });
    setTimeout(() => controller.abort(), 2500); // past one poll_again (the cap is 2 s here)
    const error = await waiting.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe("AbortError");
    await expect(q.join({ signal: AbortSignal.abort() })).rejects.toMatchObject({ name: "AbortError" });
  });

  it("subscribeJoin and watch: told when the work is done, across a dropped socket; watch ends on shutdown", async () => {
    const sockets: WebSocket[] = [];
    // A WebSocket that remembers each socket the client opens, so the test can drop one.
    const Recording = class extends globalThis.WebSocket {
      constructor(url: string) {
        super(url);
        sockets.push(this);
      }
    };
    const watching = new QueueClient(server.url, { WebSocket: Recording as typeof WebSocket });
    const q = await watching.createQueue<number>(`subs-${process.pid}`);
    await q.put(1);
    const joins = q.subscribeJoin({ repeat: true })[Symbol.asyncIterator]();
    const stats = q.watch()[Symbol.asyncIterator]();
    const next = joins.next();
    expect((await stats.next()).value).toMatchObject({ unfinished_tasks: 1 });
    await new Promise((r) => setTimeout(r, 300));
    sockets[0]!.close(3000, "dropped by the test"); // the join subscription's socket
    await new Promise((r) => setTimeout(r, 800));
    await q.taskDone(await q.get());
    expect((await next).value).toEqual({ drained: true, unfinished_tasks: 0, dead_lettered: 0 });
    expect(sockets.length).toBeGreaterThanOrEqual(3); // join, watch, and the join's reconnection
    await q.shutdown();
    let last: unknown;
    for (let s = await stats.next(); !s.done; s = await stats.next()) last = s.value;
    expect(last).toMatchObject({ shutdown: true, unfinished_tasks: 0 });
    await expect(joins.next()).rejects.toBeInstanceOf(ShutDown);
  });
});

describe("a sharded queue", () => {
  it("puts by shard key over HTTP and the socket keep their order; batch task_done across shards; join", async () => {
    const q = await client.createQueue<number>(`sharded-${process.pid}`, { shards: 4 });
    await q.putMany([1, 2, 3], { shardKey: "k" });
    const socket = q.socket();
    await socket.put(4, { shardKey: "k" });
    await socket.putMany([5, 6], { shardKey: "k" });
    socket.close();
    await q.put(7); // a shard at random
    const jobs = [];
    for (let i = 0; i < 7; i++) jobs.push(await q.get({ timeout: 5 }));
    const keyed = jobs.filter((j) => j.item !== 7);
    expect(keyed.map((j) => j.item)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(new Set(keyed.map((j) => Math.floor((j.id - 1) / 2 ** 47))).size).toBe(1); // one shard (ids name it)
    expect(await q.join({ timeout: 0.2 })).toMatchObject({ drained: false, unfinished_tasks: 7 });
    await expect(q.taskDone()).rejects.toMatchObject({ code: "invalid_request" }); // no receipt, no shard
    const done = await q.taskDoneMany(jobs);
    expect(done.results).toEqual(Array(7).fill("done"));
    expect(await q.join()).toEqual({ drained: true, unfinished_tasks: 0, dead_lettered: 0 });
    expect(await q.stats()).toMatchObject({ shards: 4, puts: 7, completed: 7 });
    await client.deleteQueue(q.name);
  });
});

describe("the examples run as the README says, against the installed package", () => {
  // The docs' `node examples/…`: the machine's own Node (20 here), which has WebSocket only behind the flag.
  const node = plainNodes().at(-1)!;
  const example = (file: string, ...args: string[]) =>
    run(node, ["--experimental-websocket", join(root, "examples", file), ...args], {
      env: { ...process.env, JOINABLE_QUEUES_URL: server.url },
    });
  const examplesQueues = async () => {
    const names = [];
    for await (const q of client.listQueues()) names.push(q.name);
    return names.filter((n) => /^(classic|crash|thumbnails|events|fan-out|sockets)-\d+$|^jobs$/.test(n));
  };

  it("classic: five tasks by three consumers, 'All tasks processed!', then shutdown ends every consumer", async () => {
    const lines = (await example("classic.mjs")).stdout.trim().split("\n");
    expect(
      lines
        .filter((l) => / finished task \d$/.test(l))
        .map((l) => l.slice(-6))
        .sort(),
    ).toEqual(["task 1", "task 2", "task 3", "task 4", "task 5"]);
    const processed = lines.indexOf("All tasks processed!");
    expect(processed).toBeGreaterThan(lines.findLastIndex((l) => l.includes("finished")));
    expect(lines.slice(processed + 1).sort()).toEqual([1, 2, 3].map((n) => `consumer ${n}: queue shut down, exiting`));
  });

  it("crash: a SIGKILLed consumer's job comes back after its lease and join returns", async () => {
    const out = (await example("crash.mjs")).stdout;
    expect(out).toMatch(/doomed consumer died \(SIGKILL\) holding the job; unfinished_tasks is still 1/);
    expect(out).toMatch(/healthy consumer: got job 1 again \(delivery 2\)/);
    expect(out).toMatch(/join returned after [\d.]+ s \(lease 2 s\): drained=true/);
  });

  it("groups: two callers share one pool of workers, each told when its own batch is done", async () => {
    const lines = (await example("groups.mjs")).stdout.trim().split("\n");
    expect(lines.slice(0, 2).sort()).toEqual([
      "request a: its 10 photos are done",
      "request b: its 40 photos are done",
    ]);
    expect(lines[2]).toBe("{ done: 50, failed: 0 }");
  });

  it("shards: each customer's events on one shard, one exact join over 8", async () => {
    expect((await example("shards.mjs")).stdout).toBe(
      "join: { drained: true, unfinished_tasks: 0, dead_lettered: 0 }\n" +
        "shards=8 puts=30 completed=30 unfinished=0\n" +
        "each customer's events were on one shard: true\n" +
        "{ done: 30, failed: 0 }\n",
    );
  });

  it("fan-out: 1,000 jobs, 8 consumers, the CLI's join", async () => {
    const { stdout, stderr } = await example("fan-out.mjs");
    expect(stdout).toMatch(/all tasks done\n/);
    expect(stdout).toMatch(/join exited 0; consumers did 1000 jobs, 0 failed/);
    expect(stderr).toMatch(/join fan-out-\d+: (\d+)\/\1 done .* dead-lettered 0\n$/); // its last line: all done
  });

  it("sockets: five jobs put over one socket and done by two socket consumers (docs/sockets.md)", async () => {
    const lines = (await example("sockets.mjs")).stdout.trim().split("\n");
    expect(lines[0]).toBe("put 5 jobs over one socket");
    expect(lines.slice(1, 6).sort()).toEqual(["blur", "crop", "resize", "rotate", "sharpen"].map((j) => `done: ${j}`));
    expect(lines.slice(6)).toEqual(["All tasks processed!", "{ done: 5, failed: 0 }"]);
  });

  it("subscribe-join: stats and the join of a queue that exists, as docs/sockets.md runs it; a missing one, said", async () => {
    await client.createQueue("jobs");
    expect((await example("subscribe-join.mjs", "jobs")).stdout).toBe(
      "stats: qsize=0 unfinished_tasks=0 in_flight=0\n" +
        "joined: all work on 'jobs' is done { drained: true, unfinished_tasks: 0, dead_lettered: 0 }\n",
    );
    await client.deleteQueue("jobs");
    const missing = await example("subscribe-join.mjs", "jobs").catch((e) => e);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("jobs: no such queue: create it first with PUT /v1/queues/{name}\n");
  });

  it("every example deleted the queue it made", async () => {
    expect(await examplesQueues()).toEqual([]);
  });
});

/** A `sh` block of a page, found by a few words of it, with the `text` block that shows its output, if one follows. */
function block(page: string, words: string) {
  const text = readFileSync(join(root, page), "utf8");
  const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```\n(?:\n```text\n([\s\S]*?)```)?/g)];
  const found = blocks.find((b) => b[1]!.includes(words));
  if (!found) throw new Error(`${page} has no sh block with '${words}'`);
  return { commands: found[1]!, shown: found[2] ?? "" };
}

describe("the docs' commands run as written against `npm start`, show what their page shows, and clean up", () => {
  // Each block as a reader pastes it into a shell, on the machine's own `node` (no node_modules on the PATH), with
  // only the server's address (and the push receiver's port) changed.
  const PATH = (process.env.PATH ?? "")
    .split(delimiter)
    .filter((d) => !d.includes("node_modules"))
    .join(delimiter);
  const blocks: [string, string][] = [
    ["README.md", "readme-curl"],
    ["docs/sockets.md", "examples/subscribe-join.mjs jobs"],
    ["docs/sockets.md", "examples/sockets.mjs"],
    ["docs/push-and-callbacks.md", "v1/queues/push-config"],
    ["docs/push-and-callbacks.md", "v1/queues/callbacks"],
    ["docs/push-and-callbacks.md", "receiver.py 8790"],
    ["docs/observability.md", "peek-demo"],
    ["docs/observability.md", "metrics-demo"],
    ["docs/observability.md", "promtool check metrics"],
    ["docs/groups.md", "groups-demo"],
  ];
  it.each(blocks)("%s: the block with '%s'", async (page, words) => {
    const { commands, shown } = block(page, words);
    const receiver = String(await freePort());
    const script = commands
      .replaceAll("localhost:8787", server.url.slice("http://".length))
      .replaceAll("8790", receiver);
    const { stdout } = await run("bash", ["-eo", "pipefail", "-c", script], {
      cwd: root,
      env: { ...process.env, PATH, JOINABLE_QUEUES_URL: server.url }, // what the examples read, for localhost:8787
      timeout: 60_000,
    });
    // Every line the page shows (but those it abbreviates with …) is printed; lines may come in another order.
    const printed = stdout.split("\n");
    const expected = shown.split("\n").filter((l) => l && !l.includes("…"));
    expect(expected.filter((l) => !printed.includes(l.replaceAll("8790", receiver)))).toEqual([]);
  });

  it("and leave no queue behind", async () => {
    const made = /^(readme-curl|jobs|sockets-\d+|push-config|callbacks|pushed|peek-demo|metrics-demo|groups-demo)$/;
    const names = [];
    for await (const q of client.listQueues()) names.push(q.name);
    expect(names.filter((n) => made.test(n))).toEqual([]);
  });
});
