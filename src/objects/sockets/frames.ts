// What a queue's WebSocket carries: frames in (join and watch, and work: put, consume, task_done...), frames out.
import type { z } from "@hono/zod-openapi";
import { LIMITS } from "../../contract/limits.ts";
import { type ProblemCode, problemStatus } from "../../contract/problems.ts";
import { describeIssues, FrameId, SubscriberMessage, WORK_FRAMES, type WorkOp } from "../../contract/schemas.ts";

/** A work frame, checked: its op, the id its answer repeats, its body as the HTTP call's, and its text. */
export type WorkFrame = {
  [Op in WorkOp]: { op: Op; id: string | number; body: z.output<(typeof WORK_FRAMES)[Op]>; text: string };
}[WorkOp];

export type Parsed =
  | { message: SubscriberMessage }
  | { work: WorkFrame }
  | { code: ProblemCode; detail: string; id?: string | number };

/** The ops of join and watch subscriptions (the work ops are WORK_FRAMES' keys). */
const SUBSCRIBER_OPS: string[] = SubscriberMessage.options.map((o) => o.shape.op.value);

export function parse(data: string | ArrayBuffer): Parsed {
  if (typeof data !== "string") {
    return { code: "invalid_request", detail: "binary frames are not supported; send JSON text" };
  }
  // The caps are in bytes of UTF-8, as the frame travels: a character may take up to three of them.
  const bytes = data.length * 3 > LIMITS.maxFrameBytes ? new TextEncoder().encode(data).byteLength : 0;
  if (bytes > LIMITS.maxBodyBytes) return tooLarge(LIMITS.maxBodyBytes, "a put's frame");
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return { code: "invalid_request", detail: "the frame is not JSON" };
  }
  const { op, id, ...body } = (value ?? {}) as { op?: unknown; id?: unknown };
  if (bytes > LIMITS.maxFrameBytes && op !== "put") return tooLarge(LIMITS.maxFrameBytes, "a frame");
  if (typeof op === "string" && Object.hasOwn(WORK_FRAMES, op)) {
    const frameId = FrameId.safeParse(id);
    if (!frameId.success) return { code: "invalid_request", detail: `id: ${describeIssues(frameId.error)}` };
    const checked = WORK_FRAMES[op as WorkOp].safeParse(body);
    if (!checked.success) return { code: "invalid_request", detail: describeIssues(checked.error), id: frameId.data };
    return { work: { op, id: frameId.data, body: checked.data, text: data } as WorkFrame };
  }
  if (typeof op !== "string" || !SUBSCRIBER_OPS.includes(op)) {
    return {
      code: "invalid_request",
      detail: `op: expected one of ${[...Object.keys(WORK_FRAMES), ...SUBSCRIBER_OPS].join(", ")}`,
    };
  }
  const result = SubscriberMessage.safeParse(value);
  return result.success ? { message: result.data } : { code: "invalid_request", detail: describeIssues(result.error) };
}

const tooLarge = (max: number, what: string) =>
  ({ code: "payload_too_large", detail: `${what} may be at most ${max} bytes of UTF-8` }) as const;

/**
 * How a frame leaves: straight out, or (the queue object's sockets) held until the write that recorded what the
 * frame tells has run (objects/queue/group-commit.ts).
 */
export type Post = (ws: WebSocket, text: string) => void;

/** Sends a frame now. */
export const direct: Post = (ws, text) => {
  try {
    ws.send(text);
  } catch {
    // The peer is gone; webSocketClose will clean up.
  }
};

export function send(ws: WebSocket, message: unknown, post: Post = direct): void {
  post(ws, JSON.stringify(message));
}

/** Answers a client's close (1005: it gave no code) by closing our side too. */
export function closeBack(ws: WebSocket, code: number): void {
  try {
    ws.close(code === 1005 ? 1000 : code, "bye");
  } catch {
    // already closed
  }
}

/** An error frame: the HTTP answer's problem code and status, and the id of the frame it answers, if any. */
export function error(ws: WebSocket, code: ProblemCode, detail: string, id?: string | number, post = direct): void {
  send(ws, { type: "error", ...(id === undefined ? {} : { id }), code, status: problemStatus(code), detail }, post);
}
