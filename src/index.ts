// The Worker's entry points: the Hono app (HTTP), the service binding's RPC entrypoint, and the Durable Object
// classes wrangler.toml binds.
import { worker } from "./front/http/app.ts";

export { QueueService } from "./front/rpc/service.ts";
export { CatalogObject } from "./objects/catalog/catalog-object.ts";
export { QueueObject } from "./objects/queue/queue-object.ts";

export default worker;
