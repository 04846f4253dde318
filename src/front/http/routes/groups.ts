// Routes for groups: one group's status, its settings and cancel, and the groups a queue holds (docs/groups.md).
import * as S from "../../../contract/schemas.ts";
import { queueOf } from "../../queues.ts";
import { type Api, json, named, ok, queuePath, reply, routes } from "../route.ts";

const route = routes("Groups");

const one = route("observe", {
  operationId: "getGroup",
  method: "get",
  path: `${queuePath}/groups/{group}`,
  summary: "One group's exact counters (404 for a group the queue does not know or has forgotten)",
  request: { params: S.GroupParams },
  responses: { 200: ok("Group", S.GroupStats) },
});
const configure = route("admin", {
  operationId: "configureGroup",
  method: "patch",
  path: `${queuePath}/groups/{group}`,
  summary: "Set a group's weight (fair dispatch) and its cap on deliveries in flight; answers its status",
  request: { params: S.GroupParams, ...json(S.GroupConfigBody, true) },
  responses: { 200: ok("Group", S.GroupStats) },
});
const cancel = route("produce", {
  operationId: "cancelGroup",
  method: "post",
  path: `${queuePath}/groups/{group}/cancel`,
  summary: "Cancel a group: its waiting items are removed, later puts to it refused; deliveries out may finish",
  request: { params: S.GroupParams },
  responses: { 200: ok("Cancelled", S.GroupCancelled) },
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

  app.openapi(configure, async (c) => {
    const { name, group } = c.req.valid("param");
    const changes = c.req.valid("json");
    return reply(c, await (await queueOf(c.env, name)).configureGroup(group, changes), 200, (o) => o.stats);
  });

  app.openapi(cancel, async (c) => {
    const { name, group } = c.req.valid("param");
    return reply(c, await (await queueOf(c.env, name)).cancelGroup(group));
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
