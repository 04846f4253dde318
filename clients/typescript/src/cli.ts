#!/usr/bin/env node
// The `joinable-queues` command: every client call as a subcommand, with progress for join and bulk put.
// Exit codes: 0 ok, 1 error, 2 usage, 3 Empty / Full / a timeout that passed.
import { spawnSync } from "node:child_process";
import { fstatSync } from "node:fs";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import {
  COMMANDS,
  EXIT,
  type Flags,
  json,
  nullable,
  number,
  OPTIONS,
  print,
  retries,
  USAGE,
  Usage,
} from "./cli-args.ts";
import {
  cancelText,
  delivery,
  groupsTable,
  groupText,
  settings,
  statsText,
  table,
  waitsFor,
  watchLine,
} from "./cli-format.ts";
import { QueueClient } from "./client.ts";
import { Empty, Full, QueueError } from "./errors.ts";
import { eta, Progress, rate } from "./progress.ts";
import { BATCH, type PutManyOptions, type Queue } from "./queue.ts";
import type { GroupStats, QueueConfig, QueueConfigChange, QueueInfo } from "./types.ts";

async function putLines(q: Queue, flags: Flags, options: PutManyOptions): Promise<void> {
  const size = fstatSync(0).isFile() ? fstatSync(0).size : undefined;
  const progress = new Progress(process.stderr);
  let batch: unknown[] = [];
  let count = 0;
  let bytes = 0;
  let lineNo = 0;
  const line = () => {
    const percent = Math.floor((100 * bytes) / (size ?? 1));
    const known = size ? ` · ${percent}% · ${eta(bytes, size - bytes, progress.elapsed)}` : "";
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
  let last = `join ${q.name}: waiting`;
  const group = flags.group;
  const zero = { unfinished_tasks: 0, in_flight: 0, dead_lettered: 0 };
  const report = async () => {
    // A group's counters (an unknown or forgotten one has nothing unfinished), or the queue's. Progress is best
    // effort: a stats call that fails (after its retries) leaves the last line as it was.
    const read = () =>
      group === undefined
        ? q.stats()
        : q
            .group(group)
            .stats()
            .catch(() => zero);
    const s = await read().catch(() => null);
    if (s === null) return last;
    total = Math.max(total, s.unfinished_tasks);
    const done = total - s.unfinished_tasks;
    const pace = `${rate(done, progress.elapsed)} · ${eta(done, s.unfinished_tasks, progress.elapsed)}`;
    const waits = `waits for ${s.unfinished_tasks}: ${waitsFor(s)} · dead-lettered ${s.dead_lettered}`;
    const what = group === undefined ? q.name : `${q.name} group ${group}`;
    last = `join ${what}: ${done}/${total} done · ${pace} · ${waits}`;
    return last;
  };
  const poll = (async () => {
    while (polling) {
      progress.show(await report());
      await new Promise((r) => setTimeout(r, process.stderr.isTTY ? 250 : 1000));
    }
  })();
  const result = await q.join({ timeout: number(flags, "timeout"), group }).finally(() => (polling = false));
  await poll;
  progress.end(await report());
  print(flags, result, () => (result.drained ? "all tasks done" : `timed out: ${result.unfinished_tasks} unfinished`));
  return result.drained ? EXIT.ok : EXIT.timeout;
}

/** Every queue with its settings, shard count and how many groups it holds (null: not readable). */
async function ls(client: QueueClient, flags: Flags): Promise<number> {
  const queues: QueueInfo[] = [];
  for await (const q of client.listQueues()) queues.push(q);
  const groups: (number | null)[] = [];
  // A page of groups per queue (1,000 to a page), 8 queues at a time.
  for (let i = 0; i < queues.length; i += 8) {
    groups.push(...(await Promise.all(queues.slice(i, i + 8).map((q) => countGroups(client.queue(q.name))))));
  }
  const rows = queues.map((q, i) => ({ ...q, shards: q.shards ?? 1, groups: groups[i] ?? null }));
  const head = ["NAME", "ORDER", "MAXSIZE", "LEASE", "MAX-DELIVERIES", "SHARDS", "GROUPS"];
  const cells = rows.map((q) => [
    q.name,
    q.order,
    String(q.maxsize),
    q.lease_seconds === null ? "none" : `${q.lease_seconds}s`,
    String(q.max_deliveries ?? "none"),
    String(q.shards),
    String(q.groups ?? "?"),
  ]);
  print(flags, rows, () => (rows.length === 0 ? "no queues" : table([head, ...cells])));
  return EXIT.ok;
}

async function countGroups(q: Queue): Promise<number | null> {
  try {
    let count = 0;
    for (let after: string | undefined; ; ) {
      const page = await q.groups({ limit: 1000, after });
      count += page.groups.length;
      if (page.next === null) return count;
      after = page.next;
    }
  } catch {
    return null;
  }
}

/** The settings of groups that `create` and `config` take alike (undefined: not given). */
const groupSettings = (flags: Flags) => ({
  dispatch: flags.dispatch as QueueConfig["dispatch"],
  group_max_in_flight: nullable(flags, "group-max-in-flight"),
  group_retention_seconds: number(flags, "group-retention-seconds"),
});

/** Drops what was not given, so that the server's defaults (or the queue's settings) stand. */
const given = <T extends object>(o: T): T => JSON.parse(JSON.stringify(o));

/** `groups NAME`: every group (or the first `--limit`), a page of 1,000 at a time, in name order. */
async function groups(q: Queue, flags: Flags): Promise<number> {
  const limit = number(flags, "limit") ?? Infinity;
  const all: GroupStats[] = [];
  for (let after: string | undefined; all.length < limit; ) {
    const page = await q.groups({ limit: Math.min(1000, limit - all.length), after });
    all.push(...page.groups);
    if (page.next === null) break;
    after = page.next;
  }
  print(flags, all, () => (all.length === 0 ? `no groups in ${q.name}` : groupsTable(all)));
  return EXIT.ok;
}

/** `group [cancel|set] NAME GROUP`: one group's status, or an action on it (`cancel` and `set` are never names). */
async function group(client: QueueClient, args: string[], flags: Flags): Promise<number> {
  const action = args[0] === "cancel" || args[0] === "set" ? args[0] : "status";
  const [name, groupName, extra] = action === "status" ? args : args.slice(1);
  if (name === undefined || groupName === undefined || extra !== undefined)
    throw new Usage(`'group${action === "status" ? "" : ` ${action}`}' needs a queue NAME and a GROUP`);
  const g = client.queue(name).group(groupName);
  if (action === "cancel") {
    const answer = await g.cancel();
    print(flags, answer, () => cancelText(name, answer));
    return EXIT.ok;
  }
  if (action === "set") {
    const changes = given({ weight: number(flags, "weight"), max_in_flight: nullable(flags, "max-in-flight") });
    if (Object.keys(changes).length === 0) throw new Usage("'group set' needs --weight N or --max-in-flight N|none");
    const stats = await g.configure(changes);
    print(flags, stats, () => groupText(name, stats));
    return EXIT.ok;
  }
  const stats = await g.stats();
  print(flags, stats, () => groupText(name, stats));
  return EXIT.ok;
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
  if (!COMMANDS.includes(command))
    throw new Usage(`unknown command '${command}'; the commands: ${COMMANDS.join(", ")}`);
  const url = flags.url ?? process.env.JOINABLE_QUEUES_URL ?? "http://localhost:8787";
  const token = flags.token ?? process.env.JOINABLE_QUEUES_TOKEN;
  const client = new QueueClient(url, {
    token,
    retries: retries(flags.retries ?? process.env.JOINABLE_QUEUES_RETRIES),
  });
  if (command === "ls") return ls(client, flags);
  if (command === "group") return group(client, positionals.slice(1), flags);
  if (name === undefined) throw new Usage(`'${command}' needs a queue NAME`);
  const q = client.queue(name);
  switch (command) {
    case "create": {
      const config: QueueConfig = {
        maxsize: number(flags, "maxsize"),
        order: flags.order as QueueConfig["order"],
        shards: number(flags, "shards"),
        lease_seconds: nullable(flags, "lease-seconds"),
        max_deliveries: nullable(flags, "max-deliveries"),
        ...groupSettings(flags),
      };
      await client.createQueue(name, given(config));
      const stats = await q.stats();
      print(flags, stats, () => `created ${name}: ${settings(stats)}`);
      return EXIT.ok;
    }
    case "config": {
      const changes: QueueConfigChange = given({
        maxsize: number(flags, "maxsize"),
        lease_seconds: nullable(flags, "lease-seconds"),
        max_deliveries: nullable(flags, "max-deliveries"),
        ...groupSettings(flags),
      });
      if (Object.keys(changes).length === 0)
        throw new Usage("'config' needs a setting to change: --maxsize, --lease-seconds, --dispatch, …");
      const stats = await q.configure(changes);
      print(flags, stats, () => `configured ${name}: ${settings(stats)}`);
      return EXIT.ok;
    }
    case "groups":
      return groups(q, flags);
    case "stats": {
      if (flags.group === undefined) {
        const stats = await q.stats();
        print(flags, stats, () => statsText(stats));
      } else {
        const stats = await q.group(flags.group).stats();
        print(flags, stats, () => groupText(name, stats));
      }
      return EXIT.ok;
    }
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
      print(flags, max === undefined ? delivery(await q.get(options)) : (await q.getMany(max, options)).map(delivery));
      return EXIT.ok;
    }
    case "task-done":
      print(flags, await q.taskDone(arg === undefined ? undefined : { receipt: arg }));
      return EXIT.ok;
    case "join":
      return join(q, flags);
    case "watch":
      for await (const stats of q.watch()) print(flags, stats, () => watchLine(name, stats));
      return EXIT.ok;
    case "dead-letters":
      print(flags, (await q.deadLetters({ limit: number(flags, "limit") })).map(delivery));
      return EXIT.ok;
    case "redrive":
      print(flags, { ids: await q.redrive({ limit: number(flags, "limit") }) });
      return EXIT.ok;
    case "shutdown": {
      const stats = await q.shutdown({ immediate: flags.immediate });
      print(flags, stats, () => `shut down ${name}${stats.immediate ? " (immediate)" : ""}: ${waitsFor(stats)}`);
      return EXIT.ok;
    }
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
