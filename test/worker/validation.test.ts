// Bad input at the edge: each case a precise 4xx problem document, and the queue unchanged.
import { describe, expect, it } from "vitest";
import { call, createQueue, expectProblem, op, raw, stats } from "./helpers.ts";

describe("request bodies", () => {
  it("malformed JSON, wrong content type and wrong types are 4xx and change nothing", async () => {
    const name = await createQueue();
    const path = `/v1/queues/${name}/put`;
    await expectProblem(
      await raw("POST", path, "{not json", { "content-type": "application/json" }),
      400,
      "invalid_request",
      /JSON/i,
    );
    await expectProblem(
      await raw("POST", path, '{"item":1}', { "content-type": "text/plain" }),
      415,
      "unsupported_media_type",
    );
    await expectProblem(await raw("POST", path, '{"item":1}'), 415, "unsupported_media_type");
    await expectProblem(
      await raw("POST", path, JSON.stringify({ item: 1, block: "yes" }), { "content-type": "application/json" }),
      400,
      "invalid_request",
      /block/,
    );
    await expectProblem(
      await raw("POST", path, JSON.stringify({ item: 1, surprise: true }), { "content-type": "application/json" }),
      400,
      "invalid_request",
      /surprise/,
    );
    await expectProblem(
      await raw("POST", path, JSON.stringify({}), { "content-type": "application/json" }),
      400,
      "invalid_request",
      /exactly one of 'item' or 'items'/,
    );
    await expectProblem(
      await raw("POST", path, JSON.stringify({ items: [{ priority: 1 }] }), { "content-type": "application/json" }),
      400,
      "invalid_request",
      /item/,
    );
    expect(await stats(name)).toMatchObject({ qsize: 0, unfinished_tasks: 0 });
  });

  it("negative, huge and non-numeric timeouts are refused", async () => {
    const name = await createQueue();
    await op(name, "put", { item: 1 });
    for (const timeout of [-1, 1e300, "5", true]) {
      const res = await op(name, "get", { timeout });
      expect(res, String(timeout)).toMatchObject({ status: 400, body: { code: "invalid_request" } });
      expect(res.body!.detail).toMatch(/timeout/);
    }
    // NaN and Infinity are not JSON: they arrive as malformed bodies.
    expect((await op(name, "get", '{"timeout": NaN}')).status).toBe(400);
    expect((await op(name, "join", '{"timeout": Infinity}')).status).toBe(400);
    expect(await stats(name)).toMatchObject({ qsize: 1, unfinished_tasks: 1, deliveries: 0 });
  });

  it("bad queue configurations are refused with the field named", async () => {
    for (const [config, field] of [
      [{ maxsize: -1 }, "maxsize"],
      [{ maxsize: 1.5 }, "maxsize"],
      [{ maxsize: 1e12 }, "maxsize"],
      [{ order: "random" }, "order"],
      [{ lease_seconds: 0 }, "lease_seconds"],
      [{ max_deliveries: 0 }, "max_deliveries"],
    ] as const) {
      const res = await call("PUT", `/v1/queues/cfg-${field}`, config);
      expect(res, JSON.stringify(config)).toMatchObject({ status: 400, body: { code: "invalid_request" } });
      expect(res.body!.detail).toContain(field);
    }
  });

  it("oversized items are 413 payload_too_large; oversized bodies too", async () => {
    const name = await createQueue();
    const big = "x".repeat(128 * 1024);
    expect(await op(name, "put", { item: big })).toMatchObject({ status: 413, body: { code: "payload_too_large" } });
    const huge = "x".repeat(1024 * 1024 + 10);
    expect(await op(name, "put", { item: huge })).toMatchObject({ status: 413, body: { code: "payload_too_large" } });
    expect((await op(name, "put", { item: "x".repeat(100 * 1024) })).status).toBe(201);
    expect(await stats(name)).toMatchObject({ qsize: 1 });
  });

  it("a priority on a FIFO queue and a batch larger than maxsize are refused", async () => {
    const name = await createQueue({ maxsize: 2 });
    expect((await op(name, "put", { item: 1, priority: 3 })).body).toMatchObject({ code: "invalid_request" });
    const batch = { items: [{ item: 1 }, { item: 2 }, { item: 3 }] };
    expect(await op(name, "put", batch)).toMatchObject({ status: 400, body: { code: "batch_too_large" } });
    expect(await stats(name)).toMatchObject({ qsize: 0, unfinished_tasks: 0 });
  });
});

describe("queue names", () => {
  it("hostile names are refused before any object is touched", async () => {
    for (const name of [
      "",
      "a".repeat(65),
      "a".repeat(200),
      "../x",
      "..%2Fx",
      "%2F",
      "a%2Fb",
      "-lead",
      "a%00b",
      "a%0Ab",
      "sp%20ace",
      "%C3%A9t%C3%A9",
    ]) {
      const res = await raw("PUT", `/v1/queues/${name}`, "{}", { "content-type": "application/json" });
      expect([400, 404], name).toContain(res.status);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
    }
    const listed = await call("GET", "/v1/queues?limit=1000");
    expect(listed.body!.queues.every((q: { name: string }) => /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(q.name))).toBe(
      true,
    );
  });

  it("a 64-character name is fine; dots and dashes inside are fine", async () => {
    expect((await call("PUT", `/v1/queues/${"a".repeat(64)}`, {})).status).toBe(201);
    expect((await call("PUT", "/v1/queues/jobs.v2-eu_1", {})).status).toBe(201);
  });
});

describe("receipts and misc", () => {
  it("a forged or foreign receipt is 400, an unknown route 404, all as problem documents", async () => {
    const a = await createQueue();
    const b = await createQueue();
    await op(a, "put", { item: 1 });
    const { receipt } = (await op(a, "get")).body!;
    expect((await op(b, "task_done", { receipt })).body).toMatchObject({ code: "invalid_receipt" });
    expect((await op(a, "task_done", { receipt: "garbage" })).body).toMatchObject({ code: "invalid_receipt" });
    const forged = receipt.replace(/\.[0-9a-f]{16}$/, ".0000000000000000");
    expect((await op(a, "task_done", { receipt: forged })).body).toMatchObject({ code: "invalid_receipt" });
    expect(await stats(a)).toMatchObject({ unfinished_tasks: 1, leased: 1 });
    await expectProblem(await raw("GET", "/v1/nowhere"), 404, "not_found");
  });

  it("serves its OpenAPI document, with the problem codes", async () => {
    const res = await call("GET", "/v1/openapi.json");
    expect(res.status).toBe(200);
    expect(res.body!.openapi).toBe("3.1.0");
    expect(Object.keys(res.body!.paths)).toContain("/v1/queues/{name}/task_done");
    expect(res.body!.components.responses.Problem.description).toContain("task_done_too_many");
  });
});
