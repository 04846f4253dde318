// Random and hostile input to every route, as a property: never a 5xx, always a problem document with a code,
// nothing internal in any body, and a rejected request changes nothing in the queue.
import fc from "fast-check";
import { sign } from "hono/jwt";
import { expect, it } from "vitest";
import { LIMITS } from "../../src/contract/limits.ts";
import { raw, uniqueName } from "../worker/helpers.ts";
import { ADMIN, admin, bearer, create, issue, TEST_ADMIN_TOKEN } from "./helpers.ts";

const ROUTES: [method: string, path: string][] = [
  ["GET", "/v1/queues"],
  ["PUT", "/v1/queues/{q}"],
  ["GET", "/v1/queues/{q}"],
  ["DELETE", "/v1/queues/{q}"],
  ["POST", "/v1/queues/{q}/put"],
  ["POST", "/v1/queues/{q}/get"],
  ["POST", "/v1/queues/{q}/task_done"],
  ["POST", "/v1/queues/{q}/join"],
  ["POST", "/v1/queues/{q}/shutdown"],
  ["POST", "/v1/queues/{q}/extend"],
  ["POST", "/v1/queues/{q}/release"],
  ["GET", "/v1/queues/{q}/dead_letters"],
  ["POST", "/v1/queues/{q}/dead_letters/redrive"],
  ["DELETE", "/v1/queues/{q}/dead_letters"],
  ["GET", "/v1/queues/{q}/ws"],
  ["POST", "/v1/queues/{q}/ws-ticket"],
  ["POST", "/v1/tokens"],
  ["GET", "/v1/tokens"],
  ["DELETE", "/v1/tokens/{q}"],
];
/** What the admin secret may not do here, or the queue under test would be gone or closed for the rest of the run. */
const DESTRUCTIVE = new Set(["DELETE /v1/queues/{q}", "POST /v1/queues/{q}/shutdown"]);

const HOSTILE_NAMES = [
  "",
  "a".repeat(65),
  "..",
  "../x",
  "..%2Fx",
  "%2F",
  "a%2Fb",
  "a%00b",
  "a%0D%0Ab",
  "-x",
  ".x",
  "sp%20ace",
  "%E2%80%8Bjobs",
  "%EF%BD%8A%EF%BD%8F%EF%BD%82%EF%BD%93",
  "j%D0%BEbs",
  "%FF",
  "%",
  "a?b",
  "a#b",
];
const FIELDS = [
  "item",
  "items",
  "priority",
  "block",
  "timeout",
  "delay",
  "max",
  "lease_seconds",
  "receipt",
  "immediate",
  "limit",
  "idempotency_key",
  "queues",
  "rights",
  "ttl_seconds",
  "label",
  "maxsize",
  "order",
  "max_deliveries",
  "__proto__",
];
const NUMBERS = [
  -1,
  -0,
  0.5,
  1e300,
  -1e300,
  2 ** 53 + 1,
  1e15 + 1,
  Number.MAX_SAFE_INTEGER,
  86_401,
  43_201,
  101,
  1_000_001,
];
const RECEIPTS = [
  "",
  "x",
  "a".repeat(300),
  "00000000.1.1.0000000000000000",
  "zzzzzzzz.1.1.zzzzzzzzzzzzzzzz",
  "..",
  "1.2.3",
  "%00",
];
const MALFORMED = [
  "{",
  '{"item":',
  "[1,2",
  "nul",
  '{"item": 1}}',
  '{"item": NaN}',
  '{"timeout": Infinity}',
  "\uFEFF{}",
  "",
  '{"item": 1e400}',
  `{"item": ${"[".repeat(5000)}${"]".repeat(5000)}}`,
  '{"item": "\\ud800"}',
  "'single'",
  '{"a":1,}',
];

const value: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...NUMBERS, ...RECEIPTS, null, true, false, "fifo", "lifo", "produce", "*", "admin"),
  fc.double(),
  fc.integer(),
  fc.string({ maxLength: 20 }),
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 5 })), { maxLength: 3 }),
  fc.dictionary(fc.constantFrom("item", "priority", "x"), fc.integer(), { maxKeys: 2 }),
);
// Blocking routes always carry a timeout of 0 or a bad one, so no generated call waits out the server's cap.
const object = fc
  .tuple(fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 4 }), fc.constantFrom(0, -1, 1e300, "5", true))
  .map(([fields, timeout]) => JSON.stringify({ ...fields, timeout }));
const body = fc.oneof(
  { weight: 3, arbitrary: object },
  { weight: 2, arbitrary: fc.constantFrom(...MALFORMED) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.constant(JSON.stringify({ item: "x".repeat(LIMITS.maxBodyBytes) })) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

it("survives random and hostile requests to every route", async () => {
  const queue = await create(uniqueName("fuzz"), { maxsize: 5 });
  await admin("POST", `/v1/queues/${queue}/put`, { items: [{ item: 1 }, { item: 2 }] });
  const other = await issue({ queues: ["some-other-queue"], rights: ["produce", "consume", "observe", "admin"] });
  const now = Math.floor(Date.now() / 1000);
  const forged = await sign(
    { jti: "f", use: "api", q: ["*"], r: ["admin"], iat: now },
    "not-the-secret-0123456789abcdef0123",
    "HS256",
  );
  const ticket = (await admin("POST", `/v1/queues/${queue}/ws-ticket`)).body!.ticket as string;
  const AUTH: Record<string, string>[] = [
    {},
    ADMIN,
    ADMIN,
    ADMIN,
    ADMIN,
    bearer(other.token),
    bearer(forged),
    bearer(ticket),
    { authorization: "Basic eDp5" },
    { authorization: "Bearer" },
    { authorization: `bearer ${TEST_ADMIN_TOKEN} extra` },
    { authorization: "Bearer a\tb" },
  ];

  const snapshot = async () => {
    const s = (await admin("GET", `/v1/queues/${queue}`)).body!;
    return JSON.stringify([
      s.qsize,
      s.unfinished_tasks,
      s.leased,
      s.dead_lettered,
      s.deliveries,
      s.shutdown,
      s.maxsize,
      s.order,
    ]);
  };
  let before = await snapshot();

  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...ROUTES),
      fc.oneof(
        { weight: 3, arbitrary: fc.constant(queue) },
        { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_NAMES) },
      ),
      body,
      fc.constantFrom(...AUTH),
      fc.constantFrom("application/json", "application/json; charset=utf-8", "text/plain", undefined),
      fc.constantFrom<Record<string, string>>(
        {},
        { upgrade: "websocket" },
        { "idempotency-key": "" },
        { "idempotency-key": "k".repeat(200) },
      ),
      fc.constantFrom(
        "",
        "?limit=0",
        "?limit=-1",
        "?limit=abc",
        "?limit=1001",
        `?ticket=${ticket}`,
        "?ticket=forged",
        "?after=..%2F",
      ),
      async ([method, template], name, text, auth, type, extra, query) => {
        if (auth === ADMIN && DESTRUCTIVE.has(`${method} ${template}`) && name === queue) return;
        const path = template.replace("{q}", name) + query;
        const headers = { ...auth, ...(type ? { "content-type": type } : {}), ...extra };
        const res = await raw(method, path, method === "GET" ? undefined : text, headers);
        res.webSocket?.accept();
        res.webSocket?.close();
        const answer = await res.text();
        const where = `${method} ${path} ${text?.slice(0, 80)} ${JSON.stringify(headers).slice(0, 120)} -> ${res.status} ${answer.slice(0, 200)}`;
        expect(res.status, where).toBeLessThan(500);
        expect(answer, where).not.toMatch(/\bat \S+ \(|\.ts:\d|\/src\/|node_modules|Error:/);
        expect(answer, where).not.toContain(TEST_ADMIN_TOKEN);
        if (res.status >= 400) {
          expect(res.headers.get("content-type"), where).toBe("application/problem+json");
          expect(JSON.parse(answer).code, where).toMatch(/^[a-z_]+$/);
          expect(await snapshot(), where).toBe(before);
        } else {
          before = await snapshot(); // an accepted request may change the queue
        }
      },
    ),
    { numRuns: 400 },
  );
}, 120_000);
