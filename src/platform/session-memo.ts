/**
 * Learner sessions checked within the last few seconds, kept per isolate so a learner's hot reads (my courses,
 * the outline, quiz saves) do not read the session row from D1 on every request. The JWT alone cannot say that
 * a session was revoked or its learner suspended; this memo says it at most `SESSION_MEMO_MS` late, and not at
 * all late in the isolate that made the change (`forgetSessions` is called by every write that ends sessions,
 * suspends a learner or an academy). Staff and API credentials are always read from D1.
 */
export const SESSION_MEMO_MS = 5_000;
const MAX_ENTRIES = 20_000;

export interface RememberedSession {
  tenantId: number;
  userId: number;
  expiresAt: string;
  writesPerMinute: number;
}

const memo = new Map<number, RememberedSession & { until: number }>();

export function rememberedSession(sessionId: number, now = Date.now()): RememberedSession | undefined {
  const hit = memo.get(sessionId);
  if (!hit) return undefined;
  if (hit.until <= now) {
    memo.delete(sessionId);
    return undefined;
  }
  return hit;
}

export function rememberSession(sessionId: number, session: RememberedSession, now = Date.now()) {
  if (memo.size >= MAX_ENTRIES) {
    // Insertion order: drop the oldest tenth rather than everything.
    let drop = MAX_ENTRIES / 10;
    for (const key of memo.keys()) {
      memo.delete(key);
      if (--drop <= 0) break;
    }
  }
  memo.set(sessionId, { ...session, until: now + SESSION_MEMO_MS });
}

/** Forgets the sessions of an academy, of one of its users, or one session. */
export function forgetSessions(match: { tenantId: number; userId?: number; sessionId?: number }) {
  if (match.sessionId !== undefined) {
    memo.delete(match.sessionId);
    return;
  }
  for (const [id, entry] of memo) {
    if (entry.tenantId === match.tenantId && (match.userId === undefined || entry.userId === match.userId)) {
      memo.delete(id);
    }
  }
}
