import type { Context, MiddlewareHandler } from "hono";
import type { RateDecision, RateLimiter } from "../durable/rate-limiter";
import { clientIp } from "./auth";
import type { AppEnv } from "./env";
import { ApiError } from "./errors";

/** Writes per credential per minute unless the tenant sets `settings.rate_limits.writes_per_minute`. */
export const DEFAULT_WRITES_PER_MINUTE = 600;
/** Sign-in, registration, reset and token requests per client IP per minute. */
export const AUTH_REQUESTS_PER_MINUTE = 120;

const WRITE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

async function take(c: Context<AppEnv>, key: string, limit: number): Promise<RateDecision> {
  const stub = c.env.RATE_LIMITER.get(c.env.RATE_LIMITER.idFromName(key)) as DurableObjectStub<RateLimiter>;
  return stub.take(limit, 60);
}

function enforce(c: Context<AppEnv>, decision: RateDecision, what: string) {
  c.header("RateLimit-Limit", String(decision.limit));
  c.header("RateLimit-Remaining", String(decision.remaining));
  c.header("RateLimit-Reset", String(decision.resetSeconds));
  if (!decision.allowed) {
    throw ApiError.tooManyRequests(
      decision.resetSeconds,
      `Rate limit of ${decision.limit} ${what} per minute reached; retry in ${decision.resetSeconds} seconds.`,
    );
  }
}

/**
 * A learner's quiz answer save: the attempt's Durable Object counts these itself (durable/quiz-attempt.ts), so the
 * hottest learner write makes one object call, not two.
 */
const ANSWER_SAVE = /^\/v1\/learner\/attempts\/\d+\/answers\/\d+$/;

/** After authentication: counts each write of the credential (reads are not limited here). */
export const writeRateLimit: MiddlewareHandler<AppEnv> = async (c, next) => {
  const principal = c.get("principal");
  const countedElsewhere = c.req.method === "PUT" && principal?.kind === "learner" && ANSWER_SAVE.test(c.req.path);
  if (WRITE_METHODS.has(c.req.method) && principal && "writesPerMinute" in principal && !countedElsewhere) {
    const id =
      principal.kind === "api_key"
        ? principal.keyId
        : principal.kind === "api_client"
          ? principal.clientId
          : principal.sessionId;
    enforce(c, await take(c, `w:${principal.kind}:${id}`, principal.writesPerMinute), "writes");
  }
  await next();
};

/** Before sign-in style endpoints that take no credential: counts requests per client IP. */
export const authRateLimit: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.method === "POST") {
    enforce(c, await take(c, `auth:${clientIp(c)}`, AUTH_REQUESTS_PER_MINUTE), "sign-in requests");
  }
  await next();
};

/** The tenant's write limit from its settings, or the default. */
export function writesPerMinute(settings: Record<string, unknown> | null | undefined): number {
  const limits = settings?.rate_limits as { writes_per_minute?: unknown } | undefined;
  const value = limits?.writes_per_minute;
  return typeof value === "number" && Number.isInteger(value) && value > 0 ? value : DEFAULT_WRITES_PER_MINUTE;
}
