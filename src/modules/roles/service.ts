import { and, eq, type SQL } from "drizzle-orm";
import type { AdminPrincipal, TenantContext } from "../../platform/auth";
import type { Db } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { outboxInsert } from "../../platform/events";
import { contains, type ListParams, orderBy, paginate } from "../../platform/pagination";
import { coversAll, SYSTEM_ROLES } from "../../platform/permissions";
import { nowIso } from "../../platform/time";
import { countRoleHolders } from "../users/service";
import { roles } from "./tables";

type RoleRow = typeof roles.$inferSelect;

export function toRole(row: RoleRow) {
  return {
    id: row.id,
    key: row.key,
    name: row.name,
    description: row.description,
    permissions: row.permissions,
    is_system: row.isSystem,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

/** The system roles of a new tenant; `tenantId` may be a subquery when the tenant is created in the same batch. */
export function systemRoleInsert(db: Db, tenantId: number | SQL) {
  const now = nowIso();
  return db.insert(roles).values(
    SYSTEM_ROLES.map((r) => ({
      tenantId: tenantId as number,
      key: r.key,
      name: r.name,
      description: r.description,
      permissions: r.permissions,
      isSystem: true,
      createdAt: now,
      updatedAt: now,
    })),
  );
}

export async function findRole(ctx: TenantContext, id: number): Promise<RoleRow> {
  const row = await ctx.db.query.roles.findFirst({ where: and(eq(roles.tenantId, ctx.tenantId), eq(roles.id, id)) });
  if (!row) throw ApiError.notFound(`Role ${id}`);
  return row;
}

export async function findRoleByKey(ctx: TenantContext, key: string): Promise<RoleRow | undefined> {
  return ctx.db.query.roles.findFirst({ where: and(eq(roles.tenantId, ctx.tenantId), eq(roles.key, key)) });
}

/** A principal may only hand out what it holds: no escalation through roles, invitations or keys. */
export function assertCanGrant(principal: AdminPrincipal, permissions: string[], what: string) {
  if (!coversAll(principal.permissions, permissions)) {
    const missing = permissions.filter((p) => !coversAll(principal.permissions, [p]));
    throw new ApiError(403, `You cannot grant ${what} with permissions you do not hold: ${missing.join(", ")}.`, {
      extra: { missing_permissions: missing },
    });
  }
}

export async function listRoles(ctx: TenantContext, params: ListParams & { q?: string }) {
  const where = and(eq(roles.tenantId, ctx.tenantId), params.q ? contains(roles.name, params.q) : undefined);
  const order = orderBy(params.sort, { name: roles.name, created_at: roles.createdAt }, roles.id);
  return paginate(ctx.db, roles, where, order, params, toRole);
}

export async function lookupRoles(ctx: TenantContext, q: string | undefined, limit: number) {
  const rows = await ctx.db
    .select({ value: roles.id, label: roles.name })
    .from(roles)
    .where(and(eq(roles.tenantId, ctx.tenantId), q ? contains(roles.name, q) : undefined))
    .orderBy(roles.name)
    .limit(limit);
  return rows;
}

function keyFromName(name: string): string {
  const base = name
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, 40);
  return `custom_${base || "role"}`;
}

export async function createRole(
  ctx: TenantContext<AdminPrincipal>,
  input: { name: string; description?: string | null; permissions: string[] },
) {
  assertCanGrant(ctx.principal, input.permissions, "a role");
  const key = keyFromName(input.name);
  if (await findRoleByKey(ctx, key)) throw ApiError.conflict(`A role named "${input.name}" already exists.`);
  const now = nowIso();
  const permissions = [...new Set(input.permissions)];
  const [[row]] = await ctx.db.batch([
    ctx.db
      .insert(roles)
      .values({
        tenantId: ctx.tenantId,
        key,
        name: input.name,
        description: input.description ?? null,
        permissions,
        isSystem: false,
        createdAt: now,
        updatedAt: now,
      })
      .returning(),
    outboxInsert(ctx.db, ctx.tenantId, "role.created", { key, name: input.name, permissions }),
  ]);
  return toRole(row);
}

export async function updateRole(
  ctx: TenantContext<AdminPrincipal>,
  id: number,
  input: { name?: string; description?: string | null; permissions?: string[] },
) {
  const role = await findRole(ctx, id);
  if (role.isSystem) throw ApiError.conflict("Built-in roles cannot be changed; create a custom role instead.");
  assertCanGrant(ctx.principal, role.permissions, "changes to a role");
  if (input.permissions) assertCanGrant(ctx.principal, input.permissions, "a role");
  if (input.name && keyFromName(input.name) !== role.key) {
    const clash = await findRoleByKey(ctx, keyFromName(input.name));
    if (clash) throw ApiError.conflict(`A role named "${input.name}" already exists.`);
  }
  const [[row]] = await ctx.db.batch([
    ctx.db
      .update(roles)
      .set({
        ...(input.name !== undefined ? { name: input.name, key: keyFromName(input.name) } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.permissions !== undefined ? { permissions: [...new Set(input.permissions)] } : {}),
        updatedAt: nowIso(),
      })
      .where(and(eq(roles.tenantId, ctx.tenantId), eq(roles.id, id)))
      .returning(),
    outboxInsert(ctx.db, ctx.tenantId, "role.updated", { id }),
  ]);
  return toRole(row);
}

export async function deleteRole(ctx: TenantContext<AdminPrincipal>, id: number) {
  const role = await findRole(ctx, id);
  if (role.isSystem) throw ApiError.conflict("Built-in roles cannot be deleted.");
  assertCanGrant(ctx.principal, role.permissions, "the removal of a role");
  const { staff, invitations } = await countRoleHolders(ctx, id);
  if (staff > 0 || invitations > 0) {
    throw ApiError.conflict(
      `Role "${role.name}" is still held by ${staff} staff user(s) and ${invitations} pending invitation(s); move them to another role first.`,
      { used_by: { staff, invitations } },
    );
  }
  await ctx.db.batch([
    ctx.db.delete(roles).where(and(eq(roles.tenantId, ctx.tenantId), eq(roles.id, id))),
    outboxInsert(ctx.db, ctx.tenantId, "role.deleted", { id }),
  ]);
}
