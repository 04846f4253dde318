// Who may observe what, on the deployed-like Worker: peeking needs `observe` on the queue; the metrics and the
// catalog's live feed need `observe` over every queue, and a feed ticket opens exactly one socket.
import { describe, expect, it } from "vitest";
import { expectProblem, raw, uniqueName } from "../worker/helpers.ts";
import { ADMIN, admin, as, bearer, create, issue } from "./helpers.ts";

const upgrade = (path: string, headers: Record<string, string> = {}) =>
  raw("GET", path, undefined, { upgrade: "websocket", ...headers });

describe("observing, with authentication on", () => {
  it("peeking needs observe on the queue: other rights and other queues are refused", async () => {
    const queue = await create(uniqueName("peek"));
    const peek = `/v1/queues/${queue}/items?state=ready`;
    const observer = await issue({ queues: [queue], rights: ["observe"] });
    expect((await as(observer.token)("GET", peek)).status).toBe(200);
    const producer = await issue({ queues: [queue], rights: ["produce", "consume"] });
    await expectProblem(await raw("GET", peek, undefined, bearer(producer.token)), 403, "forbidden", /observe/);
    const elsewhere = await issue({ queues: ["other-*"], rights: ["observe"] });
    await expectProblem(await raw("GET", peek, undefined, bearer(elsewhere.token)), 403, "forbidden", /scope/);
    await expectProblem(await raw("GET", peek), 401, "unauthorized");
  });

  it("metrics and the feed need observe over every queue", async () => {
    const some = await issue({ queues: ["etl-*"], rights: ["observe"] });
    for (const [method, path] of [
      ["GET", "/v1/metrics"],
      ["GET", "/v1/catalog/ws"],
      ["POST", "/v1/catalog/ws-ticket"],
    ] as const) {
      await expectProblem(await raw(method, path, undefined, bearer(some.token)), 403, "forbidden", /every queue/);
    }
    const all = await issue({ queues: ["*"], rights: ["observe"] });
    expect((await raw("GET", "/v1/metrics", undefined, bearer(all.token))).status).toBe(200);
    expect((await as(all.token)("POST", "/v1/catalog/ws-ticket")).status).toBe(201);
  });

  it("a feed ticket opens one socket; a queue's ticket opens none", async () => {
    const { url } = (await admin("POST", "/v1/catalog/ws-ticket")).body!;
    const first = await upgrade(url);
    expect(first.status).toBe(101);
    first.webSocket!.accept();
    first.webSocket!.close();
    await expectProblem(await upgrade(url), 401, "unauthorized", /already used/);
    const queue = await create(uniqueName("ticket"));
    const queueTicket = (await admin("POST", `/v1/queues/${queue}/ws-ticket`)).body!.ticket;
    await expectProblem(await upgrade(`/v1/catalog/ws?ticket=${queueTicket}`), 403, "forbidden", /every queue/);
    await expectProblem(await upgrade("/v1/catalog/ws", {}), 401, "unauthorized");
    const bearerSocket = await upgrade("/v1/catalog/ws", ADMIN);
    expect(bearerSocket.status).toBe(101);
    bearerSocket.webSocket!.accept();
    bearerSocket.webSocket!.close();
  });
});
