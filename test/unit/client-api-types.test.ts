// The TypeScript client's generated types match the OpenAPI document the Worker serves today.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, expectTypeOf, it } from "vitest";
import type * as Api from "../../clients/typescript/src/api.gen.ts";
import type { Queue, QueueClient, Stats } from "../../clients/typescript/src/index.ts";
import { clientApiTypes, GENERATED, ROOT } from "../../scripts/client-types.ts";

it("the client's api.gen.ts is what the served OpenAPI document generates (run `npm run client-types` to update)", async () => {
  const committed = readFileSync(join(ROOT, GENERATED), "utf8");
  expect(committed, `${GENERATED} is stale: run \`npm run client-types\` and commit the result`).toBe(
    await clientApiTypes(),
  );
});

it("the client takes and answers the server's shapes: configure sets push, and stats show it (checked by tsc)", () => {
  type Configure = Parameters<Queue["configure"]>[0];
  expectTypeOf<{ push: { url: string; concurrency: number; paused: boolean } }>().toExtend<Configure>();
  expectTypeOf<{ push: null; maxsize: number }>().toExtend<Configure>();
  expectTypeOf<{ order: "lifo" }>().not.toExtend<Configure>();
  expectTypeOf<Stats["push"]>().toEqualTypeOf<Api.QueueStats["push"]>();
  expectTypeOf<NonNullable<Stats["push"]>>().toHaveProperty("failures");
  expectTypeOf<Parameters<QueueClient["createQueue"]>[1]>().toEqualTypeOf<Api.QueueConfig | undefined>();
});
