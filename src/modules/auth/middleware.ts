import { and, eq } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import { bearerToken, type Principal } from "../../platform/auth";
import { sha256Hex, timingSafeEqual } from "../../platform/crypto";
import type { AppEnv } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { type AccessClaims, verifyAccessToken } from "../../platform/jwt";
import { coversAll } from "../../platform/permissions";
import { writesPerMinute } from "../../platform/rate-limit";
import { rememberedSession, rememberSession } from "../../platform/session-memo";
import { nowIso } from "../../platform/time";
import { apiClients } from "../api-clients/tables";
import { apiKeys } from "../api-keys/tables";
import { roles } from "../roles/tables";
import { tenants } from "../tenants/tables";
import { users } from "../users/tables";
import { sessions } from "./tables";

/** Only write `last_used_at` when it is older than this, so hot reads do not write on every request. */
const LAST_USED_RESOLUTION_MS = 60_000;

const suspended = () => ApiError.forbidden("This academy is suspended; its credentials cannot be used.");

export const platformAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = bearerToken(c);
  const expected = c.env.PLATFORM_ADMIN_TOKEN;
  if (!token || !expected || !timingSafeEqual(token, expected)) {
    throw ApiError.unauthorized("The platform API needs `Authorization: Bearer <PLATFORM_ADMIN_TOKEN>`.");
  }
  c.set("principal", { kind: "platform" });
  await next();
};

/** `/v1/admin/*`: an API key (`lk_...`), an OAuth client access token, or a staff session token. */
export const adminAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = bearerToken(c);
  if (!token) throw ApiError.unauthorized();
  c.set("principal", token.startsWith("lk_") ? await fromApiKey(c, token) : await fromAdminJwt(c, token));
  await next();
};

/** `/v1/learner/*` (except sign-in): a learner session token. */
export const learnerAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = bearerToken(c);
  if (!token) throw ApiError.unauthorized();
  const claims = await verifiedClaims(c.env.JWT_SECRET, token);
  if (claims.aud !== "learner") throw ApiError.forbidden("This is not a learner token; the learner API needs one.");
  const session = await sessionPrincipal(c, claims, "learner");
  c.set("principal", {
    kind: "learner",
    tenantId: session.tenantId,
    userId: session.userId,
    sessionId: session.sessionId,
    writesPerMinute: session.writesPerMinute,
  });
  await next();
};

async function verifiedClaims(secret: string, token: string): Promise<AccessClaims> {
  if (token.startsWith("lk_")) throw ApiError.forbidden("API keys belong to the admin API.");
  const result = await verifyAccessToken(secret, token);
  if (!result.ok) {
    throw ApiError.unauthorized(
      result.reason === "expired" ? "The access token has expired; refresh it." : "The access token is invalid.",
    );
  }
  return result.claims;
}

/** The staff user who created a key or client, and their role's permissions today. */
const creatorColumns = { id: users.id, status: users.status, permissions: roles.permissions };

/**
 * A key or client made by a staff user never does more than that user can do now: it stops working when the
 * user is suspended or removed, and loses scopes their role no longer grants.
 */
function cappedByCreator(
  scopes: string[],
  createdByUserId: number | null,
  creator: { id: number | null; status: string | null; permissions: string[] | null } | null,
): string[] {
  if (createdByUserId === null) return scopes;
  if (!creator?.id || creator.status !== "active") {
    throw ApiError.unauthorized("The staff user who created this credential is no longer active; create a new one.");
  }
  const granted = creator.permissions ?? [];
  return scopes.filter((p) => coversAll(granted, [p]));
}

async function fromApiKey(c: Parameters<MiddlewareHandler<AppEnv>>[0], token: string): Promise<Principal> {
  const db = c.get("db");
  const [row] = await db
    .select({ key: apiKeys, tenantStatus: tenants.status, settings: tenants.settings, creator: creatorColumns })
    .from(apiKeys)
    .innerJoin(tenants, eq(tenants.id, apiKeys.tenantId))
    .leftJoin(users, eq(users.id, apiKeys.createdByUserId))
    .leftJoin(roles, eq(roles.id, users.roleId))
    .where(eq(apiKeys.keyHash, await sha256Hex(token)))
    .limit(1);
  if (!row) throw ApiError.unauthorized("The API key is not valid.");
  const now = nowIso();
  if (row.key.revokedAt) throw ApiError.unauthorized("The API key has been revoked.");
  if (row.key.expiresAt && row.key.expiresAt <= now) throw ApiError.unauthorized("The API key has expired.");
  if (row.tenantStatus !== "active") throw suspended();
  if (!row.key.lastUsedAt || Date.parse(now) - Date.parse(row.key.lastUsedAt) > LAST_USED_RESOLUTION_MS) {
    c.executionCtx.waitUntil(
      db
        .update(apiKeys)
        .set({ lastUsedAt: now })
        .where(eq(apiKeys.id, row.key.id))
        .then(() => undefined, console.error),
    );
  }
  return {
    kind: "api_key",
    tenantId: row.key.tenantId,
    keyId: row.key.id,
    userId: row.key.createdByUserId,
    permissions: cappedByCreator(row.key.scopes, row.key.createdByUserId, row.creator),
    writesPerMinute: writesPerMinute(row.settings),
  };
}

async function fromAdminJwt(c: Parameters<MiddlewareHandler<AppEnv>>[0], token: string): Promise<Principal> {
  const claims = await verifiedClaims(c.env.JWT_SECRET, token);
  if (claims.aud !== "admin") throw ApiError.forbidden("Learner tokens cannot call the admin API.");
  const clientMatch = /^client:(\d+)$/.exec(claims.sub);
  if (clientMatch) {
    const [row] = await c
      .get("db")
      .select({ client: apiClients, tenantStatus: tenants.status, settings: tenants.settings, creator: creatorColumns })
      .from(apiClients)
      .innerJoin(tenants, eq(tenants.id, apiClients.tenantId))
      .leftJoin(users, eq(users.id, apiClients.createdByUserId))
      .leftJoin(roles, eq(roles.id, users.roleId))
      .where(and(eq(apiClients.id, Number(clientMatch[1])), eq(apiClients.tenantId, claims.tid)))
      .limit(1);
    if (!row || row.client.revokedAt) throw ApiError.unauthorized("The API client of this token has been revoked.");
    if (row.tenantStatus !== "active") throw suspended();
    // A token asked for with a narrower `scope` keeps only those of the client's current scopes.
    const scopes = cappedByCreator(row.client.scopes, row.client.createdByUserId, row.creator);
    const permissions = claims.scp ? claims.scp.filter((p) => coversAll(scopes, [p])) : scopes;
    return {
      kind: "api_client",
      tenantId: row.client.tenantId,
      clientId: row.client.id,
      permissions,
      writesPerMinute: writesPerMinute(row.settings),
    };
  }
  const session = await sessionPrincipal(c, claims, "staff");
  return {
    kind: "staff",
    tenantId: session.tenantId,
    userId: session.userId,
    sessionId: session.sessionId,
    permissions: session.permissions,
    writesPerMinute: session.writesPerMinute,
  };
}

/**
 * One read: the session, its user, the user's role and the tenant. Logout and suspension apply at once for
 * staff; a learner's session checked in the last 5 s is taken from the isolate's memo (platform/session-memo.ts).
 */
async function sessionPrincipal(
  c: Parameters<MiddlewareHandler<AppEnv>>[0],
  claims: AccessClaims,
  kind: "staff" | "learner",
) {
  const userMatch = /^user:(\d+)$/.exec(claims.sub);
  if (!userMatch || !claims.sid) throw ApiError.unauthorized("The access token is invalid.");
  const userId = Number(userMatch[1]);
  if (kind === "learner") {
    const hit = rememberedSession(claims.sid);
    if (hit && hit.tenantId === claims.tid && hit.userId === userId && hit.expiresAt > nowIso()) {
      return {
        tenantId: claims.tid,
        userId,
        sessionId: claims.sid,
        permissions: [],
        writesPerMinute: hit.writesPerMinute,
      };
    }
  }
  const [row] = await c
    .get("db")
    .select({
      revokedAt: sessions.revokedAt,
      expiresAt: sessions.expiresAt,
      userKind: users.kind,
      userStatus: users.status,
      permissions: roles.permissions,
      tenantStatus: tenants.status,
      settings: tenants.settings,
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .innerJoin(tenants, eq(tenants.id, sessions.tenantId))
    .leftJoin(roles, eq(roles.id, users.roleId))
    .where(
      and(eq(sessions.id, claims.sid), eq(sessions.tenantId, claims.tid), eq(sessions.userId, Number(userMatch[1]))),
    )
    .limit(1);
  if (!row || row.revokedAt || row.expiresAt <= nowIso() || row.userKind !== kind) {
    throw ApiError.unauthorized("This session has ended; sign in again.");
  }
  if (row.tenantStatus !== "active") throw suspended();
  if (row.userStatus !== "active") throw ApiError.forbidden("This account is suspended.");
  const limit = writesPerMinute(row.settings);
  if (kind === "learner") {
    rememberSession(claims.sid, { tenantId: claims.tid, userId, expiresAt: row.expiresAt, writesPerMinute: limit });
  }
  return {
    tenantId: claims.tid,
    userId,
    sessionId: claims.sid,
    permissions: row.permissions ?? [],
    writesPerMinute: limit,
  };
}
