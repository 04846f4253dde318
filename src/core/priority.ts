// Priority keys ordered as Python orders them, encoded as text whose byte order (SQLite's BINARY collation) is
// that order: numbers by value, strings by code point, arrays (Python's tuples) element by element, a prefix first.
//
// Python refuses to compare a number with a string; a queue must still order them, so numbers come before
// strings, and both before arrays. Numbers are 64-bit floats, as JSON's are.

export type PriorityKey = number | string | PriorityKey[];

// Tags sort above the array terminator, and below every hex digit that follows them.
const END = "!";
const NUMBER = "#";
const STRING = "$";
const ARRAY = "%";

const floatBytes = new DataView(new ArrayBuffer(8));

/** A float's bits made order-preserving: flip the sign bit of positives, every bit of negatives. */
function encodeNumber(n: number): string {
  floatBytes.setFloat64(0, n === 0 ? 0 : n); // -0 == 0 in Python: one encoding for both
  const hi = floatBytes.getUint32(0);
  const lo = floatBytes.getUint32(4);
  const [h, l] = hi >>> 31 ? [~hi >>> 0, ~lo >>> 0] : [(hi | 0x80000000) >>> 0, lo];
  return h.toString(16).padStart(8, "0") + l.toString(16).padStart(8, "0");
}

function decodeNumber(hex: string): number {
  let [h, l] = [parseInt(hex.slice(0, 8), 16), parseInt(hex.slice(8), 16)];
  [h, l] = h >>> 31 ? [(h & 0x7fffffff) >>> 0, l] : [~h >>> 0, ~l >>> 0];
  floatBytes.setUint32(0, h);
  floatBytes.setUint32(4, l);
  return floatBytes.getFloat64(0);
}

export function encodeKey(key: PriorityKey): string {
  if (typeof key === "number") return NUMBER + encodeNumber(key);
  // One code point, six hex digits: a shorter string ends with END, which sorts before every digit.
  if (typeof key === "string")
    return STRING + Array.from(key, (c) => c.codePointAt(0)!.toString(16).padStart(6, "0")).join("") + END;
  return ARRAY + key.map(encodeKey).join("") + END;
}

export function decodeKey(text: string): PriorityKey {
  let i = 0;
  const take = (n: number): string => {
    i += n;
    return text.slice(i - n, i);
  };
  const read = (): PriorityKey => {
    const tag = text[i++];
    if (tag === NUMBER) return decodeNumber(take(16));
    const parts: PriorityKey[] = [];
    let s = "";
    while (text[i] !== END) {
      if (tag === STRING) s += String.fromCodePoint(parseInt(take(6), 16));
      else parts.push(read());
    }
    i++;
    return tag === STRING ? s : parts;
  };
  return read();
}
