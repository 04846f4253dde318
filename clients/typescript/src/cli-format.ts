// What the CLI prints for people (each command's `--json` prints the API's own snake_case shapes instead): a
// queue's settings, what its join waits for, a watch line, the `ls` table.
import type { GroupStats, Job, QueueInfo, Stats } from "./types.ts";

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

/** `fifo · unbounded · lease 30 s · max deliveries 10 · 4 shards` */
export function settings(q: Pick<QueueInfo, "order" | "maxsize" | "lease_seconds" | "max_deliveries" | "shards">) {
  const parts = [
    q.order,
    q.maxsize === 0 ? "unbounded" : `maxsize ${q.maxsize}`,
    q.lease_seconds === null ? "no leases" : `lease ${q.lease_seconds} s`,
    q.max_deliveries === null ? "no delivery limit" : `max deliveries ${q.max_deliveries}`,
  ];
  if ((q.shards ?? 1) > 1) parts.push(plural(q.shards!, "shard"));
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

/** `stats NAME --group G` for people. */
export const groupText = (queue: string, g: GroupStats): string =>
  `${queue} group ${g.group}: join waits for ${plural(g.unfinished_tasks, "unfinished task")}: ${waitsFor(g)} · ` +
  `${g.dead_lettered} dead-lettered · puts ${g.puts} · completed ${g.completed}`;

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
