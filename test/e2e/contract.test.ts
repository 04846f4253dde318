// The served OpenAPI document is the contract: it lints clean, and every real answer of every operation (successes
// and the problem statuses) validates against it with a JSON Schema 2020-12 validator, so the two cannot drift.
import { createConfig, lintFromString } from "@redocly/openapi-core";
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, expect, it } from "vitest";
import { serve } from "./server.ts";

const ADMIN = "contract-admin-secret-0123456789abcdef";
type Answer = { $ref?: string; content?: Record<string, { schema: object }> };
type Operation = { operationId: string; responses: Record<string, Answer> };
type Doc = { paths: Record<string, Record<string, Operation>>; components: { responses: Record<string, Answer> } };

let server: Awaited<ReturnType<typeof serve>>;
let doc: Doc;
let ajv: Ajv2020;
/** operationId → statuses seen and validated. */
const seen = new Map<string, Set<number>>();

beforeAll(async () => {
  const push = { PUSH_ORIGINS: "http://127.0.0.1" }; // push and callbacks to a port where nothing listens
  server = await serve("plain", { ADMIN_TOKEN: ADMIN, MAX_WAIT_SECONDS: "1", MAX_WAITERS: "1", ...push });
  doc = (await (await fetch(`${server.url}/v1/openapi.json`)).json()) as Doc;
  ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ $id: "api", ...doc }); // the document's own `#/components/...` refs resolve inside it
});
afterAll(() => server?.stop());

const pointer = (...parts: string[]) =>
  parts.map((p) => encodeURIComponent(p.replace(/~/g, "~0").replace(/\//g, "~1"))).join("/");

/** The operation a concrete path and method answer for (matched against the documented templates), and its pointer. */
function operation(method: string, path: string): { op: Operation; at: string } {
  for (const [template, ops] of Object.entries(doc.paths)) {
    const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`);
    const op = ops[method.toLowerCase()];
    if (pattern.test(path) && op) return { op, at: pointer("paths", template, method.toLowerCase(), "responses") };
  }
  throw new Error(`${method} ${path} is not in the document`);
}

/** Calls the service and validates the answer against the document's schema for its operation and status. */
async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const auth: Record<string, string> = "authorization" in headers ? {} : { authorization: `Bearer ${ADMIN}` };
  const init = {
    method,
    headers: { ...auth, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
  };
  const res = await fetch(`${server.url}${path}`, {
    ...init,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const { op, at } = operation(method, path.split("?")[0]!);
  const documented = op.responses[String(res.status)];
  expect(documented, `${op.operationId} answered ${res.status}, which is not documented`).toBeDefined();
  const [response, where] = documented!.$ref
    ? [doc.components.responses[documented!.$ref.split("/").pop()!]!, documented!.$ref.slice(2)]
    : [documented!, `${at}/${res.status}`];
  const text = await res.text();
  const type = res.headers.get("content-type")?.split(";")[0];
  if (!response.content) expect(text, `${op.operationId} ${res.status} documents no body`).toBe("");
  else {
    const media = response.content[type!];
    expect(media, `${op.operationId} ${res.status} answered ${type}, not documented`).toBeDefined();
    const validate = ajv.getSchema(`api#/${where}/content/${pointer(type!)}/schema`)!;
    // JSON answers are validated as values; a text answer (the OpenMetrics exposition) as the string it is.
    const json = type!.endsWith("json") ? JSON.parse(text) : text;
    expect(validate(json), `${op.operationId} ${res.status}: ${ajv.errorsText(validate.errors)}\n${text}`).toBe(true);
  }
  seen.set(op.operationId, (seen.get(op.operationId) ?? new Set()).add(res.status));
  const json = type?.endsWith("json") ?? false;
  return { status: res.status, headers: res.headers, body: text ? (json ? JSON.parse(text) : text) : undefined };
}

it("lints clean with Redocly's recommended rules", async () => {
  // A license is the owners' decision, not the contract's: that one rule is off until they make it.
  const config = await createConfig({ extends: ["recommended"], rules: { "info-license": "off" } });
  const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: "openapi.json", config });
  expect(problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`)).toEqual([]);
});

it("every operation's real answers validate against the served document", async () => {
  const q = "/v1/queues/contract";
  expect((await call("PUT", q, { lease_seconds: 5, max_deliveries: 2 })).status).toBe(201);
  expect((await call("PUT", q, { lease_seconds: 5, max_deliveries: 2 })).status).toBe(200);
  await call("GET", q);
  await call("PATCH", q, { maxsize: 100 });
  expect((await call("PATCH", q, { push: { url: "http://127.0.0.1:9/push", paused: true } })).status).toBe(200);
  const callback = (await call("POST", `${q}/join_callbacks`, { url: "http://127.0.0.1:9/done" })).body;
  expect((await call("DELETE", `${q}/join_callbacks/${callback.id}`)).status).toBe(204);
  expect((await call("POST", `${q}/webhook_secret`)).status).toBe(200);
  await call("GET", q);
  await call("PATCH", q, { push: null });
  await call("GET", "/v1/queues?limit=10");
  const key = { "idempotency-key": "k-1" };
  expect((await call("POST", `${q}/put`, { item: { job: 1 } }, key)).status).toBe(201);
  expect((await call("POST", `${q}/put`, { item: { job: 1 } }, key)).headers.get("idempotent-replayed")).toBe("true");
  await call("POST", `${q}/put`, { items: [{ item: 2 }, { item: [3] }, { item: "4" }] });
  const one = (await call("POST", `${q}/get`, {})).body;
  await call("POST", `${q}/extend`, { receipt: one.receipt, lease_seconds: 10 });
  await call("POST", `${q}/task_done`, { receipt: one.receipt });
  const batch = (await call("POST", `${q}/get`, { max: 3 })).body.items;
  await call("POST", `${q}/release`, { receipt: batch[0].receipt });
  await call("POST", `${q}/task_done`, { receipts: batch.slice(1).map((d: { receipt: string }) => d.receipt) });
  const again = (await call("POST", `${q}/get`, {})).body;
  expect((await call("POST", `${q}/release`, { receipt: again.receipt })).body.dead_lettered).toBe(true);
  expect((await call("GET", `${q}/dead_letters?limit=5`)).body.items).toHaveLength(1);
  await call("POST", `${q}/dead_letters/redrive`, {});
  await call("POST", `${q}/get`, {}).then((d) => call("POST", `${q}/task_done`, { receipt: d.body.receipt }));
  await call("DELETE", `${q}/dead_letters`);
  expect((await call("POST", `${q}/join`, { timeout: 0 })).body.drained).toBe(true);
  // Groups: a grouped put and its delivery, one group's join and counters, the list, and an unknown group's 404.
  await call("POST", `${q}/put`, { items: [{ item: 5 }, { item: 6, group: "other" }], group: "g" });
  const grouped = (await call("POST", `${q}/get`, {})).body;
  expect(grouped.group).toBe("g");
  expect((await call("POST", `${q}/join`, { group: "g", timeout: 0 })).body).toMatchObject({ drained: false });
  expect((await call("GET", `${q}/groups/g`)).body.unfinished_tasks).toBe(1);
  expect((await call("GET", `${q}/groups?limit=1`)).body.next).toBe("g");
  expect((await call("GET", `${q}/groups/unknown`)).status).toBe(404);
  await call("POST", `${q}/task_done`, { receipt: grouped.receipt });
  await call("POST", `${q}/get`, {}).then((d) => call("POST", `${q}/task_done`, { receipt: d.body.receipt }));
  // A group's settings, its cancel with a delivery out (told to its heartbeat and task_done), its 410 put and join.
  expect((await call("PATCH", `${q}/groups/c`, { weight: 2, max_in_flight: 1 })).body.weight).toBe(2);
  await call("POST", `${q}/put`, { items: [{ item: 7 }, { item: 8 }], group: "c" });
  const held = (await call("POST", `${q}/get`, {})).body;
  expect((await call("POST", `${q}/groups/c/cancel`)).body).toMatchObject({ cancelled: 1, in_flight: 1 });
  expect((await call("POST", `${q}/put`, { item: 9, group: "c" })).status).toBe(410);
  expect((await call("POST", `${q}/extend`, { receipt: held.receipt, lease_seconds: 30 })).body.cancelled).toBe(true);
  expect((await call("POST", `${q}/task_done`, { receipt: held.receipt })).body.cancelled).toBe(true);
  expect((await call("POST", `${q}/join`, { group: "c" })).body.cancelled).toBe(1);
  expect((await call("PATCH", q, { dispatch: "fair", group_max_in_flight: 3 })).body.dispatch).toBe("fair");
  await call("GET", `${q}/ws`);
  const ticket = (await call("POST", `${q}/ws-ticket`)).body;
  const socket = new WebSocket(`${server.url.replace(/^http/, "ws")}${ticket.url}`);
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve);
    socket.addEventListener("error", reject);
  });
  socket.close();
  seen.get("subscribe")!.add(101);
  // Observing: peek at each state, the catalog's feed (described, then opened with its ticket), the metrics.
  for (const state of ["leased", "ready", "delayed"]) await call("GET", `${q}/items?state=${state}&limit=5`);
  await call("GET", "/v1/catalog/ws");
  const feedTicket = (await call("POST", "/v1/catalog/ws-ticket")).body;
  const feed = new WebSocket(`${server.url.replace(/^http/, "ws")}${feedTicket.url}`);
  await new Promise((resolve, reject) => {
    feed.addEventListener("open", resolve);
    feed.addEventListener("error", reject);
  });
  feed.close();
  seen.get("subscribeCatalog")!.add(101);
  expect((await call("GET", "/v1/metrics")).body).toMatch(/# EOF\n$/);
  const classic = await call("GET", "/v1/metrics", undefined, { accept: "text/plain; version=0.0.4" });
  expect(classic.body).not.toMatch(/# EOF/); // the classic text, validated against its own media type above
  const issued = (await call("POST", "/v1/tokens", { queues: ["contract"], rights: ["observe"], label: "contract" }))
    .body;
  await call("GET", "/v1/tokens");
  await call("POST", `${q}/shutdown`, { immediate: false });
  await call("DELETE", q);
  await call("DELETE", `/v1/tokens/${issued.id}`);
  // A sharded queue answers in the same shapes (its stats with `shards`).
  const sharded = "/v1/queues/contract-sharded";
  expect((await call("PUT", sharded, { shards: 3 })).body).toMatchObject({ shards: 3 });
  await call("POST", `${sharded}/put`, { items: [{ item: 1 }, { item: 2 }], shard_key: "k", group: "g" });
  const job = (await call("POST", `${sharded}/get`, { block: false })).body;
  await call("GET", `${sharded}/items?state=leased`);
  await call("GET", `${sharded}/groups`);
  await call("GET", `${sharded}/groups/g`);
  await call("PATCH", `${sharded}/groups/g`, { weight: 3 });
  await call("POST", `${sharded}/task_done`, { receipt: job.receipt });
  await call("POST", `${sharded}/join`, { timeout: 0 });
  await call("POST", `${sharded}/groups/g/cancel`);
  await call("GET", sharded);
  await call("DELETE", sharded);
  const missing = Object.values(doc.paths)
    .flatMap((ops) => Object.values(ops))
    .map((o) => o.operationId)
    .filter((id) => !seen.has(id));
  expect(missing).toEqual([]);
});

it("every kind of problem validates against the served document", async () => {
  const q = "/v1/queues/problems";
  await call("PUT", q, { maxsize: 1 });
  const observer = (await call("POST", "/v1/tokens", { queues: ["problems"], rights: ["observe"] })).body.token;
  const statuses = [
    await call("POST", `${q}/put`, { item: 1, timeout: -1 }), // 400
    await call("GET", q, undefined, { authorization: "Bearer nope" }), // 401
    await call("POST", `${q}/put`, { item: 1 }, { authorization: `Bearer ${observer}` }), // 403
    await call("GET", "/v1/queues/absent"), // 404
    await call("POST", `${q}/get`, { block: false }), // 409 empty
    await call("POST", `${q}/put`, "x".repeat(2 * 1024 * 1024)), // 413
    await call("POST", `${q}/put`, { item: 1 }, { "content-type": "text/plain" }), // 415
  ].map((r) => r.status);
  // One waiting getter is this server's cap: a second waiting call answers 429.
  const waiting = call("POST", `${q}/get`, { timeout: 3 });
  await new Promise((r) => setTimeout(r, 300));
  statuses.push((await call("POST", `${q}/get`, { timeout: 3 })).status);
  await call("POST", `${q}/shutdown`, { immediate: true });
  statuses.push((await waiting).status, (await call("POST", `${q}/put`, { item: 1 })).status); // 410, 410
  expect(statuses).toEqual([400, 401, 403, 404, 409, 413, 415, 429, 410, 410]);
});
