import { env, runInDurableObject } from "cloudflare:test";
import { it } from "vitest";
import { createQueue, op } from "./helpers.ts";
it("debug", async () => {
  const name = await createQueue({ shards: 2 });
  const stub = env.QUEUES.get(env.QUEUES.idFromName(name));
  await runInDurableObject(stub, (o: any, state: any) => { console.log("NAME", state.id.name, !!o.shard, o.shard?.count); });
  await op(name, "put", { item: 1, shard_key: "k" });
  const r = await op(name, "get", { block: false });
  console.log(JSON.stringify(r.body));
  const r2 = await op(name, "get", { block: false });
  console.log(JSON.stringify(r2.body));
});
