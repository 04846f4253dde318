// The layers of src/, checked on every lint: a module imports only from its own layer or the layers below it.
//   front (doors) → objects (Durable Objects) → contract (what doors and objects agree on) → core (the queue).
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const src = resolve(import.meta.dirname, "../src");
const LAYERS = ["core", "contract", "objects", "front"];
const layerOf = (file) => {
  const top = relative(src, file).split("/")[0];
  return top.endsWith(".ts") ? LAYERS.length : LAYERS.indexOf(top); // src/index.ts sits above every layer
};

const files = readdirSync(src, { recursive: true })
  .filter((f) => f.endsWith(".ts"))
  .map((f) => join(src, f));
const wrong = [];
for (const file of files) {
  const text = readFileSync(file, "utf8");
  for (const [, spec] of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?from\s+["'](\.[^"']+)["']/g)) {
    const target = resolve(dirname(file), spec);
    if (layerOf(target) > layerOf(file)) {
      wrong.push(`${relative(src, file)} imports ${relative(src, target)}: ${LAYERS[layerOf(file)]} may not reach up`);
    }
  }
}
if (wrong.length) {
  console.error(`src/ layers (${LAYERS.join(" ← ")}): imports must point down\n  ${wrong.join("\n  ")}`);
  process.exit(1);
}
console.log(`layers: ${files.length} modules, every import points down (${[...LAYERS].reverse().join(" → ")})`);
