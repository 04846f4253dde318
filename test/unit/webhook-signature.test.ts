// Standard Webhooks signing, cross-checked: what the service signs, the standardwebhooks package and both clients'
// helpers verify; a tampered body, an old timestamp and a wrong secret are refused by each. Plus PUSH_ORIGINS.
import { spawnSync } from "node:child_process";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { verifyWebhook } from "../../clients/typescript/src/webhooks.ts";
import { refusePushUrl } from "../../src/contract/push-origins.ts";
import { newSecret, signature, signedHeaders } from "../../src/contract/webhook-signature.ts";

const body = JSON.stringify({ type: "queue.item", timestamp: "2026-01-01T00:00:00.000Z", data: { id: 1, item: "é" } });

/** The Python client's verify_webhook, run in a real interpreter: "ok" or the error's message. */
function python(secret: string | string[], headers: Record<string, string>, text: string): string {
  const script = `
import json, sys
from joinable_queues import verify_webhook, WebhookVerificationError
a = json.loads(sys.stdin.read())
try:
    verify_webhook(a["secret"], a["headers"], a["body"].encode("utf-8"))
    print("ok")
except WebhookVerificationError as e:
    print("refused:", e)
`;
  const run = spawnSync("python3", ["-c", script], {
    input: JSON.stringify({ secret, headers, body: text }),
    env: { ...process.env, PYTHONPATH: "clients/python" },
    encoding: "utf8",
  });
  if (run.status !== 0) throw new Error(run.stderr);
  return run.stdout.trim();
}

/** Every verifier's verdict on one request. */
async function verdicts(secret: string, headers: Record<string, string>, text: string) {
  const pkg = (() => {
    try {
      new Webhook(secret).verify(text, headers);
      return "ok";
    } catch (e) {
      return `refused: ${(e as Error).message}`;
    }
  })();
  const ts = await verifyWebhook(secret, headers, text).then(
    () => "ok",
    (e: Error) => `refused: ${e.message}`,
  );
  return { pkg, ts, py: python(secret, headers, text) };
}

describe("signatures", () => {
  it("are the standardwebhooks package's own, byte for byte", async () => {
    const secret = newSecret();
    const at = new Date("2026-03-01T12:00:00Z");
    const ours = await signature(secret, "msg_1", Math.floor(at.getTime() / 1000), body);
    expect(ours).toBe(new Webhook(secret).sign("msg_1", at, body));
  });

  it("verify with the package and with both clients' helpers", async () => {
    const secret = newSecret();
    const headers = await signedHeaders([secret], "msg_q_1", body, Date.now());
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(await verdicts(secret, headers, body)).toEqual({ pkg: "ok", ts: "ok", py: "ok" });
    expect((await verifyWebhook(secret, headers, body)).data).toEqual({ id: 1, item: "é" });
  });

  it("during a rotation's overlap, both the old and the new secret verify", async () => {
    const [fresh, old] = [newSecret(), newSecret()];
    const headers = await signedHeaders([fresh, old], "msg_2", body, Date.now());
    expect(headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    expect(await verdicts(fresh, headers, body)).toEqual({ pkg: "ok", ts: "ok", py: "ok" });
    expect(await verdicts(old, headers, body)).toEqual({ pkg: "ok", ts: "ok", py: "ok" });
  });

  it("refuse a tampered body, an old timestamp and a wrong secret, in every verifier", async () => {
    const secret = newSecret();
    const headers = await signedHeaders([secret], "msg_3", body, Date.now());
    const refusedByAll = (v: Record<string, string>) => Object.values(v).every((x) => x.startsWith("refused"));
    expect(refusedByAll(await verdicts(secret, headers, body.replace("é", "e")))).toBe(true);
    expect(refusedByAll(await verdicts(newSecret(), headers, body))).toBe(true);
    const old = await signedHeaders([secret], "msg_3", body, Date.now() - 10 * 60_000);
    expect(refusedByAll(await verdicts(secret, old, body))).toBe(true);
    const forged = { ...headers, "webhook-id": "msg_4" };
    expect(refusedByAll(await verdicts(secret, forged, body))).toBe(true);
  });
});

describe("PUSH_ORIGINS", () => {
  it("is off when unset: every URL is refused, saying how to turn it on", () => {
    expect(refusePushUrl(undefined, "https://a.example/x")).toMatch(/PUSH_ORIGINS/);
    expect(refusePushUrl("", "https://a.example/x")).toMatch(/off on this deployment/);
  });

  it("allows listed origins (any port unless one is given, subdomains by *.), https only unless listed http", () => {
    const origins = "https://hooks.example.com, https://*.fn.example, http://127.0.0.1, https://pinned.example:8443";
    expect(refusePushUrl(origins, "https://hooks.example.com/push?x=1")).toBeUndefined();
    expect(refusePushUrl(origins, "https://a.fn.example/")).toBeUndefined();
    expect(refusePushUrl(origins, "http://127.0.0.1:9999/r")).toBeUndefined();
    expect(refusePushUrl(origins, "https://pinned.example:8443/")).toBeUndefined();
    expect(refusePushUrl(origins, "https://pinned.example/")).toMatch(/not in PUSH_ORIGINS/);
    expect(refusePushUrl(origins, "https://fn.example/")).toMatch(/not in PUSH_ORIGINS/);
    expect(refusePushUrl(origins, "http://hooks.example.com/")).toMatch(/only https/);
    expect(refusePushUrl(origins, "https://evil.example/")).toMatch(/not in PUSH_ORIGINS/);
    expect(refusePushUrl(origins, "https://hooks.example.com.evil.example/")).toMatch(/not in PUSH_ORIGINS/);
    expect(refusePushUrl(origins, "https://user:pw@hooks.example.com/")).toMatch(/credentials/);
  });
});
