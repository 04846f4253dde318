// Finds each item's exact JSON text in a put body, checking its depth and numbers, without building any value.
//
// Items are stored, carried and answered as the text the producer sent: re-encoding a parsed value would turn 1.0
// into 1, round 64-bit integers and reorder keys, and a value nested thousands of levels deep can be parsed but
// not passed between the Worker and the queue's object. The body has already been parsed once by the validator,
// so this scanner may assume valid JSON; it only needs to know where things are.
import { LIMITS } from "./limits.ts";

export type ItemTexts = { ok: true; texts: string[] } | { ok: false; detail: string };

class Refused extends Error {}

/** Where a value sits in a put body: only `item` and `items[i].item` are items. */
type Role = "root" | "items" | "entry" | "item" | "other";

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

class Scanner {
  private i = 0;
  /** Depth at which the item being read starts; Infinity outside items. */
  private itemBase = Infinity;
  private label = "";
  single: string | undefined;
  entries: string[] = [];

  constructor(private readonly s: string) {}

  value(depth: number, role: Role): void {
    this.space();
    const c = this.s[this.i];
    if (c === "{" || c === "[") {
      // An item's containers are levels 1, 2, ...; the absolute bound keeps our own recursion short too.
      if (depth - this.itemBase >= LIMITS.maxItemDepth) {
        throw new Refused(`${this.label} nests deeper than ${LIMITS.maxItemDepth} levels of arrays and objects`);
      }
      if (depth > LIMITS.maxItemDepth + 4) throw new Refused("the body nests too deeply");
    }
    if (c === "{") this.members(depth, role);
    else if (c === "[") this.elements(depth, role);
    else if (c === '"') this.string();
    else if (c === "t" || c === "n") this.i += 4;
    else if (c === "f") this.i += 5;
    else this.number();
  }

  private members(depth: number, role: Role): void {
    this.i++;
    this.space();
    if (this.s[this.i] === "}") return void this.i++;
    for (;;) {
      this.space();
      const key = JSON.parse(this.string()) as string;
      this.space();
      this.i++; // ':'
      if (role === "root" && key === "item") this.single = this.capture(depth + 1, "item");
      else if (role === "root" && key === "items") {
        this.entries = [];
        this.value(depth + 1, "items");
      } else if (role === "entry" && key === "item") {
        this.entries[this.entries.length - 1] = this.capture(depth + 1, `items[${this.entries.length - 1}].item`);
      } else this.value(depth + 1, role === "item" ? "item" : "other");
      this.space();
      if (this.s[this.i++] === "}") return;
    }
  }

  private elements(depth: number, role: Role): void {
    this.i++;
    this.space();
    if (this.s[this.i] === "]") return void this.i++;
    for (;;) {
      if (role === "items") this.entries.push("");
      this.value(depth + 1, role === "items" ? "entry" : role === "item" ? "item" : "other");
      this.space();
      if (this.s[this.i++] === "]") return;
    }
  }

  private capture(depth: number, label: string): string {
    this.space();
    const start = this.i;
    [this.itemBase, this.label] = [depth, label];
    this.value(depth, "item");
    this.itemBase = Infinity;
    return this.s.slice(start, this.i);
  }

  /** Skips a string and returns its text, quotes included. */
  private string(): string {
    const start = this.i++;
    for (;;) {
      const c = this.s[this.i++];
      if (c === "\\") this.i++;
      else if (c === '"') return this.s.slice(start, this.i);
    }
  }

  private number(): void {
    NUMBER.lastIndex = this.i;
    const text = NUMBER.exec(this.s)![0];
    this.i += text.length;
    // JSON allows 1e400, but it parses as Infinity and no JSON encoder can give it back.
    if (!Number.isFinite(Number(text))) {
      throw new Refused(
        `${this.itemBase === Infinity ? "the body" : this.label} holds ${text}, beyond the range of a 64-bit float`,
      );
    }
  }

  private space(): void {
    for (
      let c = this.s.charCodeAt(this.i);
      c === 32 || c === 9 || c === 10 || c === 13;
      c = this.s.charCodeAt(++this.i)
    );
  }
}

/** The text of `item`, or of each `items[i].item`, in a put body that JSON.parse has accepted. */
export function itemTexts(body: string): ItemTexts {
  const scanner = new Scanner(body);
  try {
    scanner.value(0, "root");
  } catch (e) {
    if (e instanceof Refused) return { ok: false, detail: e.message };
    throw e;
  }
  return { ok: true, texts: scanner.single === undefined ? scanner.entries : [scanner.single] };
}
