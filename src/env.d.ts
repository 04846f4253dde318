// Secrets are not in wrangler.toml, so `wrangler types` cannot see them: declare them here.
interface __BaseEnv_Env {
  /** When set (`wrangler secret put API_TOKEN`), every /v1/queues request needs `Authorization: Bearer <token>`. */
  API_TOKEN?: string;
  /** Overrides the 20 s cap on one wait (tests use a short one); see README "Limits". */
  MAX_WAIT_SECONDS?: string;
}
