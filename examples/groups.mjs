// Two callers share one pool of workers, and each joins only its own batch: a group per request.
//
// Run (with `npm start` in another terminal): node examples/groups.mjs
import { QueueClient } from "joinable-queues-client";

const client = new QueueClient(process.env.JOINABLE_QUEUES_URL ?? "http://localhost:8787", {
  token: process.env.JOINABLE_QUEUES_TOKEN, // for a deployment (docs/deploy.md); npm start needs none
});
const q = await client.createQueue(`thumbnails-${process.pid}`, { lease_seconds: 60 });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// One pool of workers serves every caller; a photo takes 20 ms to "resize".
const pool = q.process(async () => sleep(20), { concurrency: 8 });

async function handle(requestId, photos) {
  const batch = q.group(`request-${requestId}`);
  await batch.putMany(photos);
  await batch.join(); // this request's photos only, whatever else the pool is working on
  console.log(`request ${requestId}: its ${photos.length} photos are done`);
}
const photos = (n, prefix) => Array.from({ length: n }, (_, i) => `${prefix}-${i}.png`);
await Promise.all([handle("a", photos(10, "a")), handle("b", photos(40, "b"))]);

await q.shutdown(); // the pool stops once the queue is empty
console.log(await pool);
await client.deleteQueue(q.name);
