// The classic queue.Queue program (the example in Python's documentation), across the network: one producer puts
// 5 items, three consumers get / process / task_done them, the coordinator joins, then shuts the queue down so
// the consumers' blocked gets raise ShutDown and they exit (the poison pill, done right).
//
// Run (with `npm start` in another terminal): node examples/classic.mjs
import { QueueClient, ShutDown } from "joinable-queues-client";

const client = new QueueClient(process.env.JOINABLE_QUEUES_URL ?? "http://localhost:8787", {
  token: process.env.JOINABLE_QUEUES_TOKEN, // for a deployment (docs/deploy.md); npm start needs none
});
const q = await client.createQueue(`classic-${process.pid}`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function consumer(name) {
  for (;;) {
    let job;
    try {
      job = await q.get();
    } catch (e) {
      if (e instanceof ShutDown) return console.log(`${name}: queue shut down, exiting`);
      throw e;
    }
    console.log(`${name}: working on ${job.item}`);
    await sleep(200);
    console.log(`${name}: finished ${job.item}`);
    await q.taskDone(job);
  }
}

const consumers = ["consumer 1", "consumer 2", "consumer 3"].map(consumer);
for (let i = 1; i <= 5; i++) await q.put(`task ${i}`);
await q.join();
console.log("All tasks processed!");
await q.shutdown();
await Promise.all(consumers);
await client.deleteQueue(q.name);
