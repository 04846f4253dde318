// Fan-out: 1,000 jobs in ten batch puts, 8 concurrent consumers (the client's `process` loop), and the CLI's
// `join` showing progress until every job is done.
//
// Run (with `npm start` in another terminal): node examples/fan-out.mjs
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { QueueClient } from "joinable-queues-client";

const url = process.env.JOINABLE_QUEUES_URL ?? "http://localhost:8787";
const client = new QueueClient(url, { token: process.env.JOINABLE_QUEUES_TOKEN }); // the CLI reads it from the env
const q = await client.createQueue(`fan-out-${process.pid}`);

const jobs = Array.from({ length: 1000 }, (_, i) => ({ image: `photo-${i}.jpg`, size: 256 }));
await q.putMany(jobs);
console.log(`put ${jobs.length} jobs`);

const consumers = q.process(async () => new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20)), {
  concurrency: 8,
});

const cli = fileURLToPath(new URL("cli.js", import.meta.resolve("joinable-queues-client")));
const join = spawn(process.execPath, [cli, "join", q.name, "--url", url], { stdio: "inherit" });
const [code] = await once(join, "exit");

await q.shutdown(); // the consumers' next get raises ShutDown, and `process` returns
const { done, failed } = await consumers;
console.log(`join exited ${code}; consumers did ${done} jobs, ${failed} failed`);
await client.deleteQueue(q.name);
