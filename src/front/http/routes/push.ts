// Routes for push delivery's companions: join callbacks, and rotating the webhook secret that signs them and pushes.
import { problem } from "../../../contract/problems.ts";
import * as S from "../../../contract/schemas.ts";
import { addJoinCallback } from "../../operations.ts";
import { queueOf } from "../../queues.ts";
import { type Api, json, named, ok, orDefaults, queuePath, reply, routes } from "../route.ts";

const route = routes("Push");

const addCallback = route("observe", {
  operationId: "addJoinCallback",
  method: "post",
  path: `${queuePath}/join_callbacks`,
  summary: "Register a URL told the join result when the queue drains (once, or on every drain)",
  request: { ...named, ...json(S.JoinCallbackBody, true) },
  responses: { 201: ok("Registered (fires at once if the queue is drained now)", S.JoinCallbackCreated) },
});
const removeCallback = route("observe", {
  operationId: "removeJoinCallback",
  method: "delete",
  path: `${queuePath}/join_callbacks/{id}`,
  summary: "Remove a join callback",
  request: { params: S.CallbackParams },
  responses: { 204: { description: "Removed" } },
});
const rotate = route("admin", {
  operationId: "rotateWebhookSecret",
  method: "post",
  path: `${queuePath}/webhook_secret`,
  summary: "Rotate the secret that signs pushes and callbacks (the old one keeps signing for an overlap)",
  request: named,
  responses: { 200: ok("The new secret, shown this once", S.WebhookSecret) },
});

export function pushRoutes(app: Api): void {
  app.openapi(addCallback, async (c) => {
    const { name } = c.req.valid("param");
    const body = orDefaults(S.JoinCallbackBody, c.req.valid("json"));
    const added = await addJoinCallback(c.env, name, body);
    return reply(c, added, 201, (o) => ({
      ...o.callback,
      ...(o.webhook_secret ? { webhook_secret: o.webhook_secret } : {}),
    }));
  });

  app.openapi(removeCallback, async (c) => {
    const { name, id } = c.req.valid("param");
    const removed = await (await queueOf(c.env, name)).removeJoinCallback(id);
    if (!removed.ok) return reply(c, removed);
    return removed.removed
      ? c.body(null, 204)
      : problem("not_found", `no join callback '${id}' on this queue`, c.req.path);
  });

  app.openapi(rotate, async (c) => {
    const { name } = c.req.valid("param");
    return reply(c, await (await queueOf(c.env, name)).rotateWebhookSecret());
  });
}
