// The Worker's entry points: the Hono app (HTTP), the service binding's RPC entrypoint, and the Durable Object
// classes wrangler.toml binds.
import { app } from "./app.ts";

export { CatalogObject } from "./catalog-object.ts";
export { QueueObject } from "./queue-object.ts";
export { QueueService } from "./service.ts";

export default app;
