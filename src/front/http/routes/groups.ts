// Routes for groups: one group's counters, and the groups a queue holds (docs/http-api.md#groups).
import * as S from "../../../contract/schemas.ts";
import { queueOf } from "../../queues.ts";
import { type Api, named, ok, queuePath, reply, routes } from "../route.ts";

const route = routes("Groups");

const one = route("observe", {
  operationId: "getGroup",
  method: "get",
  path: `${queuePath}/groups/{group}`,
  summary: "One group's exact counters (404 for a group the queue does not know or has forgotten)",
  request: { params: S.GroupParams },
  responses: { 200: ok("Group", S.GroupStats) },
});
const list = route("observe", {
  operationId: "listGroups",
  method: "get",
  path: `${queuePath}/groups`,
  summary: "The groups a queue holds, in name order, paged like the queue list",
  request: { ...named, query: S.GroupListQuery },
  responses: { 200: ok("Groups in name order", S.GroupList) },
});

export function groupRoutes(app: Api): void {
  app.openapi(one, async (c) => {
    const { name, group } = c.req.valid("param");
    return reply(c, await (await queueOf(c.env, name)).groupStats(group), 200, (o) => o.stats);
  });

  app.openapi(list, async (c) => {
    const { name } = c.req.valid("param");
    const { limit, after } = c.req.valid("query");
    return reply(c, await (await queueOf(c.env, name)).groups(limit, after), 200, (o) => ({
      groups: o.groups,
      next: o.next,
    }));
  });
}
