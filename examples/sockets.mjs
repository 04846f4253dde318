// Producer and consumers over one WebSocket each: puts, then process() in socket mode (jobs pushed with a
// prefetch of `concurrency`, completed on the same socket), the coordinator joins, then shuts the queue down.
//
// Run (with `npm start` in another terminal): node --experimental-websocket examples/sockets.mjs
// (Node 22 and later need no flag.)
import { QueueClient } from "joinable-queues-client";

const client = new QueueClient(process.env.JOINABLE_QUEUES_URL ?? "http://localhost:8787", {
  token: process.env.JOINABLE_QUEUES_TOKEN, // for a deployment (docs/deploy.md); npm start needs none
});
const q = await client.createQueue(`sockets-${process.pid}`);

const producer = q.socket();
const ids = await producer.putMany(["resize", "crop", "blur", "rotate", "sharpen"]);
console.log(`put ${ids.length} jobs over one socket`);
producer.close();

const consumers = q.process(
  async (job) => {
    await new Promise((resolve) => setTimeout(resolve, 50)); // the work
    console.log(`done: ${job.item}`);
  },
  { concurrency: 2, socket: true },
);
await q.join();
console.log("All tasks processed!");
await q.shutdown();
console.log(await consumers); // { done: 5, failed: 0 }
await client.deleteQueue(q.name);
