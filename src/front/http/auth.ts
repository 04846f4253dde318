// Who may call what, decided in the Worker before any Durable Object is touched: the auth mode, the admin secret,
// scoped tokens and single-use WebSocket tickets.
//
// Tokens are HS256 JWTs signed with the admin secret, so checking one costs a signature, not a round trip to an
// object. Revocation is the one thing a signature cannot say: each isolate keeps the catalog's list of revoked
// token ids and refreshes it every `revocationRefreshSeconds`, which bounds how long a revoked token still works.
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { sign, verify } from "hono/jwt";
import { JwtTokenExpired } from "hono/utils/jwt/types";
import { LIMITS } from "../../contract/limits.ts";
import { problem } from "../../contract/problems.ts";
import { type Grant, inScope, RIGHTS, type Right, SOCKET_RIGHTS } from "../../contract/rights.ts";
import { catalog } from "../../objects/stubs.ts";
import { SettledCache } from "../settled-cache.ts";

export type App = { Bindings: Env; Variables: { grant: Grant } };

const EVERYTHING: Grant = { id: null, queues: ["*"], rights: [...RIGHTS] };

/** A token's claims: `use` keeps a bearer token and a ticket from standing in for each other. */
interface Claims {
  [claim: string]: unknown;
  jti: string;
  use: "api" | "ws";
  q: string[];
  r: Right[];
  iat: number;
  exp?: number;
}

const HOW_TO_CONFIGURE =
  "Set an admin secret of at least 32 characters: `openssl rand -hex 32 | npx wrangler secret put ADMIN_TOKEN` " +
  "(locally: ADMIN_TOKEN=... in .dev.vars, see .dev.vars.example). To serve without authentication instead " +
  '(local development only), set the var AUTH = "none".';

/** Authenticates every /v1 call (but the OpenAPI document) and leaves its grant in `c.var.grant`. */
export const authenticate = createMiddleware<App>(async (c, next) => {
  if (c.req.path === "/v1/openapi.json") return next();
  const grant = await grantOf(c);
  if (grant instanceof Response) return grant;
  c.set("grant", grant);
  await next();
});

/**
 * Lets the call through if its grant holds `right` over the route's queue (`queue`), over every queue (`all`), or
 * over any queue at all (`any`: the route itself narrows what it shows to the grant's scope).
 */
export type Scope = "queue" | "all" | "any";
export const can = (right: Right | readonly Right[], scope: Scope = "queue") =>
  createMiddleware<App>(async (c, next) => {
    const grant = c.get("grant");
    const name = scope === "all" ? "*" : scope === "queue" ? c.req.param("name") : undefined;
    const all = scope === "all";
    const anyOf = [right].flat();
    if (!anyOf.some((r) => grant.rights.includes(r))) {
      const needs = anyOf.length === 1 ? `the '${right}' right` : `any of the rights ${anyOf.join(", ")}`;
      return problem("forbidden", `this token lacks ${needs} (it has: ${grant.rights.join(", ")})`, c.req.path);
    }
    if (name !== undefined && !inScope(grant, name)) {
      const what = all ? "every queue" : `the queue '${name}'`;
      return problem("forbidden", `this token's scope (${grant.queues.join(", ")}) does not cover ${what}`, c.req.path);
    }
    await next();
  });

/** The admin secret, which also signs tokens and tickets; or the problem that says how to configure one. */
export function signingKey(c: Context<App>): string | Response {
  const secret = c.env.ADMIN_TOKEN;
  if (secret && secret.length >= LIMITS.minAdminTokenLength) return secret;
  const why = secret ? "its ADMIN_TOKEN is shorter than 32 characters" : "it has no ADMIN_TOKEN";
  const what = c.env.AUTH === "none" ? "cannot sign tokens or tickets" : "refuses every request";
  return problem("not_configured", `This deployment ${what}: ${why}. ${HOW_TO_CONFIGURE}`, c.req.path);
}

async function grantOf(c: Context<App>): Promise<Grant | Response> {
  if (c.env.AUTH === "none") return EVERYTHING;
  const secret = signingKey(c);
  if (secret instanceof Response) return secret;
  const ticket = c.req.query("ticket");
  if (ticket !== undefined && c.req.header("upgrade")?.toLowerCase() === "websocket")
    return ticketGrant(c, ticket, secret);
  const header = c.req.header("authorization");
  if (header === undefined)
    return unauthorized(c, "this deployment needs a token: send 'Authorization: Bearer <token>'");
  const token = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header)?.[1];
  if (token === undefined) return unauthorized(c, "malformed Authorization header: expected 'Bearer <token>'");
  if (sameSecret(token, secret)) return EVERYTHING;
  const claims = await claimsOf(c, token, secret, "api");
  if (claims instanceof Response) return claims;
  if (await isRevoked(c.env, claims.jti)) return unauthorized(c, "this token was revoked");
  return { id: claims.jti, queues: claims.q, rights: claims.r };
}

async function ticketGrant(c: Context<App>, ticket: string, secret: string): Promise<Grant | Response> {
  const claims = await claimsOf(c, ticket, secret, "ws");
  if (claims instanceof Response) return claims;
  return {
    id: claims.jti,
    queues: claims.q,
    rights: claims.r,
    ticket: { id: claims.jti, expiresAt: claims.exp! * 1000 },
  };
}

/** Verifies a token's signature, expiry and use; every failure is one fixed sentence (a token never echoes back). */
async function claimsOf(
  c: Context<App>,
  token: string,
  secret: string,
  use: Claims["use"],
): Promise<Claims | Response> {
  const what = use === "ws" ? "ticket" : "token";
  let claims: Claims;
  try {
    claims = (await verify(token, secret, "HS256")) as Claims;
  } catch (e) {
    return unauthorized(
      c,
      e instanceof JwtTokenExpired ? `this ${what} has expired` : `this ${what} is not valid for this deployment`,
    );
  }
  if (claims.use !== use) {
    return unauthorized(
      c,
      use === "ws"
        ? "that is not a WebSocket ticket: get one from POST /v1/queues/{name}/ws-ticket"
        : "a WebSocket ticket is not a bearer token",
    );
  }
  return claims;
}

const unauthorized = (c: Context<App>, detail: string) =>
  problem("unauthorized", detail, c.req.path, { "www-authenticate": "Bearer" });

/** Compares in constant time, so response timing does not reveal how much of a guessed secret was right. */
function sameSecret(given: string, expected: string): boolean {
  const [a, b] = [new TextEncoder().encode(given), new TextEncoder().encode(expected)];
  return a.byteLength === b.byteLength && crypto.subtle.timingSafeEqual(a, b);
}

/** Issues a token: `ttlSeconds` undefined means it never expires (until revoked). */
export async function issueToken(secret: string, grant: { queues: string[]; rights: Right[] }, ttlSeconds?: number) {
  const iat = Math.floor(Date.now() / 1000);
  const claims: Claims = { jti: crypto.randomUUID(), use: "api", q: grant.queues, r: grant.rights, iat };
  if (ttlSeconds !== undefined) claims.exp = iat + ttlSeconds;
  return { id: claims.jti, token: await sign(claims, secret, "HS256"), expiresAt: claims.exp };
}

/**
 * A ticket for one WebSocket on one queue, valid for `ticketSeconds`, with the socket rights of the token that
 * asked for it; the queue's object spends it.
 */
export async function issueTicket(secret: string, name: string, rights: Right[] = ["observe"]) {
  const iat = Math.floor(Date.now() / 1000);
  const claims: Claims = {
    jti: crypto.randomUUID(),
    use: "ws",
    q: [name],
    r: rights.filter((r) => (SOCKET_RIGHTS as readonly Right[]).includes(r)),
    iat,
    exp: iat + LIMITS.ticketSeconds,
  };
  return { ticket: await sign(claims, secret, "HS256"), expiresAt: claims.exp! };
}

// Revoked token ids, per isolate, as the catalog last listed them (settled-cache.ts: no ask in flight is shared).
// No grace: while the list is stale, every call asks until one answer is kept, so a revocation never outlives
// `revocationRefreshSeconds`.
const revoked = new SettledCache<"revoked", Set<string>>(LIMITS.revocationRefreshSeconds * 1000, 0);

async function isRevoked(env: Env, id: string): Promise<boolean> {
  const ids = await revoked.get("revoked", async () => new Set(await catalog(env).revokedTokens()));
  return ids.has(id);
}

/** Takes a revocation into account at once in this isolate (others learn of it within the refresh period). */
export const forgetToken = (id: string): void => void revoked.peek("revoked")?.add(id);
