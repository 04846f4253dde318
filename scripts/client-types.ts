// The TypeScript client's types, generated from the OpenAPI document the Worker serves: each component schema
// becomes a type, each operation its request body and answer. `npm run client-types` writes the file;
// test/unit/client-api-types.test.ts fails when the committed file differs, so the client cannot drift from the server.
// A few lines of our own rather than openapi-typescript: that package drives TypeScript 5's compiler API, which
// TypeScript 7 (ours) no longer ships; the document's schemas use a small subset of JSON Schema, all handled here.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { app } from "../src/front/http/app.ts";

export const ROOT = join(import.meta.dirname, "..");
export const GENERATED = "clients/typescript/src/api.gen.ts";

interface Schema {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: boolean | Schema;
  description?: string;
}

interface Operation {
  operationId?: string;
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { content?: Record<string, { schema?: Schema }> }>;
}

interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

/** The document as the Worker serves it at /v1/openapi.json (an open deployment, so no credentials). */
export async function servedDocument(): Promise<Document> {
  const answer = await app.request("http://localhost/v1/openapi.json", {}, { AUTH: "none" });
  if (!answer.ok) throw new Error(`GET /v1/openapi.json answered ${answer.status}`);
  return (await answer.json()) as Document;
}

const doc = (text: string | undefined, indent: string) =>
  text ? `${indent}/** ${text.replace(/\s+/g, " ").replaceAll("*/", "*\\/")} */\n` : "";

const key = (name: string) => (/^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name));

const union = (parts: string[]) => [...new Set(parts)].join(" | ") || "never";

function typeOf(s: Schema, indent: string): string {
  if (s.$ref) return s.$ref.replace("#/components/schemas/", "");
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return union(s.enum.map((v) => JSON.stringify(v)));
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives) return union(alternatives.map((a) => group(typeOf(a, indent))));
  if (s.allOf) return s.allOf.map((a) => group(typeOf(a, indent))).join(" & ");
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  if (types.length === 0) return s.properties ? objectOf(s, indent) : "unknown";
  return union(types.map((t) => group(single(t, s, indent))));
}

/** A union or intersection inside another, or as an array's element, in parentheses. */
function group(t: string): string {
  let depth = 0;
  for (const c of t) {
    if ("{([".includes(c)) depth++;
    else if ("})]".includes(c)) depth--;
    else if (depth === 0 && (c === "|" || c === "&")) return `(${t})`;
  }
  return t;
}

function single(type: string, s: Schema, indent: string): string {
  switch (type) {
    case "null":
      return "null";
    case "boolean":
      return "boolean";
    case "string":
      return "string";
    case "integer":
    case "number":
      return "number";
    case "array":
      return `${group(s.items ? typeOf(s.items, indent) : "unknown")}[]`;
    case "object":
      return objectOf(s, indent);
    default:
      throw new Error(`JSON Schema type ${type} is not handled: extend ${import.meta.filename}`);
  }
}

function objectOf(s: Schema, indent: string): string {
  const inner = `${indent}  `;
  const required = new Set(s.required ?? []);
  const lines = Object.entries(s.properties ?? {}).map(
    ([name, p]) =>
      `${doc(p.description, inner)}${inner}${key(name)}${required.has(name) ? "" : "?"}: ${typeOf(p, inner)};\n`,
  );
  const extra = s.additionalProperties;
  if (extra === true || (extra === undefined && lines.length === 0)) lines.push(`${inner}[key: string]: unknown;\n`);
  else if (extra && typeof extra === "object") lines.push(`${inner}[key: string]: ${typeOf(extra, inner)};\n`);
  return `{\n${lines.join("")}${indent}}`;
}

const json = (content: Record<string, { schema?: Schema }> | undefined) =>
  Object.entries(content ?? {}).find(([type]) => type.includes("json"))?.[1].schema;

/** The generated module's text, before formatting. */
export function generate(d: Document): string {
  const out = [
    "// Generated from the service's OpenAPI document (/v1/openapi.json) by `npm run client-types`: do not edit.\n",
    "// The client's own types (types.ts) are defined from these.\n\n",
  ];
  for (const [name, s] of Object.entries(d.components.schemas)) {
    out.push(`${doc(s.description, "")}export type ${name} = ${typeOf(s, "")};\n\n`);
  }
  out.push(
    "/** Each operation, by its operationId: the JSON body it takes, and the JSON it answers on success (undefined: none). */\n",
  );
  out.push("export interface Operations {\n");
  for (const [path, methods] of Object.entries(d.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const body = json(op.requestBody?.content);
      const answers = Object.entries(op.responses ?? {})
        .filter(([status]) => status.startsWith("2"))
        .map(([, r]) => json(r.content))
        .filter((a): a is Schema => a !== undefined);
      out.push(`  /** ${method.toUpperCase()} ${path} */\n  ${key(op.operationId ?? `${method} ${path}`)}: {\n`);
      if (body) out.push(`    body: ${typeOf(body, "    ")};\n`);
      out.push(`    answer: ${answers.length ? union(answers.map((a) => group(typeOf(a, "    ")))) : "undefined"};\n`);
      out.push("  };\n");
    }
  }
  out.push("}\n");
  return out.join("");
}

/** Formatted as the linter formats the repository, so the committed file passes `npm run lint` as it is. */
export function format(text: string): string {
  return execFileSync(join(ROOT, "node_modules/.bin/biome"), ["format", `--stdin-file-path=${GENERATED}`], {
    cwd: ROOT,
    input: text,
    encoding: "utf8",
  });
}

export const clientApiTypes = async () => format(generate(await servedDocument()));

if (import.meta.main) {
  writeFileSync(join(ROOT, GENERATED), await clientApiTypes());
  console.log(`wrote ${GENERATED}`);
}
