import { applyD1Migrations, env } from "cloudflare:test";

// Real local D1: the same migrations wrangler applies, before any test file runs.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
