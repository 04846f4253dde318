// Routes for the catalog's live feed: one WebSocket for every queue's list and counters, and its browser ticket.
import { z } from "@hono/zod-openapi";
import { catalog } from "../../../objects/stubs.ts";
import { issueTicket, signingKey } from "../auth.ts";
import { type Api, ok, routes, upgradeTo } from "../route.ts";

const route = routes("Live feed");

const path = "/v1/catalog/ws";

const Protocol = z
  .object({ websocket: z.string(), send: z.array(z.string()), receive: z.array(z.string()) })
  .openapi("FeedProtocol");
const PROTOCOL = {
  send: ['{"op":"page","prefix"?:string,"after"?:string,"limit"?:number}', "ping"],
  receive: [
    '{"type":"page","prefix":string,"after":string,"limit":number,"total":number,"next":string|null,"queues":[...]}',
    '{"type":"headlines","queues":{"<name>":{...}|null}}',
    '{"type":"created"|"deleted","name":string}',
    '{"type":"error",...}',
    "pong",
  ],
};

const upgrade = route(
  "observe",
  {
    operationId: "subscribeCatalog",
    method: "get",
    path,
    summary: "WebSocket: live list of queues and their counters (bearer token, or ?ticket=)",
    responses: {
      101: { description: "Switching protocols (with 'Upgrade: websocket')" },
      200: ok("Without an Upgrade header: how to subscribe", Protocol),
    },
  },
  "all",
);

const ticket = route(
  "observe",
  {
    operationId: "issueCatalogTicket",
    method: "post",
    path: "/v1/catalog/ws-ticket",
    summary: "A single-use ticket for a browser's catalog feed WebSocket",
    responses: {
      201: ok(
        "Valid for 60 s, for one socket",
        z.object({ ticket: z.string(), expires_at: z.number().int(), url: z.string() }),
      ),
    },
  },
  "all",
);

export function feedRoutes(app: Api): void {
  app.openapi(upgrade, async (c) => {
    return upgradeTo(c, catalog(c.env), PROTOCOL);
  });

  app.openapi(ticket, async (c) => {
    const secret = signingKey(c);
    if (secret instanceof Response) return secret;
    // Scoped to every queue, as the feed itself is: the catalog spends it, so it opens exactly one socket.
    const { ticket, expiresAt } = await issueTicket(secret, "*", ["observe"]);
    return c.json({ ticket, expires_at: expiresAt, url: `${path}?ticket=${ticket}` }, 201);
  });
}
