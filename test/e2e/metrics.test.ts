// GET /v1/metrics against wrangler dev: it parses as OpenMetrics 1.0 (a strict parser, openmetrics.ts) and its
// figures match each queue's exact stats once the queues have reported; it needs observe over every queue.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseOpenMetrics } from "./openmetrics.ts";
import { serve } from "./server.ts";

const ADMIN = "metrics-admin-secret-0123456789abcdef";
let server: Awaited<ReturnType<typeof serve>>;

beforeAll(async () => {
  server = await serve("plain", { ADMIN_TOKEN: ADMIN });
});
afterAll(() => server?.stop());

async function api(method: string, path: string, body?: unknown, token = ADMIN) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get("content-type"), text, json: () => JSON.parse(text) };
}

/** The value of one family's sample for one queue. */
const value = (families: ReturnType<typeof parseOpenMetrics>, family: string, queue: string) =>
  families
    .get(`joinable_queues_${family}`)
    ?.samples.find((s) => s.labels.queue === queue && !s.name.endsWith("_created"))?.value;

describe("the parser", () => {
  it("refuses what OpenMetrics does not allow", () => {
    const ok = "# TYPE a counter\n# HELP a Things.\na_total 1\n# EOF\n";
    expect(parseOpenMetrics(ok).get("a")!.samples).toEqual([{ name: "a_total", labels: {}, value: 1 }]);
    for (const bad of [
      "# TYPE a counter\na_total 1\n", // no EOF
      "# TYPE a counter\na 1\n# EOF\n", // a counter's sample without _total is another family, here a duplicate
      "# TYPE a gauge\na 1\n\n# EOF\n", // an empty line
      "# a comment\n# EOF\n", // free comments are Prometheus text, not OpenMetrics
      '# TYPE a gauge\na{q="x} 1\n# EOF\n', // an unterminated label value
      "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n# EOF\n", // interleaved families
      "# TYPE a counter\na_total -1\n# EOF\n", // a negative counter
      "# EOF\nx 1\n", // text after EOF
    ]) {
      expect(() => parseOpenMetrics(bad), bad).toThrow(/OpenMetrics/);
    }
    expect(() => parseOpenMetrics("# TYPE a counter\na_total 1\na 1\n# EOF\n")).toThrow(/twice/);
  });
});

describe("GET /v1/metrics", () => {
  it("parses as OpenMetrics and matches every queue's stats", async () => {
    // m-gamma never changes, so it never reports: the scrape itself asks it (a bounded number per scrape).
    const names = ["m-alpha", "m-beta", "m-gamma"];
    for (const name of names) expect((await api("PUT", `/v1/queues/${name}`, { max_deliveries: 1 })).status).toBe(201);
    await api("POST", "/v1/queues/m-alpha/put", { items: [{ item: 1 }, { item: 2 }, { item: 3 }] });
    const job = (await api("POST", "/v1/queues/m-alpha/get", {})).json();
    await api("POST", "/v1/queues/m-alpha/task_done", { receipt: job.receipt });
    await api("POST", "/v1/queues/m-alpha/get", {}); // one stays in flight
    await api("POST", "/v1/queues/m-beta/put", { item: "poison" });
    const poison = (await api("POST", "/v1/queues/m-beta/get", {})).json();
    await api("POST", "/v1/queues/m-beta/release", { receipt: poison.receipt }); // dead-lettered
    const stats = Object.fromEntries(
      await Promise.all(names.map(async (n) => [n, (await api("GET", `/v1/queues/${n}`)).json()])),
    );
    const scrape = async () => {
      const res = await api("GET", "/v1/metrics");
      expect(res.status).toBe(200);
      expect(res.type).toBe("application/openmetrics-text; version=1.0.0; charset=utf-8");
      return parseOpenMetrics(res.text);
    };
    // Queues report at most once a second, so the scrape catches up within about that.
    await expect.poll(async () => value(await scrape(), "completed", "m-alpha"), { timeout: 3000 }).toBe(1);
    await expect.poll(async () => value(await scrape(), "dead_lettered", "m-beta"), { timeout: 3000 }).toBe(1);
    const families = await scrape();
    expect(families.get("joinable_queues_puts")!.type).toBe("counter");
    expect(families.get("joinable_queues_qsize")!.type).toBe("gauge");
    expect(families.get("joinable_queues_queues")!.samples[0]!.value).toBe(3);
    for (const name of names) {
      const s = stats[name];
      expect({
        qsize: value(families, "qsize", name),
        unfinished_tasks: value(families, "unfinished_tasks", name),
        in_flight: value(families, "in_flight", name),
        dead_lettered: value(families, "dead_lettered", name),
        getters: value(families, "waiting_getters", name),
        putters: value(families, "waiting_putters", name),
        joiners: value(families, "waiting_joiners", name),
        puts: value(families, "puts", name),
        completed: value(families, "completed", name),
        deliveries: value(families, "deliveries", name),
        redeliveries: value(families, "redeliveries", name),
      }).toEqual({
        qsize: s.qsize,
        unfinished_tasks: s.unfinished_tasks,
        in_flight: s.in_flight,
        dead_lettered: s.dead_lettered,
        getters: s.waiting.getters,
        putters: s.waiting.putters,
        joiners: s.waiting.joiners,
        puts: s.puts,
        completed: s.completed,
        deliveries: s.deliveries,
        redeliveries: s.redeliveries,
      });
    }
  });

  it("needs the observe right over every queue", async () => {
    const scoped = (await api("POST", "/v1/tokens", { queues: ["m-*"], rights: ["observe"] })).json().token;
    const refused = await api("GET", "/v1/metrics", undefined, scoped);
    expect(refused.status).toBe(403);
    expect(refused.json()).toMatchObject({ code: "forbidden" });
    const everything = (await api("POST", "/v1/tokens", { queues: ["*"], rights: ["observe"] })).json().token;
    expect((await api("GET", "/v1/metrics", undefined, everything)).status).toBe(200);
  });
});
