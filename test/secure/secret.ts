// The admin secret the "secure" test project runs with (vitest.config.ts binds it; the tests sign with it).
export const TEST_ADMIN_TOKEN = "test-admin-secret-0123456789abcdef";
