// The TypeScript client with tokens: it sends them, and surfaces 401 and 403 as their own error classes.
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
