// What the CLI prints for people (each command's `--json` prints the API's own snake_case shapes instead): a
// queue's settings, what its join waits for, a watch line, the `ls` table.
import type { GroupCancelResult, GroupStats, Job, QueueInfo, Stats } from "./types.ts";

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** A job as the API answers a delivery (snake_case), whatever the client calls its fields. */
export const delivery = (job: Job) => ({
  id: job.id,
  item: job.item,
  priority: job.priority,
  deliveries: job.deliveries,
  group: job.group,
  receipt: job.receipt,
  lease_expires_at: job.leaseExpiresAt,
});

/** The service's default for how long a drained or cancelled group's status stays readable. */
const GROUP_RETENTION_DEFAULT = 86_400;

/**
 * `fifo · unbounded · lease 30 s · max deliveries 10 · 4 shards`, then what differs from the defaults of groups:
 * `· fair dispatch · max 4 in flight per group · group status kept 3600 s`
 */
export function settings(
  q: Pick<QueueInfo, "order" | "maxsize" | "lease_seconds" | "max_deliveries" | "shards"> &
    Partial<Pick<Stats, "dispatch" | "group_max_in_flight" | "group_retention_seconds">>,
) {
  const parts = [
    q.order,
    q.maxsize === 0 ? "unbounded" : `maxsize ${q.maxsize}`,
    q.lease_seconds === null ? "no leases" : `lease ${q.lease_seconds} s`,
    q.max_deliveries === null ? "no delivery limit" : `max deliveries ${q.max_deliveries}`,
  ];
  if ((q.shards ?? 1) > 1) parts.push(plural(q.shards!, "shard"));
  if (q.dispatch === "fair") parts.push("fair dispatch");
  if (q.group_max_in_flight != null) parts.push(`max ${q.group_max_in_flight} in flight per group`);
  const kept = q.group_retention_seconds;
  if (kept !== undefined && kept !== GROUP_RETENTION_DEFAULT) parts.push(`group status kept ${kept} s`);
  return parts.join(" · ");
}

/**
 * What join waits for: every unfinished task is either queued (delayed ones included) or in flight (taken, not
 * yet task_done). `3 queued (1 delayed), 2 in flight`
 */
export function waitsFor(s: Pick<Stats, "unfinished_tasks" | "in_flight"> & { delayed?: number }): string {
  const queued = Math.max(0, s.unfinished_tasks - s.in_flight);
  const delayed = s.delayed ? ` (${s.delayed} delayed)` : "";
  return `${queued} queued${delayed}, ${s.in_flight} in flight`;
}

/** `stats NAME` for people: settings, what join waits for, the lifetime counters, the calls waiting. */
export function statsText(s: Stats): string {
  const w = s.waiting;
  const lines = [
    `${s.name}: ${settings(s)}`,
    `join waits for ${plural(s.unfinished_tasks, "unfinished task")}: ${waitsFor(s)} · ${s.dead_lettered} ` +
      "dead-lettered",
    `puts ${s.puts} · completed ${s.completed} · deliveries ${s.deliveries} (${s.redeliveries} redelivered)`,
    `waiting calls: ${plural(w.getters, "get")} · ${plural(w.putters, "put")} · ${plural(w.joiners, "join")}`,
  ];
  if (s.push) {
    const p = s.push;
    const state = p.paused ? "paused" : "active";
    lines.push(`push to ${p.url}: ${state} · ${p.in_flight} in flight · ${plural(p.failures, "failure")}`);
  }
  if (s.shutdown) lines.push(`shut down${s.immediate ? " (immediate)" : ""}: puts fail; gets fail once it is empty`);
  return lines.join("\n");
}

/** `12 s ago`, `3 min ago`, `2 h ago`, `4 d ago`: how long before `now` a moment (Unix ms) was. */
export function ago(ms: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  return s < 129_600 ? `${Math.round(s / 3600)} h ago` : `${Math.round(s / 86_400)} d ago`;
}

/** A group's cap on deliveries in flight (its own, else the queue's): `max 4 in flight`, or `no cap`. */
const cap = (g: GroupStats) => (g.max_in_flight === null ? "no cap" : `max ${g.max_in_flight} in flight`);

/**
 * `group NAME G` (and `stats NAME --group G`) for people: its state and settings, what its join waits for, its
 * lifetime counters and when it last changed.
 */
export function groupText(queue: string, g: GroupStats, now = Date.now()): string {
  const first = g.first_put_at === null ? "nothing put yet" : `first put ${ago(g.first_put_at, now)}`;
  const lines = [
    `${queue} group ${g.group}: ${g.state} · weight ${g.weight} · ${cap(g)}`,
    `join waits for ${plural(g.unfinished_tasks, "unfinished task")}: ${waitsFor(g)} · ${g.dead_lettered} ` +
      "dead-lettered",
    `puts ${g.puts} · completed ${g.completed} · cancelled ${g.cancelled} · ${first} · last change ` +
      ago(g.updated_at, now),
  ];
  if (g.state === "cancelled") lines.push("cancelled: puts to it fail; its deliveries in flight may still finish");
  return lines.join("\n");
}

/** `group cancel NAME G` for people. */
export const cancelText = (queue: string, c: GroupCancelResult): string =>
  `cancelled group ${c.group} of ${queue}: ${plural(c.cancelled, "item")} removed · ${c.in_flight} still in flight`;

/** The `groups NAME` table: one row per group. */
export function groupsTable(groups: GroupStats[]): string {
  const head = ["GROUP", "STATE", "UNFINISHED", "IN-FLIGHT", "PUTS", "COMPLETED", "DEAD", "CANCELLED", "WEIGHT", "CAP"];
  const rows = groups.map((g) => [
    g.group,
    g.state,
    ...[g.unfinished_tasks, g.in_flight, g.puts, g.completed, g.dead_lettered, g.cancelled, g.weight].map(String),
    g.max_in_flight === null ? "none" : String(g.max_in_flight),
  ]);
  return table([head, ...rows]);
}

/** One `watch` line (a watched queue's stats carry no name): `12:00:01 photos: 3 queued, 2 in flight · ...` */
export function watchLine(name: string, s: Stats, now = new Date()): string {
  const time = now.toTimeString().slice(0, 8);
  const counts = [
    waitsFor(s),
    `unfinished ${s.unfinished_tasks}`,
    `dead-lettered ${s.dead_lettered}`,
    `puts ${s.puts}`,
    `completed ${s.completed}`,
    `${plural(s.waiting.getters, "get")} waiting`,
  ];
  if (s.shutdown) counts.push(s.immediate ? "shut down (immediate)" : "shut down");
  return `${time} ${name}: ${counts.join(" · ")}`;
}

/** The `ls` table: one row per queue, columns padded to their widest cell. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join("  "))
    .join("\n");
}
