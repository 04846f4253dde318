// The HTTP API: Hono routes, validated by zod at the edge, each a thin call into the queue's Durable Object.
import { createRoute, OpenAPIHono, type RouteConfig, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import type { Outcome } from "./core/types.ts";
import { LIMITS } from "./limits.ts";
import { ObjectUnavailable, rpc } from "./rpc.ts";
import type { CatalogObject } from "./catalog-object.ts";
import type { QueueObject } from "./queue-object.ts";
import { PROBLEM_CODES, problem, type ProblemCode } from "./problems.ts";
import * as S from "./schemas.ts";

type App = { Bindings: Env };
type Ctx = Context<App>;

export const app = new OpenAPIHono<App>({
  defaultHook: (result, c) => {
    if (result.success) return;
    const where = { json: "body", param: "path", query: "query" }[result.target as string] ?? result.target;
    return problem("invalid_request", `invalid ${where}: ${S.describeIssues(result.error)}`, c.req.path);
  },
});

app.openAPIRegistry.register("Problem", S.Problem);
app.openAPIRegistry.registerComponent("responses", "Problem", {
  description: `An RFC 9457 problem document. \`code\` is one of: ${PROBLEM_CODES.join(", ")}.`,
  content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
});
// Every route may answer these with a problem document (which ones, and why, is in the README's error table).
const ref = { $ref: "#/components/responses/Problem" } as const;
const problems = { 400: ref, 401: ref, 404: ref, 409: ref, 410: ref, 413: ref, 415: ref, 503: ref } as const;

app.use("/v1/*", bodyLimit({
  maxSize: LIMITS.maxBodyBytes,
  onError: (c) => problem("payload_too_large", `a request body may be at most ${LIMITS.maxBodyBytes} bytes`, c.req.path),
}));

// Optional bearer token: set the API_TOKEN secret to require it; without one (local dev) the API is open.
app.use("/v1/queues*", async (c, next) => {
  const token = c.env.API_TOKEN;
  if (token && !sameSecret(c.req.header("authorization") ?? "", `Bearer ${token}`)) {
    return problem("unauthorized", "send 'Authorization: Bearer <API_TOKEN>'", c.req.path, { "www-authenticate": "Bearer" });
  }
  await next();
});

/** Compares in constant time, so response timing does not reveal how much of a guessed token was right. */
function sameSecret(given: string, expected: string): boolean {
  const [a, b] = [new TextEncoder().encode(given), new TextEncoder().encode(expected)];
  return a.byteLength === b.byteLength && crypto.subtle.timingSafeEqual(a, b);
}

app.onError((err, c) => {
  if (err instanceof HTTPException) {
    const code: ProblemCode = err.status === 415 ? "unsupported_media_type" : err.status === 413 ? "payload_too_large" : "invalid_request";
    const detail = code === "unsupported_media_type" ? "send the body as 'Content-Type: application/json'" : err.message;
    return problem(code, detail, c.req.path);
  }
  if (err instanceof ObjectUnavailable) {
    const detail = err.overloaded
      ? "the queue's object is overloaded; back off before retrying"
      : "the queue's object restarted during the call; retry (puts with an idempotency key retry safely)";
    return problem("unavailable", detail, c.req.path, err.overloaded ? {} : { "retry-after": "1" });
  }
  console.error(err);
  return problem("internal", "an internal error occurred", c.req.path);
});

app.notFound((c) => problem("not_found", `no route ${c.req.method} ${c.req.path}; see /v1/openapi.json`, c.req.path));

const queueObject = (c: Ctx, name: string) => rpc<QueueObject>(c.env.QUEUES.get(c.env.QUEUES.idFromName(name)));
const catalog = (c: Ctx) => rpc<CatalogObject>(c.env.CATALOG.get(c.env.CATALOG.idFromName("catalog")));

/** A success answer, or the outcome's problem document. */
function reply<T extends object>(c: Ctx, outcome: Outcome<T>, status = 200, body: (o: T) => unknown = (o) => o): Response {
  if (!outcome.ok) return problem(outcome.code, outcome.message, c.req.path);
  const { ok: _, ...rest } = outcome;
  return c.json(body(rest as unknown as T) as object, status as 200);
}

/**
 * Runs a call that may wait, under an id the object can withdraw it by if the client disconnects. Locally the
 * runtime never fires `request.signal` on disconnect, so this is only an optimisation: leases are the guarantee.
 */
async function waiting<T>(c: Ctx, name: string, call: (waiter: string) => Promise<T>): Promise<T> {
  const waiter = crypto.randomUUID();
  const withdraw = () => void queueObject(c, name).withdraw(waiter).catch(() => undefined); // best effort
  c.req.raw.signal.addEventListener("abort", withdraw, { once: true });
  try {
    return await call(waiter);
  } finally {
    c.req.raw.signal.removeEventListener("abort", withdraw);
  }
}

const json = <T extends z.ZodType>(schema: T, required = false) =>
  ({ body: { content: { "application/json": { schema } }, required } }) as const;
const ok = <T extends z.ZodType>(description: string, schema: T) =>
  ({ description, content: { "application/json": { schema } } }) as const;
const route = <R extends RouteConfig>(r: R) =>
  createRoute({ ...r, responses: { ...r.responses, ...problems } } as R & { responses: typeof problems });
const named = { params: S.NameParams };
const opt = <T>(v: T | null | undefined): T | undefined => v ?? undefined;

const queuePath = "/v1/queues/{name}";

app.openapi(
  route({ method: "get", path: "/v1/queues", summary: "List queues", request: { query: S.ListQuery }, responses: { 200: ok("Queues in name order", z.object({ queues: z.array(S.QueueConfigBody.extend({ name: z.string(), created_at: z.string() })), next: z.string().nullable() })) } }),
  async (c) => {
    const { limit, after } = c.req.valid("query");
    const queues = await catalog(c).list(limit, after);
    return c.json({ queues, next: queues.length === limit ? queues.at(-1)!.name : null }, 200);
  },
);

app.openapi(
  route({ method: "put", path: queuePath, summary: "Create a queue (idempotent)", request: { ...named, ...json(S.QueueConfigBody) }, responses: { 201: ok("Created", S.Stats), 200: ok("Already existed with this configuration", S.Stats) } }),
  async (c) => {
    const { name } = c.req.valid("param");
    const config = S.QueueConfigBody.parse(c.req.valid("json") ?? {});
    const created = await queueObject(c, name).create(config);
    if (!created.ok) return problem(created.code, created.message, c.req.path);
    await catalog(c).add(name, config);
    return reply(c, await queueObject(c, name).stats(), created.created ? 201 : 200, (o) => ({ name, ...o.stats }));
  },
);

app.openapi(
  route({ method: "get", path: queuePath, summary: "Exact statistics of a queue", request: named, responses: { 200: ok("Stats", S.Stats) } }),
  async (c) => {
    const { name } = c.req.valid("param");
    return reply(c, await queueObject(c, name).stats(), 200, (o) => ({ name, ...o.stats }));
  },
);

app.openapi(
  route({ method: "delete", path: queuePath, summary: "Delete a queue and all its items", request: named, responses: { 204: { description: "Deleted" } } }),
  async (c) => {
    const { name } = c.req.valid("param");
    const existed = await queueObject(c, name).destroy();
    const listed = await catalog(c).remove(name);
    return existed || listed ? c.body(null, 204) : problem("not_found", `no queue named '${name}'`, c.req.path);
  },
);

app.openapi(
  route({ method: "post", path: `${queuePath}/put`, summary: "put / put_nowait (one item or a batch)", request: { ...named, ...json(S.PutBody, true) }, responses: { 201: ok("Added", z.object({ id: z.number().int().optional(), ids: z.array(z.number().int()).optional(), replayed: z.boolean() })) } }),
  async (c) => {
    const { name } = c.req.valid("param");
    const body = c.req.valid("json");
    const header = c.req.header("idempotency-key");
    if (header !== undefined && body.idempotency_key !== undefined && header !== body.idempotency_key) {
      return problem("invalid_request", "the Idempotency-Key header and the body's idempotency_key differ", c.req.path);
    }
    const key = header ?? body.idempotency_key;
    if (key !== undefined && (key.length === 0 || key.length > LIMITS.maxIdempotencyKeyLength)) {
      return problem("invalid_request", `an idempotency key is 1-${LIMITS.maxIdempotencyKeyLength} characters`, c.req.path);
    }
    const entries = body.items ?? [{ item: body.item, priority: body.priority }];
    const items = entries.map((e) => ({ json: JSON.stringify(e.item), priority: e.priority }));
    const big = items.findIndex((i) => new TextEncoder().encode(i.json).length > LIMITS.maxItemBytes);
    if (big >= 0) return problem("payload_too_large", `item ${big} is larger than ${LIMITS.maxItemBytes} bytes of JSON`, c.req.path);
    const outcome = await waiting(c, name, (waiter) =>
      queueObject(c, name).put({ items, block: body.block, timeout: opt(body.timeout), delay: body.delay, idempotency_key: key, waiter }),
    );
    const response = reply(c, outcome, 201, (o) => (body.items ? { ids: o.ids, replayed: o.replayed } : { id: o.ids[0], replayed: o.replayed }));
    if (outcome.ok && outcome.replayed) response.headers.set("idempotent-replayed", "true");
    return response;
  },
);

app.openapi(
  route({ method: "post", path: `${queuePath}/get`, summary: "get / get_nowait (one item, or a batch with max)", request: { ...named, ...json(S.GetBody) }, responses: { 200: ok("Delivered", z.union([S.Delivery, z.object({ items: z.array(S.Delivery) })])) } }),
  async (c) => {
    const { name } = c.req.valid("param");
    const body = S.GetBody.parse(c.req.valid("json") ?? {});
    const outcome = await waiting(c, name, (waiter) =>
      queueObject(c, name).get({ block: body.block, timeout: opt(body.timeout), max: body.max, lease_seconds: body.lease_seconds, waiter }),
    );
    return reply(c, outcome, 200, (o) => (body.max === undefined ? o.deliveries[0] : { items: o.deliveries }));
  },
);

app.openapi(
  route({ method: "post", path: `${queuePath}/task_done`, summary: "task_done (with a receipt: exactly that delivery)", request: { ...named, ...json(S.TaskDoneBody) }, responses: { 200: ok("Done", z.object({ unfinished_tasks: z.number().int(), replayed: z.boolean() })) } }),
  async (c) => {
    const { name } = c.req.valid("param");
    const body = S.TaskDoneBody.parse(c.req.valid("json") ?? {});
    return reply(c, await queueObject(c, name).taskDone(body.receipt));
  },
);

app.openapi(
  route({ method: "post", path: `${queuePath}/join`, summary: "join, with an optional timeout", request: { ...named, ...json(S.JoinBody) }, responses: { 200: ok("Drained, or the timeout passed", S.JoinResult) } }),
  async (c) => {
    const { name } = c.req.valid("param");
    const body = S.JoinBody.parse(c.req.valid("json") ?? {});
    return reply(c, await waiting(c, name, (waiter) => queueObject(c, name).join({ timeout: opt(body.timeout), waiter })));
  },
);

app.openapi(
  route({ method: "post", path: `${queuePath}/shutdown`, summary: "shutdown(immediate)", request: { ...named, ...json(S.ShutdownBody) }, responses: { 200: ok("Shut down", S.Stats) } }),
  async (c) => {
    const { name } = c.req.valid("param");
    const body = S.ShutdownBody.parse(c.req.valid("json") ?? {});
    return reply(c, await queueObject(c, name).shutdown(body.immediate), 200, (o) => ({ name, ...o.stats }));
  },
);

app.openapi(
  route({ method: "post", path: `${queuePath}/extend`, summary: "Extend a lease (heartbeat)", request: { ...named, ...json(S.ExtendBody, true) }, responses: { 200: ok("Extended", z.object({ lease_expires_at: z.number() })) } }),
  async (c) => {
    const { name } = c.req.valid("param");
    const body = c.req.valid("json");
    return reply(c, await queueObject(c, name).extend(body.receipt, body.lease_seconds));
  },
);

app.openapi(
  route({ method: "post", path: `${queuePath}/release`, summary: "Release a leased item (nack), optionally after a delay", request: { ...named, ...json(S.ReleaseBody, true) }, responses: { 200: ok("Released", z.object({ dead_lettered: z.boolean() })) } }),
  async (c) => {
    const { name } = c.req.valid("param");
    const body = c.req.valid("json");
    return reply(c, await queueObject(c, name).release(body.receipt, body.delay));
  },
);

app.openapi(
  route({ method: "get", path: `${queuePath}/dead_letters`, summary: "Read dead letters", request: { ...named, query: S.LimitQuery }, responses: { 200: ok("Dead letters, oldest first", z.object({ items: z.array(S.Delivery) })) } }),
  async (c) => {
    const { name } = c.req.valid("param");
    return reply(c, await queueObject(c, name).deadLetters(c.req.valid("query").limit));
  },
);

app.openapi(
  route({ method: "post", path: `${queuePath}/dead_letters/redrive`, summary: "Put dead letters back into the queue", request: { ...named, ...json(S.RedriveBody) }, responses: { 200: ok("Redriven", z.object({ ids: z.array(z.number().int()) })) } }),
  async (c) => {
    const { name } = c.req.valid("param");
    const body = S.RedriveBody.parse(c.req.valid("json") ?? {});
    return reply(c, await queueObject(c, name).redrive(body.limit));
  },
);

app.openapi(
  route({ method: "delete", path: `${queuePath}/dead_letters`, summary: "Purge dead letters", request: named, responses: { 200: ok("Purged", z.object({ purged: z.number().int() })) } }),
  async (c) => {
    const { name } = c.req.valid("param");
    return reply(c, await queueObject(c, name).purgeDeadLetters());
  },
);

app.openapi(
  route({ method: "get", path: `${queuePath}/ws`, summary: "WebSocket: subscribe to join and to live stats", request: named, responses: { 101: { description: "Switching protocols" } } }),
  async (c) => {
    const { name } = c.req.valid("param");
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      return problem("invalid_request", "this endpoint needs a WebSocket upgrade ('Upgrade: websocket')", c.req.path);
    }
    const response = await queueObject(c, name).fetch(c.req.raw);
    return response.status === 404 ? problem("not_found", `no queue named '${name}'`, c.req.path) : response;
  },
);

app.doc31("/v1/openapi.json", {
  openapi: "3.1.0",
  info: { title: "Joinable queues", version: "1.0.0", description: "Python's queue.Queue (put / get / task_done / join) as an HTTP service." },
});

app.get("/", (c) => c.json({ service: "joinable-queues", openapi: "/v1/openapi.json", queues: "/v1/queues" }));
