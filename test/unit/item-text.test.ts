// The put body scanner: each item's exact text, depth and number checks, and agreement with JSON.parse.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { itemTexts } from "../../src/contract/item-text.ts";
import { LIMITS } from "../../src/contract/limits.ts";

const nest = (levels: number) => "[".repeat(levels) + "]".repeat(levels);

describe("itemTexts", () => {
  it("keeps each item's text exactly: floats, -0, 64-bit integers, key order, escapes, white space", () => {
    const body =
      '{ "items": [ {"item": 1.0}, {"item":-0.0 }, {"priority": 2, "item": 9007199254740993},' +
      ' {"item": {"b":1,"2":2,"1":3}}, {"item": "a \\"quoted\\" \\\\ \\u00e9 ]}"} ] , "block": false }';
    expect(itemTexts(body)).toEqual({
      ok: true,
      texts: ["1.0", "-0.0", "9007199254740993", '{"b":1,"2":2,"1":3}', '"a \\"quoted\\" \\\\ \\u00e9 ]}"'],
    });
    expect(itemTexts('{"timeout": 1, "item": [1, {"x": null}] }')).toEqual({ ok: true, texts: ['[1, {"x": null}]'] });
  });

  it("follows JSON.parse on duplicate and escaped keys: the last one wins", () => {
    expect(itemTexts('{"item": 1, "item": 2}')).toEqual({ ok: true, texts: ["2"] });
    expect(itemTexts('{"\\u0069tem": true}')).toEqual({ ok: true, texts: ["true"] });
    expect(itemTexts('{"items": [{"item": 1}], "items": [{"item": 2}, {"item": 3}]}')).toEqual({
      ok: true,
      texts: ["2", "3"],
    });
  });

  it(`allows ${LIMITS.maxItemDepth} levels of nesting in an item and refuses one more, naming the item`, () => {
    expect(itemTexts(`{"item": ${nest(LIMITS.maxItemDepth)}}`)).toMatchObject({ ok: true });
    expect(itemTexts(`{"item": ${nest(LIMITS.maxItemDepth + 1)}}`)).toEqual({
      ok: false,
      detail: `item nests deeper than ${LIMITS.maxItemDepth} levels of arrays and objects`,
    });
    const deep = `{"items": [{"item": 1}, {"item": {"a": ${nest(LIMITS.maxItemDepth)}}}]}`;
    expect(itemTexts(deep)).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/^items\[1\]\.item nests deeper/),
    });
    expect(itemTexts(`{"item": ${nest(100_000)}}`)).toMatchObject({ ok: false }); // no stack overflow
  });

  it("refuses numbers that JSON.parse turns into Infinity", () => {
    expect(itemTexts('{"item": 1e400}')).toEqual({
      ok: false,
      detail: "item holds 1e400, beyond the range of a 64-bit float",
    });
    expect(itemTexts('{"item": {"a": [-2E+308]}}')).toMatchObject({ ok: false });
    expect(itemTexts('{"item": 1.7976931348623157e308}')).toMatchObject({ ok: true });
  });

  it("agrees with JSON.parse on any JSON value, however it is spaced", () => {
    fc.assert(
      fc.property(
        fc.array(fc.jsonValue({ maxDepth: 6 }), { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        (values, pretty) => {
          const body = JSON.stringify({ items: values.map((item) => ({ item })) }, null, pretty ? 2 : undefined);
          const scanned = itemTexts(body);
          expect(scanned.ok).toBe(true);
          if (scanned.ok)
            expect(scanned.texts.map((t) => JSON.parse(t))).toEqual(values.map((v) => JSON.parse(JSON.stringify(v))));
        },
      ),
      { numRuns: 300 },
    );
  });
});
