import { DurableObject } from "cloudflare:workers";
import type { Env } from "../platform/env";

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** seconds until the current window ends */
  resetSeconds: number;
}

/**
 * One object per rate-limit key (a credential, or a client IP for sign-in). A fixed window counted in memory:
 * a single-threaded object makes the count exact, and losing it on eviction only forgives a burst, which is
 * acceptable for abuse control. No storage write happens on the request path.
 */
export class RateLimiter extends DurableObject<Env> {
  private windowStartedAt = 0;
  private count = 0;

  take(limit: number, periodSeconds: number): RateDecision {
    const now = Date.now();
    if (now - this.windowStartedAt >= periodSeconds * 1000) {
      this.windowStartedAt = now;
      this.count = 0;
    }
    const resetSeconds = Math.max(1, Math.ceil((this.windowStartedAt + periodSeconds * 1000 - now) / 1000));
    if (this.count >= limit) return { allowed: false, limit, remaining: 0, resetSeconds };
    this.count++;
    return { allowed: true, limit, remaining: limit - this.count, resetSeconds };
  }
}
