// Starts a real `wrangler dev` for end-to-end tests: on a free port, with its own storage folder, in its own
// process group so that one SIGKILL takes wrangler and its workerd processes down together.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/**
 * `npm start` (the README's command, which opts out of authentication for local work) with extra arguments;
 * `plain` runs `npx wrangler dev` as an operator who made no choice would; `vars` are set on either.
 */
export async function start(
  port: number,
  persist: string,
  how: "npm start" | "plain" = "npm start",
  vars: Record<string, string> = {},
): Promise<ChildProcess> {
  const settings = Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
  const args = [
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--persist-to",
    persist,
    "--show-interactive-dev-session=false",
    ...settings,
  ];
  // A developer's own .dev.vars may hold an ADMIN_TOKEN: the empty --var stands for "no secret set" unless given.
  const plain = ["wrangler", "dev", ...args, ...("ADMIN_TOKEN" in vars ? [] : ["--var", "ADMIN_TOKEN:"])];
  const [command, argv] = how === "plain" ? ["npx", plain] : ["npm", ["start", "--silent", "--", ...args]];
  const child = spawn(command, argv, {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true" },
  });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/`)).ok) return child;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`wrangler dev did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  process.kill(-child.pid!, "SIGKILL");
  return exited;
}

/** A server of its own for one test file: its URL, and `stop` to kill it and remove its storage. */
export async function serve(how: "npm start" | "plain" = "npm start", vars: Record<string, string> = {}) {
  const persist = mkdtempSync(join(tmpdir(), "jq-e2e-"));
  const port = await freePort();
  const child = await start(port, persist, how, vars);
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      await kill(child);
      rmSync(persist, { recursive: true, force: true });
    },
  };
}

export type Body = Record<string, any>;

/** A JSON call under `base`: its status and parsed body (wrangler's own error page, if that answered, as `text`). */
export async function callJson(base: string, path: string, body?: unknown, method = "POST") {
  const res = await fetch(`${base}/${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Body };
  } catch {
    return { status: res.status, body: { text } as Body };
  }
}
