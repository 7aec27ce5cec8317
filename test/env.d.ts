import type { D1Migration } from "cloudflare:test";
import type { Env as LecternEnv } from "../src/platform/env";

declare global {
  namespace Cloudflare {
    interface Env extends LecternEnv {
      TEST_MIGRATIONS: D1Migration[];
    }
  }
}
