// PUSH_ORIGINS: which URLs a queue may push to. None by default, so the service is never an open relay.
//
// An entry is an origin (`https://hooks.example.com`, `https://*.example.com`, `http://127.0.0.1`). A URL matches
// an entry with its scheme and host; an entry without a port allows any port. `https` is required unless the entry
// itself says `http://`, which is how a deployment opts in for local receivers (`npm start` does for 127.0.0.1).

interface Entry {
  protocol: string;
  host: string;
  wildcard: boolean;
  port: string | undefined;
}

function parseEntry(text: string): Entry | undefined {
  const m = /^(https?):\/\/(\*\.)?([^/:*]+)(?::(\d+))?\/?$/i.exec(text.trim());
  if (!m) return undefined;
  return { protocol: `${m[1]!.toLowerCase()}:`, wildcard: m[2] !== undefined, host: m[3]!.toLowerCase(), port: m[4] };
}

/** The entries of a PUSH_ORIGINS value (malformed entries are ignored, so a typo allows less, never more). */
export function pushOrigins(value: string | undefined): Entry[] {
  return (value ?? "")
    .split(",")
    .filter((s) => s.trim() !== "")
    .flatMap((s) => parseEntry(s) ?? []);
}

/** Why `url` may not be pushed to under `origins` (PUSH_ORIGINS), or undefined when it may. */
export function refusePushUrl(origins: string | undefined, url: string): string | undefined {
  const entries = pushOrigins(origins);
  if (entries.length === 0) {
    return (
      "push delivery and join callbacks are off on this deployment: " +
      "an operator must list allowed origins in PUSH_ORIGINS"
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `'${url}' is not a URL`;
  }
  if (parsed.username || parsed.password) return "a push URL may not carry credentials";
  const host = parsed.hostname.toLowerCase();
  const allowed = entries.some(
    (e) =>
      e.protocol === parsed.protocol &&
      (e.wildcard ? host.endsWith(`.${e.host}`) : host === e.host) &&
      (e.port === undefined || e.port === (parsed.port || (parsed.protocol === "https:" ? "443" : "80"))),
  );
  if (allowed) return undefined;
  if (
    parsed.protocol !== "https:" &&
    entries.some((e) => e.host === host || (e.wildcard && host.endsWith(`.${e.host}`)))
  ) {
    return `'${parsed.origin}' is not https: only https is pushed to, unless PUSH_ORIGINS lists the http origin itself`;
  }
  const listed = entries.map((e) => `${e.protocol}//${e.wildcard ? "*." : ""}${e.host}${e.port ? `:${e.port}` : ""}`);
  return `'${parsed.origin}' is not in PUSH_ORIGINS (${listed.join(", ")})`;
}
