// The rights a caller may hold and the queue patterns they cover: what tokens, tickets and sockets all check.

export const RIGHTS = ["produce", "consume", "observe", "admin"] as const;
export type Right = (typeof RIGHTS)[number];
export const isRight = (r: string): r is Right => (RIGHTS as readonly string[]).includes(r);

/** What a WebSocket may be opened for: to observe (join, watch), to produce, to consume. */
export const SOCKET_RIGHTS = ["observe", "produce", "consume"] as const satisfies Right[];

/** The right each queue operation needs, whichever door it comes by: an HTTP route, a socket frame. */
export const NEEDS = {
  put: "produce",
  get: "consume",
  consume: "consume",
  cancel: "consume",
  task_done: "consume",
  extend: "consume",
  release: "consume",
  join: "observe",
  unjoin: "observe",
  watch: "observe",
  unwatch: "observe",
} as const satisfies Record<string, Right>;

/** The header by which the Worker hands a WebSocket ticket's id and expiry (ms) to the object that spends it. */
export const TICKET_HEADER = "x-joinable-queues-ticket";
/** The header by which the Worker tells the object what a socket's credentials allow. */
export const RIGHTS_HEADER = "x-joinable-queues-rights";

/** What a caller may do: these rights, over queues named exactly or by a prefix ending in `*`. */
export interface Grant {
  /** The token's id; null for the admin secret and for an open deployment. */
  id: string | null;
  queues: string[];
  rights: Right[];
  /** Set when a WebSocket ticket authenticated the call: the queue's object spends it, so it opens one socket. */
  ticket?: { id: string; expiresAt: number };
}

/** Does `pattern` (an exact name, or a prefix ending in `*`) cover `name`, which may itself be a pattern? */
export const covers = (pattern: string, name: string): boolean =>
  pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : pattern === name;

export const inScope = (grant: Grant, name: string): boolean => grant.queues.some((p) => covers(p, name));
