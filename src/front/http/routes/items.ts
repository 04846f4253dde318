// Routes that move work: put, get, task_done, join, and a lease's extend and release.
import { z } from "@hono/zod-openapi";
import { problem } from "../../../contract/problems.ts";
import { taskDone as done, getRequest, joinRequest, putRequest, type TaskDone } from "../../../contract/requests.ts";
import { NEEDS } from "../../../contract/rights.ts";
import * as S from "../../../contract/schemas.ts";
import { queueOf } from "../../queues.ts";
import { type Api, deliveries, json, named, ok, orDefaults, queuePath, reply, routes, waiting } from "../route.ts";

const route = routes("Items");

const Added = z.object({
  id: z.number().int().optional(),
  ids: z.array(z.number().int()).optional(),
  replayed: z.boolean(),
});
const Delivered = z.union([S.Delivery, z.object({ items: z.array(S.Delivery) })]);
const Cancelled = z
  .literal(true)
  .optional()
  .openapi({ description: "Present when the delivery's group was cancelled: its work may be abandoned." });
const Done = z.object({ unfinished_tasks: z.number().int(), replayed: z.boolean(), cancelled: Cancelled });

const replayedHeader = z.object({
  "idempotent-replayed": z.literal("true").optional().openapi({ description: "Present on a replayed put." }),
});
const put = route(NEEDS.put, {
  operationId: "put",
  method: "post",
  path: `${queuePath}/put`,
  summary: "put / put_nowait (one item or a batch)",
  request: { ...named, headers: S.IdempotencyHeader, ...json(S.PutBody, true) },
  responses: { 201: { ...ok("Added", Added), headers: replayedHeader } },
});
const get = route(NEEDS.get, {
  operationId: "get",
  method: "post",
  path: `${queuePath}/get`,
  summary: "get / get_nowait (one item, or a batch with max)",
  request: { ...named, ...json(S.GetBody) },
  responses: { 200: ok("Delivered", Delivered) },
});
const taskDone = route(NEEDS.task_done, {
  operationId: "taskDone",
  method: "post",
  path: `${queuePath}/task_done`,
  summary: "task_done (with a receipt: exactly that delivery; with receipts: each of them)",
  request: { ...named, ...json(S.TaskDoneBody) },
  responses: { 200: ok("Done", z.union([Done, S.TaskDoneResults])) },
});
const extend = route(NEEDS.extend, {
  operationId: "extendLease",
  method: "post",
  path: `${queuePath}/extend`,
  summary: "Extend a lease (heartbeat)",
  request: { ...named, ...json(S.ExtendBody, true) },
  responses: { 200: ok("Extended", z.object({ lease_expires_at: z.number(), cancelled: Cancelled })) },
});
const release = route(NEEDS.release, {
  operationId: "releaseLease",
  method: "post",
  path: `${queuePath}/release`,
  summary: "Release a leased item (nack), optionally after a delay",
  request: { ...named, ...json(S.ReleaseBody, true) },
  responses: { 200: ok("Released", z.object({ dead_lettered: z.boolean() })) },
});
const join = route(NEEDS.join, {
  operationId: "join",
  method: "post",
  path: `${queuePath}/join`,
  summary: "join, with an optional timeout",
  request: { ...named, ...json(S.JoinBody) },
  responses: { 200: ok("Drained, or the timeout passed", S.JoinResult) },
});

export function itemRoutes(app: Api): void {
  app.openapi(put, async (c) => {
    const { name } = c.req.valid("param");
    const body = c.req.valid("json");
    const prepared = putRequest(body, await c.req.text(), c.req.valid("header")["idempotency-key"]);
    if (!prepared.ok) return problem(prepared.code, prepared.message, c.req.path);
    const { request } = prepared;
    const outcome = await waiting(c, name, request, async (waiter) =>
      (await queueOf(c.env, name)).put({ ...request, waiter }),
    );
    const response = reply(c, outcome, 201, (o) =>
      body.items ? { ids: o.ids, replayed: o.replayed } : { id: o.ids[0], replayed: o.replayed },
    );
    if (outcome.ok && outcome.replayed) response.headers.set("idempotent-replayed", "true");
    return response;
  });

  app.openapi(get, async (c) => {
    const { name } = c.req.valid("param");
    const body = orDefaults(S.GetBody, c.req.valid("json"));
    const request = getRequest(body);
    const outcome = await waiting(c, name, request, async (waiter) =>
      (await queueOf(c.env, name)).get({ ...request, waiter }),
    );
    return deliveries(c, outcome, body.max !== undefined);
  });

  app.openapi(taskDone, async (c) => {
    const { name } = c.req.valid("param");
    return reply<TaskDone>(c, await done(await queueOf(c.env, name), orDefaults(S.TaskDoneBody, c.req.valid("json"))));
  });

  app.openapi(extend, async (c) => {
    const { name } = c.req.valid("param");
    const body = c.req.valid("json");
    return reply(c, await (await queueOf(c.env, name)).extend(body.receipt, body.lease_seconds));
  });

  app.openapi(release, async (c) => {
    const { name } = c.req.valid("param");
    const body = c.req.valid("json");
    return reply(c, await (await queueOf(c.env, name)).release(body.receipt, body.delay));
  });

  app.openapi(join, async (c) => {
    const { name } = c.req.valid("param");
    const request = joinRequest(orDefaults(S.JoinBody, c.req.valid("json")));
    return reply(
      c,
      await waiting(c, name, request, async (waiter) => (await queueOf(c.env, name)).join({ ...request, waiter })),
    );
  });
}
