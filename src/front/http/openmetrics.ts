// Headline counters for scrapers, in the two text formats Prometheus reads: OpenMetrics 1.0 and its classic 0.0.4.
// A sharded queue is one queue here: its objects' figures added up (objects/catalog/headline-board.ts).
import type { Known, Shown } from "../../objects/catalog/headline-board.ts";

export const OPENMETRICS_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";
export const PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8";
/** A format, named by the Content-Type that answers it. */
export type Format = typeof OPENMETRICS_TYPE | typeof PROMETHEUS_TYPE;

/**
 * The format an `Accept` header asks for, as Prometheus's client libraries choose it (client_golang's
 * `expfmt.NegotiateIncludingOpenMetrics`, client_python's `choose_encoder`): the media ranges in order of preference
 * (q, then as written; q=0 refuses), the first that names a format wins: `text/plain` with version 0.0.4 or none is
 * the classic format, `application/openmetrics-text` (any version) is OpenMetrics. The one difference: where
 * neither is named (no header, a wildcard, a browser's list), the libraries answer the classic format and this
 * answers OpenMetrics, as it always has: a scraper that wants the classic format asks for it.
 */
export function negotiate(accept: string | undefined): Format {
  const ranges = (accept ?? "")
    .split(",")
    .map((range, at) => {
      const [type = "", ...params] = range.split(";").map((part) => part.trim());
      const param = (key: string) =>
        params
          .map((p) => p.split("="))
          .find(([k]) => k?.trim().toLowerCase() === key)?.[1]
          ?.trim()
          .replace(/^"(.*)"$/, "$1");
      const q = Number(param("q") ?? 1);
      return { type: type.toLowerCase(), version: param("version"), q: Number.isNaN(q) ? 0 : q, at };
    })
    .filter((r) => r.q > 0)
    .sort((a, b) => b.q - a.q || a.at - b.at);
  for (const { type, version } of ranges) {
    if (type === "text/plain" && (version === undefined || version === "0.0.4")) return PROMETHEUS_TYPE;
    if (type === "application/openmetrics-text") return OPENMETRICS_TYPE;
  }
  return OPENMETRICS_TYPE;
}

const PREFIX = "joinable_queues";

type Figure = [name: string, help: string, value: (h: Known) => number];

const GAUGES: Figure[] = [
  ["qsize", "Items waiting in the queue, delayed ones included (Python's qsize()).", (h) => h.qsize],
  ["unfinished_tasks", "Items put and not yet task_done'd: what join waits for.", (h) => h.unfinished_tasks],
  ["in_flight", "Items taken by get and not yet task_done'd.", (h) => h.in_flight],
  ["leased", "Open leases.", (h) => h.leased],
  ["delayed", "Items put with a delay that is not over yet.", (h) => h.delayed],
  ["dead_lettered", "Items in the dead letters.", (h) => h.dead_lettered],
  ["waiting_getters", "Calls to get waiting for an item.", (h) => h.waiting.getters],
  ["waiting_putters", "Calls to put waiting for room.", (h) => h.waiting.putters],
  ["waiting_joiners", "Calls to join waiting for the queue to drain.", (h) => h.waiting.joiners],
  ["shutdown", "1 once the queue has been shut down.", (h) => (h.shutdown ? 1 : 0)],
  // A count, not a series per group: a queue may hold thousands of groups, and each series costs the scraper.
  ["groups", "Groups the queue holds (live, or kept for their retention): what MAX_GROUPS caps.", (h) => h.groups],
  ["groups_open", "Groups with unfinished tasks.", (h) => h.groups_open],
  ["groups_at_cap", "Groups whose deliveries in flight are at their cap (max_in_flight).", (h) => h.groups_at_cap],
  ["groups_cancelled", "Cancelled groups whose status is still kept.", (h) => h.groups_cancelled],
];

const COUNTERS: Figure[] = [
  ["puts", "Items put since the queue was created.", (h) => h.puts],
  ["completed", "Tasks completed by task_done since the queue was created.", (h) => h.completed],
  ["deliveries", "Items handed out by get, redeliveries included.", (h) => h.deliveries],
  [
    "redeliveries",
    "Deliveries of an item after its first (its lease expired, or it was released).",
    (h) => h.redeliveries,
  ],
];

// Only for queues that push (docs/push-and-callbacks.md).
const PUSH_GAUGES: Figure[] = [
  ["push_in_flight", "Pushes awaiting their endpoint's answer.", (h) => h.push!.in_flight],
];
const PUSH_COUNTERS: Figure[] = [
  ["push_failures", "Pushes answered non-2xx, timed out or not delivered.", (h) => h.push!.failures],
];

/** One family, whatever the format: a counter's name here is without `_total`, which both formats add. */
interface Family {
  name: string;
  type: "gauge" | "counter";
  help: string;
  samples: { queue?: string; value: number }[];
}

/** Every family, with a sample per queue whose counters are known (families with no sample stay: both allow it). */
function families(queues: Shown[]): Family[] {
  const known = queues.filter((q): q is Shown & { headline: Known } => q.headline !== null);
  const pushing = known.filter((q) => q.headline.push);
  const family = (type: Family["type"], of: typeof known) => (figure: Figure) => {
    const [name, help, value] = figure;
    return { name, type, help, samples: of.map((q) => ({ queue: q.name, value: value(q.headline) })) };
  };
  return [
    { name: "queues", type: "gauge", help: "Queues in the catalog.", samples: [{ value: queues.length }] },
    {
      name: "unreported_queues",
      type: "gauge",
      help: "Queues whose counters the catalog does not know yet (they fill in).",
      samples: [{ value: queues.length - known.length }],
    },
    {
      name: "shards",
      type: "gauge",
      help: "Objects the queue is spread over (1: not sharded); its other figures add up all of them.",
      samples: queues.map((q) => ({ queue: q.name, value: q.shards })),
    },
    ...GAUGES.map(family("gauge", known)),
    ...COUNTERS.map(family("counter", known)),
    ...PUSH_GAUGES.map(family("gauge", pushing)),
    ...PUSH_COUNTERS.map(family("counter", pushing)),
  ];
}

/** Label values escape backslash, double quote and line feed, alike in both formats. */
const label = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/**
 * The exposition in `format`. The formats differ in three things: OpenMetrics names a counter's family without
 * `_total` (its samples carry it) where the classic format names the family as its samples; OpenMetrics escapes a
 * double quote in HELP, which the classic format does not allow; and only OpenMetrics ends with `# EOF`.
 */
export function exposition(queues: Shown[], format: Format): string {
  const open = format === OPENMETRICS_TYPE;
  const help = (v: string) => {
    const escaped = v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
    return open ? escaped.replace(/"/g, '\\"') : escaped;
  };
  const lines: string[] = [];
  for (const { name, type, help: text, samples } of families(queues)) {
    const sample = `${PREFIX}_${name}${type === "counter" ? "_total" : ""}`;
    const family = open ? `${PREFIX}_${name}` : sample;
    const [typeLine, helpLine] = [`# TYPE ${family} ${type}`, `# HELP ${family} ${help(text)}`];
    lines.push(...(open ? [typeLine, helpLine] : [helpLine, typeLine])); // each format's libraries' order
    for (const { queue, value } of samples) {
      lines.push(`${sample}${queue === undefined ? "" : `{queue="${label(queue)}"}`} ${value}`);
    }
  }
  if (open) lines.push("# EOF");
  return `${lines.join("\n")}\n`;
}
