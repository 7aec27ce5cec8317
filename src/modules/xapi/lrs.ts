/** The LRS surface's plumbing: version header, authentication (HTTP Basic or Bearer), the request context. */
import { and, eq } from "drizzle-orm";
import type { Context, MiddlewareHandler } from "hono";
import { sha256Hex, timingSafeEqual } from "../../platform/crypto";
import type { AppEnv, Db, Env } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { flushOutbox } from "../../platform/events";
import { hasPermission } from "../../platform/permissions";
import { nowIso } from "../../platform/time";
import { adminAuth } from "../auth/middleware";
import { enrollments } from "../enrollments/tables";
import { packageRegistrations } from "../packages/launch-tables";
import { tenants } from "../tenants/tables";
import { users } from "../users/tables";
import { LAUNCH_USER, type LaunchScope, verifyLaunchCredential } from "./launch-credentials";
import { lrsCredentials } from "./tables";

/** The version this LRS answers with for 1.0.x requests. */
export const XAPI_VERSION = "1.0.3";
export const SUPPORTED_VERSIONS = ["1.0.0", "1.0.1", "1.0.2", "1.0.3", "2.0.0"];
const VERSION_HEADER = /^(1\.0(\.[0-3])?|2\.0(\.0)?)$/;

/** Bearer tokens (OAuth client credentials, API keys, staff tokens) need these permissions on the LRS. */
export const READ_PERMISSION = "reports:read";
export const WRITE_PERMISSION = "enrollments:write";

export interface LrsContext {
  tenantId: number;
  db: Db;
  env: Env;
  canRead: boolean;
  canWrite: boolean;
  credentialId: number | null;
  /** The Agent the LRS writes as each statement's `authority`. */
  authority: Record<string, unknown>;
  /** The version the client asked for (1.0.x or 2.0.0). */
  version: string;
  /** A launch credential's scope: it may only write (and read) for this learner's Agent and registration. */
  scope?: LaunchScope | null;
  defer: (work: Promise<unknown>) => void;
}

const contexts = new WeakMap<Request, LrsContext>();

/**
 * LRS credentials (with their academy's status), kept per isolate for a few seconds so a burst of statement
 * batches costs no credential read each (the secret is still checked against the stored hash every time). A
 * revocation is seen at once by the isolate that made it (`forgetLrsCredential`) and by others within
 * CREDENTIAL_TTL_MS, as is an academy's suspension.
 */
const CREDENTIAL_TTL_MS = 5_000;
const CREDENTIAL_MAX = 1_000;
type CredentialRow = { credential: typeof lrsCredentials.$inferSelect; tenantStatus: string };
const credentialMemo = new Map<string, { row: CredentialRow; until: number }>();

async function lookupCredential(db: Db, key: string): Promise<CredentialRow | null> {
  const now = Date.now();
  const hit = credentialMemo.get(key);
  if (hit && hit.until > now) return hit.row;
  const [row] = await db
    .select({ credential: lrsCredentials, tenantStatus: tenants.status })
    .from(lrsCredentials)
    .innerJoin(tenants, eq(tenants.id, lrsCredentials.tenantId))
    .where(eq(lrsCredentials.key, key))
    .limit(1);
  if (!row) return null; // unknown keys are not remembered: a credential made a moment later works at once
  if (credentialMemo.size >= CREDENTIAL_MAX) credentialMemo.clear();
  credentialMemo.set(key, { row, until: now + CREDENTIAL_TTL_MS });
  return row;
}

/** Drops a credential from this isolate's memo (it was revoked here). */
export function forgetLrsCredential(key: string) {
  credentialMemo.delete(key);
}

export function lrsContext(c: Context<AppEnv>, need: "read" | "write"): LrsContext {
  const ctx = contexts.get(c.req.raw);
  if (!ctx) throw unauthorized();
  if (need === "read" && !ctx.canRead) throw ApiError.forbidden("This credential has no `read` scope.");
  if (need === "write" && !ctx.canWrite) throw ApiError.forbidden("This credential has no `write` scope.");
  return ctx;
}

const unauthorized = (detail = "Send HTTP Basic LRS credentials (or an OAuth bearer token).") =>
  new ApiError(401, detail, { headers: { "WWW-Authenticate": 'Basic realm="lectern-lrs"' } });

/**
 * Every `/xapi/*` response carries `X-Experience-API-Version`; every request but `/xapi/about` must send a
 * supported one (1.0.x or 2.0.0), else 400.
 */
export const xapiVersion: MiddlewareHandler<AppEnv> = async (c, next) => {
  const asked = c.req.header("x-experience-api-version")?.trim();
  const answer = asked?.startsWith("2.") ? "2.0.0" : XAPI_VERSION;
  try {
    const about = c.req.path.replace(/\/+$/, "") === "/xapi/about";
    if (!about && c.req.method !== "OPTIONS") {
      if (!asked) throw ApiError.badRequest("Send the `X-Experience-API-Version` header (1.0.3 or 2.0.0).");
      if (!VERSION_HEADER.test(asked))
        throw ApiError.badRequest(`X-Experience-API-Version ${asked} is not supported; use 1.0.3 or 2.0.0.`);
    }
    await next();
  } finally {
    c.header("X-Experience-API-Version", answer);
    c.res?.headers.set("X-Experience-API-Version", answer);
    c.res?.headers.set("Cache-Control", "no-store");
    // GET /xapi/statements answers X-Experience-API-Consistent-Through whatever its status (Communication 2.1.3).
    if (
      c.req.method === "GET" &&
      c.req.path.replace(/\/+$/, "") === "/xapi/statements" &&
      c.res &&
      !c.res.headers.has("X-Experience-API-Consistent-Through")
    )
      c.res.headers.set("X-Experience-API-Consistent-Through", new Date().toISOString());
  }
};

/** HTTP Basic with an LRS credential, or a Bearer admin credential with the LRS permissions. */
export const xapiAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.method === "OPTIONS" || c.req.path.replace(/\/+$/, "") === "/xapi/about") return next();
  const header = c.req.header("authorization") ?? "";
  const version = c.req.header("x-experience-api-version")?.trim() ?? XAPI_VERSION;
  const defer = (work: Promise<unknown>) => {
    const guarded = work.catch((err) => console.error("deferred work failed", err));
    try {
      c.executionCtx.waitUntil(guarded);
    } catch {
      // No execution context: the promise still runs.
    }
  };
  const basic = /^Basic\s+(\S+)\s*$/i.exec(header);
  if (basic) {
    let user = "";
    let secret = "";
    try {
      const decoded = atob(basic[1]);
      const colon = decoded.indexOf(":");
      user = decoded.slice(0, colon);
      secret = decoded.slice(colon + 1);
    } catch {
      throw unauthorized("The Basic credentials are not valid base64.");
    }
    const db = c.get("db");
    if (user === LAUNCH_USER) {
      // A launch credential (xAPI `auth=` / cmi5 auth-token): signed, scoped to one learner and registration.
      const scope = await verifyLaunchCredential(c.env.JWT_SECRET, secret);
      if (!scope) throw unauthorized("The launch credential is invalid or has expired; launch the module again.");
      // The credential outlives nothing it was issued for: its registration (gone with a removed enrollment),
      // the academy, the learner's enrollment (revoked or expired) and account are checked on every request.
      const [grant] = await db
        .select({
          tenantStatus: tenants.status,
          enrollmentStatus: enrollments.status,
          expiresAt: enrollments.expiresAt,
          userStatus: users.status,
        })
        .from(packageRegistrations)
        .innerJoin(tenants, eq(tenants.id, packageRegistrations.tenantId))
        .innerJoin(enrollments, eq(enrollments.id, packageRegistrations.enrollmentId))
        .innerJoin(users, eq(users.id, packageRegistrations.userId))
        .where(and(eq(packageRegistrations.tenantId, scope.tid), eq(packageRegistrations.registration, scope.reg)))
        .limit(1);
      if (!grant) throw unauthorized("The launch credential is invalid or has expired; launch the module again.");
      if (grant.tenantStatus !== "active") throw ApiError.forbidden("This academy is suspended.");
      if (
        grant.enrollmentStatus !== "active" ||
        grant.userStatus !== "active" ||
        (grant.expiresAt !== null && grant.expiresAt <= nowIso())
      ) {
        throw ApiError.forbidden("The learner's enrollment no longer gives access to this course.");
      }
      contexts.set(c.req.raw, {
        tenantId: scope.tid,
        db,
        env: c.env,
        canRead: true,
        canWrite: true,
        credentialId: null,
        authority: {
          objectType: "Agent",
          name: "Lectern launch",
          account: { homePage: `${new URL(c.req.url).origin}/xapi/`, name: `launch:${scope.reg}` },
        },
        version,
        scope,
        defer,
      });
      return next();
    }
    const row = await lookupCredential(db, user);
    if (!row || row.credential.revokedAt || !timingSafeEqual(await sha256Hex(secret), row.credential.secretHash)) {
      throw unauthorized("The LRS credentials are not valid.");
    }
    if (row.tenantStatus !== "active") throw ApiError.forbidden("This academy is suspended.");
    const cred = row.credential;
    const now = nowIso();
    if (!cred.lastUsedAt || Date.parse(now) - Date.parse(cred.lastUsedAt) > 60_000) {
      cred.lastUsedAt = now; // the memoised row too: one update a minute, not one per request
      defer(db.update(lrsCredentials).set({ lastUsedAt: now }).where(eq(lrsCredentials.id, cred.id)));
    }
    contexts.set(c.req.raw, {
      tenantId: cred.tenantId,
      db,
      env: c.env,
      canRead: cred.scopes.includes("read"),
      canWrite: cred.scopes.includes("write"),
      credentialId: cred.id,
      authority: {
        objectType: "Agent",
        name: cred.name,
        account: { homePage: `${new URL(c.req.url).origin}/xapi/`, name: cred.key },
      },
      version,
      scope: null,
      defer,
    });
    return next();
  }
  if (/^Bearer\s+/i.test(header)) {
    await adminAuth(c, async () => {});
    const principal = c.get("principal");
    if (!principal || principal.kind === "platform" || principal.kind === "learner") throw unauthorized();
    const who =
      principal.kind === "api_client"
        ? `client:${principal.clientId}`
        : principal.kind === "api_key"
          ? `key:${principal.keyId}`
          : `user:${principal.userId}`;
    contexts.set(c.req.raw, {
      tenantId: principal.tenantId,
      db: c.get("db"),
      env: c.env,
      canRead: hasPermission(principal.permissions, READ_PERMISSION),
      canWrite: hasPermission(principal.permissions, WRITE_PERMISSION),
      credentialId: null,
      authority: { objectType: "Agent", account: { homePage: `${new URL(c.req.url).origin}/xapi/`, name: who } },
      version,
      scope: null,
      defer,
    });
    return next();
  }
  throw unauthorized();
};

/** Academies whose outbox this isolate is flushing now; `again` asks the running flush for one more round. */
const flushing = new Map<number, { again: boolean }>();

/**
 * After a successful write, the outbox rows it recorded go to EVENTS (as `/v1` writes do). Concurrent writes of
 * one academy share one flush per isolate: a write that finds one running asks it to go round again (its row is
 * committed by then, so that round claims it) instead of starting its own, so a burst of statement batches costs
 * a few flushes rather than three D1 statements and a queue send each.
 */
export const xapiEvents: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  if (c.req.method === "GET" || c.req.method === "HEAD" || c.res.status >= 400) return;
  const ctx = contexts.get(c.req.raw);
  if (!ctx) return;
  const running = flushing.get(ctx.tenantId);
  if (running) {
    running.again = true;
    return;
  }
  const state = { again: false };
  flushing.set(ctx.tenantId, state);
  const db = c.get("db");
  ctx.defer(
    (async () => {
      try {
        do {
          state.again = false;
          await flushOutbox(c.env, db, ctx.tenantId, 100);
        } while (state.again);
      } finally {
        flushing.delete(ctx.tenantId);
      }
    })(),
  );
};

/**
 * A launch credential writes and reads only as its learner, in its registration: 403 otherwise. `agentKey` is the
 * Agent a request acts as or asks about; `registration` the one it names (undefined when it names none).
 */
export function assertLaunchScope(ctx: LrsContext, agentKey: string | null, registration: string | null | undefined) {
  if (!ctx.scope) return;
  if (agentKey !== ctx.scope.agt)
    throw ApiError.forbidden("This launch credential acts only for the learner it was issued to.");
  if (registration !== undefined && registration?.toLowerCase() !== ctx.scope.reg)
    throw ApiError.forbidden("This launch credential acts only in the registration it was issued for.");
}
