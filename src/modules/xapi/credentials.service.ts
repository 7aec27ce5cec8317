import { and, eq, isNotNull, isNull, or } from "drizzle-orm";
import type { AdminPrincipal, TenantContext } from "../../platform/auth";
import { randomAlnum, randomToken, sha256Hex } from "../../platform/crypto";
import { ApiError } from "../../platform/errors";
import { outboxInsert } from "../../platform/events";
import { contains, type ListParams, orderBy, paginate } from "../../platform/pagination";
import { nowIso } from "../../platform/time";
import { forgetLrsCredential } from "./lrs";
import { lrsCredentials } from "./tables";

type Row = typeof lrsCredentials.$inferSelect;

export function toLrsCredential(row: Row) {
  return {
    id: row.id,
    name: row.name,
    key: row.key,
    scopes: row.scopes as ("read" | "write")[],
    status: (row.revokedAt ? "revoked" : "active") as "active" | "revoked",
    endpoint: "/xapi/",
    created_by_user_id: row.createdByUserId,
    last_used_at: row.lastUsedAt,
    revoked_at: row.revokedAt,
    created_at: row.createdAt,
  };
}

export async function createLrsCredential(
  ctx: TenantContext<AdminPrincipal>,
  input: { name: string; scopes: ("read" | "write")[] },
) {
  const secret = `lrss_${randomToken(32)}`;
  const key = `lrs_${randomAlnum(16)}`;
  const [[row]] = await ctx.db.batch([
    ctx.db
      .insert(lrsCredentials)
      .values({
        tenantId: ctx.tenantId,
        name: input.name,
        key,
        secretHash: await sha256Hex(secret),
        scopes: [...new Set(input.scopes)],
        createdByUserId: ctx.principal.kind === "staff" ? ctx.principal.userId : null,
        createdAt: nowIso(),
      })
      .returning(),
    outboxInsert(ctx.db, ctx.tenantId, "lrs_credential.created", { name: input.name, key }),
  ]);
  return { ...toLrsCredential(row), secret };
}

export async function findLrsCredential(ctx: TenantContext, id: number) {
  const row = await ctx.db.query.lrsCredentials.findFirst({
    where: and(eq(lrsCredentials.tenantId, ctx.tenantId), eq(lrsCredentials.id, id)),
  });
  if (!row) throw ApiError.notFound(`LRS credential ${id}`);
  return row;
}

export async function listLrsCredentials(
  ctx: TenantContext,
  query: ListParams & { q?: string; status?: "active" | "revoked" },
) {
  const where = and(
    eq(lrsCredentials.tenantId, ctx.tenantId),
    query.status === "active" ? isNull(lrsCredentials.revokedAt) : undefined,
    query.status === "revoked" ? isNotNull(lrsCredentials.revokedAt) : undefined,
    query.q ? or(contains(lrsCredentials.name, query.q), contains(lrsCredentials.key, query.q)) : undefined,
  );
  const order = orderBy(
    query.sort,
    { name: lrsCredentials.name, created_at: lrsCredentials.createdAt, last_used_at: lrsCredentials.lastUsedAt },
    lrsCredentials.id,
  );
  return paginate(ctx.db, lrsCredentials, where, order, query, toLrsCredential);
}

/** Immediate and permanent (401 on /xapi afterwards); the credential stays listed. Idempotent. */
export async function revokeLrsCredential(ctx: TenantContext<AdminPrincipal>, id: number) {
  const row = await findLrsCredential(ctx, id);
  if (row.revokedAt) return;
  await ctx.db.batch([
    ctx.db
      .update(lrsCredentials)
      .set({ revokedAt: nowIso() })
      .where(and(eq(lrsCredentials.tenantId, ctx.tenantId), eq(lrsCredentials.id, id))),
    outboxInsert(ctx.db, ctx.tenantId, "lrs_credential.revoked", { id, key: row.key }),
  ]);
  forgetLrsCredential(row.key);
}
