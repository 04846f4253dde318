// Helpers for the deployed-like Worker: calls with a bearer token, tokens issued by the admin secret.
import { call } from "../worker/helpers.ts";
import { TEST_ADMIN_TOKEN } from "./secret.ts";

export { TEST_ADMIN_TOKEN };
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
export const ADMIN = bearer(TEST_ADMIN_TOKEN);

/** Calls as the holder of `token` (or with no Authorization header at all). */
export const as =
  (token: string | undefined) =>
  (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    call(method, path, body, { ...(token === undefined ? {} : bearer(token)), ...headers });

export const admin = as(TEST_ADMIN_TOKEN);

/** Issues a token through the API, as the admin secret (or `by`), and answers the secret. */
export async function issue(
  grant: { queues: string[]; rights: string[]; ttl_seconds?: number; label?: string },
  by = admin,
) {
  const res = await by("POST", "/v1/tokens", grant);
  if (res.status !== 201) throw new Error(`issuing failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; token: string };
}

/** Creates a queue as the admin. */
export async function create(name: string, config: Record<string, unknown> = {}) {
  const res = await admin("PUT", `/v1/queues/${name}`, config);
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return name;
}
