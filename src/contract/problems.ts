// The one place where an error becomes HTTP: RFC 9457 problem documents with a stable `code`.
import type { QueueErrorCode } from "../core/types.ts";

export type ProblemCode =
  | QueueErrorCode
  | "payload_too_large"
  | "unsupported_media_type"
  | "unauthorized"
  | "forbidden"
  | "not_configured"
  | "unavailable"
  | "internal";

// Queue outcomes are 409/410, never 408/429/503: clients and proxies retry those by themselves, duplicating puts.
const STATUS: Record<ProblemCode, number> = {
  empty: 409,
  full: 409,
  poll_again: 409,
  shutdown: 410,
  group_cancelled: 410,
  task_done_too_many: 409,
  stale_receipt: 409,
  conflict: 409,
  invalid_receipt: 400,
  invalid_request: 400,
  batch_too_large: 400,
  not_found: 404,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unauthorized: 401,
  forbidden: 403,
  // A documented cap: nothing was done, so retrying later is safe (and may succeed once others finish).
  limit_exceeded: 429,
  not_configured: 503,
  unavailable: 503,
  internal: 500,
};

const TITLE: Record<ProblemCode, string> = {
  empty: "Queue empty",
  full: "Queue full",
  poll_again: "Poll again",
  shutdown: "Queue shut down",
  group_cancelled: "Group cancelled",
  task_done_too_many: "task_done() called too many times",
  stale_receipt: "Stale receipt",
  conflict: "Conflict",
  invalid_receipt: "Invalid receipt",
  invalid_request: "Invalid request",
  batch_too_large: "Batch too large",
  not_found: "Not found",
  payload_too_large: "Payload too large",
  unsupported_media_type: "Unsupported media type",
  unauthorized: "Unauthorized",
  forbidden: "Forbidden",
  limit_exceeded: "Limit exceeded",
  not_configured: "Not configured",
  unavailable: "Temporarily unavailable",
  internal: "Internal error",
};

export const PROBLEM_CODES = Object.keys(STATUS) as ProblemCode[];

export const problemStatus = (code: ProblemCode): number => STATUS[code];

export function problemBody(code: ProblemCode, detail: string, instance?: string, extra: { request_id?: string } = {}) {
  return {
    type: `urn:joinable-queues:problem:${code}`,
    title: TITLE[code],
    status: STATUS[code],
    code,
    detail,
    instance,
    ...extra,
  };
}

export function problem(
  code: ProblemCode,
  detail: string,
  instance?: string,
  headers: Record<string, string> = {},
  extra: { request_id?: string } = {},
): Response {
  return new Response(JSON.stringify(problemBody(code, detail, instance, extra)), {
    status: STATUS[code],
    headers: { "content-type": "application/problem+json", ...headers },
  });
}
