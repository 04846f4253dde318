// Routes about whole queues: list, create, stats, shutdown, delete.
import { z } from "@hono/zod-openapi";
import { inScope } from "../auth.ts";
import { json, named, ok, queuePath, reply, routes, type Api } from "../http.ts";
import { cap, LIMITS } from "../limits.ts";
import { catalog, queueObject } from "../objects.ts";
import { problem } from "../problems.ts";
import * as S from "../schemas.ts";

const route = routes("Queues");

const QueueList = z.object({ queues: z.array(S.CatalogEntry), next: z.string().nullable() });

const list = route("observe", { operationId: "listQueues", method: "get", path: "/v1/queues", summary: "List queues", request: { query: S.ListQuery }, responses: { 200: ok("Queues in name order", QueueList) } }, "any");
const create = route("admin", { operationId: "createQueue", method: "put", path: queuePath, summary: "Create a queue (idempotent)", request: { ...named, ...json(S.QueueConfigBody) }, responses: { 201: ok("Created", S.Stats), 200: ok("Already existed with this configuration", S.Stats) } });
const stats = route("observe", { operationId: "getStats", method: "get", path: queuePath, summary: "Exact statistics of a queue", request: named, responses: { 200: ok("Stats", S.Stats) } });
const configure = route("admin", { operationId: "configureQueue", method: "patch", path: queuePath, summary: "Change maxsize, lease_seconds or max_deliveries (not order)", request: { ...named, ...json(S.QueueConfigPatch, true) }, responses: { 200: ok("Changed", S.Stats) } });
const shutdown = route("admin", { operationId: "shutdown", method: "post", path: `${queuePath}/shutdown`, summary: "shutdown(immediate)", request: { ...named, ...json(S.ShutdownBody) }, responses: { 200: ok("Shut down", S.Stats) } });
const remove = route("admin", { operationId: "deleteQueue", method: "delete", path: queuePath, summary: "Delete a queue and all its items", request: named, responses: { 204: { description: "Deleted" } } });

export function queueRoutes(app: Api): void {
  // A scoped token sees only the queues in its scope.
  app.openapi(list, async (c) => {
    const { limit, after } = c.req.valid("query");
    const page = await catalog(c.env).list(limit, after);
    const queues = page.filter((q) => inScope(c.get("grant"), q.name));
    return c.json({ queues, next: page.length === limit ? page.at(-1)!.name : null }, 200);
  });

  app.openapi(create, async (c) => {
    const { name } = c.req.valid("param");
    const config = S.QueueConfigBody.parse(c.req.valid("json") ?? {});
    const max = cap(c.env.MAX_QUEUES, LIMITS.maxQueues);
    if (!(await catalog(c.env).admit(name, config, max))) {
      return problem("limit_exceeded", `this deployment already has ${max} queues (the cap): delete some first`, c.req.path);
    }
    const created = await queueObject(c.env, name).create(config);
    if (!created.ok) return problem(created.code, created.message, c.req.path);
    await catalog(c.env).add(name, config);
    return reply(c, await queueObject(c.env, name).stats(), created.created ? 201 : 200, (o) => ({ name, ...o.stats }));
  });

  app.openapi(stats, async (c) => {
    const { name } = c.req.valid("param");
    return reply(c, await queueObject(c.env, name).stats(), 200, (o) => ({ name, ...o.stats }));
  });

  app.openapi(configure, async (c) => {
    const { name } = c.req.valid("param");
    const outcome = await queueObject(c.env, name).configure(c.req.valid("json"));
    if (!outcome.ok) return reply(c, outcome);
    const { maxsize, order, lease_seconds, max_deliveries } = outcome.stats;
    await catalog(c.env).add(name, { maxsize, order, lease_seconds, max_deliveries }); // keeps the listing current
    return c.json({ name, ...outcome.stats }, 200);
  });

  app.openapi(shutdown, async (c) => {
    const { name } = c.req.valid("param");
    const body = S.ShutdownBody.parse(c.req.valid("json") ?? {});
    return reply(c, await queueObject(c.env, name).shutdown(body.immediate), 200, (o) => ({ name, ...o.stats }));
  });

  app.openapi(remove, async (c) => {
    const { name } = c.req.valid("param");
    const existed = await queueObject(c.env, name).destroy();
    const listed = await catalog(c.env).remove(name);
    return existed || listed ? c.body(null, 204) : problem("not_found", `no queue named '${name}'`, c.req.path);
  });
}
