import { inArray, sql } from "drizzle-orm";
import type { Db } from "./env";
import { ApiError } from "./errors";
import { authThrottle } from "./tables";

/** How many failures within a window lock a key, and for how long. */
export interface ThrottlePolicy {
  limit: number;
  windowSeconds: number;
  lockSeconds: number;
}

export const LOGIN_PER_ACCOUNT: ThrottlePolicy = { limit: 5, windowSeconds: 15 * 60, lockSeconds: 15 * 60 };
export const LOGIN_PER_IP: ThrottlePolicy = { limit: 50, windowSeconds: 15 * 60, lockSeconds: 15 * 60 };
export const EMAIL_REQUESTS: ThrottlePolicy = { limit: 5, windowSeconds: 60 * 60, lockSeconds: 60 * 60 };

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Throws 429 with Retry-After when any of the keys is locked. One D1 read. */
export async function assertNotThrottled(db: Db, keys: string[], what = "sign-in attempts"): Promise<void> {
  const rows = await db.select().from(authThrottle).where(inArray(authThrottle.key, keys));
  const now = nowSeconds();
  const lockedUntil = Math.max(0, ...rows.map((r) => r.lockedUntil ?? 0));
  if (lockedUntil > now) {
    throw ApiError.tooManyRequests(lockedUntil - now, `Too many ${what}. Try again in ${lockedUntil - now} seconds.`);
  }
}

/** Counts one failure against a key (an atomic upsert: concurrent failures all count). */
export function recordFailure(db: Db, key: string, policy: ThrottlePolicy) {
  const now = nowSeconds();
  const expired = sql`${authThrottle.windowStartedAt} < ${now - policy.windowSeconds}`;
  const failures = sql`CASE WHEN ${expired} THEN 1 ELSE ${authThrottle.failures} + 1 END`;
  return db
    .insert(authThrottle)
    .values({
      key,
      failures: 1,
      windowStartedAt: now,
      lockedUntil: policy.limit <= 1 ? now + policy.lockSeconds : null,
    })
    .onConflictDoUpdate({
      target: authThrottle.key,
      set: {
        failures,
        windowStartedAt: sql`CASE WHEN ${expired} THEN ${now} ELSE ${authThrottle.windowStartedAt} END`,
        lockedUntil: sql`CASE WHEN ${failures} >= ${policy.limit} THEN ${now + policy.lockSeconds} ELSE ${authThrottle.lockedUntil} END`,
      },
    });
}

export function clearFailures(db: Db, key: string) {
  return db.delete(authThrottle).where(inArray(authThrottle.key, [key]));
}
