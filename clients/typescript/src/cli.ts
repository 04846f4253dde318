#!/usr/bin/env node
// The `joinable-queues` command: every client call as a subcommand, with progress for join and bulk put.
// Exit codes: 0 ok, 1 error, 2 usage, 3 Empty / Full / a timeout that passed.
import { spawnSync } from "node:child_process";
import { fstatSync } from "node:fs";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { QueueClient } from "./client.ts";
import { Empty, Full, QueueError } from "./errors.ts";
import { eta, Progress, rate } from "./progress.ts";
import { BATCH, type PutManyOptions, type Queue } from "./queue.ts";
import type { QueueConfig, QueueInfo } from "./types.ts";

const USAGE = `usage: joinable-queues [--url URL] [--token TOKEN] [--json] COMMAND ...

  ls                                   list queues
  create NAME [--maxsize N] [--order fifo|lifo|priority] [--lease-seconds N|none] [--max-deliveries N|none]
        [--shards N]                   N objects (1-64) hold the queue: see docs/shards.md
  stats NAME [--group G]               exact statistics (of one group with --group)
  put NAME [ITEM]                      put one JSON value; without ITEM, one JSON value per line of stdin
        [--priority KEY] [--delay S] [--timeout S] [--nowait] [--group G] [--shard-key K]
  get NAME [--timeout S] [--lease-seconds N] [--max N] [--nowait]
  task-done NAME [RECEIPT]             without RECEIPT: Python's anonymous task_done
  join NAME [--timeout S] [--group G]  wait until every item put (into group G) is done; shows progress
  watch NAME                           live stats, one line each
  dead-letters NAME [--limit N]
  redrive NAME [--limit N]
  shutdown NAME [--immediate]
  delete NAME

  --url    or JOINABLE_QUEUES_URL    (default http://localhost:8787)
  --token  or JOINABLE_QUEUES_TOKEN
  --json   machine-readable output on stdout (progress always goes to stderr)

exit codes: 0 ok, 1 error, 2 usage, 3 Empty / Full / timeout`;

const EXIT = { ok: 0, error: 1, usage: 2, timeout: 3 } as const;

class Usage extends Error {}

const OPTIONS = {
  url: { type: "string" },
  token: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  maxsize: { type: "string" },
  order: { type: "string" },
  "lease-seconds": { type: "string" },
  "max-deliveries": { type: "string" },
  priority: { type: "string" },
  delay: { type: "string" },
  timeout: { type: "string" },
  max: { type: "string" },
  nowait: { type: "boolean" },
  limit: { type: "string" },
  immediate: { type: "boolean" },
  group: { type: "string" },
  shards: { type: "string" },
  "shard-key": { type: "string" },
} as const;

type Flags = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

function number(flags: Flags, name: keyof Flags): number | undefined {
  const raw = flags[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== "string" || raw.trim() === "" || !Number.isFinite(n))
    throw new Usage(`--${name} must be a number, not '${raw}'`);
  return n;
}

/** `none` for a setting that can be off (Python's None), else a number. */
const nullable = (flags: Flags, name: "lease-seconds" | "max-deliveries") =>
  flags[name] === "none" ? null : number(flags, name);

function json(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Usage(`${what} must be JSON (a string is quoted: '"hello"'), not ${text.slice(0, 80)}`);
  }
}

function print(flags: Flags, value: unknown, human: () => string = () => JSON.stringify(value)): void {
  process.stdout.write(`${flags.json ? JSON.stringify(value) : human()}\n`);
}

async function putLines(q: Queue, flags: Flags, options: PutManyOptions): Promise<void> {
  const size = fstatSync(0).isFile() ? fstatSync(0).size : undefined;
  const progress = new Progress(process.stderr);
  let batch: unknown[] = [];
  let count = 0;
  let bytes = 0;
  let lineNo = 0;
  const line = () => {
    const known = size ? ` · ${Math.floor((100 * bytes) / size)}% · ${eta(bytes, size - bytes, progress.elapsed)}` : "";
    return `put ${q.name}: ${count} items · ${rate(count, progress.elapsed)}${known}`;
  };
  // Over one WebSocket where the runtime has one and the put may wait as long as it must (a socket put has no
  // timeout): a message per 100 items instead of a request. Otherwise HTTP, as before.
  const socket = globalThis.WebSocket && options.block && options.timeout === undefined ? q.socket() : undefined;
  const flush = async () => {
    const { delay, group, shardKey } = options;
    await (socket ? socket.putMany(batch, { delay, group, shardKey }) : q.putMany(batch, options));
    count += batch.length;
    batch = [];
    progress.show(line());
  };
  for await (const text of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    lineNo++;
    bytes += Buffer.byteLength(text) + 1;
    if (text.trim() === "") continue;
    batch.push(json(text, `line ${lineNo}`));
    if (batch.length === BATCH) await flush();
  }
  if (batch.length) await flush();
  socket?.close();
  progress.end(line());
  print(flags, { put: count }, () => `${count} items put`);
}

async function join(q: Queue, flags: Flags): Promise<number> {
  const progress = new Progress(process.stderr);
  let total = 0;
  let polling = true;
  const group = flags.group;
  const zero = { unfinished_tasks: 0, in_flight: 0, dead_lettered: 0 };
  const report = async () => {
    // A group's counters (an unknown or forgotten one has nothing unfinished), or the queue's.
    const s =
      group === undefined
        ? await q.stats()
        : await q
            .group(group)
            .stats()
            .catch(() => zero);
    total = Math.max(total, s.unfinished_tasks);
    const done = total - s.unfinished_tasks;
    const counts = `unfinished ${s.unfinished_tasks} · in flight ${s.in_flight} · dead-lettered ${s.dead_lettered}`;
    const pace = `${rate(done, progress.elapsed)} · ${eta(done, s.unfinished_tasks, progress.elapsed)}`;
    return `join ${group === undefined ? q.name : `${q.name} group ${group}`}: ${done}/${total} done · ${pace} · ${counts}`;
  };
  const poll = (async () => {
    while (polling) {
      progress.show(await report());
      await new Promise((r) => setTimeout(r, process.stderr.isTTY ? 250 : 1000));
    }
  })();
  const result = await q.join({ timeout: number(flags, "timeout"), group }).finally(() => (polling = false));
  await poll.catch(() => undefined); // progress is best effort: the join's answer is what counts
  progress.end(await report());
  print(flags, result, () => (result.drained ? "all tasks done" : `timed out: ${result.unfinished_tasks} unfinished`));
  return result.drained ? EXIT.ok : EXIT.timeout;
}

async function run(argv: string[]): Promise<number> {
  const { values: flags, positionals } = parseArgs({
    args: argv,
    options: OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  const [command, name, arg] = positionals;
  if (flags.help || command === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return flags.help ? EXIT.ok : EXIT.usage;
  }
  const url = flags.url ?? process.env.JOINABLE_QUEUES_URL ?? "http://localhost:8787";
  const client = new QueueClient(url, { token: flags.token ?? process.env.JOINABLE_QUEUES_TOKEN });
  if (command === "ls") {
    const queues: QueueInfo[] = [];
    for await (const q of client.listQueues()) queues.push(q);
    print(flags, queues, () =>
      queues.map((q) => `${q.name}\t${q.order}\tmaxsize=${q.maxsize}\tlease=${q.lease_seconds ?? "none"}`).join("\n"),
    );
    return EXIT.ok;
  }
  if (name === undefined) throw new Usage(`'${command}' needs a queue NAME`);
  const q = client.queue(name);
  switch (command) {
    case "create": {
      const config: Partial<QueueConfig> = {
        maxsize: number(flags, "maxsize"),
        order: flags.order as QueueConfig["order"],
        shards: number(flags, "shards"),
      };
      config.lease_seconds = nullable(flags, "lease-seconds");
      config.max_deliveries = nullable(flags, "max-deliveries");
      await client.createQueue(name, JSON.parse(JSON.stringify(config)));
      print(flags, await q.stats());
      return EXIT.ok;
    }
    case "stats":
      print(flags, flags.group === undefined ? await q.stats() : await q.group(flags.group).stats());
      return EXIT.ok;
    case "put": {
      const options = {
        delay: number(flags, "delay"),
        timeout: number(flags, "timeout"),
        block: !flags.nowait,
        group: flags.group,
        shardKey: flags["shard-key"],
      };
      if (arg === undefined) {
        await putLines(q, flags, options);
        return EXIT.ok;
      }
      const priority = flags.priority === undefined ? undefined : (json(flags.priority, "--priority") as number);
      const id = await q.put(json(arg, "ITEM"), { ...options, priority });
      print(flags, { id }, () => `put ${id}`);
      return EXIT.ok;
    }
    case "get": {
      const options = {
        timeout: number(flags, "timeout"),
        leaseSeconds: number(flags, "lease-seconds"),
        block: !flags.nowait,
      };
      const max = number(flags, "max");
      print(flags, max === undefined ? await q.get(options) : await q.getMany(max, options));
      return EXIT.ok;
    }
    case "task-done":
      print(flags, await q.taskDone(arg === undefined ? undefined : { receipt: arg }));
      return EXIT.ok;
    case "join":
      return join(q, flags);
    case "watch":
      for await (const stats of q.watch()) print(flags, stats);
      return EXIT.ok;
    case "dead-letters":
      print(flags, await q.deadLetters({ limit: number(flags, "limit") }));
      return EXIT.ok;
    case "redrive":
      print(flags, { ids: await q.redrive({ limit: number(flags, "limit") }) });
      return EXIT.ok;
    case "shutdown":
      print(flags, await q.shutdown({ immediate: flags.immediate }));
      return EXIT.ok;
    case "delete":
      await client.deleteQueue(name);
      print(flags, { deleted: name }, () => `deleted ${name}`);
      return EXIT.ok;
    default:
      throw new Usage(`unknown command '${command}'`);
  }
}

/** Node 20 has WebSocket only behind a flag: `watch` runs itself again with it rather than asking for a newer Node. */
function needsWebSocketFlag(argv: string[]): boolean {
  return (
    argv.includes("watch") &&
    typeof globalThis.WebSocket === "undefined" &&
    !process.execArgv.includes("--experimental-websocket")
  );
}

async function main(argv: string[]): Promise<number> {
  if (needsWebSocketFlag(argv)) {
    const again = ["--experimental-websocket", ...process.execArgv, process.argv[1]!, ...argv];
    return spawnSync(process.execPath, again, { stdio: "inherit" }).status ?? EXIT.error;
  }
  try {
    return await run(argv);
  } catch (e) {
    const usage = e instanceof Usage || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
    const { cause } = e as { cause?: { code?: string; message?: string } };
    const why = cause?.code ?? cause?.message;
    const message =
      e instanceof QueueError ? `${e.code}: ${e.detail}` : `${(e as Error).message}${why ? ` (${why})` : ""}`;
    process.stderr.write(`joinable-queues: ${message}${usage ? "\n(see joinable-queues --help)" : ""}\n`);
    if (usage) return EXIT.usage;
    return e instanceof Empty || e instanceof Full ? EXIT.timeout : EXIT.error;
  }
}

process.exitCode = await main(process.argv.slice(2));
