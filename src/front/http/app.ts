// The HTTP API: one Hono app. Middleware runs in this order for every /v1 call: CORS (preflights end there),
// the body limit, authentication; then each route checks its right and validates its input with zod before it
// touches a Durable Object. Errors become problem documents here and nowhere else.
import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { LIMITS } from "../../contract/limits.ts";
import { PROBLEM_CODES, type ProblemCode, problem } from "../../contract/problems.ts";
import * as S from "../../contract/schemas.ts";
import { ObjectUnavailable } from "../../objects/rpc.ts";
import { type App, authenticate } from "./auth.ts";
import { deadLetterRoutes } from "./routes/dead-letters.ts";
import { feedRoutes } from "./routes/feed.ts";
import { groupRoutes } from "./routes/groups.ts";
import { itemRoutes } from "./routes/items.ts";
import { observeRoutes } from "./routes/observe.ts";
import { queueRoutes } from "./routes/queues.ts";
import { subscribeRoutes } from "./routes/subscribe.ts";
import { tokenRoutes } from "./routes/tokens.ts";

export const app = new OpenAPIHono<App>({
  defaultHook: (result, c) => {
    if (result.success) return;
    const where =
      { json: "body", param: "path", query: "query", header: "header" }[result.target as string] ?? result.target;
    return problem("invalid_request", `invalid ${where}: ${S.describeIssues(result.error)}`, c.req.path);
  },
});

// Browsers: only the origins listed in CORS_ORIGINS (none by default) may call the API from a web page.
app.use(
  "/v1/*",
  cors({
    origin: (origin, c) =>
      (c.env.CORS_ORIGINS ?? "")
        .split(",")
        .map((o: string) => o.trim())
        .includes(origin)
        ? origin
        : null,
    allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key"],
    exposeHeaders: ["Idempotent-Replayed", "Retry-After", "WWW-Authenticate"],
    maxAge: 600,
  }),
);

// Counts the bytes as they arrive, so a chunked body without Content-Length is held to the same limit.
app.use(
  "/v1/*",
  bodyLimit({
    maxSize: LIMITS.maxBodyBytes,
    onError: (c) =>
      problem("payload_too_large", `a request body may be at most ${LIMITS.maxBodyBytes} bytes`, c.req.path),
  }),
);

app.use("/v1/*", authenticate);

app.openAPIRegistry.register("Problem", S.Problem);
app.openAPIRegistry.registerComponent("responses", "Problem", {
  description: `An RFC 9457 problem document. \`code\` is one of: ${PROBLEM_CODES.join(", ")}.`,
  content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
});
app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
  type: "http",
  scheme: "bearer",
  description:
    'The admin secret, or a scoped token from POST /v1/tokens. Not needed where the deployment sets AUTH = "none".',
});

queueRoutes(app);
itemRoutes(app);
deadLetterRoutes(app);
groupRoutes(app);
subscribeRoutes(app);
tokenRoutes(app);
observeRoutes(app);
feedRoutes(app);

app.onError((err, c) => {
  if (err instanceof HTTPException) {
    const code: ProblemCode =
      err.status === 415 ? "unsupported_media_type" : err.status === 413 ? "payload_too_large" : "invalid_request";
    const detail =
      code === "unsupported_media_type" ? "send the body as 'Content-Type: application/json'" : err.message;
    return problem(code, detail, c.req.path);
  }
  if (err instanceof ObjectUnavailable) {
    const detail = err.overloaded
      ? "the queue's object is overloaded; back off before retrying"
      : "the queue's object restarted during the call; retry (puts with an idempotency key retry safely)";
    return problem("unavailable", detail, c.req.path, err.overloaded ? {} : { "retry-after": "1" });
  }
  return internal(err, c.req.raw);
});

/** A failure of ours: nothing of the error reaches the caller; the request id ties the answer to its log line. */
function internal(err: unknown, request: Request): Response {
  const requestId = request.headers.get("cf-ray") ?? crypto.randomUUID();
  const path = new URL(request.url).pathname;
  console.error(`request ${requestId}: ${request.method} ${path} failed`, err);
  return problem("internal", "an internal error occurred", path, {}, { request_id: requestId });
}

/**
 * The Worker's fetch: the app, and around it the same problem document for anything thrown past the app's own
 * error handler, so that no caller is ever shown the runtime's plain-text stack.
 */
export const worker: ExportedHandler<Env> = {
  async fetch(request, env, ctx) {
    try {
      return await app.fetch(request, env, ctx);
    } catch (err) {
      return internal(err, request);
    }
  },
};

app.notFound((c) => problem("not_found", `no route ${c.req.method} ${c.req.path}; see /v1/openapi.json`, c.req.path));

app.doc31("/v1/openapi.json", (c) => ({
  openapi: "3.1.0",
  servers: [{ url: new URL(c.req.url).origin }],
  info: {
    title: "Joinable queues",
    version: "1.0.0",
    description: "Python's queue.Queue (put / get / task_done / join) as an HTTP service.",
  },
  security: [{ bearer: [] }],
}));

// Browsers go to the dashboard (static files under public/); API clients get where things are.
app.get("/", (c) =>
  c.req.header("accept")?.includes("text/html")
    ? c.redirect("/dashboard/", 302)
    : c.json({
        service: "joinable-queues",
        dashboard: "/dashboard/",
        openapi: "/v1/openapi.json",
        queues: "/v1/queues",
      }),
);
