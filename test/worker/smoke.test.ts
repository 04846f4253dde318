import { expect, it } from "vitest";
import { call, createQueue, op, stats } from "./helpers.ts";

it("smoke", async () => {
  const name = await createQueue();
  expect((await op(name, "put", { item: { a: 1 } })).status).toBe(201);
  const got = await op(name, "get", { block: false });
  console.log(got);
  console.log(await stats(name));
  console.log(await op(name, "task_done", { receipt: got.body!.receipt }));
  console.log(await op(name, "join", { timeout: 1 }));
  console.log((await call("GET", "/v1/openapi.json")).status);
});
