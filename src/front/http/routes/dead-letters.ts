// Routes for the dead letters: read them, redrive them into the queue, purge them.
import { z } from "@hono/zod-openapi";
import * as S from "../../../contract/schemas.ts";
import { queueOf } from "../../queues.ts";
import { type Api, deliveries, json, named, ok, orDefaults, queuePath, reply, routes } from "../route.ts";

const route = routes("Dead letters");

const path = `${queuePath}/dead_letters`;
const read = route("observe", {
  operationId: "readDeadLetters",
  method: "get",
  path,
  summary: "Read dead letters",
  request: { ...named, query: S.LimitQuery },
  responses: { 200: ok("Dead letters, oldest first", z.object({ items: z.array(S.Delivery) })) },
});
const redrive = route("admin", {
  operationId: "redriveDeadLetters",
  method: "post",
  path: `${path}/redrive`,
  summary: "Put dead letters back into the queue",
  request: { ...named, ...json(S.RedriveBody) },
  responses: { 200: ok("Redriven", z.object({ ids: z.array(z.number().int()) })) },
});
const purge = route("admin", {
  operationId: "purgeDeadLetters",
  method: "delete",
  path,
  summary: "Purge dead letters",
  request: named,
  responses: { 200: ok("Purged", z.object({ purged: z.number().int() })) },
});

export function deadLetterRoutes(app: Api): void {
  app.openapi(read, async (c) => {
    const { name } = c.req.valid("param");
    return deliveries(c, await (await queueOf(c.env, name)).deadLetters(c.req.valid("query").limit), true);
  });

  app.openapi(redrive, async (c) => {
    const { name } = c.req.valid("param");
    const body = orDefaults(S.RedriveBody, c.req.valid("json"));
    return reply(c, await (await queueOf(c.env, name)).redrive(body.limit));
  });

  app.openapi(purge, async (c) => {
    const { name } = c.req.valid("param");
    return reply(c, await (await queueOf(c.env, name)).purgeDeadLetters());
  });
}
