// Routes that manage scoped tokens with the admin right: issue (the secret is shown once), list, revoke.
import { z } from "@hono/zod-openapi";
import { problem } from "../../../contract/problems.ts";
import { covers } from "../../../contract/rights.ts";
import * as S from "../../../contract/schemas.ts";
import { catalog } from "../../../objects/stubs.ts";
import { forgetToken, issueToken, signingKey } from "../auth.ts";
import { type Api, json, ok, routes } from "../route.ts";

const route = routes("Tokens");

const issue = route(
  "admin",
  {
    operationId: "issueToken",
    method: "post",
    path: "/v1/tokens",
    summary: "Issue a scoped token (answered once)",
    request: json(S.TokenRequest, true),
    responses: { 201: ok("Issued", S.IssuedToken) },
  },
  "any",
);
const list = route(
  "admin",
  {
    operationId: "listTokens",
    method: "get",
    path: "/v1/tokens",
    summary: "List tokens (never their secrets)",
    responses: { 200: ok("Tokens, newest first", z.object({ tokens: z.array(S.TokenInfo) })) },
  },
  "all",
);
const revoke = route(
  "admin",
  {
    operationId: "revokeToken",
    method: "delete",
    path: "/v1/tokens/{id}",
    summary: "Revoke a token",
    request: { params: S.TokenParams },
    responses: { 204: { description: "Revoked" } },
  },
  "all",
);

export function tokenRoutes(app: Api): void {
  // A token may issue tokens only within its own rights and scope, so no holder can widen what it was given.
  app.openapi(issue, async (c) => {
    const secret = signingKey(c);
    if (secret instanceof Response) return secret;
    const body = c.req.valid("json");
    const grant = c.get("grant");
    const wider = body.queues.find((q) => !grant.queues.some((mine) => covers(mine, q)));
    if (wider !== undefined)
      return problem(
        "forbidden",
        `the scope '${wider}' is wider than this token's own (${grant.queues.join(", ")})`,
        c.req.path,
      );
    const right = body.rights.find((r) => !grant.rights.includes(r));
    if (right !== undefined)
      return problem("forbidden", `this token lacks the '${right}' right, so it cannot grant it`, c.req.path);
    const { id, token, expiresAt } = await issueToken(secret, body, body.ttl_seconds);
    const record = await catalog(c.env).addToken({
      id,
      label: body.label,
      queues: body.queues,
      rights: body.rights,
      expiresAt,
    });
    return c.json({ ...record, token }, 201);
  });

  app.openapi(list, async (c) => c.json({ tokens: await catalog(c.env).tokens() }, 200));

  app.openapi(revoke, async (c) => {
    const { id } = c.req.valid("param");
    if (!(await catalog(c.env).revokeToken(id)))
      return problem("not_found", `no unexpired token with id '${id}'`, c.req.path);
    forgetToken(id);
    return c.body(null, 204);
  });
}
