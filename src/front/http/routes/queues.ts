// Routes about whole queues: list, create, stats, shutdown, delete.
import { z } from "@hono/zod-openapi";
import { problem } from "../../../contract/problems.ts";
import { inScope } from "../../../contract/rights.ts";
import * as S from "../../../contract/schemas.ts";
import { configureQueue, createQueue, deleteQueue, listQueues } from "../../operations.ts";
import { queueOf } from "../../queues.ts";
import { type Api, json, named, ok, orDefaults, queuePath, reply, routes } from "../route.ts";
import { pushRoutes } from "./push.ts";

const route = routes("Queues");

const QueueList = z.object({ queues: z.array(S.CatalogEntry), next: z.string().nullable() });

const list = route(
  "observe",
  {
    operationId: "listQueues",
    method: "get",
    path: "/v1/queues",
    summary: "List queues",
    request: { query: S.ListQuery },
    responses: { 200: ok("Queues in name order", QueueList) },
  },
  "any",
);
const create = route("admin", {
  operationId: "createQueue",
  method: "put",
  path: queuePath,
  summary: "Create a queue (idempotent)",
  request: { ...named, ...json(S.QueueConfigBody) },
  responses: { 201: ok("Created", S.Stats), 200: ok("Already existed with this configuration", S.Stats) },
});
const stats = route("observe", {
  operationId: "getStats",
  method: "get",
  path: queuePath,
  summary: "Exact statistics of a queue",
  request: named,
  responses: { 200: ok("Stats", S.Stats) },
});
const configure = route("admin", {
  operationId: "configureQueue",
  method: "patch",
  path: queuePath,
  summary: "Change maxsize, lease_seconds, max_deliveries or push (not order)",
  request: { ...named, ...json(S.QueueConfigPatch, true) },
  responses: { 200: ok("Changed", S.Stats) },
});
const shutdown = route("admin", {
  operationId: "shutdown",
  method: "post",
  path: `${queuePath}/shutdown`,
  summary: "shutdown(immediate)",
  request: { ...named, ...json(S.ShutdownBody) },
  responses: { 200: ok("Shut down", S.Stats) },
});
const remove = route("admin", {
  operationId: "deleteQueue",
  method: "delete",
  path: queuePath,
  summary: "Delete a queue and all its items",
  request: named,
  responses: { 204: { description: "Deleted" } },
});

export function queueRoutes(app: Api): void {
  // A scoped token sees only the queues in its scope.
  app.openapi(list, async (c) => {
    const { limit, after } = c.req.valid("query");
    const page = await listQueues(c.env, limit, after);
    return c.json({ queues: page.queues.filter((q) => inScope(c.get("grant"), q.name)), next: page.next }, 200);
  });

  app.openapi(create, async (c) => {
    const { name } = c.req.valid("param");
    const config = orDefaults(S.QueueConfigBody, c.req.valid("json"));
    const created = await createQueue(c.env, name, config);
    if (!created.ok) return problem(created.code, created.message, c.req.path);
    // The webhook secret is answered this once, when the queue is created with push.
    const secret = created.webhook_secret ? { webhook_secret: created.webhook_secret } : {};
    const status = created.created ? 201 : 200;
    return reply(c, await (await queueOf(c.env, name)).stats(), status, (o) => ({ name, ...o.stats, ...secret }));
  });

  app.openapi(stats, async (c) => {
    const { name } = c.req.valid("param");
    return reply(c, await (await queueOf(c.env, name)).stats(), 200, (o) => ({ name, ...o.stats }));
  });

  app.openapi(configure, async (c) => {
    const { name } = c.req.valid("param");
    const changes = c.req.valid("json");
    const secret = (o: { webhook_secret?: string }) => (o.webhook_secret ? { webhook_secret: o.webhook_secret } : {});
    return reply(c, await configureQueue(c.env, name, changes), 200, (o) => ({ name, ...o.stats, ...secret(o) }));
  });

  app.openapi(shutdown, async (c) => {
    const { name } = c.req.valid("param");
    const body = orDefaults(S.ShutdownBody, c.req.valid("json"));
    return reply(c, await (await queueOf(c.env, name)).shutdown(body.immediate), 200, (o) => ({ name, ...o.stats }));
  });

  pushRoutes(app); // join callbacks and the webhook secret: beside the queue's own routes

  app.openapi(remove, async (c) => {
    const { name } = c.req.valid("param");
    return (await deleteQueue(c.env, name))
      ? c.body(null, 204)
      : problem("not_found", `no queue named '${name}'`, c.req.path);
  });
}
