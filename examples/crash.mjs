// A consumer takes a job and dies (SIGKILL, no goodbye). Its lease runs out, the job comes back, a healthy
// consumer finishes it, and join returns: a dead consumer never hangs join.
//
// Run (with `npm start` in another terminal): node examples/crash.mjs
import { spawn } from "node:child_process";
import { once } from "node:events";
import { QueueClient } from "joinable-queues-client";

const client = new QueueClient(process.env.JOINABLE_QUEUES_URL ?? "http://localhost:8787", {
  token: process.env.JOINABLE_QUEUES_TOKEN, // for a deployment (docs/deploy.md); npm start needs none
});

if (process.argv[2] === "--consumer") {
  // The doomed consumer: takes the job, then the process is killed mid-job.
  const q = client.queue(process.argv[3]);
  const job = await q.get();
  const until = new Date(job.leaseExpiresAt).toISOString();
  console.log(`doomed consumer: took job ${job.id} (${JSON.stringify(job.item)}), lease until ${until}`);
  process.kill(process.pid, "SIGKILL");
}

const LEASE = 2;
const q = await client.createQueue(`crash-${process.pid}`, { lease_seconds: LEASE });
await q.put({ report: "quarterly" });
const started = Date.now();

const doomed = spawn(process.execPath, [new URL(import.meta.url).pathname, "--consumer", q.name], { stdio: "inherit" });
const [, signal] = await once(doomed, "exit");
console.log(
  `doomed consumer died (${signal}) holding the job; unfinished_tasks is still ${(await q.stats()).unfinished_tasks}`,
);

const healthy = q.process(async (job) =>
  console.log(`healthy consumer: got job ${job.id} again (delivery ${job.deliveries}), finishing it`),
);
const result = await q.join();
console.log(
  `join returned after ${((Date.now() - started) / 1000).toFixed(1)} s (lease ${LEASE} s): drained=${result.drained}`,
);
await q.shutdown();
await healthy;
await client.deleteQueue(q.name);
