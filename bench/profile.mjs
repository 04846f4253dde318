// A CPU profile of the bench Worker while a bench runs: `BENCH_INSPECT=9229 BENCH_ONLY=sockets npm run bench` in
// one shell, then `node bench/profile.mjs 9229 8` (port, seconds) in another as the scenario starts. Prints the
// functions with the most self time and writes the profile to bench/results/ (open it in Chrome's DevTools).
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const [port = "9229", seconds = "8"] = process.argv.slice(2);
const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
const target = targets.find((t) => t.webSocketDebuggerUrl) ?? process.exit(console.error("no inspector target") ?? 1);
// The inspector proxy of wrangler dev refuses a connection without an Origin (undici takes headers here).
const ws = new WebSocket(target.webSocketDebuggerUrl, { headers: { origin: `http://127.0.0.1:${port}` } });
await new Promise((resolve, reject) => {
  ws.addEventListener("open", resolve);
  ws.addEventListener("error", reject);
});
let next = 0;
const pending = new Map();
ws.addEventListener("message", (e) => {
  const m = JSON.parse(String(e.data));
  if (m.id !== undefined) pending.get(m.id)?.(m);
});
const send = (method, params = {}) =>
  new Promise((resolve) => {
    const id = ++next;
    pending.set(id, resolve);
    ws.send(JSON.stringify({ id, method, params }));
  });
await send("Profiler.enable");
await send("Profiler.setSamplingInterval", { interval: 100 });
await send("Profiler.start");
await new Promise((r) => setTimeout(r, Number(seconds) * 1000));
const { result } = await send("Profiler.stop");
ws.close();
const { profile } = result;
const file = join(import.meta.dirname, "results", `profile-${Date.now()}.cpuprofile`);
writeFileSync(file, JSON.stringify(profile));

// Self time per function: samples that landed in each node, summed over nodes of the same function.
const count = new Map();
for (const id of profile.samples) count.set(id, (count.get(id) ?? 0) + 1);
const self = new Map();
for (const node of profile.nodes) {
  const { functionName, url, lineNumber } = node.callFrame;
  const key = `${functionName || "(anonymous)"} ${url.split("/").slice(-2).join("/")}:${lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + (count.get(node.id) ?? 0));
}
const total = profile.samples.length;
console.log(`${total} samples; top self time:`);
for (const [key, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
  console.log(`${((100 * n) / total).toFixed(1).padStart(5)} %  ${key}`);
}
console.log(`written to ${file}`);
