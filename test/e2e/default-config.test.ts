// Closed by default: the committed configuration, run as an operator who made no choice, refuses every /v1 call
// and says how to configure it; the README's `npm start` opts out for local work and serves.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { freePort, kill, start } from "./server.ts";

it("plain `wrangler dev` refuses every /v1 call until ADMIN_TOKEN is set; `npm start` serves", async () => {
  const persist = mkdtempSync(join(tmpdir(), "jq-default-"));
  const [closed, open] = [await freePort(), await freePort()];
  const servers = [await start(closed, persist, "plain"), await start(open, join(persist, "open"))];
  try {
    const refused = await fetch(`http://127.0.0.1:${closed}/v1/queues`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    const problem = (await refused.json()) as { code: string; detail: string };
    expect(problem.code).toBe("not_configured");
    expect(problem.detail).toContain("wrangler secret put ADMIN_TOKEN");
    expect(problem.detail).toContain('AUTH = "none"');
    expect((await fetch(`http://127.0.0.1:${closed}/v1/queues/x`, { method: "PUT" })).status).toBe(503);
    expect((await fetch(`http://127.0.0.1:${open}/v1/queues`)).status).toBe(200);
  } finally {
    for (const s of servers) await kill(s);
    rmSync(persist, { recursive: true, force: true });
  }
});
