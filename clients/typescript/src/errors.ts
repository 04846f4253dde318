// Errors are classes, one per problem `code` the service answers (docs/http-api.md#errors); each carries its document.

/** An RFC 9457 problem document as the service answers it. */
export interface Problem {
  type?: string;
  title?: string;
  status: number;
  code: string;
  detail: string;
  instance?: string;
  request_id?: string;
}

export class QueueError extends Error {
  readonly code: string;
  readonly status: number;
  readonly detail: string;
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(problem.detail);
    this.name = new.target.name;
    this.problem = problem;
    this.code = problem.code;
    this.status = problem.status;
    this.detail = problem.detail;
  }
}

/** Python's queue.Empty: get_nowait on an empty queue, or get's timeout passed. */
export class Empty extends QueueError {}
/** Python's queue.Full: put_nowait on a full queue, or put's timeout passed. */
export class Full extends QueueError {}
/** Python's queue.ShutDown (3.13): the queue was shut down. */
export class ShutDown extends QueueError {}
/** 410: a put named a group that was cancelled (`q.group(g).cancel()`); nothing of the put was stored. */
export class GroupCancelled extends QueueError {}
/** Python's ValueError from task_done(): more task_done calls than items. */
export class TaskDoneTooMany extends QueueError {}
/** The receipt's lease passed (the item went to another consumer) or it was released: nothing changed. */
export class StaleReceipt extends QueueError {}
/** A receipt this queue never issued. */
export class InvalidReceipt extends QueueError {}
export class NotFound extends QueueError {}
export class Conflict extends QueueError {}
/** 401: no token, or one that is malformed, expired or revoked. */
export class Unauthorized extends QueueError {}
/** 403: a valid token without the right, or outside its scope. */
export class Forbidden extends QueueError {}
export class PayloadTooLarge extends QueueError {}
/** 400/415: the request was malformed; `detail` says precisely what. */
export class InvalidRequest extends QueueError {}
/** 503 (after the client's retries), 429 (a documented cap was reached), or the service is not configured. */
export class Unavailable extends QueueError {}

const CLASSES: Record<string, new (problem: Problem) => QueueError> = {
  empty: Empty,
  full: Full,
  shutdown: ShutDown,
  group_cancelled: GroupCancelled,
  task_done_too_many: TaskDoneTooMany,
  stale_receipt: StaleReceipt,
  invalid_receipt: InvalidReceipt,
  not_found: NotFound,
  conflict: Conflict,
  unauthorized: Unauthorized,
  forbidden: Forbidden,
  payload_too_large: PayloadTooLarge,
  invalid_request: InvalidRequest,
  batch_too_large: InvalidRequest,
  unsupported_media_type: InvalidRequest,
  unavailable: Unavailable,
  limit_exceeded: Unavailable,
  not_configured: Unavailable,
};

export const toError = (problem: Problem): QueueError => new (CLASSES[problem.code] ?? QueueError)(problem);
