// Subscribes to a queue over a WebSocket: live stats, and the moment its work is all done (join). It watches a queue
// that exists (docs/sockets.md creates one), and leaves it as it found it.
//
// Run (with `npm start` in another terminal): node --experimental-websocket examples/subscribe-join.mjs jobs
// (Node 22+ has WebSocket built in and accepts the flag; Node 20 needs it.)
import { QueueClient } from "joinable-queues-client";

const name = process.argv[2] ?? "jobs";
const client = new QueueClient(process.env.JOINABLE_QUEUES_URL ?? "http://localhost:8787", {
  token: process.env.JOINABLE_QUEUES_TOKEN, // for a deployment (docs/deploy.md); npm start needs none
});
const q = client.queue(name);
await q.stats().catch((e) => {
  console.error(`${name}: ${e.message}`); // e.g. no such queue: create it first with PUT /v1/queues/{name}
  process.exit(1);
});
const done = new AbortController();
let watched;
const firstStats = new Promise((resolve) => (watched = resolve));

const watching = (async () => {
  for await (const stats of q.watch({ signal: done.signal })) {
    console.log(`stats: qsize=${stats.qsize} unfinished_tasks=${stats.unfinished_tasks} in_flight=${stats.in_flight}`);
    watched();
  }
})().catch((e) => e.name === "AbortError" || Promise.reject(e));

await firstStats; // the stats as they stand first, then the join (each on its own socket, so either may come first)
for await (const joined of q.subscribeJoin()) console.log(`joined: all work on '${name}' is done`, joined);
done.abort();
await watching;
