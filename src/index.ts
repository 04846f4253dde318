// The Worker's entry point: the Hono app, and the Durable Object classes wrangler.toml binds.
import { app } from "./app.ts";

export { CatalogObject } from "./catalog-object.ts";
export { QueueObject } from "./queue-object.ts";

export default app;
