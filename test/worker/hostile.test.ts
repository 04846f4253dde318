// Defects found by hostile input, each its own test: undeliverable items, jammed notifications, storage left by
// questions, non-finite numbers, frame bytes. And items come back as the very text that was put.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { LIMITS } from "../../src/contract/limits.ts";
import { call, createQueue, expectProblem, op, raw, stats, subscribe, uniqueName, waitForMessages } from "./helpers.ts";

const post = (name: string, verb: string, body: string) =>
  raw("POST", `/v1/queues/${name}/${verb}`, body, { "content-type": "application/json" });
const nest = (levels: number) => "[".repeat(levels) + "]".repeat(levels);

describe("items that could never be delivered", () => {
  it("an item nested past the limit is refused at put, and the items around it are delivered", async () => {
    const name = await createQueue({ lease_seconds: 2, max_deliveries: 3 });
    for (const v of [1, 2, 3]) await op(name, "put", { item: v });
    await expectProblem(
      await post(name, "put", `{"item": ${nest(4000)}}`),
      400,
      "invalid_request",
      /item nests deeper than 64 levels/,
    );
    await expectProblem(
      await post(name, "put", `{"items": [{"item": 4}, {"item": {"a": ${nest(65)}}}]}`),
      400,
      "invalid_request",
      /items\[1\]\.item nests deeper/,
    );
    for (const v of [5, 6, 7]) await op(name, "put", { item: v });
    const got = await op(name, "get", { max: 100 });
    expect(got.status).toBe(200);
    expect(got.body!.items.map((d: { item: number }) => d.item)).toEqual([1, 2, 3, 5, 6, 7]);
    expect(await stats(name)).toMatchObject({ qsize: 0, leased: 6, dead_lettered: 0 });
  });

  it(`an item nested exactly ${LIMITS.maxItemDepth} levels deep is delivered and read back from the dead letters`, async () => {
    const name = await createQueue({ max_deliveries: 1 });
    const deep = nest(LIMITS.maxItemDepth);
    expect((await post(name, "put", `{"item": ${deep}}`)).status).toBe(201);
    const got = await op(name, "get");
    expect(JSON.stringify(got.body!.item)).toBe(deep);
    await op(name, "release", { receipt: got.body!.receipt });
    const dead = await call("GET", `/v1/queues/${name}/dead_letters`);
    expect(dead.status).toBe(200);
    expect(JSON.stringify(dead.body!.items[0].item)).toBe(deep);
  });

  it("refuses numbers beyond a 64-bit float instead of turning them into null", async () => {
    const name = await createQueue();
    await expectProblem(await post(name, "put", '{"item": 1e400}'), 400, "invalid_request", /1e400/);
    await expectProblem(
      await post(name, "put", '{"items": [{"item": [1, -1E999]}]}'),
      400,
      "invalid_request",
      /items\[0\]\.item holds -1E999/,
    );
    expect(await stats(name)).toMatchObject({ qsize: 0, unfinished_tasks: 0 });
  });
});

describe("items come back exactly as they were put", () => {
  it("floats stay floats, 64-bit integers stay exact, -0 stays, keys keep their order", async () => {
    const name = await createQueue();
    const texts = ["1.0", "9007199254740993", "-0.0", '{"b":1,"2":2,"1":3}', '"caf\\u00e9"', "[1e2, 0.10]"];
    await post(name, "put", `{"items": [${texts.map((t) => `{"item": ${t}}`).join(", ")}]}`);
    const res = await post(name, "get", '{"max": 10}');
    const body = await res.text();
    for (const t of texts) expect(body).toContain(`"item":${t},`);
  });
});

describe("asking about a queue writes nothing", () => {
  // Locally miniflare records the name of every object it instantiates in a table of its own ('__miniflare_do_name');
  // deployed, an object that writes nothing stores nothing. So the check is that our code wrote no table.
  it("requests for queues that do not exist leave no tables behind", async () => {
    const name = uniqueName("nosuch");
    expect((await call("GET", `/v1/queues/${name}`)).status).toBe(404);
    expect((await op(name, "get", { block: false })).status).toBe(404);
    expect((await op(name, "put", { item: 1 })).status).toBe(404);
    expect((await call("GET", `/v1/queues/${name}/dead_letters`)).status).toBe(404);
    expect((await raw("GET", `/v1/queues/${name}/ws`, undefined, { upgrade: "websocket" })).status).toBe(404);
    const tables = (id: string) =>
      runInDurableObject(env.QUEUES.get(env.QUEUES.idFromName(id)), (_, state) =>
        state.storage.sql
          .exec<{ name: string }>("SELECT name FROM sqlite_master")
          .toArray()
          .map((r) => r.name)
          .filter((n) => !n.startsWith("_")),
      );
    expect(await tables(name)).toEqual([]);
    expect(await tables(await createQueue())).toContain("segments");
  });
});

describe("one socket cannot silence the others", () => {
  it("caps join subscriptions per socket with an error frame; later subscribers are still told", async () => {
    const name = await createQueue();
    await op(name, "put", { item: 1 });
    const flood = await subscribe(name);
    for (let i = 0; i < 150; i++)
      flood.send({ op: "join", repeat: true, id: `${i}`.padStart(LIMITS.maxSubscriptionIdLength, "x") });
    await waitForMessages(flood, 150 - LIMITS.maxJoinsPerSocket);
    expect(flood.messages[0]).toMatchObject({ type: "error", code: "limit_exceeded", status: 429 });
    expect(flood.messages[0]!.detail).toContain(`at most ${LIMITS.maxJoinsPerSocket} join subscriptions`);
    const later = await subscribe(name);
    later.send({ op: "join", id: "later" });
    await op(name, "task_done");
    await waitForMessages(later, 1);
    expect(later.messages).toEqual([{ type: "joined", id: "later", unfinished_tasks: 0, dead_lettered: 0 }]);
    await waitForMessages(flood, 150 - LIMITS.maxJoinsPerSocket + LIMITS.maxJoinsPerSocket);
    expect(flood.messages.filter((m) => m.type === "joined")).toHaveLength(LIMITS.maxJoinsPerSocket);
    flood.ws.close();
    later.ws.close();
  });

  it("counts a frame's bytes, not its characters", async () => {
    const name = await createQueue();
    const s = await subscribe(name);
    s.send(JSON.stringify({ op: "join", id: "é".repeat(3000) })); // 3,000 characters, 6,000 bytes
    s.send(JSON.stringify({ op: "watch", pad: "x".repeat(LIMITS.maxFrameBytes) }));
    await waitForMessages(s, 2);
    expect(s.messages.map((m) => m.code)).toEqual(["payload_too_large", "payload_too_large"]);
    s.ws.close();
  });

  it("answers an unknown op with every op a socket takes, work and subscriptions alike", async () => {
    const name = await createQueue();
    const s = await subscribe(name);
    s.send({ op: "fly", id: 1 });
    s.send({ id: 2 });
    await waitForMessages(s, 2);
    const ops = "put, consume, cancel, task_done, extend, release, join, unjoin, watch, unwatch";
    expect(s.messages).toEqual([
      expect.objectContaining({
        type: "error",
        code: "invalid_request",
        status: 400,
        detail: `op: expected one of ${ops}`,
      }),
      expect.objectContaining({ type: "error", code: "invalid_request", detail: `op: expected one of ${ops}` }),
    ]);
    s.ws.close();
  });
});
