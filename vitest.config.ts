import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// Node's environment (the project has no @types/node; this config runs in Node, the tests in workerd).
declare const process: { env: Record<string, string | undefined> };

export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            PLATFORM_ADMIN_TOKEN: "test-platform-token-0123456789abcdef",
            JWT_SECRET: "test-jwt-secret-0123456789abcdef0123456789abcdef",
            ENVIRONMENT: "test",
            // Cases per operation of the schema-driven fuzzer (test/contract); `npm run fuzz` raises it.
            FUZZ_RUNS: process.env.FUZZ_RUNS ?? "8",
          },
        },
      }),
    ],
    test: {
      setupFiles: ["./test/setup.ts"],
      include: ["test/**/*.test.ts"],
      testTimeout: 30_000,
      // Two files at a time: vitest's default on a 2-core machine is one, and the suite then takes ~7 minutes
      // instead of ~5 (each file is its own workerd with its own storage, so files never share state).
      maxWorkers: 2,
    },
  };
});
