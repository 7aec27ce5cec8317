import { and, eq, gt, isNull } from "drizzle-orm";
import type { TenantContext } from "../../platform/auth";
import { hashPassword, randomToken, sha256Hex, verifyPassword } from "../../platform/crypto";
import type { Db, Env } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { outboxInsert } from "../../platform/events";
import { type Audience, signAccessToken } from "../../platform/jwt";
import { forgetSessions } from "../../platform/session-memo";
import {
  assertNotThrottled,
  clearFailures,
  EMAIL_REQUESTS,
  LOGIN_PER_ACCOUNT,
  LOGIN_PER_IP,
  recordFailure,
} from "../../platform/throttle";
import { addSeconds, nowIso } from "../../platform/time";
import { tenants } from "../tenants/tables";
import { findUserByEmail, type UserKind, type UserRow } from "../users/service";
import { users } from "../users/tables";
import { sessions, userTokens } from "./tables";

export const ACCESS_TOKEN_TTL = 15 * 60;
export const REFRESH_TOKEN_TTL = 30 * 86_400;
const RESET_TOKEN_TTL = 60 * 60;
const VERIFY_TOKEN_TTL = 7 * 86_400;

const AUDIENCE: Record<UserKind, Audience> = { staff: "admin", learner: "learner" };

export interface ClientMeta {
  ip: string;
  userAgent?: string;
}

export function revokeAllSessions(db: Db, tenantId: number, userId: number) {
  forgetSessions({ tenantId, userId });
  return db
    .update(sessions)
    .set({ revokedAt: nowIso() })
    .where(and(eq(sessions.tenantId, tenantId), eq(sessions.userId, userId), isNull(sessions.revokedAt)));
}

async function issueTokens(env: Env, tenantId: number, user: UserRow, sessionId: number, refreshToken: string) {
  const accessToken = await signAccessToken(
    env.JWT_SECRET,
    { sub: `user:${user.id}`, aud: AUDIENCE[user.kind], tid: tenantId, sid: sessionId },
    ACCESS_TOKEN_TTL,
  );
  return {
    token_type: "Bearer" as const,
    access_token: accessToken,
    expires_in: ACCESS_TOKEN_TTL,
    refresh_token: refreshToken,
    refresh_expires_in: REFRESH_TOKEN_TTL,
  };
}

/** Opens a session for a user whose credentials were already checked; one D1 batch. */
export async function openSession(ctx: TenantContext, user: UserRow, meta: ClientMeta, extra: unknown[] = []) {
  const refreshToken = `rt_${randomToken(32)}`;
  const now = nowIso();
  const [[session]] = await ctx.db.batch([
    ctx.db
      .insert(sessions)
      .values({
        tenantId: ctx.tenantId,
        userId: user.id,
        refreshHash: await sha256Hex(refreshToken),
        expiresAt: addSeconds(now, REFRESH_TOKEN_TTL),
        userAgent: meta.userAgent?.slice(0, 300) ?? null,
        ip: meta.ip,
        createdAt: now,
      })
      .returning({ id: sessions.id }),
    ctx.db
      .update(users)
      .set({ lastLoginAt: now })
      .where(and(eq(users.tenantId, ctx.tenantId), eq(users.id, user.id))),
    // biome-ignore lint/suspicious/noExplicitAny: extra statements of the caller's batch
    ...(extra as any[]),
  ]);
  return issueTokens(ctx.env, ctx.tenantId, user, session.id, refreshToken);
}

/**
 * Email + password sign-in. Failures count per account and per client IP; past the limit the caller
 * gets 429 with Retry-After. The answer never says whether the email exists.
 */
export async function login(ctx: TenantContext, kind: UserKind, email: string, password: string, meta: ClientMeta) {
  const accountKey = `login:${ctx.tenantId}:${kind}:${email}`;
  const ipKey = `login-ip:${meta.ip}`;
  await assertNotThrottled(ctx.db, [accountKey, ipKey]);
  const user = await findUserByEmail(ctx, kind, email);
  const ok = await verifyPassword(password, user?.passwordHash ?? null);
  if (!user || !ok) {
    await ctx.db.batch([
      recordFailure(ctx.db, accountKey, LOGIN_PER_ACCOUNT),
      recordFailure(ctx.db, ipKey, LOGIN_PER_IP),
    ]);
    throw new ApiError(401, "The email or password is incorrect.", { slug: "invalid-credentials" });
  }
  if (user.status !== "active") throw ApiError.forbidden("This account is suspended.");
  const tokens = await openSession(ctx, user, meta, [clearFailures(ctx.db, accountKey)]);
  return { ...tokens, user };
}

/** Exchanges a refresh token for a new pair; the old refresh token stops working (rotation). */
export async function refresh(db: Db, env: Env, refreshToken: string, kind: UserKind) {
  const now = nowIso();
  const [row] = await db
    .select({ session: sessions, user: users, tenantStatus: tenants.status })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .innerJoin(tenants, eq(tenants.id, sessions.tenantId))
    .where(eq(sessions.refreshHash, await sha256Hex(refreshToken)))
    .limit(1);
  if (!row || row.session.revokedAt || row.session.expiresAt < now || row.user.kind !== kind) {
    throw ApiError.unauthorized("The refresh token is invalid, expired or revoked. Sign in again.");
  }
  if (row.tenantStatus !== "active") throw ApiError.forbidden("This academy is suspended.");
  if (row.user.status !== "active") throw ApiError.forbidden("This account is suspended.");
  const next = `rt_${randomToken(32)}`;
  const rotated = await db
    .update(sessions)
    .set({ refreshHash: await sha256Hex(next), lastUsedAt: now, expiresAt: addSeconds(now, REFRESH_TOKEN_TTL) })
    .where(and(eq(sessions.id, row.session.id), eq(sessions.refreshHash, row.session.refreshHash)))
    .returning({ id: sessions.id });
  if (rotated.length === 0) throw ApiError.unauthorized("The refresh token was already used. Sign in again.");
  return issueTokens(env, row.session.tenantId, row.user, row.session.id, next);
}

export async function logout(ctx: TenantContext, sessionId: number) {
  await ctx.db
    .update(sessions)
    .set({ revokedAt: nowIso() })
    .where(and(eq(sessions.tenantId, ctx.tenantId), eq(sessions.id, sessionId), isNull(sessions.revokedAt)));
  forgetSessions({ tenantId: ctx.tenantId, sessionId });
}

// ---- single-use tokens: password reset and email verification ------------------------------------------------

async function createUserToken(
  ctx: TenantContext,
  user: UserRow,
  purpose: "password_reset" | "email_verification",
  ttl: number,
) {
  const token = `${purpose === "password_reset" ? "prt" : "evt"}_${randomToken(24)}`;
  const now = nowIso();
  await ctx.db.batch([
    ctx.db.insert(userTokens).values({
      tenantId: ctx.tenantId,
      userId: user.id,
      purpose,
      tokenHash: await sha256Hex(token),
      expiresAt: addSeconds(now, ttl),
      createdAt: now,
    }),
    // The academy's mailer integration receives the token through this event (webhooks) and sends the email.
    outboxInsert(ctx.db, ctx.tenantId, `${user.kind}.${purpose}_requested`, {
      user_id: user.id,
      email: user.email,
      token,
      expires_at: addSeconds(now, ttl),
    }),
  ]);
}

/** Always answers the same, whether or not the email exists (no account enumeration). */
export async function requestPasswordReset(ctx: TenantContext, kind: UserKind, email: string) {
  const key = `reset:${ctx.tenantId}:${kind}:${email}`;
  await assertNotThrottled(ctx.db, [key], "password reset requests");
  await recordFailure(ctx.db, key, EMAIL_REQUESTS);
  const user = await findUserByEmail(ctx, kind, email);
  if (user && user.status === "active") await createUserToken(ctx, user, "password_reset", RESET_TOKEN_TTL);
}

export async function requestEmailVerification(ctx: TenantContext, user: UserRow) {
  if (user.emailVerifiedAt) throw ApiError.conflict("This email address is already verified.");
  const key = `verify:${ctx.tenantId}:${user.id}`;
  await assertNotThrottled(ctx.db, [key], "verification emails");
  await recordFailure(ctx.db, key, EMAIL_REQUESTS);
  await createUserToken(ctx, user, "email_verification", VERIFY_TOKEN_TTL);
}

async function consumeToken(ctx: TenantContext, token: string, purpose: "password_reset" | "email_verification") {
  const now = nowIso();
  const used = await ctx.db
    .update(userTokens)
    .set({ usedAt: now })
    .where(
      and(
        eq(userTokens.tenantId, ctx.tenantId),
        eq(userTokens.tokenHash, await sha256Hex(token)),
        eq(userTokens.purpose, purpose),
        isNull(userTokens.usedAt),
        gt(userTokens.expiresAt, now),
      ),
    )
    .returning({ userId: userTokens.userId });
  if (used.length === 0) {
    throw ApiError.validation([{ path: "token", message: "This token is invalid, already used or expired." }]);
  }
  return used[0].userId;
}

export async function resetPassword(ctx: TenantContext, token: string, password: string) {
  const userId = await consumeToken(ctx, token, "password_reset");
  const now = nowIso();
  await ctx.db.batch([
    ctx.db
      .update(users)
      .set({ passwordHash: await hashPassword(password), updatedAt: now, emailVerifiedAt: now })
      .where(and(eq(users.tenantId, ctx.tenantId), eq(users.id, userId))),
    revokeAllSessions(ctx.db, ctx.tenantId, userId),
    outboxInsert(ctx.db, ctx.tenantId, "user.password_changed", { user_id: userId }),
  ]);
}

export async function verifyEmail(ctx: TenantContext, token: string) {
  const userId = await consumeToken(ctx, token, "email_verification");
  await ctx.db
    .update(users)
    .set({ emailVerifiedAt: nowIso() })
    .where(and(eq(users.tenantId, ctx.tenantId), eq(users.id, userId)));
}
