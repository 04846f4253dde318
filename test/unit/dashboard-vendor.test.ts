// The dashboard serves uPlot from public/ (no build step), so the copy there must stay the npm package's own file:
// updating is `npm install uplot@…` and copying dist/ again, and this test says when the two differ.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";

const root = join(import.meta.dirname, "../..");
const read = (path: string) => readFileSync(join(root, path), "utf8");

it.each([
  ["uPlot.esm.js", "//"],
  ["uPlot.min.css", "/*"],
])("public/dashboard/vendor/%s is node_modules/uplot/dist's, behind its two-line header", (file, comment) => {
  const [first, second, ...rest] = read(`public/dashboard/vendor/${file}`).split("\n");
  const version = JSON.parse(read("node_modules/uplot/package.json")).version;
  const end = comment === "/*" ? " */" : "";
  const from = "copied unchanged from node_modules/uplot/dist";
  const header = `biome-ignore-all lint: vendored uPlot ${version} (MIT), ${from}`;
  expect(first).toBe(`${comment} ${header}${end}`);
  expect(second!.startsWith(`${comment} biome-ignore-all format`)).toBe(true);
  expect(rest.join("\n")).toBe(read(`node_modules/uplot/dist/${file}`));
});
