// Routes for WebSocket subscribers: the upgrade itself, and the single-use ticket a browser opens it with.
import { z } from "@hono/zod-openapi";
import { SOCKET_RIGHTS } from "../../../contract/rights.ts";
import { queueOf } from "../../queues.ts";
import { issueTicket, signingKey } from "../auth.ts";
import { type Api, named, ok, queuePath, routes, upgradeTo } from "../route.ts";

const route = routes("Subscriptions");

const Ticket = z
  .object({
    ticket: z.string(),
    expires_at: z.number().int().openapi({ description: "Unix seconds." }),
    url: z.string(),
  })
  .openapi("WebSocketTicket");

// Without an Upgrade header the route describes itself, so a plain GET (a browser, curl) learns how to use it.
const Protocol = z
  .object({ websocket: z.string(), send: z.array(z.string()), receive: z.array(z.string()) })
  .openapi("WebSocketProtocol");
const PROTOCOL = {
  send: [
    '{"op":"join","id"?:string,"repeat"?:boolean}',
    '{"op":"unjoin","id"?:string}',
    '{"op":"watch"}',
    '{"op":"unwatch"}',
    '{"op":"put","id":string|number,"item":any|"items":[...],...}',
    '{"op":"consume","id":string|number,"prefetch"?:number,"lease_seconds"?:number}',
    '{"op":"cancel","id":string|number}',
    '{"op":"task_done","id":string|number,"receipt":string|"receipts":[string]}',
    '{"op":"extend","id":string|number,"receipt":string,"lease_seconds":number}',
    '{"op":"release","id":string|number,"receipt":string,"delay"?:number}',
    "ping",
  ],
  receive: [
    '{"type":"put"|"consume"|"cancel"|"task_done"|"extend"|"release","id":...,...}',
    '{"type":"delivery","consumer":...,"item":any,"id":number,"receipt":string,...}',
    '{"type":"stats","stats":{...}}',
    '{"type":"shutdown"|"deleted",...}',
    '{"type":"error",...}',
    "pong",
  ],
};

const upgrade = route(SOCKET_RIGHTS, {
  operationId: "subscribe",
  method: "get",
  path: `${queuePath}/ws`,
  summary: "WebSocket: join and live stats, and put / consume / task_done over one socket (bearer token, or ?ticket=)",
  request: named,
  responses: {
    101: { description: "Switching protocols (with 'Upgrade: websocket')" },
    200: ok("Without an Upgrade header: how to subscribe", Protocol),
  },
});
const ticket = route(SOCKET_RIGHTS, {
  operationId: "issueWebSocketTicket",
  method: "post",
  path: `${queuePath}/ws-ticket`,
  summary: "A single-use ticket for a browser's WebSocket",
  request: named,
  responses: { 201: ok("Valid for 60 s, for one socket", Ticket) },
});

export function subscribeRoutes(app: Api): void {
  app.openapi(upgrade, async (c) => {
    return upgradeTo(c, await queueOf(c.env, c.req.valid("param").name), PROTOCOL);
  });

  app.openapi(ticket, async (c) => {
    const { name } = c.req.valid("param");
    const secret = signingKey(c);
    if (secret instanceof Response) return secret;
    const { ticket, expiresAt } = await issueTicket(secret, name, c.get("grant").rights);
    return c.json(
      { ticket, expires_at: expiresAt, url: `${c.req.path.slice(0, -"-ticket".length)}?ticket=${ticket}` },
      201,
    );
  });
}
