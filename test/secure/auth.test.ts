// The auth matrix: every right against every route (HTTP and the WebSocket upgrade), scopes, expiry, revocation,
// the admin secret, malformed headers; rejected calls touch no Durable Object.
import { listDurableObjectIds } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { app } from "../../src/front/http/app.ts";
import { expectProblem, raw, uniqueName } from "../worker/helpers.ts";
import { admin, as, bearer, create, issue, TEST_ADMIN_TOKEN } from "./helpers.ts";

type Right = "produce" | "consume" | "observe" | "admin";

/** Every route, with the right (or any of the rights) it needs; destructive ones last. `ok`: an allowed answer. */
const SOCKET: Right[] = ["observe", "produce", "consume"]; // the socket checks each frame's own right
const ROUTES: {
  right: Right | Right[];
  method: string;
  path: (q: string) => string;
  body?: unknown;
  headers?: Record<string, string>;
  ok: number;
}[] = [
  { right: "produce", method: "POST", path: (q) => `/v1/queues/${q}/put`, body: { item: 1 }, ok: 201 },
  { right: "consume", method: "POST", path: (q) => `/v1/queues/${q}/get`, body: { block: false }, ok: 409 }, // empty: only a producer could have filled it
  { right: "consume", method: "POST", path: (q) => `/v1/queues/${q}/task_done`, body: {}, ok: 409 },
  {
    right: "consume",
    method: "POST",
    path: (q) => `/v1/queues/${q}/extend`,
    body: { receipt: "00000000.1.1.0000000000000000", lease_seconds: 5 },
    ok: 400,
  },
  {
    right: "consume",
    method: "POST",
    path: (q) => `/v1/queues/${q}/release`,
    body: { receipt: "00000000.1.1.0000000000000000" },
    ok: 400,
  },
  { right: "observe", method: "GET", path: (q) => `/v1/queues/${q}`, ok: 200 },
  { right: "observe", method: "POST", path: (q) => `/v1/queues/${q}/join`, body: { timeout: 0 }, ok: 200 },
  { right: "observe", method: "GET", path: (q) => `/v1/queues/${q}/dead_letters`, ok: 200 },
  { right: SOCKET, method: "POST", path: (q) => `/v1/queues/${q}/ws-ticket`, ok: 201 },
  { right: SOCKET, method: "GET", path: (q) => `/v1/queues/${q}/ws`, headers: { upgrade: "websocket" }, ok: 101 },
  { right: "admin", method: "POST", path: (q) => `/v1/queues/${q}/dead_letters/redrive`, body: {}, ok: 200 },
  { right: "admin", method: "DELETE", path: (q) => `/v1/queues/${q}/dead_letters`, ok: 200 },
  { right: "admin", method: "POST", path: (q) => `/v1/queues/${q}/shutdown`, body: {}, ok: 200 },
  { right: "admin", method: "DELETE", path: (q) => `/v1/queues/${q}`, ok: 204 },
  { right: "admin", method: "PUT", path: (q) => `/v1/queues/${q}`, body: {}, ok: 201 },
];

async function send(token: string | undefined, r: (typeof ROUTES)[number], queue: string) {
  const headers = { ...(token ? bearer(token) : {}), ...r.headers };
  const res = await raw(r.method, r.path(queue), r.body === undefined ? undefined : JSON.stringify(r.body), {
    ...(r.body === undefined ? {} : { "content-type": "application/json" }),
    ...headers,
  });
  res.webSocket?.accept();
  res.webSocket?.close();
  return res;
}

const objectIds = async () => new Set((await listDurableObjectIds(env.QUEUES)).map(String));
const idOf = (name: string) => env.QUEUES.idFromName(name).toString();

describe("each right opens exactly its routes", () => {
  for (const right of ["produce", "consume", "observe", "admin"] as const) {
    it(`a token with only '${right}'`, async () => {
      const queue = await create(uniqueName(right));
      const { token } = await issue({ queues: [queue], rights: [right] });
      for (const r of ROUTES) {
        const res = await send(token, r, queue);
        const where = `${r.method} ${r.path(queue)}`;
        const needs = [r.right].flat();
        if (needs.includes(right)) expect(res.status, where).toBe(r.ok);
        else if (needs.length > 1) await expectProblem(res, 403, "forbidden", /lacks any of the rights/);
        else await expectProblem(res, 403, "forbidden", new RegExp(`lacks the '${r.right}' right`));
      }
    });
  }

  it("listing queues needs 'observe' and shows only the queues in the token's scope", async () => {
    const prefix = uniqueName("ls");
    for (const n of ["a", "b"]) await create(`${prefix}-${n}`);
    const other = await create(uniqueName("other"));
    const { token } = await issue({ queues: [`${prefix}-*`], rights: ["observe"] });
    const listed = await as(token)("GET", "/v1/queues?limit=1000");
    expect(listed.body!.queues.map((q: { name: string }) => q.name)).toEqual([`${prefix}-a`, `${prefix}-b`]);
    expect(listed.body!.queues.map((q: { name: string }) => q.name)).not.toContain(other);
    const producer = await issue({ queues: ["*"], rights: ["produce"] });
    await expectProblem(
      await app.request("/v1/queues", { headers: bearer(producer.token) }, env),
      403,
      "forbidden",
      /'observe'/,
    );
  });
});

describe("scopes", () => {
  it("an exact scope covers that queue only; a prefix scope every queue it begins", async () => {
    const base = uniqueName("etl");
    const [exact, longer, prefixed] = [await create(base), await create(`${base}2`), await create(`${base}-x`)];
    const one = await issue({ queues: [exact], rights: ["produce"] });
    const many = await issue({ queues: [`${base}-*`], rights: ["produce"] });
    const put = (token: string, q: string) => as(token)("POST", `/v1/queues/${q}/put`, { item: 1 });
    expect((await put(one.token, exact)).status).toBe(201);
    expect((await put(one.token, longer)).body).toMatchObject({
      code: "forbidden",
      detail: expect.stringContaining(`does not cover the queue '${longer}'`),
    });
    expect((await put(many.token, prefixed)).status).toBe(201);
    expect((await put(many.token, exact)).status).toBe(403);
    expect((await put(many.token, longer)).status).toBe(403);
  });

  it("a token can only issue tokens within its own rights and scope", async () => {
    const base = uniqueName("team");
    const lead = await issue({ queues: [`${base}-*`], rights: ["admin", "produce"] });
    const by = as(lead.token);
    expect((await by("POST", "/v1/tokens", { queues: [`${base}-jobs`], rights: ["produce"] })).status).toBe(201);
    expect((await by("POST", "/v1/tokens", { queues: [`${base}-a*`], rights: ["admin"] })).status).toBe(201);
    expect((await by("POST", "/v1/tokens", { queues: ["*"], rights: ["produce"] })).body).toMatchObject({
      code: "forbidden",
      detail: expect.stringContaining("wider"),
    });
    expect((await by("POST", "/v1/tokens", { queues: [`${base}-jobs`], rights: ["consume"] })).body).toMatchObject({
      code: "forbidden",
      detail: expect.stringContaining("'consume'"),
    });
    // Listing and revoking tokens concern every queue: a scoped admin may not.
    expect((await by("GET", "/v1/tokens")).status).toBe(403);
  });

  it("refuses malformed token requests with the field named", async () => {
    for (const [body, field] of [
      [{ queues: [], rights: ["produce"] }, "queues"],
      [{ queues: ["a/b"], rights: ["produce"] }, "queues"],
      [{ queues: ["a*b"], rights: ["produce"] }, "queues"],
      [{ queues: ["a"], rights: ["root"] }, "rights"],
      [{ queues: ["a"], rights: ["produce"], ttl_seconds: 0 }, "ttl_seconds"],
      [{ queues: ["a"], rights: ["produce"], extra: 1 }, "extra"],
    ] as const) {
      const res = await admin("POST", "/v1/tokens", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body!.detail).toContain(field);
    }
  });
});

describe("tokens over their life", () => {
  it("is listed without its secret, works until revoked, then is refused; revoking twice is harmless", async () => {
    const queue = await create(uniqueName("rev"));
    const issued = await issue({ queues: [queue], rights: ["observe"], label: "ci", ttl_seconds: 3600 });
    expect(issued).toMatchObject({ label: "ci", queues: [queue], rights: ["observe"], revoked_at: null });
    expect(Date.parse((issued as unknown as { expires_at: string }).expires_at)).toBeGreaterThan(Date.now() + 3500_000);
    expect((await as(issued.token)("GET", `/v1/queues/${queue}`)).status).toBe(200);
    const listed = (await admin("GET", "/v1/tokens")).body!.tokens as Record<string, unknown>[];
    const mine = listed.find((t) => t.id === issued.id)!;
    expect(mine).toMatchObject({ label: "ci", revoked_at: null });
    expect(mine).not.toHaveProperty("token");
    expect(JSON.stringify(listed)).not.toContain(issued.token);
    expect((await admin("DELETE", `/v1/tokens/${issued.id}`)).status).toBe(204);
    expect((await admin("DELETE", `/v1/tokens/${issued.id}`)).status).toBe(204);
    await expectProblem(
      await raw("GET", `/v1/queues/${queue}`, undefined, bearer(issued.token)),
      401,
      "unauthorized",
      /revoked/,
    );
    expect(
      (await admin("GET", "/v1/tokens")).body!.tokens.find((t: { id: string }) => t.id === issued.id).revoked_at,
    ).not.toBeNull();
    await expectProblem(
      await raw("DELETE", "/v1/tokens/no-such-token", undefined, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` }),
      404,
      "not_found",
    );
  });

  it("an expired token is refused, and so is one signed with another key or meant for a WebSocket", async () => {
    const queue = await create(uniqueName("exp"));
    const now = Math.floor(Date.now() / 1000);
    const claims = { jti: "t-1", use: "api", q: ["*"], r: ["observe"], iat: now - 120 };
    const expired = await sign({ ...claims, exp: now - 1 }, TEST_ADMIN_TOKEN, "HS256");
    const foreign = await sign(claims, "another-deployment-secret-0123456789", "HS256");
    const ticketLike = await sign({ ...claims, use: "ws", exp: now + 60 }, TEST_ADMIN_TOKEN, "HS256");
    const get = (token: string) => raw("GET", `/v1/queues/${queue}`, undefined, bearer(token));
    await expectProblem(await get(expired), 401, "unauthorized", /expired/);
    await expectProblem(await get(foreign), 401, "unauthorized", /not valid/);
    await expectProblem(await get(ticketLike), 401, "unauthorized", /ticket is not a bearer token/);
    expect((await get(await sign({ ...claims, exp: now + 60 }, TEST_ADMIN_TOKEN, "HS256"))).status).toBe(200);
  });
});

describe("the admin secret and the Authorization header", () => {
  it("the admin secret may do anything; the scheme is case-insensitive; a missing or malformed header is 401", async () => {
    const queue = uniqueName("adm");
    expect((await admin("PUT", `/v1/queues/${queue}`, {})).status).toBe(201);
    expect(
      (await raw("GET", `/v1/queues/${queue}`, undefined, { authorization: `bearer ${TEST_ADMIN_TOKEN}` })).status,
    ).toBe(200);
    expect(
      (await raw("GET", `/v1/queues/${queue}`, undefined, { authorization: `BEARER   ${TEST_ADMIN_TOKEN}` })).status,
    ).toBe(200);
    const missing = await expectProblem(
      await raw("GET", `/v1/queues/${queue}`),
      401,
      "unauthorized",
      /Authorization: Bearer/,
    );
    expect(missing.detail).not.toContain(TEST_ADMIN_TOKEN);
    for (const header of [TEST_ADMIN_TOKEN, `Basic ${TEST_ADMIN_TOKEN}`, "Bearer", "Bearer a b", ""]) {
      await expectProblem(
        await raw("GET", `/v1/queues/${queue}`, undefined, { authorization: header }),
        401,
        "unauthorized",
        /malformed|needs a token/,
      );
    }
    const wrong = await expectProblem(
      await raw("GET", `/v1/queues/${queue}`, undefined, bearer("x".repeat(40))),
      401,
      "unauthorized",
    );
    expect(JSON.stringify(wrong)).not.toContain("x".repeat(40));
  });

  it("without ADMIN_TOKEN (or with a short one) every /v1 call is refused with how to configure it", async () => {
    for (const secret of [undefined, "", "too-short"]) {
      const res = await app.request("/v1/queues", { headers: bearer("anything") }, { ...env, ADMIN_TOKEN: secret });
      const body = await expectProblem(res, 503, "not_configured", /wrangler secret put ADMIN_TOKEN/);
      expect(body.detail).toContain('AUTH = "none"');
    }
    expect((await app.request("/v1/queues", {}, { ...env, ADMIN_TOKEN: undefined, AUTH: "none" })).status).toBe(200);
    expect((await app.request("/v1/openapi.json", {}, { ...env, ADMIN_TOKEN: undefined })).status).toBe(200);
  });
});

describe("rejected calls touch no Durable Object", () => {
  it("401s, 403s and upgrades refused for auth create no queue object", async () => {
    const names = Array.from({ length: 3 }, () => uniqueName("ghost"));
    const reader = await issue({ queues: ["*"], rights: ["observe"] });
    for (const name of names) {
      expect((await raw("PUT", `/v1/queues/${name}`, "{}", { "content-type": "application/json" })).status).toBe(401);
      expect((await as(reader.token)("PUT", `/v1/queues/${name}`, {})).status).toBe(403);
      expect((await as(reader.token)("POST", `/v1/queues/${name}/put`, { item: 1 })).status).toBe(403);
      expect((await raw("GET", `/v1/queues/${name}/ws`, undefined, { upgrade: "websocket" })).status).toBe(401);
      expect(
        (await raw("GET", `/v1/queues/${name}/ws?ticket=forged`, undefined, { upgrade: "websocket" })).status,
      ).toBe(401);
      expect((await as("not-a-token")("GET", `/v1/queues/${name}`)).status).toBe(401);
    }
    const ids = await objectIds();
    for (const name of names) expect(ids.has(idOf(name)), name).toBe(false);
  });
});
