// Helpers for tests that call the real Worker inside workerd: a unique queue per test, JSON calls, timing gates.
import { exports } from "cloudflare:workers";
import { expect } from "vitest";

let counter = 0;
/** A queue name no other test uses, so tests never share a Durable Object. */
export const uniqueName = (prefix = "q") =>
  `${prefix}-${Date.now().toString(36)}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;

export type Msg = Record<string, any>;

/** A request exactly as given (no JSON encoding, no default headers). */
export const raw = (method: string, path: string, body?: BodyInit, headers: Record<string, string> = {}) =>
  exports.default.fetch(new Request(`http://queues.test${path}`, { method, body, headers }));

/** Asserts a problem document: status, media type, stable code, and optionally what its detail says. */
export async function expectProblem(res: Response, status: number, code: string, detail?: RegExp) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const body = (await res.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ status, code, type: `urn:joinable-queues:problem:${code}` });
  if (detail) expect(body.detail).toMatch(detail);
  return body;
}

export async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)["content-type"] ??= "application/json";
  }
  const res = await exports.default.fetch(new Request(`http://queues.test${path}`, init));
  const text = await res.text();
  return {
    status: res.status,
    type: res.headers.get("content-type"),
    headers: res.headers,
    body: text ? (JSON.parse(text) as Record<string, any>) : undefined,
  };
}

export async function createQueue(config: Record<string, unknown> = {}, name = uniqueName()) {
  const res = await call("PUT", `/v1/queues/${name}`, config);
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return name;
}

export const op = (name: string, verb: string, body: unknown = {}, headers?: Record<string, string>) =>
  call("POST", `/v1/queues/${name}/${verb}`, body, headers);

export const stats = async (name: string) => (await call("GET", `/v1/queues/${name}`)).body!;

/** Polls `check` until it holds (no fixed sleeps): used to know a call is really waiting inside the object. */
export async function until(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const waitingGetters = (name: string, n: number) => until(async () => (await stats(name)).waiting.getters === n);

/** Opens a subscriber socket (at `path`, with `headers`) and records every message and the close event. */
export async function subscribe(name: string, headers: Record<string, string> = {}, path = `/v1/queues/${name}/ws`) {
  const res = await exports.default.fetch(
    new Request(`http://queues.test${path}`, { headers: { upgrade: "websocket", ...headers } }),
  );
  if (res.status !== 101) throw new Error(`upgrade refused: ${res.status} ${await res.text()}`);
  const ws = res.webSocket!;
  const messages: Msg[] = [];
  const closed: { code?: number } = {};
  ws.addEventListener("message", (e) => {
    if (typeof e.data === "string" && e.data !== "pong") messages.push(JSON.parse(e.data));
  });
  ws.addEventListener("close", (e) => {
    closed.code = e.code;
  });
  ws.accept();
  const send = (m: unknown) => ws.send(typeof m === "string" || m instanceof ArrayBuffer ? m : JSON.stringify(m));
  return { ws, messages, closed, send };
}

/** Waits (with a timeout) until `n` messages have arrived. */
export const waitForMessages = (s: { messages: Msg[] }, n: number, ms = 5000) =>
  until(async () => s.messages.length >= n, ms);

let barriers = 0;
/**
 * Waits until the object has handled every frame this socket sent before, and every call made before: frames on one
 * socket are answered in order, and a put hands its item to a waiting consumer (a subscriber is told of a change) in
 * the same turn, so once a later frame's answer is here, anything those caused to be sent on this socket is here
 * too. The later frame cancels a consumer the socket does not have (a no-op answered by an error frame with its
 * id), taken out of the messages again.
 */
export async function inOrder(s: { messages: Msg[]; send: (m: unknown) => void }): Promise<void> {
  const id = `barrier-${++barriers}`;
  s.send({ op: "cancel", id });
  await until(async () => s.messages.some((m) => m.id === id));
  s.messages.splice(
    s.messages.findIndex((m) => m.id === id),
    1,
  );
}
