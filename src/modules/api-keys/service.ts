import { and, eq, gt, isNotNull, isNull, lte, or, type SQL } from "drizzle-orm";
import type { AdminPrincipal, TenantContext } from "../../platform/auth";
import { randomAlnum, randomToken, sha256Hex } from "../../platform/crypto";
import type { Db } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { outboxInsert } from "../../platform/events";
import { contains, type ListParams, orderBy, paginate } from "../../platform/pagination";
import { nowIso } from "../../platform/time";
import { assertCanGrant } from "../roles/service";
import { apiKeys } from "./tables";

type ApiKeyRow = typeof apiKeys.$inferSelect;

export function toApiKey(row: ApiKeyRow) {
  const now = nowIso();
  const status = row.revokedAt ? "revoked" : row.expiresAt && row.expiresAt <= now ? "expired" : "active";
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes,
    status: status as "active" | "revoked" | "expired",
    created_by_user_id: row.createdByUserId,
    expires_at: row.expiresAt,
    last_used_at: row.lastUsedAt,
    revoked_at: row.revokedAt,
    created_at: row.createdAt,
  };
}

/** A new key `lk_<8 visible chars>_<secret>` and the row that stores its hash. */
export async function newApiKey(input: {
  tenantId: number | SQL;
  name: string;
  scopes: string[];
  createdByUserId?: number | null;
  expiresAt?: string | null;
}) {
  const prefix = `lk_${randomAlnum(8)}`;
  const key = `${prefix}_${randomToken(32)}`;
  const values: typeof apiKeys.$inferInsert = {
    tenantId: input.tenantId as number,
    name: input.name,
    prefix,
    keyHash: await sha256Hex(key),
    scopes: [...new Set(input.scopes)],
    createdByUserId: input.createdByUserId ?? null,
    expiresAt: input.expiresAt ?? null,
    createdAt: nowIso(),
  };
  return { key, values };
}

export function apiKeyInsert(db: Db, values: typeof apiKeys.$inferInsert) {
  return db.insert(apiKeys).values(values).returning();
}

export async function createApiKey(
  ctx: TenantContext<AdminPrincipal>,
  input: { name: string; scopes?: string[]; expires_at?: string | null },
) {
  const scopes = input.scopes ?? ctx.principal.permissions;
  assertCanGrant(ctx.principal, scopes, "an API key");
  const expiresAt = input.expires_at ? new Date(input.expires_at).toISOString() : null;
  if (expiresAt && expiresAt <= nowIso()) {
    throw ApiError.validation([{ path: "expires_at", message: "Must be in the future." }]);
  }
  const { key, values } = await newApiKey({
    tenantId: ctx.tenantId,
    name: input.name,
    scopes,
    createdByUserId: ctx.principal.kind === "staff" ? ctx.principal.userId : null,
    expiresAt,
  });
  const [[row]] = await ctx.db.batch([
    apiKeyInsert(ctx.db, values),
    outboxInsert(ctx.db, ctx.tenantId, "api_key.created", { name: input.name, prefix: values.prefix }),
  ]);
  return { ...toApiKey(row), key };
}

export async function findApiKey(ctx: TenantContext, id: number) {
  const row = await ctx.db.query.apiKeys.findFirst({
    where: and(eq(apiKeys.tenantId, ctx.tenantId), eq(apiKeys.id, id)),
  });
  if (!row) throw ApiError.notFound(`API key ${id}`);
  return row;
}

export async function listApiKeys(
  ctx: TenantContext,
  query: ListParams & { q?: string; status?: "active" | "revoked" | "expired" },
) {
  const now = nowIso();
  const statusFilter = {
    active: and(isNull(apiKeys.revokedAt), or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, now))),
    revoked: isNotNull(apiKeys.revokedAt),
    expired: and(isNull(apiKeys.revokedAt), lte(apiKeys.expiresAt, now)),
  };
  const where = and(
    eq(apiKeys.tenantId, ctx.tenantId),
    query.status ? statusFilter[query.status] : undefined,
    query.q ? or(contains(apiKeys.name, query.q), contains(apiKeys.prefix, query.q)) : undefined,
  );
  const order = orderBy(
    query.sort,
    { name: apiKeys.name, created_at: apiKeys.createdAt, last_used_at: apiKeys.lastUsedAt },
    apiKeys.id,
  );
  return paginate(ctx.db, apiKeys, where, order, query, toApiKey);
}

/** Revoking is immediate and permanent; the key stays listed with `revoked_at`. Idempotent. */
export async function revokeApiKey(ctx: TenantContext<AdminPrincipal>, id: number) {
  const row = await findApiKey(ctx, id);
  // Keys that can do more than the caller (the Owner key, for an Admin) are out of the caller's reach.
  assertCanGrant(ctx.principal, row.scopes, "the revocation of a key");
  if (row.revokedAt) return;
  await ctx.db.batch([
    ctx.db
      .update(apiKeys)
      .set({ revokedAt: nowIso() })
      .where(and(eq(apiKeys.tenantId, ctx.tenantId), eq(apiKeys.id, id))),
    outboxInsert(ctx.db, ctx.tenantId, "api_key.revoked", { id, prefix: row.prefix }),
  ]);
}
