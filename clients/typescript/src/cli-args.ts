// The CLI's arguments and output: its usage text, flags, the checks on their values, and how results are printed.
import type { parseArgs } from "node:util";

export const USAGE = `usage: joinable-queues [--url URL] [--token TOKEN] [--retries N] [--json] COMMAND ...

  ls                                   list queues: settings, shards, groups
  create NAME [--maxsize N] [--order fifo|lifo|priority] [--lease-seconds N|none] [--max-deliveries N|none]
        [--shards N]                   N objects (1-64) hold the queue: see docs/shards.md
        [--dispatch fifo|fair] [--group-max-in-flight N|none] [--group-retention-seconds S]
  config NAME [FLAGS]                  change settings: create's flags but --order and --shards
  stats NAME [--group G]               settings and exact counters: what join waits for (of group G with --group)
  groups NAME [--limit N]              the queue's groups: state, counters, weight and cap, in name order
  group NAME GROUP                     one group: its state, counters and settings
  group cancel NAME GROUP              remove its waiting items and refuse later puts to it
  group set NAME GROUP [--weight N] [--max-in-flight N|none]   its share under fair dispatch, its own cap
  put NAME [ITEM]                      put one JSON value; without ITEM, one JSON value per line of stdin
        [--priority KEY] [--delay S] [--timeout S] [--nowait] [--group G] [--shard-key K]
  get NAME [--timeout S] [--lease-seconds N] [--max N] [--nowait]
  task-done NAME [RECEIPT]             without RECEIPT: Python's anonymous task_done
  join NAME [--timeout S] [--group G]  wait until every item put (into group G) is done; shows progress
  watch NAME                           live stats, one line each, until the queue is shut down
  dead-letters NAME [--limit N]
  redrive NAME [--limit N]
  shutdown NAME [--immediate]
  delete NAME

  --url      or JOINABLE_QUEUES_URL      (default http://localhost:8787)
  --token    or JOINABLE_QUEUES_TOKEN
  --retries  or JOINABLE_QUEUES_RETRIES  retries of a network error, 408, 429 or 5xx, with backoff (default 4)
  --json     the API's JSON on stdout (progress always goes to stderr)

exit codes: 0 ok, 1 error, 2 usage, 3 Empty / Full / timeout`;

export const COMMANDS = [
  "ls",
  "create",
  "config",
  "stats",
  "groups",
  "group",
  "put",
  "get",
  "task-done",
  "join",
  "watch",
  "dead-letters",
  "redrive",
  "shutdown",
  "delete",
];

export const EXIT = { ok: 0, error: 1, usage: 2, timeout: 3 } as const;

export class Usage extends Error {}

export const OPTIONS = {
  url: { type: "string" },
  token: { type: "string" },
  retries: { type: "string" },
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
  dispatch: { type: "string" },
  "group-max-in-flight": { type: "string" },
  "group-retention-seconds": { type: "string" },
  weight: { type: "string" },
  "max-in-flight": { type: "string" },
} as const;

export type Flags = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

export function number(flags: Flags, name: keyof Flags): number | undefined {
  const raw = flags[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== "string" || raw.trim() === "" || !Number.isFinite(n))
    throw new Usage(`--${name} must be a number, not '${raw}'`);
  return n;
}

/** `none` for a setting that can be off (Python's None), else a number. */
export const nullable = (
  flags: Flags,
  name: "lease-seconds" | "max-deliveries" | "group-max-in-flight" | "max-in-flight",
) => (flags[name] === "none" ? null : number(flags, name));

export function json(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Usage(`${what} must be JSON (a string is quoted: '"hello"'), not ${text.slice(0, 80)}`);
  }
}

export function print(flags: Flags, value: unknown, human: () => string = () => JSON.stringify(value)): void {
  process.stdout.write(`${flags.json ? JSON.stringify(value) : human()}\n`);
}

/** `--retries` or JOINABLE_QUEUES_RETRIES: a whole number of retries, or undefined for the client's default. */
export function retries(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isInteger(n) || n < 0)
    throw new Usage(`--retries must be a whole number ≥ 0, not '${raw}'`);
  return n;
}
