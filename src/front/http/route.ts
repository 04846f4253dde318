// What every route file shares: the route builder (problems, rights, security), answers, waits and item texts.
import { createRoute, type OpenAPIHono, type RouteConfig, type z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { problem } from "../../contract/problems.ts";
import type { Refusal } from "../../contract/put-items.ts";
import { mayWait } from "../../contract/requests.ts";
import { RIGHTS_HEADER, type Right, TICKET_HEADER } from "../../contract/rights.ts";
import * as S from "../../contract/schemas.ts";
import type { Delivery, Outcome } from "../../core/types.ts";
import { queueOf } from "../queues.ts";
import { type App, can, type Scope } from "./auth.ts";

export type { App };
export type Api = OpenAPIHono<App>;
export type Ctx = Context<App>;

// Every route may answer these with a problem document (which ones, and why, is in docs/http-api.md#errors).
const ref = { $ref: "#/components/responses/Problem" } as const;
const problems = {
  400: ref,
  401: ref,
  403: ref,
  404: ref,
  409: ref,
  410: ref,
  413: ref,
  415: ref,
  429: ref,
  500: ref,
  503: ref,
} as const;

type Definition = Omit<RouteConfig, "middleware" | "tags"> & { operationId: string };

/** One file's routes, under one OpenAPI tag: each needs `right` over the route's queue (or as `scope` says). */
export const routes =
  (tag: string) =>
  <R extends Definition>(right: Right | readonly Right[], r: R, scope?: Scope) =>
    createRoute({
      ...r,
      tags: [tag],
      middleware: [can(right, scope)],
      responses: { ...r.responses, ...problems },
    } as R & {
      responses: typeof problems;
    });

export const json = <T extends z.ZodType>(schema: T, required = false) =>
  ({ body: { content: { "application/json": { schema } }, required } }) as const;
export const ok = <T extends z.ZodType>(description: string, schema: T) =>
  ({ description, content: { "application/json": { schema } } }) as const;
export const named = { params: S.NameParams };
/**
 * An optional body with its defaults. Hono skips validating an optional body sent without a JSON content type and
 * answers `{}` for it, so the schema runs here too (a second, cheap pass when it already ran).
 */
export const orDefaults = <T extends z.ZodType>(schema: T, validated: z.input<T> | undefined): z.output<T> =>
  schema.parse(validated ?? {});
export const queuePath = "/v1/queues/{name}";

/** A success answer, or the outcome's problem document. */
export function reply<T extends object>(
  c: Ctx,
  outcome: Outcome<T> | Refusal,
  status = 200,
  body: (o: T) => unknown = (o) => o,
): Response {
  if (!outcome.ok)
    return problem(
      outcome.code,
      outcome.message,
      c.req.path,
      outcome.code === "limit_exceeded" ? { "retry-after": "1" } : {},
    );
  const { ok: _, ...rest } = outcome;
  return c.json(body(rest as unknown as T) as object, status as 200);
}

/** A delivery as JSON, its item spliced in as the very text the producer sent (never parsed on the way). */
export function deliveryJson({ id, json, ...rest }: Delivery): string {
  return `{"id":${id},"item":${json},${JSON.stringify(rest).slice(1)}`;
}

/** Answers deliveries: one alone, or `{"items": [...]}` for a batch. */
export function deliveries(c: Ctx, outcome: Outcome<{ deliveries: Delivery[] }>, batch: boolean): Response {
  if (!outcome.ok) return reply(c, outcome);
  const text = batch
    ? `{"items":[${outcome.deliveries.map(deliveryJson).join(",")}]}`
    : deliveryJson(outcome.deliveries[0]!);
  return c.body(text, 200, { "content-type": "application/json" });
}

/**
 * Runs a call that may wait, under an id the object can withdraw it by if the client disconnects. Locally the
 * runtime never fires `request.signal` on disconnect, so this is only an optimisation: leases are the guarantee.
 * A call that cannot wait (`block: false`, or a zero timeout) is answered at once: there is nothing to withdraw.
 */
export async function waiting<T>(
  c: Ctx,
  name: string,
  request: { block?: boolean; timeout?: number },
  call: (waiter?: string) => Promise<T>,
): Promise<T> {
  if (!mayWait(request)) return call();
  const waiter = crypto.randomUUID();
  const withdraw = () =>
    void queueOf(c.env, name)
      .then((q) => q.withdraw(waiter))
      .catch(() => undefined); // best effort
  c.req.raw.signal.addEventListener("abort", withdraw, { once: true });
  try {
    return await call(waiter);
  } finally {
    c.req.raw.signal.removeEventListener("abort", withdraw);
  }
}

/**
 * A WebSocket route: without an Upgrade header it describes its protocol; with one, the upgrade goes to the object
 * with what only the Worker may say — that a ticket was checked (the object spends it) and what the socket may do.
 */
export function upgradeTo(c: Ctx, object: { fetch(request: Request): Promise<Response> }, protocol: object) {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    return c.json({ websocket: new URL(c.req.url).href.replace(/^http/, "ws"), ...protocol }, 200);
  }
  const { ticket, rights } = c.get("grant");
  const headers = new Headers(c.req.raw.headers);
  headers.delete(TICKET_HEADER);
  if (ticket) headers.set(TICKET_HEADER, `${ticket.id} ${ticket.expiresAt}`);
  headers.set(RIGHTS_HEADER, rights.join(","));
  return object.fetch(new Request(c.req.raw.url, { headers }));
}
