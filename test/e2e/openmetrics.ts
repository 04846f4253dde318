// A strict parser of the OpenMetrics 1.0 text format (its ABNF and the rules the spec adds to it), for the tests of
// /v1/metrics: a scraper must accept every byte we send. No npm package parses OpenMetrics (the Prometheus text
// parsers there treat `# EOF` as a comment and `_total` as a family of its own), so the grammar is read here, one
// character at a time, and anything it does not allow is an error naming the line.

export type MetricType =
  | "counter"
  | "gauge"
  | "unknown"
  | "info"
  | "stateset"
  | "histogram"
  | "gaugehistogram"
  | "summary";
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  timestamp?: number;
}
export interface Family {
  name: string;
  type: MetricType;
  help?: string;
  unit?: string;
  samples: Sample[];
  /** Whether a TYPE line named it (else it is `unknown`). */
  typed?: boolean;
}

const TYPES = new Set(["counter", "gauge", "unknown", "info", "stateset", "histogram", "gaugehistogram", "summary"]);
// The sample names each type allows, as suffixes of the family's name.
const SUFFIXES: Record<MetricType, string[]> = {
  counter: ["_total", "_created"],
  gauge: [""],
  unknown: [""],
  info: ["_info"],
  stateset: [""],
  histogram: ["_bucket", "_count", "_sum", "_created"],
  gaugehistogram: ["_bucket", "_gcount", "_gsum"],
  summary: ["", "_count", "_sum", "_created"],
};
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const NUMBER = /^[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[Ii]nf(?:inity)?)$|^NaN$/;

class Cursor {
  at = 0;
  constructor(
    readonly line: string,
    readonly no: number,
  ) {}
  fail(why: string): never {
    throw new Error(`OpenMetrics line ${this.no}, column ${this.at + 1}: ${why}: ${JSON.stringify(this.line)}`);
  }
  peek = () => this.line[this.at];
  done = () => this.at >= this.line.length;
  expect(c: string) {
    if (this.line[this.at] !== c) this.fail(`expected ${JSON.stringify(c)}`);
    this.at++;
  }
  /** Characters up to (not including) the first of `stops`, or the end. */
  until(stops: string): string {
    const start = this.at;
    while (!this.done() && !stops.includes(this.peek()!)) this.at++;
    return this.line.slice(start, this.at);
  }
  /** An escaped string up to an unescaped `stop` (or the end): \\, \" and \n are its only escapes. */
  escaped(stop?: string): string {
    let out = "";
    while (!this.done() && this.peek() !== stop) {
      const c = this.line[this.at++]!;
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = this.line[this.at++];
      if (e === "\\" || e === '"') out += e;
      else if (e === "n") out += "\n";
      else this.fail("invalid escape");
    }
    return out;
  }
}

const number = (c: Cursor, text: string): number => {
  if (!NUMBER.test(text)) c.fail(`not a number: ${JSON.stringify(text)}`);
  return text === "NaN" ? Number.NaN : Number(text.replace(/[Ii]nf(inity)?$/, "Infinity"));
};

function sample(c: Cursor): Sample {
  const name = c.until("{ ");
  if (!METRIC_NAME.test(name)) c.fail("invalid metric name");
  const labels: Record<string, string> = {};
  if (c.peek() === "{") {
    c.expect("{");
    while (c.peek() !== "}") {
      const label = c.until("=");
      if (!LABEL_NAME.test(label)) c.fail("invalid label name");
      if (label in labels) c.fail(`label ${label} given twice`);
      c.expect("=");
      c.expect('"');
      labels[label] = c.escaped('"');
      c.expect('"');
      if (c.peek() === ",") c.expect(",");
      else if (c.peek() !== "}") c.fail("expected ',' or '}'");
    }
    c.expect("}");
  }
  c.expect(" ");
  const value = number(c, c.until(" #"));
  let timestamp: number | undefined;
  if (c.peek() === " ") {
    c.expect(" ");
    timestamp = number(c, c.until(" #"));
  }
  if (!c.done()) c.fail("exemplars and trailing text are not expected here");
  return { name, labels, value, ...(timestamp === undefined ? {} : { timestamp }) };
}

/** Parses an exposition; throws on the first thing OpenMetrics 1.0 does not allow. */
export function parseOpenMetrics(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const lines = text.split("\n");
  const eof = lines.indexOf("# EOF");
  if (eof === -1) throw new Error("OpenMetrics: no '# EOF' line");
  if (lines.slice(eof + 1).join("\n") !== "") throw new Error("OpenMetrics: text after '# EOF'");
  let current: Family | undefined;
  let sampled = false; // whether the current family has samples yet: descriptors must come first
  const open = (c: Cursor, name: string, type: MetricType = "unknown") => {
    if (families.has(name)) c.fail(`family ${name} appears twice (families may not be interleaved)`);
    current = { name, type, samples: [] };
    families.set(name, current);
    sampled = false;
  };
  for (let i = 0; i < eof; i++) {
    const c = new Cursor(lines[i]!, i + 1);
    if (c.line === "") c.fail("empty lines are not allowed");
    if (c.line.startsWith("#")) {
      c.expect("#");
      c.expect(" ");
      const keyword = c.until(" ");
      if (!["TYPE", "HELP", "UNIT"].includes(keyword)) c.fail("only TYPE, HELP, UNIT and EOF lines start with '#'");
      c.expect(" ");
      const name = c.until(" ");
      if (!METRIC_NAME.test(name)) c.fail("invalid metric family name");
      if (current?.name !== name || sampled) open(c, name);
      const family = current!;
      c.expect(" ");
      if (keyword === "TYPE") {
        const type = c.until("");
        if (!TYPES.has(type)) c.fail(`unknown type ${type}`);
        if (family.typed) c.fail("TYPE given twice");
        family.type = type as MetricType;
        family.typed = true;
      } else if (keyword === "HELP") {
        if (family.help !== undefined) c.fail("HELP given twice");
        family.help = c.escaped();
      } else {
        if (family.unit !== undefined) c.fail("UNIT given twice");
        family.unit = c.until("");
        if (!name.endsWith(`_${family.unit}`)) c.fail("a family with a unit must be named with it as its suffix");
      }
      continue;
    }
    const s = sample(c);
    const belongs = (f: Family) => SUFFIXES[f.type].some((suffix) => s.name === f.name + suffix);
    if (!current || !belongs(current)) open(c, s.name);
    const family = current!;
    if (family.type === "counter" && (s.value < 0 || Number.isNaN(s.value))) c.fail("a counter must be >= 0");
    const key = JSON.stringify([s.name, Object.entries(s.labels).sort()]);
    if (family.samples.some((t) => JSON.stringify([t.name, Object.entries(t.labels).sort()]) === key)) {
      c.fail("the same sample is given twice");
    }
    family.samples.push(s);
    sampled = true;
  }
  return families;
}
