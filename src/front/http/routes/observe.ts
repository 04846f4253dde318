// Routes for observers: peek at a queue's items without taking them, and every queue's counters for scrapers.
import { z } from "@hono/zod-openapi";
import * as S from "../../../contract/schemas.ts";
import type { Peeked } from "../../../objects/queue/peek.ts";
import { catalog } from "../../../objects/stubs.ts";
import { queueOf } from "../../queues.ts";
import { exposition, negotiate, OPENMETRICS_TYPE, PROMETHEUS_TYPE } from "../openmetrics.ts";
import { type Api, named, ok, queuePath, reply, routes } from "../route.ts";

const route = routes("Observing");

const peek = route("observe", {
  operationId: "peekItems",
  method: "get",
  path: `${queuePath}/items`,
  summary: "Peek at items without taking them: in flight (leased), next ready, or delayed",
  description:
    "Changes nothing: no delivery, no counter. `leased` lists the deliveries join is waiting for, soonest lease " +
    "end first; `ready` the items get hands out next, in the queue's order; `delayed` the items not visible yet.",
  request: { ...named, query: S.PeekQuery },
  responses: {
    200: ok(
      "Items as they stand",
      z.object({
        now: z.number().openapi({ description: "The server's clock (Unix ms)." }),
        items: z.array(S.PeekedItem),
      }),
    ),
  },
});

const metrics = route(
  "observe",
  {
    operationId: "getMetrics",
    method: "get",
    path: "/v1/metrics",
    summary: "Every queue's counters for Prometheus and other scrapers: OpenMetrics 1.0, or the classic text format",
    description:
      "Answered from the counters each queue reports to the catalog (at most once a second, when they change), " +
      "so a scrape costs one call however many queues there are. `Accept` chooses the format as Prometheus's " +
      "client libraries negotiate it: whichever of `text/plain` (version 0.0.4 or none) and " +
      "`application/openmetrics-text` it prefers. `text/plain` gets Prometheus's classic text format " +
      `(\`${PROMETHEUS_TYPE}\`, which \`promtool check metrics\` lints); anything else, no \`Accept\` included, ` +
      `OpenMetrics 1.0 (\`${OPENMETRICS_TYPE}\`, ending with \`# EOF\`). The same families and figures either way.`,
    responses: {
      200: {
        description: "The exposition: OpenMetrics 1.0 text ending with `# EOF`, or Prometheus text 0.0.4",
        content: {
          "application/openmetrics-text": { schema: z.string().regex(/# EOF\n$/) },
          "text/plain": { schema: z.string() },
        },
      },
    },
  },
  "all",
);

/** A peeked item as JSON, its item spliced in as the very text the producer sent. */
const peekedJson = ({ id, json, ...rest }: Peeked) => `{"id":${id},"item":${json},${JSON.stringify(rest).slice(1)}`;

export function observeRoutes(app: Api): void {
  app.openapi(peek, async (c) => {
    const { name } = c.req.valid("param");
    const { state, limit } = c.req.valid("query");
    const outcome = await (await queueOf(c.env, name)).peek(state, limit);
    if (!outcome.ok) return reply(c, outcome);
    const text = `{"now":${Date.now()},"items":[${outcome.items.map(peekedJson).join(",")}]}`;
    return c.body(text, 200, { "content-type": "application/json" });
  });

  app.openapi(metrics, async (c) => {
    const format = negotiate(c.req.header("accept"));
    const text = exposition(await catalog(c.env).headlines(), format);
    return c.body(text, 200, { "content-type": format, vary: "Accept", "cache-control": "no-store" });
  });
}
