// Subscribes to join on a queue over a WebSocket and prints what the server pushes.
// Usage (with `npm start` running): node examples/subscribe-join.mjs [queue] [base-url]
const [name = "jobs", base = "ws://localhost:8787"] = process.argv.slice(2);
const ws = new WebSocket(`${base}/v1/queues/${name}/ws`);
ws.addEventListener("open", () => {
  ws.send(JSON.stringify({ op: "join", id: "batch-1" }));
  ws.send(JSON.stringify({ op: "watch" }));
});
ws.addEventListener("message", (event) => {
  const message = JSON.parse(event.data);
  if (message.type === "stats") console.log(`stats: qsize=${message.stats.qsize} unfinished_tasks=${message.stats.unfinished_tasks}`);
  else console.log(message);
  if (message.type === "joined") ws.close();
});
ws.addEventListener("close", (event) => console.log(`closed (${event.code})`));
