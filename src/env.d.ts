// Vars and secrets are not in wrangler.toml, so `wrangler types` cannot see them: declare them here (docs/security.md).
interface __BaseEnv_Env {
  /** `"none"` serves every request without authentication (local development only); anything else, or unset, is closed. */
  AUTH?: string;
  /** The admin secret (`wrangler secret put ADMIN_TOKEN`): full access, and the key that signs scoped tokens. */
  ADMIN_TOKEN?: string;
  /** Comma-separated origins whose web pages may call the API (CORS); none by default. */
  CORS_ORIGINS?: string;
  /** Comma-separated origins push delivery and join callbacks may target; none by default (push is off). */
  PUSH_ORIGINS?: string;
  /** Overrides the 20 s cap on one wait (tests use a short one); see docs/limits.md. */
  MAX_WAIT_SECONDS?: string;
  /** Override the caps of docs/limits.md: waiting calls per queue, subscribers per queue, queues per deployment. */
  MAX_WAITERS?: string;
  MAX_GROUPS?: string;
  MAX_SUBSCRIBERS?: string;
  MAX_QUEUES?: string;
}
