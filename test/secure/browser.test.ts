// Browsers: CORS for the configured origins only (preflights without auth), and WebSocket tickets that open one
// socket each, expire, and are bound to their queue.
import { env } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { app } from "../../src/front/http/app.ts";
import { expectProblem, raw, subscribe, uniqueName, waitForMessages } from "../worker/helpers.ts";
import { admin, as, bearer, create, issue, TEST_ADMIN_TOKEN } from "./helpers.ts";

const ALLOWED = "https://app.example"; // vitest.config.ts: CORS_ORIGINS

const preflight = (origin: string, method = "POST") =>
  raw("OPTIONS", "/v1/queues/jobs/put", undefined, {
    origin,
    "access-control-request-method": method,
    "access-control-request-headers": "authorization, content-type, idempotency-key",
  });

describe("CORS", () => {
  it("answers a preflight from an allowed origin without auth, and exposes the idempotency header", async () => {
    const res = await preflight(ALLOWED);
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("idempotency-key");
    const name = await create(uniqueName("cors"));
    const put = await raw("POST", `/v1/queues/${name}/put`, '{"item": 1}', {
      origin: ALLOWED,
      "content-type": "application/json",
      "idempotency-key": "k1",
      authorization: `Bearer ${TEST_ADMIN_TOKEN}`,
    });
    expect(put.status).toBe(201);
    expect(put.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(put.headers.get("access-control-expose-headers")?.toLowerCase()).toContain("idempotent-replayed");
  });

  it("gives another origin, or every origin when none is configured, no permission", async () => {
    for (const origin of ["https://evil.example", "https://app.example.evil.example", "null"]) {
      const res = await preflight(origin);
      expect(res.headers.get("access-control-allow-origin"), origin).toBeNull();
    }
    const unconfigured = await app.request(
      "/v1/queues",
      { method: "OPTIONS", headers: { origin: ALLOWED, "access-control-request-method": "GET" } },
      { ...env, CORS_ORIGINS: undefined },
    );
    expect(unconfigured.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("WebSocket tickets", () => {
  it("a ticket opens one socket, without any Authorization header, and not a second", async () => {
    const name = await create(uniqueName("ticket"));
    const reader = await issue({ queues: [name], rights: ["observe"] });
    const got = await as(reader.token)("POST", `/v1/queues/${name}/ws-ticket`);
    expect(got.status).toBe(201);
    expect(got.body!.expires_at).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 60);
    expect(got.body!.url).toBe(`/v1/queues/${name}/ws?ticket=${got.body!.ticket}`);
    const s = await subscribe(name, {}, got.body!.url);
    s.send({ op: "join", id: "browser" });
    await waitForMessages(s, 1);
    expect(s.messages[0]).toMatchObject({ type: "joined", id: "browser" });
    const again = await raw("GET", got.body!.url, undefined, { upgrade: "websocket" });
    await expectProblem(again, 401, "unauthorized", /already used/);
    s.ws.close();
  });

  it("an expired, foreign-queue, forged or bearer-token ticket is refused", async () => {
    const [a, b] = [await create(uniqueName("ta")), await create(uniqueName("tb"))];
    const upgrade = (q: string, ticket: string) =>
      raw("GET", `/v1/queues/${q}/ws?ticket=${ticket}`, undefined, { upgrade: "websocket" });
    const now = Math.floor(Date.now() / 1000);
    const expired = await sign(
      { jti: "x", use: "ws", q: [a], r: ["observe"], iat: now - 90, exp: now - 30 },
      TEST_ADMIN_TOKEN,
      "HS256",
    );
    await expectProblem(await upgrade(a, expired), 401, "unauthorized", /expired/);
    const forA = (await admin("POST", `/v1/queues/${a}/ws-ticket`)).body!.ticket as string;
    await expectProblem(await upgrade(b, forA), 403, "forbidden", new RegExp(`does not cover the queue '${b}'`));
    await expectProblem(await upgrade(a, `${forA.slice(0, -2)}xx`), 401, "unauthorized", /not valid/);
    const token = (await issue({ queues: [a], rights: ["observe"] })).token;
    await expectProblem(await upgrade(a, token), 401, "unauthorized", /not a WebSocket ticket/);
    // A ticket is for the upgrade only: as a bearer token it is refused.
    await expectProblem(await raw("GET", `/v1/queues/${a}`, undefined, bearer(forA)), 401, "unauthorized");
    const opened = await upgrade(a, forA);
    expect(opened.status).toBe(101); // the foreign-queue attempt did not spend it
    opened.webSocket!.accept();
    opened.webSocket!.close();
  });

  it("a ticket carries the rights of the token that asked: a producer's socket may put, not join", async () => {
    const name = await create(uniqueName("tk"));
    const producer = await issue({ queues: [name], rights: ["produce"] });
    const got = await raw("POST", `/v1/queues/${name}/ws-ticket`, undefined, bearer(producer.token));
    const s = await subscribe(name, {}, ((await got.json()) as { url: string }).url);
    s.send({ op: "join", id: "j" });
    s.send({ op: "put", id: "p", item: 1 });
    await waitForMessages(s, 2);
    expect(s.messages[0]).toMatchObject({
      type: "error",
      code: "forbidden",
      detail: expect.stringMatching(/'observe'/),
    });
    expect(s.messages[1]).toMatchObject({ type: "put", id: "p", ids: [1], replayed: false });
    s.ws.close();
    const adminOnly = await issue({ queues: [name], rights: ["admin"] });
    await expectProblem(
      await raw("POST", `/v1/queues/${name}/ws-ticket`, undefined, bearer(adminOnly.token)),
      403,
      "forbidden",
      /any of the rights observe, produce, consume/,
    );
  });
});
