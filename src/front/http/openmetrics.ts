// Headline counters as OpenMetrics 1.0 text, the exposition format Prometheus, Grafana Agent and Datadog scrape.
import type { Known } from "../../objects/catalog/headline-board.ts";

export const OPENMETRICS_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";

const PREFIX = "joinable_queues";

type Family = [name: string, help: string, value: (h: Known) => number];

const GAUGES: Family[] = [
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
];

const COUNTERS: Family[] = [
  ["puts", "Items put since the queue was created.", (h) => h.puts],
  ["completed", "Tasks completed by task_done since the queue was created.", (h) => h.completed],
  ["deliveries", "Items handed out by get, redeliveries included.", (h) => h.deliveries],
  [
    "redeliveries",
    "Deliveries of an item after its first (its lease expired, or it was released).",
    (h) => h.redeliveries,
  ],
];

// Only for queues that push (README "Push delivery and join callbacks").
const PUSH_GAUGES: Family[] = [
  ["push_in_flight", "Pushes awaiting their endpoint's answer.", (h) => h.push!.in_flight],
];
const PUSH_COUNTERS: Family[] = [
  ["push_failures", "Pushes answered non-2xx, timed out or not delivered.", (h) => h.push!.failures],
];

/** OpenMetrics label values escape backslash, double quote and line feed. */
const label = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/** The exposition: one family per counter, a sample per queue whose counters are known, then `# EOF`. */
export function exposition(queues: { name: string; headline: Known | null }[]): string {
  const known = queues.filter((q): q is { name: string; headline: Known } => q.headline !== null);
  const lines: string[] = [
    `# TYPE ${PREFIX}_queues gauge`,
    `# HELP ${PREFIX}_queues Queues in the catalog.`,
    `${PREFIX}_queues ${queues.length}`,
    `# TYPE ${PREFIX}_unreported_queues gauge`,
    `# HELP ${PREFIX}_unreported_queues Queues whose counters the catalog does not know yet (they fill in).`,
    `${PREFIX}_unreported_queues ${queues.length - known.length}`,
  ];
  const family = ([name, help, value]: Family, type: "gauge" | "counter", of = known) => {
    lines.push(`# TYPE ${PREFIX}_${name} ${type}`, `# HELP ${PREFIX}_${name} ${help}`);
    const sample = type === "counter" ? `${PREFIX}_${name}_total` : `${PREFIX}_${name}`;
    for (const q of of) lines.push(`${sample}{queue="${label(q.name)}"} ${value(q.headline)}`);
  };
  for (const f of GAUGES) family(f, "gauge");
  for (const f of COUNTERS) family(f, "counter");
  const pushing = known.filter((q) => q.headline.push);
  for (const f of PUSH_GAUGES) family(f, "gauge", pushing);
  for (const f of PUSH_COUNTERS) family(f, "counter", pushing);
  lines.push("# EOF");
  return `${lines.join("\n")}\n`;
}
