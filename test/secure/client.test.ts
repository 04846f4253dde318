// The TypeScript client with tokens: it sends them, surfaces 401 and 403 as their own error classes, and a group's
// calls need their rights (produce to cancel, admin to configure, observe to read).
import { exports } from "cloudflare:workers";
import { expect, it } from "vitest";
import { Forbidden, QueueClient, QueueError, Unauthorized } from "../../clients/typescript/src/index.ts";
import { uniqueName } from "../worker/helpers.ts";
import { create, issue, TEST_ADMIN_TOKEN } from "./helpers.ts";

const fetchWorker = (input: RequestInfo | URL, init?: RequestInit) => exports.default.fetch(new Request(input, init));
const client = (token?: string) => new QueueClient("http://queues.test", { token, fetch: fetchWorker });

it("works with a token, and throws Unauthorized and Forbidden with the problem's detail", async () => {
  const name = await create(uniqueName("client"));
  const producer = await issue({ queues: [name], rights: ["produce"] });
  const q = client(producer.token).queue(name);
  expect(await q.put({ n: 1 })).toBe(1);
  const forbidden = await q.getNowait().catch((e: unknown) => e);
  expect(forbidden).toBeInstanceOf(Forbidden);
  expect(forbidden).toMatchObject({ code: "forbidden", status: 403, message: expect.stringContaining("'consume'") });
  const missing = await client()
    .queue(name)
    .stats()
    .catch((e: unknown) => e);
  expect(missing).toBeInstanceOf(Unauthorized);
  expect(missing).toBeInstanceOf(QueueError);
  expect(await client(TEST_ADMIN_TOKEN).queue(name).qsize()).toBe(1);
});

it("a group's rights: produce cancels it, admin weights and caps it, observe reads it (Forbidden otherwise)", async () => {
  const name = await create(uniqueName("client-groups"));
  const [producer, observer] = await Promise.all([
    issue({ queues: [name], rights: ["produce"] }),
    issue({ queues: [name], rights: ["observe"] }),
  ]);
  const produced = client(producer.token).queue(name).group("batch");
  await produced.putMany([1, 2]);
  await expect(produced.configure({ weight: 2 })).rejects.toBeInstanceOf(Forbidden);
  expect(await client(TEST_ADMIN_TOKEN).queue(name).group("batch").configure({ weight: 2 })).toMatchObject({
    weight: 2,
  });
  const observed = client(observer.token).queue(name).group("batch");
  await expect(observed.cancel()).rejects.toBeInstanceOf(Forbidden);
  expect(await produced.cancel()).toEqual({ group: "batch", cancelled: 2, in_flight: 0 });
  expect(await observed.stats()).toMatchObject({ state: "cancelled", cancelled: 2, weight: 2 });
});
