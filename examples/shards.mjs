// One queue over 8 Durable Objects: each customer's events on one shard, in the order they were put, a pool of
// workers taking from every shard, and one join that is exact across all of them (docs/shards.md).
//
// Run (with `npm start` in another terminal): node examples/shards.mjs
import { QueueClient } from "joinable-queues-client";

const client = new QueueClient(process.env.JOINABLE_QUEUES_URL ?? "http://localhost:8787", {
  token: process.env.JOINABLE_QUEUES_TOKEN, // for a deployment (docs/deploy.md); npm start needs none
});
const q = await client.createQueue(`events-${process.pid}`, { shards: 8, lease_seconds: 60 });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A customer's events share a shard key: they go to one shard and keep their order there.
const customers = ["ada", "grace", "edsger", "barbara", "ken", "dennis"];
for (const customer of customers) {
  const events = Array.from({ length: 5 }, (_, i) => ({ customer, seq: i + 1 }));
  await q.putMany(events, { shardKey: customer });
}

// One pool of workers; each get goes to any shard, which takes a sibling's items when it has none.
const shardOf = (job) => Math.floor((job.id - 1) / 2 ** 47); // shard i numbers its items from i·2^47 + 1
const shardsSeen = new Map();
const pool = q.process(
  async (job) => {
    const { customer } = job.item;
    shardsSeen.set(customer, new Set([...(shardsSeen.get(customer) ?? []), shardOf(job)]));
    await sleep(10);
  },
  { concurrency: 8 },
);

console.log("join:", await q.join()); // drained only once nothing was unfinished on any shard at one instant
const { shards, puts, completed, unfinished_tasks } = await q.stats(); // added up over the shards
console.log(`shards=${shards} puts=${puts} completed=${completed} unfinished=${unfinished_tasks}`);
const oneShardEach = [...shardsSeen.values()].every((seen) => seen.size === 1);
console.log("each customer's events were on one shard:", oneShardEach);

await q.shutdown(); // the pool stops once every shard is empty
console.log(await pool);
await client.deleteQueue(q.name);
