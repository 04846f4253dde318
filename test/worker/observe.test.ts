// Observing without touching: peek at items, the headlines queues report to the catalog (at most once a second, no
// row written), the catalog's live feed over one socket, and /v1/metrics answered from it.
import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { CatalogObject } from "../../src/objects/catalog/catalog-object.ts";
import { call, createQueue, expectProblem, op, raw, stats, subscribe, uniqueName, until } from "./helpers.ts";

const peek = (name: string, query: string) => call("GET", `/v1/queues/${name}/items?${query}`);
const catalogStub = () => env.CATALOG.get(env.CATALOG.idFromName("catalog"));

/** The catalog's entry for one queue, as /v1/metrics would answer it: its shard count and headline. */
const shown = async (name: string) =>
  (await runInDurableObject(catalogStub(), (o: CatalogObject) => o.headlines())).find((q) => q.name === name);
const known = async (name: string) => (await shown(name))?.headline ?? null;

/** What the catalog's `report` did for one queue: how often it ran, and the rows it wrote while running. */
type Counts = { reports: number; rows: number };
type Instrumented = { counts: Counts; report: CatalogObject["report"]; exec: SqlStorage["exec"] };
const slot = globalThis as { observed?: Instrumented };

/**
 * Wraps the catalog's report (on the prototype: the runtime dispatches RPC calls to the class's methods, not an
 * instance's own) and its SQL, counting rows written only inside a report: other test files create queues at once.
 */
function instrument(o: CatalogObject, state: DurableObjectState, name: string): void {
  const proto = Object.getPrototypeOf(o) as CatalogObject;
  const saved: Instrumented = { counts: { reports: 0, rows: 0 }, report: proto.report, exec: state.storage.sql.exec };
  let reporting = false;
  state.storage.sql.exec = function (this: SqlStorage, query: string, ...params: SqlStorageValue[]) {
    const cursor = saved.exec.call(this, query, ...params);
    if (!reporting) return cursor;
    const rows = cursor.toArray();
    saved.counts.rows += cursor.rowsWritten;
    return { toArray: () => rows, one: () => rows[0], rowsWritten: cursor.rowsWritten } as never;
  } as SqlStorage["exec"];
  proto.report = function (this: CatalogObject, n, h) {
    if (n !== name) return saved.report.call(this, n, h);
    saved.counts.reports++;
    reporting = true;
    try {
      return saved.report.call(this, n, h);
    } finally {
      reporting = false;
    }
  };
  slot.observed = saved;
}

function restore(o: CatalogObject, state: DurableObjectState): Counts {
  const saved = slot.observed!;
  (Object.getPrototypeOf(o) as CatalogObject).report = saved.report;
  state.storage.sql.exec = saved.exec;
  return saved.counts;
}

describe("peek", () => {
  it("shows leased, ready and delayed items with their deliveries, and changes no counter", async () => {
    const name = await createQueue({ lease_seconds: 60 });
    await op(name, "put", '{"items": [{"item": {"n": 1.0}}, {"item": "second"}, {"item": [3]}]}');
    await op(name, "put", { item: "later", delay: 600 });
    const got = (await op(name, "get")).body!;
    const before = await stats(name);
    const leased = await raw("GET", `/v1/queues/${name}/items?state=leased`);
    expect(await leased.text()).toContain(`"item":{"n": 1.0}`); // the very text that was put
    const [l, r, d] = await Promise.all(["leased", "ready", "delayed"].map((s) => peek(name, `state=${s}`)));
    expect(l!.body!.items).toEqual([
      {
        id: got.id,
        item: { n: 1 },
        priority: 0,
        state: "leased",
        deliveries: 1,
        lease_expires_at: got.lease_expires_at,
        visible_at: null,
        put_at: expect.any(Number),
        leased_at: expect.any(Number),
      },
    ]);
    const [held] = l!.body!.items;
    expect(held.put_at).toBeLessThanOrEqual(held.leased_at); // put, then taken: its age and how long it is held
    expect(held.leased_at).toBeLessThanOrEqual(Date.now());
    expect(held.lease_expires_at - held.leased_at).toBe(60_000);
    expect(r!.body!.items.map((i: { item: unknown }) => i.item)).toEqual(["second", [3]]);
    expect(r!.body!.items[0]).toMatchObject({ state: "ready", deliveries: 0, lease_expires_at: null });
    expect(d!.body!.items).toHaveLength(1);
    expect(d!.body!.items[0].visible_at).toBeGreaterThan(Date.now() + 590_000);
    expect((await peek(name, "state=ready&limit=1")).body!.items).toHaveLength(1);
    expect(await stats(name)).toEqual(before);
    await op(name, "task_done", { receipt: got.receipt });
    expect((await peek(name, "state=leased")).body!.items).toEqual([]);
  });

  it("refuses a missing state, a limit over the cap, and a queue that does not exist", async () => {
    const name = await createQueue();
    await expectProblem(await raw("GET", `/v1/queues/${name}/items`), 400, "invalid_request", /state/);
    await expectProblem(await raw("GET", `/v1/queues/${name}/items?state=ready&limit=101`), 400, "invalid_request");
    await expectProblem(await raw("GET", `/v1/queues/${uniqueName()}/items?state=ready`), 404, "not_found");
  });
});

describe("headlines", () => {
  it("reach the catalog at most once a second, the last state always, and write no row there", async () => {
    const name = await createQueue();
    await runInDurableObject(catalogStub(), (o: CatalogObject, state) => instrument(o, state, name));
    const started = Date.now();
    for (let i = 0; i < 20; i++) {
      await op(name, "put", { item: i });
      const job = (await op(name, "get")).body!;
      if (i % 2 === 0) await op(name, "task_done", { receipt: job.receipt });
    }
    const elapsed = Date.now() - started;
    const final = await stats(name);
    await until(async () => (await known(name))?.completed === final.completed, 3000);
    expect(await known(name)).toMatchObject({
      qsize: final.qsize,
      unfinished_tasks: final.unfinished_tasks,
      in_flight: final.in_flight,
      puts: 20,
      completed: 10,
      deliveries: 20,
    });
    const counts = await runInDurableObject(catalogStub(), (o: CatalogObject, state) => restore(o, state));
    expect(counts.rows).toBe(0);
    expect(counts.reports).toBeGreaterThanOrEqual(1);
    expect(counts.reports).toBeLessThanOrEqual(2 + Math.floor(elapsed / 1000));
  });

  it("a deleted queue's late report does not bring it back", async () => {
    const name = await createQueue();
    await op(name, "put", { item: 1 });
    await until(async () => (await known(name)) !== null);
    await call("DELETE", `/v1/queues/${name}`);
    await runInDurableObject(catalogStub(), (o: CatalogObject) => o.report(name, { ...zeros, at: Date.now() + 1000 }));
    expect(
      (await runInDurableObject(catalogStub(), (o: CatalogObject) => o.headlines())).map((q) => q.name),
    ).not.toContain(name);
  });

  it("a sharded queue is one headline, its shards' added up, whole again after the catalog restarts", async () => {
    const name = await createQueue({ shards: 4 });
    for (const k of ["a", "b", "c", "d", "e", "f", "g", "h"]) await op(name, "put", { item: k, shard_key: k });
    const job = (await op(name, "get", { block: false })).body!;
    await op(name, "task_done", { receipt: job.receipt });
    const figures = { qsize: 7, unfinished_tasks: 7, in_flight: 0, puts: 8, completed: 1, shutdown: false };
    await until(async () => (await known(name))?.completed === 1, 5000);
    expect(await shown(name)).toMatchObject({ shards: 4, headline: figures });
    // A reconfiguration names no shards: the catalog keeps the count it was created with.
    expect((await call("PATCH", `/v1/queues/${name}`, { max_deliveries: 3 })).status).toBe(200);
    expect(await shown(name)).toMatchObject({ shards: 4 });
    // Memory only: after a restart the catalog knows nothing, and asks each shard (a bounded number per call).
    await evictDurableObject(catalogStub());
    await until(async () => (await known(name))?.puts === 8, 5000);
    expect(await known(name)).toMatchObject(figures);
    // Deleted, the queue's shards' late reports do not bring it back.
    await call("DELETE", `/v1/queues/${name}`);
    await runInDurableObject(catalogStub(), (o: CatalogObject) => o.report(`${name}#2`, { ...zeros, at: Date.now() }));
    expect(await shown(name)).toBeUndefined();
  });
});

const zeros = {
  qsize: 0,
  unfinished_tasks: 0,
  in_flight: 0,
  leased: 0,
  delayed: 0,
  dead_lettered: 0,
  deliveries: 0,
  redeliveries: 0,
  puts: 0,
  completed: 0,
  shutdown: false,
  waiting: { getters: 0, putters: 0, joiners: 0 },
  groups: 0,
  groups_open: 0,
  groups_at_cap: 0,
  groups_cancelled: 0,
};

describe("the catalog feed", () => {
  it("pages by prefix, pushes creates, deletes and counters over one socket", async () => {
    const prefix = uniqueName("feed");
    const [a, b] = [await createQueue({}, `${prefix}-a`), await createQueue({}, `${prefix}-b`)];
    const s = await subscribe("", {}, "/v1/catalog/ws");
    const of = (type: string) => s.messages.filter((m) => m.type === type);
    s.send({ op: "page", prefix, limit: 2 });
    await until(async () => of("page").length === 1);
    expect(of("page")[0]).toMatchObject({ prefix, total: 2, next: `${prefix}-b` });
    expect(of("page")[0]!.queues.map((q: { name: string }) => q.name)).toEqual([a, b]);
    await op(a, "put", { item: 1 });
    await until(async () => of("headlines").some((m) => m.queues[a]?.qsize === 1));
    // A new name after a full page is announced, but the page itself stays as it was.
    const c = await createQueue({}, `${prefix}-c`);
    await until(async () => of("created").some((m) => m.name === c));
    s.send({ op: "page", prefix, after: b, limit: 2 });
    await until(async () => of("page").some((m) => m.after === b));
    const last = of("page").at(-1)!;
    expect(last).toMatchObject({ total: 3, next: null });
    expect(last.queues).toEqual([expect.objectContaining({ name: c, headline: expect.objectContaining(zeros) })]);
    await call("DELETE", `/v1/queues/${c}`);
    await until(async () => of("page").at(-1)!.queues.length === 0);
    expect(of("deleted").map((m) => m.name)).toEqual([c]);
    s.send({ op: "page", prefix: "not a prefix" });
    await until(async () => of("error").length === 1);
    expect(of("error")[0]).toMatchObject({ code: "invalid_request", status: 400 });
    s.ws.close();
  });

  it("keeps a hibernated socket's page across the catalog's eviction, and learns the counters again", async () => {
    const prefix = uniqueName("hib");
    const a = await createQueue({}, `${prefix}-a`);
    await op(a, "put", { item: 1 });
    const s = await subscribe("", {}, "/v1/catalog/ws");
    const of = (type: string) => s.messages.filter((m) => m.type === type);
    s.send({ op: "page", prefix });
    await until(async () => of("page").length === 1);
    await evictDurableObject(catalogStub(), { webSockets: "hibernate" });
    // The page lives in the socket's attachment; the counters, kept in memory only, are asked of the queue again.
    const b = await createQueue({}, `${prefix}-b`);
    await until(async () => of("page").some((m) => m.queues.length === 2));
    expect(of("created").map((m) => m.name)).toEqual([b]);
    const shown = async () => {
      const page = of("page")
        .at(-1)!
        .queues.find((q: { name: string }) => q.name === a);
      return page?.headline?.qsize ?? of("headlines").findLast((m) => m.queues[a])?.queues[a]?.qsize;
    };
    await until(async () => (await shown()) === 1);
    s.ws.close();
  });

  it("without an upgrade, describes itself; the metrics answer OpenMetrics text", async () => {
    expect((await call("GET", "/v1/catalog/ws")).body).toMatchObject({ send: expect.any(Array) });
    const name = await createQueue();
    await op(name, "put", { item: 1 });
    await until(async () => (await known(name))?.puts === 1);
    const res = await raw("GET", "/v1/metrics");
    expect(res.headers.get("content-type")).toBe("application/openmetrics-text; version=1.0.0; charset=utf-8");
    // Decoded as its charset says: workerd's .text() warns of any content type it does not know to be text.
    const text = new TextDecoder().decode(await res.arrayBuffer());
    expect(text.endsWith("# EOF\n")).toBe(true);
    expect(text.split("\n")).toContain(`joinable_queues_puts_total{queue="${name}"} 1`);
  });
});
