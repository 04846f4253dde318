// GET /v1/metrics against wrangler dev: by default it parses as OpenMetrics 1.0 (a strict parser, openmetrics.ts) and
// its figures match each queue's exact stats once the queues have reported; asked for Prometheus's classic text
// format (`Accept: text/plain; version=0.0.4`, as Prometheus's client libraries negotiate it) it answers that, with
// the same families and figures, and `promtool check metrics` passes on it. Groups are one gauge per queue, never a
// series per group; a sharded queue is one queue, its shards' figures added up. It needs observe over every queue.
import { spawnSync } from "node:child_process";
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shardFor } from "../../src/objects/shards/shards.ts";
import { parseOpenMetrics } from "./openmetrics.ts";
import { serve } from "./server.ts";

const ADMIN = "metrics-admin-secret-0123456789abcdef";
let server: Awaited<ReturnType<typeof serve>>;

beforeAll(async () => {
  // Push to a port where nothing listens, paused: the push families then have a queue to show.
  server = await serve("plain", { ADMIN_TOKEN: ADMIN, PUSH_ORIGINS: "http://127.0.0.1" });
}, 90_000); // wrangler dev may take most of a minute to listen on a busy machine (server.ts waits up to 60 s)
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

const CLASSIC = "text/plain; version=0.0.4";
const CLASSIC_TYPE = "text/plain; version=0.0.4; charset=utf-8";
const OPENMETRICS_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/** GET /v1/metrics with exactly this Accept header, or none at all for null (fetch would send `*` + `/*`). */
function metrics(accept: string | null): Promise<{ status: number; type?: string; vary?: string; text: string }> {
  const headers: Record<string, string> = { authorization: `Bearer ${ADMIN}`, ...(accept === null ? {} : { accept }) };
  return new Promise((resolve, reject) => {
    request(`${server.url}/v1/metrics`, { headers }, (res) => {
      let text = "";
      res.setEncoding("utf8"); // both formats are UTF-8, as their content types say
      res.on("data", (d: string) => (text += d));
      res.on("error", reject);
      res.on("end", () =>
        resolve({ status: res.statusCode!, type: res.headers["content-type"], vary: res.headers.vary, text }),
      );
    })
      .on("error", reject)
      .end();
  });
}

/** `promtool check metrics` on a text: its exit status and what it said. Never a skip: missing, it fails the test. */
function promtool(text: string): { status: number | null; said: string } {
  const run = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8", timeout: 60_000 });
  if ((run.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT") {
    throw new Error(
      "promtool is not installed. It comes with Prometheus: on Debian or Ubuntu " +
        "`sudo apt-get install -y --no-install-recommends prometheus` (as .ci/run does); elsewhere unpack a " +
        "release from https://prometheus.io/download/ and put its promtool on PATH.",
    );
  }
  if (run.error) throw run.error;
  return { status: run.status, said: `${run.stdout}${run.stderr}`.trim() };
}

/** A text's sample lines, in order: the same in both formats. */
const samples = (text: string) => text.split("\n").filter((line) => line !== "" && !line.startsWith("#"));

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
    // Queues report at most once a second, so the scrape catches up within about that: the bound is for a busy
    // machine, the wait ends as soon as the figures are in.
    await expect.poll(async () => value(await scrape(), "completed", "m-alpha"), { timeout: 30_000 }).toBe(1);
    await expect.poll(async () => value(await scrape(), "dead_lettered", "m-beta"), { timeout: 30_000 }).toBe(1);
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

  it("counts each queue's groups in gauges (all, open, at their cap, cancelled), with no series per group", async () => {
    expect((await api("PUT", "/v1/queues/m-groups", { group_max_in_flight: 1 })).status).toBe(201);
    const items = ["a", "b", "c"].flatMap((group) => [1, 2].map((item) => ({ item, group: `batch-${group}` })));
    expect((await api("POST", "/v1/queues/m-groups/put", { items })).status).toBe(201);
    const { groups } = (await api("GET", "/v1/queues/m-groups/groups")).json();
    expect(groups).toHaveLength(3);
    expect((await api("POST", "/v1/queues/m-groups/get", { max: 10 })).json().items).toHaveLength(3); // one each
    expect((await api("POST", "/v1/queues/m-groups/groups/batch-c/cancel")).status).toBe(200);
    // The queue reports within about a second of its puts: the bound is for a busy machine.
    const gauges = async () => {
      const parsed = parseOpenMetrics((await metrics(null)).text);
      return ["groups", "groups_open", "groups_at_cap", "groups_cancelled"].map((g) => value(parsed, g, "m-groups"));
    };
    // batch-c, cancelled, still has its delivery out: open, at its cap, cancelled.
    await expect.poll(gauges, { timeout: 30_000 }).toEqual([3, 3, 3, 1]);
    const classic = (await metrics(CLASSIC)).text;
    expect(samples(classic)).toContain('joinable_queues_groups{queue="m-groups"} 3');
    expect(samples(classic)).toContain('joinable_queues_groups_cancelled{queue="m-groups"} 1');
    expect(samples(classic)).toContain('joinable_queues_groups{queue="m-alpha"} 0');
    expect(classic).toMatch(/^# HELP joinable_queues_groups .+$/m);
    expect(samples(classic).filter((line) => line.includes("batch-"))).toEqual([]); // no group names as labels
    expect(promtool(classic)).toEqual({ status: 0, said: "" });
  });

  it("shows a sharded queue once, its figures added up over its shards, with its shard count", async () => {
    expect((await api("PUT", "/v1/queues/m-sharded", { shards: 4 })).status).toBe(201);
    const keys = ["a", "b", "c", "d", "e", "f", "g", "h"];
    expect(new Set(keys.map((k) => shardFor(k, 4))).size).toBeGreaterThan(1); // the keys land on several shards
    for (const k of keys) {
      expect((await api("POST", "/v1/queues/m-sharded/put", { item: k, shard_key: k })).status).toBe(201);
    }
    const { items } = (await api("POST", "/v1/queues/m-sharded/get", { max: 3, block: false })).json();
    expect((await api("POST", "/v1/queues/m-sharded/task_done", { receipt: items[0].receipt })).status).toBe(200);
    const s = (await api("GET", "/v1/queues/m-sharded")).json();
    expect(s).toMatchObject({ shards: 4, qsize: 8 - items.length, unfinished_tasks: 7, puts: 8, completed: 1 });
    const figures = (text: string) => {
      const families = parseOpenMetrics(text);
      const names = ["qsize", "unfinished_tasks", "in_flight", "puts", "completed", "deliveries", "shards"];
      return Object.fromEntries(names.map((f) => [f, value(families, f, "m-sharded")]));
    };
    // Each shard reports within about a second of its last change: the bound is for a busy machine.
    await expect
      .poll(async () => figures((await metrics(null)).text), { timeout: 30_000 })
      .toEqual({
        qsize: s.qsize,
        unfinished_tasks: 7,
        in_flight: s.in_flight,
        puts: 8,
        completed: 1,
        deliveries: s.deliveries,
        shards: 4,
      });
    const text = (await metrics(null)).text;
    const families = parseOpenMetrics(text);
    expect(families.get("joinable_queues_shards")!.type).toBe("gauge");
    expect(value(families, "shards", "m-alpha")).toBe(1);
    // One series per family, under the queue's name: a shard's object name (`m-sharded#1`) is never a label.
    for (const family of families.values()) {
      expect(family.samples.filter((x) => x.labels.queue === "m-sharded").length).toBeLessThanOrEqual(1);
    }
    expect(samples(text).filter((line) => line.includes("#"))).toEqual([]);
    expect(promtool((await metrics(CLASSIC)).text)).toEqual({ status: 0, said: "" });
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

describe("the format, from the Accept header", () => {
  it("is the one the scraper prefers, as Prometheus's client libraries negotiate it; OpenMetrics otherwise", async () => {
    const cases: [accept: string | null, type: string][] = [
      [CLASSIC, CLASSIC_TYPE], // promtool, and Prometheus told `scrape_protocols: [PrometheusText0.0.4]`
      ["text/plain", CLASSIC_TYPE],
      ["TEXT/PLAIN;Version=0.0.4;charset=utf-8", CLASSIC_TYPE],
      ["application/openmetrics-text;q=0.3, text/plain;version=0.0.4;q=0.9", CLASSIC_TYPE],
      ["application/openmetrics-text; version=1.0.0", OPENMETRICS_TYPE],
      // Prometheus 2's own scrape header: OpenMetrics first, the classic format at q=0.5.
      [
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75," +
          "text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
        OPENMETRICS_TYPE,
      ],
      ["text/plain;q=0", OPENMETRICS_TYPE], // q=0 refuses it
      ["text/plain; version=9.9.9", OPENMETRICS_TYPE], // a version of the classic format that is not served
      ["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", OPENMETRICS_TYPE], // a browser
      ["*/*", OPENMETRICS_TYPE],
      [null, OPENMETRICS_TYPE],
    ];
    for (const [accept, type] of cases) {
      const res = await metrics(accept);
      // Vary names Accept, so that no cache answers one scraper's format to another (CORS adds Origin).
      const vary = res.vary?.split(/,\s*/).includes("Accept");
      expect({ accept, status: res.status, type: res.type, vary }).toEqual({ accept, status: 200, type, vary: true });
      expect(res.text.endsWith("# EOF\n"), `${accept}: only OpenMetrics ends with # EOF`).toBe(
        type === OPENMETRICS_TYPE,
      );
    }
  });

  it("answers the classic format with the same families and figures, and promtool check metrics passes on it", async () => {
    expect((await api("PUT", "/v1/queues/m-push", {})).status).toBe(201);
    const push = { push: { url: "http://127.0.0.1:9/push", paused: true } }; // nothing listens on port 9
    expect((await api("PATCH", "/v1/queues/m-push", push)).status).toBe(200);
    await api("POST", "/v1/queues/m-push/put", { item: "held back" });
    // Two scrapes agree once every queue has reported and the catalog knows them all (it asks unknown ones itself).
    let [open, classic] = ["", ""];
    await expect
      .poll(
        async () => {
          [open, classic] = await Promise.all([metrics(null), metrics(CLASSIC)]).then((r) => r.map((x) => x.text));
          const figures = parseOpenMetrics(open);
          const ready =
            value(figures, "puts", "m-push") === 1 &&
            figures.get("joinable_queues_unreported_queues")?.samples[0]?.value === 0;
          return ready && samples(open).join("\n") === samples(classic).join("\n");
        },
        { timeout: 30_000 }, // a bound for a busy machine: queues report within about a second
      )
      .toBe(true);
    expect(samples(classic)).toContain('joinable_queues_push_failures_total{queue="m-push"} 0');
    expect(samples(classic)).toContain('joinable_queues_puts_total{queue="m-push"} 1');
    // The classic format names a counter's family as its samples (`_total`); OpenMetrics without; only it ends EOF.
    const types = (text: string) => text.split("\n").filter((line) => line.startsWith("# TYPE "));
    expect(types(classic)).toEqual(
      types(open).map((line) => line.replace(/^(# TYPE \S+) counter$/, "$1_total counter")),
    );
    expect(classic).not.toMatch(/# EOF/);
    expect(open.endsWith("\n# EOF\n")).toBe(true);
    expect(promtool(classic)).toEqual({ status: 0, said: "" });
  });

  it("promtool is the real linter: it refuses what a scraper would warn of", () => {
    // A counter without `_total`, and without HELP: what an OpenMetrics answer looks like to the classic parser.
    const lint = promtool("# TYPE joinable_queues_puts counter\njoinable_queues_puts 1\n");
    expect(lint.status).not.toBe(0);
    expect(lint.said).toMatch(/_total/);
  });
});
