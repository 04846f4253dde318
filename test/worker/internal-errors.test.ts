// A failure of ours is answered as the documented problem document, `internal` with a request id, wherever it is
// thrown: inside a route (the app's error handler) or past the app (the Worker's fetch around it). Never the
// runtime's plain-text stack.
import { createExecutionContext, env } from "cloudflare:test";
import { afterEach, expect, it, vi } from "vitest";
import { app, worker } from "../../src/front/http/app.ts";

afterEach(() => vi.restoreAllMocks());

async function expectInternal(res: Response) {
  expect(res.status).toBe(500);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const body = (await res.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ code: "internal", status: 500, detail: "an internal error occurred" });
  expect(body.request_id).toEqual(expect.any(String));
  expect(JSON.stringify(body)).not.toContain("boom");
}

it("an exception thrown past the app's error handler is a problem document with a request id", async () => {
  vi.spyOn(console, "error").mockImplementation(() => undefined);
  vi.spyOn(app, "fetch").mockImplementation(() => {
    throw new Error("boom: Cannot perform I/O on behalf of a different request");
  });
  await expectInternal(await worker.fetch!(new Request("http://queues.test/v1/queues"), env, createExecutionContext()));
});

it("an exception thrown inside a route is the same problem document", async () => {
  vi.spyOn(console, "error").mockImplementation(() => undefined);
  vi.spyOn(env.QUEUES, "idFromName").mockImplementation(() => {
    throw new Error("boom");
  });
  await expectInternal(
    await worker.fetch!(
      new Request("http://queues.test/v1/queues/x", { method: "GET" }),
      env,
      createExecutionContext(),
    ),
  );
});
