// Documented caps (small ones in this project, see vitest.config.ts): one past each gets 429 limit_exceeded while
// the queue keeps serving everyone else; bodies are limited even when chunked.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { LIMITS } from "../../src/contract/limits.ts";
import { app } from "../../src/front/http/app.ts";
import { expectProblem, raw, subscribe, uniqueName, until } from "../worker/helpers.ts";
import { ADMIN, admin, create } from "./helpers.ts";

const MAX_WAITERS = 4;
const MAX_SUBSCRIBERS = 3;

const stats = async (name: string) => (await admin("GET", `/v1/queues/${name}`)).body!;

describe("caps", () => {
  it(`a ${MAX_WAITERS + 1}th waiting call is refused; others keep being served`, async () => {
    const name = await create(uniqueName("waiters"));
    const other = await create(uniqueName("other"));
    await admin("POST", `/v1/queues/${name}/put`, { item: "taken" });
    await admin("POST", `/v1/queues/${name}/get`, {}); // not done: a join would wait
    const waiting = Array.from({ length: MAX_WAITERS }, () => admin("POST", `/v1/queues/${name}/get`, { timeout: 10 }));
    await until(async () => (await stats(name)).waiting.getters === MAX_WAITERS);
    const refused = await raw("POST", `/v1/queues/${name}/join`, "{}", {
      ...ADMIN,
      "content-type": "application/json",
    });
    const body = await expectProblem(refused, 429, "limit_exceeded", new RegExp(`${MAX_WAITERS} waiting calls`));
    expect(body.detail).toContain("retry");
    expect(refused.headers.get("retry-after")).toBe("1");
    expect((await admin("POST", `/v1/queues/${other}/put`, { item: 1 })).status).toBe(201);
    expect((await admin("POST", `/v1/queues/${other}/get`, {})).status).toBe(200);
    await admin("POST", `/v1/queues/${name}/put`, {
      items: Array.from({ length: MAX_WAITERS }, (_, i) => ({ item: i })),
    });
    expect((await Promise.all(waiting)).map((r) => r.status)).toEqual(Array(MAX_WAITERS).fill(200));
  });

  it(`a ${MAX_SUBSCRIBERS + 1}th WebSocket subscriber is refused; the others stay subscribed`, async () => {
    const name = await create(uniqueName("subs"));
    const sockets = await Promise.all(Array.from({ length: MAX_SUBSCRIBERS }, () => subscribe(name, ADMIN)));
    const refused = await raw("GET", `/v1/queues/${name}/ws`, undefined, { ...ADMIN, upgrade: "websocket" });
    await expectProblem(refused, 429, "limit_exceeded", new RegExp(`${MAX_SUBSCRIBERS} WebSocket subscribers`));
    for (const s of sockets) s.send({ op: "join" });
    await until(async () => sockets.every((s) => s.messages.length === 1));
    sockets[0]!.ws.close();
    await until(async () => {
      const res = await raw("GET", `/v1/queues/${name}/ws`, undefined, { ...ADMIN, upgrade: "websocket" });
      res.webSocket?.accept();
      res.webSocket?.close();
      return res.status === 101;
    });
    for (const s of sockets.slice(1)) s.ws.close();
  });

  it("the queue cap refuses a new queue, still admits an existing one, and leaves queues serving", async () => {
    const existing = await create(uniqueName("cap"));
    const count = (await admin("GET", "/v1/queues?limit=1000")).body!.queues.length as number;
    const capped = { ...env, MAX_QUEUES: String(count) };
    const request = (name: string) =>
      app.request(
        `/v1/queues/${name}`,
        { method: "PUT", headers: { ...ADMIN, "content-type": "application/json" }, body: "{}" },
        capped,
      );
    await expectProblem(
      await request(uniqueName("over")),
      429,
      "limit_exceeded",
      new RegExp(`already has ${count} queues`),
    );
    expect((await request(existing)).status).toBe(200);
    expect((await admin("POST", `/v1/queues/${existing}/put`, { item: 1 })).status).toBe(201);
  });

  it("holds a chunked body without Content-Length to the body limit", async () => {
    const name = await create(uniqueName("chunked"));
    const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(new TextEncoder().encode('{"item": "'));
        if (sent > LIMITS.maxBodyBytes + chunk.length) return controller.close();
        controller.enqueue(chunk);
        sent += chunk.length;
      },
    });
    const req = new Request(`http://queues.test/v1/queues/${name}/put`, {
      method: "POST",
      body,
      headers: { ...ADMIN, "content-type": "application/json" },
    });
    expect(req.headers.get("content-length")).toBeNull();
    await expectProblem(await app.request(req, undefined, env), 413, "payload_too_large", /at most 1048576 bytes/);
    expect(await stats(name)).toMatchObject({ qsize: 0 });
  });
});
