// Four projects: the pure core in Node; the Worker inside workerd, open (AUTH = "none") and as deployed (closed,
// with an admin secret and small caps); and end-to-end tests against wrangler dev.
import { readFileSync } from "node:fs";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { TEST_ADMIN_TOKEN } from "./test/secure/secret.ts";

// standardwebhooks ships a source map that names sources it does not ship, and Vite warns of it on a cold cache:
// its files are loaded here without the map comment (the tests never step into that package).
const withoutBrokenMaps = {
  name: "without-broken-source-maps",
  load(id: string) {
    if (!id.includes("/node_modules/standardwebhooks/")) return undefined;
    return readFileSync(id.split("?")[0]!, "utf8").replace(/^\/\/# sourceMappingURL=.*$/gm, "");
  },
};

const worker = (bindings: Record<string, string>) =>
  cloudflareTest({
    wrangler: { configPath: "./wrangler.toml" },
    miniflare: { bindings: { MAX_WAIT_SECONDS: "2", ...bindings } },
  });

// The service binding's caller: an auxiliary Worker bound to the QueueService entrypoint of the Worker under test,
// which the plugin runs as `vitest-plugin-runner-<project name>`.
const caller = {
  name: "caller",
  modules: true,
  script: readFileSync("./test/service/caller.js", "utf8"),
  compatibilityDate: "2026-11-01",
  serviceBindings: { QUEUES: { name: "vitest-plugin-runner-service", entrypoint: "QueueService" } },
};

export default defineConfig({
  test: {
    reporters: ["default", "./test/summary-reporter.ts"],
    projects: [
      { test: { name: "core", include: ["test/core/**/*.test.ts", "test/unit/**/*.test.ts"], environment: "node" } },
      {
        plugins: [withoutBrokenMaps, worker({ AUTH: "none", MAX_GROUPS: "20" })],
        test: { name: "worker", include: ["test/worker/**/*.test.ts"], testTimeout: 30_000 },
      },
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              // Push and callback URLs on hooks.example may be configured (none is called: push stays paused).
              bindings: { MAX_WAIT_SECONDS: "2", PUSH_ORIGINS: "https://hooks.example" },
              serviceBindings: { CALLER: "caller" },
              workers: [caller],
            },
          }),
        ],
        test: { name: "service", include: ["test/service/**/*.test.ts"], testTimeout: 30_000 },
      },
      {
        plugins: [
          worker({
            ADMIN_TOKEN: TEST_ADMIN_TOKEN,
            MAX_WAITERS: "4",
            MAX_SUBSCRIBERS: "3",
            CORS_ORIGINS: "https://app.example",
          }),
        ],
        test: { name: "secure", include: ["test/secure/**/*.test.ts"], testTimeout: 30_000 },
      },
      {
        // Hooks start wrangler dev (and a browser): on a busy machine that takes most of a minute, far past
        // vitest's default 10 s hook timeout, which would skip the file's tests and fail the run.
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
