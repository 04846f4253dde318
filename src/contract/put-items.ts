// A put's items as stored: the exact JSON text sent, each checked for depth, numbers and size — the same for an
// HTTP body, an RPC call's items and a socket's put frame.

import type { PriorityKey } from "../core/priority.ts";
import type { NewItem } from "../core/types.ts";
import { itemTexts } from "./item-text.ts";
import { LIMITS } from "./limits.ts";
import type { ProblemCode } from "./problems.ts";

/** A refusal with any problem code (a queue's outcomes use only the core's codes). */
export type Refusal = { ok: false; code: ProblemCode; message: string };

/** A put body's items (at `item`, or each `items[i].item`), with the priorities given beside them. */
export function putItems(
  body: string,
  priorities: (PriorityKey | undefined)[],
): { ok: true; items: NewItem[] } | Refusal {
  const scanned = itemTexts(body);
  if (!scanned.ok) return { ok: false, code: "invalid_request", message: scanned.detail };
  const items = scanned.texts.map((json, i) => ({ json, priority: priorities[i] }));
  const big = items.findIndex((i) => new TextEncoder().encode(i.json).length > LIMITS.maxItemBytes);
  if (big >= 0)
    return {
      ok: false,
      code: "payload_too_large",
      message: `item ${big} is larger than ${LIMITS.maxItemBytes} bytes of JSON`,
    };
  return { ok: true, items };
}
