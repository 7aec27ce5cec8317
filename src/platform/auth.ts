import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv, Db, Env } from "./env";
import { ApiError } from "./errors";
import { hasPermission, type Permission } from "./permissions";

/** Who is calling. Resolved once per request by the authentication middleware of the surface. */
export type Principal =
  | { kind: "platform" }
  | ({ kind: "api_key"; tenantId: number; keyId: number; userId: number | null; permissions: string[] } & Limits)
  | ({ kind: "api_client"; tenantId: number; clientId: number; permissions: string[] } & Limits)
  | ({ kind: "staff"; tenantId: number; userId: number; sessionId: number; permissions: string[] } & Limits)
  | ({ kind: "learner"; tenantId: number; userId: number; sessionId: number } & Limits);

/** The tenant's limits that apply to the credential (see platform/rate-limit.ts). */
interface Limits {
  writesPerMinute: number;
}

export type AdminPrincipal = Extract<Principal, { kind: "api_key" | "api_client" | "staff" }>;
export type LearnerPrincipal = Extract<Principal, { kind: "learner" }>;

/**
 * What every tenant-scoped service receives: no query path exists without the tenant id.
 * `defer` runs work after the response (outbox flush, last-used stamps).
 */
export interface TenantContext<P extends Principal = Principal> {
  tenantId: number;
  db: Db;
  env: Env;
  principal: P;
  defer: (work: Promise<unknown>) => void;
}

function deferFor(c: Context<AppEnv>) {
  return (work: Promise<unknown>) => {
    const guarded = work.catch((err) => console.error("deferred work failed", err));
    try {
      c.executionCtx.waitUntil(guarded);
    } catch {
      // No execution context (some test harnesses): the promise still runs.
    }
  };
}

/** The admin-surface permission check: one call at the top of every admin handler. */
export function authorize(c: Context<AppEnv>, permission: Permission): TenantContext<AdminPrincipal> {
  const principal = c.get("principal");
  if (!principal || principal.kind === "platform" || principal.kind === "learner") throw ApiError.unauthorized();
  if (!hasPermission(principal.permissions, permission)) {
    throw new ApiError(403, `This credential lacks the \`${permission}\` permission.`, {
      extra: { required_permission: permission },
    });
  }
  return { tenantId: principal.tenantId, db: c.get("db"), env: c.env, principal, defer: deferFor(c) };
}

/**
 * The same check as route middleware, so it runs before the request is validated: a caller without the
 * permission learns nothing about the body rules (403 before 422).
 */
export function requirePermission(permission: Permission): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    authorize(c, permission);
    await next();
  };
}

/** Admin handlers that need a signed-in admin principal but no particular permission (`/me`). */
export function adminContext(c: Context<AppEnv>): TenantContext<AdminPrincipal> {
  const principal = c.get("principal");
  if (!principal || principal.kind === "platform" || principal.kind === "learner") throw ApiError.unauthorized();
  return { tenantId: principal.tenantId, db: c.get("db"), env: c.env, principal, defer: deferFor(c) };
}

export function learnerContext(c: Context<AppEnv>): TenantContext<LearnerPrincipal> {
  const principal = c.get("principal");
  if (principal?.kind !== "learner") throw ApiError.unauthorized();
  return { tenantId: principal.tenantId, db: c.get("db"), env: c.env, principal, defer: deferFor(c) };
}

/** A context for a tenant chosen by something other than a credential (platform operator, public, login). */
export function tenantContextFor(c: Context<AppEnv>, tenantId: number): TenantContext {
  return { tenantId, db: c.get("db"), env: c.env, principal: { kind: "platform" }, defer: deferFor(c) };
}

export function bearerToken(c: Context<AppEnv>): string | undefined {
  const header = c.req.header("authorization");
  if (!header) return webSocketToken(c);
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

export function clientIp(c: Context<AppEnv>): string {
  return c.req.header("cf-connecting-ip") ?? c.req.header("x-real-ip") ?? "local";
}

/**
 * Browsers cannot set headers on a WebSocket: an upgrade request (only that) may carry its bearer token as a
 * `bearer.<token>` entry of `Sec-WebSocket-Protocol` or as the `token` query parameter (docs/discussions.md).
 */
function webSocketToken(c: Context<AppEnv>): string | undefined {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") return undefined;
  const offered = (c.req.header("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
  const fromProtocol = offered.find((p) => p.startsWith("bearer."))?.slice("bearer.".length);
  return fromProtocol || c.req.query("token") || undefined;
}
