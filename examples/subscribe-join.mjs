// Subscribes to a queue over a WebSocket: live stats, and the moment its work is all done (join).
//
// Run (with `npm start` in another terminal): node --experimental-websocket examples/subscribe-join.mjs jobs
// (Node 22+ has WebSocket built in and accepts the flag; Node 20 needs it.)
import { QueueClient } from "joinable-queues-client";

const name = process.argv[2] ?? "jobs";
const client = new QueueClient(process.env.JOINABLE_QUEUES_URL ?? "http://localhost:8787");
const q = client.queue(name);
const done = new AbortController();

const watching = (async () => {
  for await (const stats of q.watch({ signal: done.signal })) {
    console.log(`stats: qsize=${stats.qsize} unfinished_tasks=${stats.unfinished_tasks} in_flight=${stats.in_flight}`);
  }
})().catch((e) => e.name === "AbortError" || Promise.reject(e));

for await (const joined of q.subscribeJoin()) console.log(`joined: all work on '${name}' is done`, joined);
done.abort();
await watching;
