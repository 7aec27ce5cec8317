import { and, eq, gte, isNull, lte, ne, or, type SQL, sql } from "drizzle-orm";
import type { AdminPrincipal, TenantContext } from "../../platform/auth";
import { hashPassword, randomToken, sha256Hex } from "../../platform/crypto";
import type { Db } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { outboxInsert } from "../../platform/events";
import { contains, type ListParams, orderBy, paginate } from "../../platform/pagination";
import { forgetSessions } from "../../platform/session-memo";
import { addSeconds, nowIso } from "../../platform/time";
import { revokeAllSessions } from "../auth/service";
import { autoEnrollStatements } from "../enrollments/service";
import { forgetRatingsOfUser } from "../ratings/service";
import { assertCanGrant, findRole } from "../roles/service";
import { roles } from "../roles/tables";
import { catalogChanged } from "../tenants/service";
import { invitations, users } from "./tables";

export type UserKind = "staff" | "learner";
export type UserRow = typeof users.$inferSelect;

function personFields(row: UserRow) {
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    status: row.status,
    picture_src: row.pictureSrc,
    company_name: row.companyName,
    paypal_email: row.paypalEmail,
    email_unsubscribe: row.emailUnsubscribe,
    score: row.score,
    locale: row.locale,
    timezone: row.timezone,
    email_verified_at: row.emailVerifiedAt,
    last_login_at: row.lastLoginAt,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

export function toLearner(row: UserRow) {
  return { ...personFields(row), external_id: row.externalId };
}

export function toStaff(row: UserRow, roleKey: string) {
  return { ...personFields(row), role_id: row.roleId ?? 0, role: roleKey, headline: row.headline, bio: row.bio };
}

const LABELS = { staff: "Staff user", learner: "Learner" } as const;

export async function findUser(ctx: TenantContext, kind: UserKind, id: number): Promise<UserRow> {
  const row = await ctx.db.query.users.findFirst({
    where: and(eq(users.tenantId, ctx.tenantId), eq(users.kind, kind), eq(users.id, id)),
  });
  if (!row) throw ApiError.notFound(`${LABELS[kind]} ${id}`);
  return row;
}

export async function findUserByEmail(ctx: TenantContext, kind: UserKind, email: string) {
  return ctx.db.query.users.findFirst({
    where: and(eq(users.tenantId, ctx.tenantId), eq(users.kind, kind), eq(users.email, email.trim().toLowerCase())),
  });
}

async function assertEmailFree(ctx: TenantContext, kind: UserKind, email: string, exceptId?: number) {
  const existing = await findUserByEmail(ctx, kind, email);
  if (existing && existing.id !== exceptId) {
    throw ApiError.conflict(`A ${kind === "staff" ? "staff user" : "learner"} with email ${email} already exists.`, {
      errors: [{ path: "email", message: "Already taken." }],
    });
  }
}

/** Insert of a user; `tenantId`/`roleId` may be subqueries when the tenant is created in the same batch. */
export function userInsert(
  db: Db,
  values: Omit<typeof users.$inferInsert, "tenantId" | "roleId" | "createdAt" | "updatedAt"> & {
    tenantId: number | SQL;
    roleId?: number | SQL | null;
  },
) {
  const now = nowIso();
  return db
    .insert(users)
    .values({
      ...values,
      tenantId: values.tenantId as number,
      roleId: values.roleId as number,
      createdAt: now,
      updatedAt: now,
    })
    .returning();
}

async function roleKeys(ctx: TenantContext): Promise<Map<number, string>> {
  const rows = await ctx.db
    .select({ id: roles.id, key: roles.key })
    .from(roles)
    .where(eq(roles.tenantId, ctx.tenantId));
  return new Map(rows.map((r) => [r.id, r.key]));
}

const sortColumns = {
  name: users.name,
  email: users.email,
  created_at: users.createdAt,
  last_login_at: users.lastLoginAt,
};

function searchFilter(q: string | undefined) {
  return q ? or(contains(users.name, q), contains(users.email, q)) : undefined;
}

export async function listStaff(
  ctx: TenantContext,
  query: ListParams & { q?: string; status?: "active" | "suspended"; role_id?: number },
) {
  const where = and(
    eq(users.tenantId, ctx.tenantId),
    eq(users.kind, "staff"),
    query.status ? eq(users.status, query.status) : undefined,
    query.role_id ? eq(users.roleId, query.role_id) : undefined,
    searchFilter(query.q),
  );
  const keys = await roleKeys(ctx);
  return paginate(ctx.db, users, where, orderBy(query.sort, sortColumns, users.id), query, (row: UserRow) =>
    toStaff(row, keys.get(row.roleId ?? 0) ?? "unknown"),
  );
}

export async function listLearners(
  ctx: TenantContext,
  query: ListParams & {
    q?: string;
    status?: "active" | "suspended";
    email?: string;
    created_from?: string;
    created_to?: string;
  },
) {
  const where = and(
    eq(users.tenantId, ctx.tenantId),
    eq(users.kind, "learner"),
    query.status ? eq(users.status, query.status) : undefined,
    query.email ? eq(users.email, query.email.trim().toLowerCase()) : undefined,
    query.created_from ? gte(users.createdAt, new Date(query.created_from).toISOString()) : undefined,
    query.created_to ? lte(users.createdAt, new Date(query.created_to).toISOString()) : undefined,
    searchFilter(query.q),
  );
  return paginate(ctx.db, users, where, orderBy(query.sort, sortColumns, users.id), query, toLearner);
}

export async function lookupUsers(ctx: TenantContext, kind: UserKind, q: string | undefined, limit: number) {
  const rows = await ctx.db
    .select({ value: users.id, name: users.name, email: users.email })
    .from(users)
    .where(and(eq(users.tenantId, ctx.tenantId), eq(users.kind, kind), searchFilter(q)))
    .orderBy(users.name, users.id)
    .limit(limit);
  return rows.map((r) => ({ value: r.value, label: `${r.name} <${r.email}>` }));
}

export async function countRoleHolders(ctx: TenantContext, roleId: number) {
  const [[staff], [pending]] = await ctx.db.batch([
    ctx.db
      .select({ n: sql<number>`count(*)` })
      .from(users)
      .where(and(eq(users.tenantId, ctx.tenantId), eq(users.roleId, roleId))),
    ctx.db
      .select({ n: sql<number>`count(*)` })
      .from(invitations)
      .where(
        and(
          eq(invitations.tenantId, ctx.tenantId),
          eq(invitations.roleId, roleId),
          isNull(invitations.acceptedAt),
          isNull(invitations.revokedAt),
        ),
      ),
  ]);
  return { staff: staff.n, invitations: pending.n };
}

// ---- staff -------------------------------------------------------------------------------------------------

interface PersonInput {
  name?: string;
  email?: string;
  picture_src?: string | null;
  company_name?: string | null;
  paypal_email?: string | null;
  email_unsubscribe?: boolean;
  locale?: string | null;
  timezone?: string | null;
  status?: "active" | "suspended";
  password?: string;
}

function personColumns(input: PersonInput) {
  const out: Partial<typeof users.$inferInsert> = {};
  if (input.name !== undefined) out.name = input.name;
  if (input.email !== undefined) out.email = input.email;
  if (input.picture_src !== undefined) out.pictureSrc = input.picture_src;
  if (input.company_name !== undefined) out.companyName = input.company_name;
  if (input.paypal_email !== undefined) out.paypalEmail = input.paypal_email;
  if (input.email_unsubscribe !== undefined) out.emailUnsubscribe = input.email_unsubscribe;
  if (input.locale !== undefined) out.locale = input.locale;
  if (input.timezone !== undefined) out.timezone = input.timezone;
  if (input.status !== undefined) out.status = input.status;
  return out;
}

/** Staff only: the instructor profile (headline, bio). */
interface StaffProfileInput {
  headline?: string | null;
  bio?: string | null;
}

function staffProfileColumns(input: StaffProfileInput) {
  const out: Partial<typeof users.$inferInsert> = {};
  if (input.headline !== undefined) out.headline = input.headline;
  if (input.bio !== undefined) out.bio = input.bio;
  return out;
}

/** Checks that the caller may hand out `roleId` and returns the role. */
async function grantableRole(ctx: TenantContext<AdminPrincipal>, roleId: number) {
  const role = await findRole(ctx, roleId).catch(() => {
    throw ApiError.validation([{ path: "role_id", message: `Role ${roleId} does not exist in this academy.` }]);
  });
  assertCanGrant(ctx.principal, role.permissions, `the ${role.name} role`);
  return role;
}

/** Staff users whose role the caller could not grant (an Owner, for an Admin) are out of the caller's reach. */
async function assertCanManage(ctx: TenantContext<AdminPrincipal>, target: UserRow) {
  if (!target.roleId) return;
  const role = await findRole(ctx, target.roleId);
  assertCanGrant(ctx.principal, role.permissions, `changes to a ${role.name}`);
}

async function assertOwnerRemains(ctx: TenantContext, target: UserRow) {
  const [owner] = await ctx.db
    .select({ id: roles.id })
    .from(roles)
    .where(and(eq(roles.tenantId, ctx.tenantId), eq(roles.key, "owner")));
  if (!owner || target.roleId !== owner.id) return;
  // Only an active Owner can sign in and manage owners: a suspended one does not count.
  const [others] = await ctx.db
    .select({ n: sql<number>`count(*)` })
    .from(users)
    .where(
      and(
        eq(users.tenantId, ctx.tenantId),
        eq(users.roleId, owner.id),
        eq(users.status, "active"),
        ne(users.id, target.id),
      ),
    );
  if (others.n === 0) throw ApiError.conflict("An academy must keep at least one active Owner.");
}

export async function createStaff(
  ctx: TenantContext<AdminPrincipal>,
  input: PersonInput & StaffProfileInput & { email: string; name: string; role_id: number },
) {
  const role = await grantableRole(ctx, input.role_id);
  await assertEmailFree(ctx, "staff", input.email);
  const passwordHash = input.password ? await hashPassword(input.password) : null;
  const [[row]] = await ctx.db.batch([
    userInsert(ctx.db, {
      ...personColumns(input),
      ...staffProfileColumns(input),
      name: input.name,
      email: input.email,
      tenantId: ctx.tenantId,
      kind: "staff",
      roleId: role.id,
      passwordHash,
    }),
    outboxInsert(ctx.db, ctx.tenantId, "staff.created", { email: input.email, role: role.key }),
  ]);
  return toStaff(row, role.key);
}

export async function getStaff(ctx: TenantContext, id: number) {
  const row = await findUser(ctx, "staff", id);
  const role = row.roleId ? await findRole(ctx, row.roleId) : undefined;
  return toStaff(row, role?.key ?? "unknown");
}

export async function updateStaff(
  ctx: TenantContext<AdminPrincipal>,
  id: number,
  input: PersonInput & StaffProfileInput & { role_id?: number },
) {
  const target = await findUser(ctx, "staff", id);
  await assertCanManage(ctx, target);
  let role = target.roleId ? await findRole(ctx, target.roleId) : undefined;
  if (input.role_id !== undefined && input.role_id !== target.roleId) {
    await assertOwnerRemains(ctx, target);
    role = await grantableRole(ctx, input.role_id);
  }
  if (input.status === "suspended") await assertOwnerRemains(ctx, target);
  if (input.email) await assertEmailFree(ctx, "staff", input.email, id);
  const passwordHash = input.password ? await hashPassword(input.password) : undefined;
  const [[row]] = await ctx.db.batch([
    ctx.db
      .update(users)
      .set({
        ...personColumns(input),
        ...staffProfileColumns(input),
        ...(role ? { roleId: role.id } : {}),
        ...(passwordHash ? { passwordHash } : {}),
        updatedAt: nowIso(),
      })
      .where(and(eq(users.tenantId, ctx.tenantId), eq(users.id, id)))
      .returning(),
    // A new password or a suspension ends every open session of the user.
    ...(passwordHash || input.status === "suspended" ? [revokeAllSessions(ctx.db, ctx.tenantId, id)] : []),
    outboxInsert(ctx.db, ctx.tenantId, "staff.updated", { id }),
    // Course pages show instructors' public profiles (name, headline, bio, picture).
    catalogChanged(ctx.db, ctx.tenantId),
  ]);
  return toStaff(row, role?.key ?? "unknown");
}

export async function deleteStaff(ctx: TenantContext<AdminPrincipal>, id: number) {
  const target = await findUser(ctx, "staff", id);
  await assertCanManage(ctx, target);
  await assertOwnerRemains(ctx, target);
  await ctx.db.batch([
    ctx.db.delete(users).where(and(eq(users.tenantId, ctx.tenantId), eq(users.id, id))),
    outboxInsert(ctx.db, ctx.tenantId, "staff.deleted", { id, email: target.email }),
  ]);
}

// ---- learners ----------------------------------------------------------------------------------------------

export async function createLearner(
  ctx: TenantContext,
  input: PersonInput & {
    email: string;
    name: string;
    external_id?: string | null;
    score?: number;
    email_verified?: boolean;
  },
  event = "learner.created",
) {
  await assertEmailFree(ctx, "learner", input.email);
  const passwordHash = input.password ? await hashPassword(input.password) : null;
  const [[row]] = await ctx.db.batch([
    userInsert(ctx.db, {
      ...personColumns(input),
      name: input.name,
      email: input.email,
      tenantId: ctx.tenantId,
      kind: "learner",
      externalId: input.external_id ?? null,
      score: input.score ?? 0,
      emailVerifiedAt: input.email_verified ? nowIso() : null,
      passwordHash,
    }),
    outboxInsert(ctx.db, ctx.tenantId, event, { email: input.email, name: input.name }),
    // The academy's auto-enroll courses, in the same batch (the new learner is found by email).
    ...autoEnrollStatements(ctx.db, ctx.tenantId, input.email),
  ]);
  return row;
}

export async function updateLearner(
  ctx: TenantContext,
  id: number,
  input: PersonInput & { external_id?: string | null; score?: number },
) {
  await findUser(ctx, "learner", id);
  if (input.email) await assertEmailFree(ctx, "learner", input.email, id);
  const passwordHash = input.password ? await hashPassword(input.password) : undefined;
  const [[row]] = await ctx.db.batch([
    ctx.db
      .update(users)
      .set({
        ...personColumns(input),
        ...(input.external_id !== undefined ? { externalId: input.external_id } : {}),
        ...(input.score !== undefined ? { score: input.score } : {}),
        ...(passwordHash ? { passwordHash } : {}),
        updatedAt: nowIso(),
      })
      .where(and(eq(users.tenantId, ctx.tenantId), eq(users.kind, "learner"), eq(users.id, id)))
      .returning(),
    ...(passwordHash || input.status === "suspended" ? [revokeAllSessions(ctx.db, ctx.tenantId, id)] : []),
    outboxInsert(ctx.db, ctx.tenantId, "learner.updated", { id }),
  ]);
  if (passwordHash || input.status === "suspended") forgetSessions({ tenantId: ctx.tenantId, userId: id });
  return toLearner(row);
}

export async function deleteLearner(ctx: TenantContext, id: number) {
  const target = await findUser(ctx, "learner", id);
  await ctx.db.batch([
    // Take the learner's ratings out of the course averages before the cascade deletes them.
    forgetRatingsOfUser(ctx, id),
    ctx.db.delete(users).where(and(eq(users.tenantId, ctx.tenantId), eq(users.id, id))),
    outboxInsert(ctx.db, ctx.tenantId, "learner.deleted", { id, email: target.email }),
  ]);
  forgetSessions({ tenantId: ctx.tenantId, userId: id });
}

// ---- invitations -------------------------------------------------------------------------------------------

type InvitationRow = typeof invitations.$inferSelect;

export function toInvitation(row: InvitationRow) {
  const status = row.acceptedAt
    ? "accepted"
    : row.revokedAt
      ? "revoked"
      : row.expiresAt < nowIso()
        ? "expired"
        : "pending";
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role_id: row.roleId,
    status: status as "pending" | "accepted" | "revoked" | "expired",
    expires_at: row.expiresAt,
    accepted_at: row.acceptedAt,
    created_at: row.createdAt,
  };
}

export async function createInvitation(
  ctx: TenantContext<AdminPrincipal>,
  input: { email: string; name?: string; role_id: number; expires_in_days: number },
) {
  const role = await grantableRole(ctx, input.role_id);
  await assertEmailFree(ctx, "staff", input.email);
  const token = `inv_${randomToken(24)}`;
  const now = nowIso();
  const [[row]] = await ctx.db.batch([
    ctx.db
      .insert(invitations)
      .values({
        tenantId: ctx.tenantId,
        email: input.email,
        name: input.name ?? null,
        roleId: role.id,
        tokenHash: await sha256Hex(token),
        invitedByUserId: ctx.principal.kind === "staff" ? ctx.principal.userId : null,
        expiresAt: addSeconds(now, input.expires_in_days * 86_400),
        createdAt: now,
      })
      .returning(),
    // The event carries the token so the academy's mailer integration can send the invitation.
    outboxInsert(ctx.db, ctx.tenantId, "invitation.created", { email: input.email, role: role.key, token }),
  ]);
  return { ...toInvitation(row), token };
}

export async function listInvitations(ctx: TenantContext, params: ListParams & { q?: string }) {
  const where = and(
    eq(invitations.tenantId, ctx.tenantId),
    params.q ? contains(invitations.email, params.q) : undefined,
  );
  const order = orderBy(params.sort, { created_at: invitations.createdAt, email: invitations.email }, invitations.id);
  return paginate(ctx.db, invitations, where, order, params, toInvitation);
}

export async function findInvitation(ctx: TenantContext, id: number) {
  const row = await ctx.db.query.invitations.findFirst({
    where: and(eq(invitations.tenantId, ctx.tenantId), eq(invitations.id, id)),
  });
  if (!row) throw ApiError.notFound(`Invitation ${id}`);
  return row;
}

export async function revokeInvitation(ctx: TenantContext, id: number) {
  const row = await findInvitation(ctx, id);
  if (row.acceptedAt) throw ApiError.conflict("This invitation was already accepted; remove the staff user instead.");
  await ctx.db
    .update(invitations)
    .set({ revokedAt: row.revokedAt ?? nowIso() })
    .where(and(eq(invitations.tenantId, ctx.tenantId), eq(invitations.id, id)));
}

/** Accepting an invitation creates the staff user (single use, expiring). The token names the tenant. */
export async function acceptInvitation(db: Db, input: { token: string; name?: string; password: string }) {
  const row = await db.query.invitations.findFirst({ where: eq(invitations.tokenHash, await sha256Hex(input.token)) });
  const now = nowIso();
  if (!row || row.acceptedAt || row.revokedAt || row.expiresAt < now) {
    throw ApiError.validation(
      [{ path: "token", message: "This invitation is invalid, used, revoked or expired." }],
      "The invitation cannot be accepted.",
    );
  }
  const clash = await db.query.users.findFirst({
    where: and(eq(users.tenantId, row.tenantId), eq(users.kind, "staff"), eq(users.email, row.email)),
  });
  if (clash) throw ApiError.conflict(`A staff user with email ${row.email} already exists.`);
  const passwordHash = await hashPassword(input.password);
  const [accepted, [user]] = await db.batch([
    db
      .update(invitations)
      .set({ acceptedAt: now })
      .where(and(eq(invitations.id, row.id), isNull(invitations.acceptedAt)))
      .returning({ id: invitations.id }),
    userInsert(db, {
      tenantId: row.tenantId,
      kind: "staff",
      email: row.email,
      name: input.name ?? row.name ?? row.email,
      roleId: row.roleId,
      passwordHash,
      emailVerifiedAt: now,
    }),
    outboxInsert(db, row.tenantId, "invitation.accepted", { invitation_id: row.id, email: row.email }),
  ]);
  if (accepted.length === 0) throw ApiError.conflict("This invitation was accepted concurrently.");
  return { user, tenantId: row.tenantId };
}
