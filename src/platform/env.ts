import type { DrizzleD1Database } from "drizzle-orm/d1";
import type * as schema from "../db/schema";
import type { Principal } from "./auth";

/** Bindings of wrangler.toml plus the secrets from .dev.vars / `wrangler secret put`. */
export interface Env {
  DB: D1Database;
  MEDIA: R2Bucket;
  PACKAGES: R2Bucket;
  QUIZ_ATTEMPT: DurableObjectNamespace;
  DISCUSSION_ROOM: DurableObjectNamespace;
  RATE_LIMITER: DurableObjectNamespace;
  EVENTS: Queue<EventMessage>;
  WEBHOOK_DELIVERIES: Queue;
  JOBS: Queue;
  ENVIRONMENT: string;
  PLATFORM_ADMIN_TOKEN: string;
  JWT_SECRET: string;
  /** Optional: the HMAC key of signed media URLs (src/modules/media/signing.ts); derived from JWT_SECRET when unset. */
  MEDIA_SIGNING_SECRET?: string;
}

export type Db = DrizzleD1Database<typeof schema>;

/** What the outbox hands to the EVENTS queue: the event's id and tenant; consumers read the row. */
export interface EventMessage {
  id: number;
  tenant_id: number;
  type: string;
}

/** Per-request variables set by middleware. */
export interface Variables {
  requestId: string;
  db: Db;
  principal: Principal;
}

export interface AppEnv {
  Bindings: Env;
  Variables: Variables;
}
