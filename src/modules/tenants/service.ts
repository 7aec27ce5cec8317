import { and, eq, inArray, type SQL, sql } from "drizzle-orm";
import type { Context } from "hono";
import { hashPassword } from "../../platform/crypto";
import type { AppEnv, Db } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { outboxInsert } from "../../platform/events";
import { contains, type ListParams, orderBy, paginate } from "../../platform/pagination";
import { WILDCARD } from "../../platform/permissions";
import { forgetSessions } from "../../platform/session-memo";
import { nowIso } from "../../platform/time";
import { apiKeyInsert, newApiKey, toApiKey } from "../api-keys/service";
import { systemRoleInsert } from "../roles/service";
import { userInsert } from "../users/service";
import { tenantDomains, tenants } from "./tables";

type TenantRow = typeof tenants.$inferSelect;

export function toTenant(row: TenantRow, domains: string[]) {
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    status: row.status,
    custom_domains: domains,
    locale: row.locale,
    timezone: row.timezone,
    settings: row.settings,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

async function domainsOf(db: Db, tenantIds: number[]): Promise<Map<number, string[]>> {
  const map = new Map<number, string[]>();
  if (tenantIds.length === 0) return map;
  const rows = await db.select().from(tenantDomains).where(inArray(tenantDomains.tenantId, tenantIds));
  for (const r of rows) map.set(r.tenantId, [...(map.get(r.tenantId) ?? []), r.domain]);
  return map;
}

export async function findTenant(db: Db, id: number) {
  const row = await db.query.tenants.findFirst({ where: eq(tenants.id, id) });
  if (!row) throw ApiError.notFound(`Tenant ${id}`);
  return row;
}

export async function getTenant(db: Db, id: number) {
  const row = await findTenant(db, id);
  return toTenant(row, (await domainsOf(db, [id])).get(id) ?? []);
}

async function assertUnique(db: Db, slug: string | undefined, domains: string[], exceptId?: number) {
  if (slug) {
    const clash = await db.query.tenants.findFirst({ where: eq(tenants.slug, slug) });
    if (clash && clash.id !== exceptId) {
      throw ApiError.conflict(`The slug "${slug}" is taken.`, {
        errors: [{ path: "slug", message: "Already taken." }],
      });
    }
  }
  if (domains.length) {
    const taken = await db.select().from(tenantDomains).where(inArray(tenantDomains.domain, domains));
    const others = taken.filter((d) => d.tenantId !== exceptId).map((d) => d.domain);
    if (others.length) {
      throw ApiError.conflict(`These domains belong to another academy: ${others.join(", ")}.`, {
        errors: others.map((d) => ({ path: "custom_domains", message: `${d} is taken.` })),
      });
    }
  }
}

/**
 * Creates the tenant, its system roles, an optional Owner user and a first owner API key in one atomic batch.
 * Later statements find the new tenant by its unique slug.
 */
export async function createTenant(
  db: Db,
  input: {
    name: string;
    slug: string;
    status: "active" | "suspended";
    custom_domains: string[];
    locale: string;
    timezone: string;
    settings: Record<string, unknown>;
    owner?: { name: string; email: string; password?: string };
  },
) {
  await assertUnique(db, input.slug, input.custom_domains);
  const now = nowIso();
  const tenantId: SQL = sql`(SELECT id FROM tenants WHERE slug = ${input.slug})`;
  const ownerRoleId: SQL = sql`(SELECT id FROM roles WHERE tenant_id = ${tenantId} AND key = 'owner')`;
  const ownerKey = await newApiKey({ tenantId, name: "Owner key", scopes: [WILDCARD] });
  const passwordHash = input.owner?.password ? await hashPassword(input.owner.password) : null;
  // Fixed order: tenant, roles, owner key, event, then the optional owner user and domains.
  const results = await db.batch([
    db
      .insert(tenants)
      .values({
        name: input.name,
        slug: input.slug,
        status: input.status,
        locale: input.locale,
        timezone: input.timezone,
        settings: input.settings,
        createdAt: now,
        updatedAt: now,
      })
      .returning(),
    systemRoleInsert(db, tenantId),
    apiKeyInsert(db, ownerKey.values),
    outboxInsert(db, tenantId as unknown as number, "tenant.created", { slug: input.slug, name: input.name }),
    ...(input.owner
      ? [
          userInsert(db, {
            tenantId,
            kind: "staff",
            email: input.owner.email,
            name: input.owner.name,
            roleId: ownerRoleId,
            passwordHash,
          }),
        ]
      : []),
    ...(input.custom_domains.length
      ? [
          db
            .insert(tenantDomains)
            .values(input.custom_domains.map((domain) => ({ domain, tenantId: tenantId as unknown as number }))),
        ]
      : []),
  ]);
  const [tenant] = results[0] as TenantRow[];
  const [key] = results[2] as Parameters<typeof toApiKey>[0][];
  const owner = input.owner ? (results[4] as { id: number }[])[0] : undefined;
  return {
    ...toTenant(tenant, input.custom_domains),
    owner_api_key: { ...toApiKey(key), key: ownerKey.key },
    owner_user_id: owner?.id ?? null,
  };
}

export async function listTenants(
  db: Db,
  query: ListParams & { q?: string; status?: "active" | "suspended"; slug?: string },
) {
  const where = and(
    query.status ? eq(tenants.status, query.status) : undefined,
    query.slug ? eq(tenants.slug, query.slug) : undefined,
    query.q ? contains(tenants.name, query.q) : undefined,
  );
  const order = orderBy(
    query.sort,
    { name: tenants.name, slug: tenants.slug, created_at: tenants.createdAt },
    tenants.id,
  );
  const page = await paginate(db, tenants, where, order, query, (row: TenantRow) => row);
  const domains = await domainsOf(
    db,
    page.data.map((t) => t.id),
  );
  return { ...page, data: page.data.map((t) => toTenant(t, domains.get(t.id) ?? [])) };
}

export async function updateTenant(
  db: Db,
  id: number,
  input: Partial<{
    name: string;
    slug: string;
    status: "active" | "suspended";
    custom_domains: string[];
    locale: string;
    timezone: string;
    settings: Record<string, unknown>;
  }>,
) {
  const current = await findTenant(db, id);
  await assertUnique(db, input.slug, input.custom_domains ?? [], id);
  const { custom_domains, ...fields } = input;
  const statusChanged = input.status && input.status !== current.status;
  await db.batch([
    db
      .update(tenants)
      .set({ ...fields, updatedAt: nowIso() })
      .where(eq(tenants.id, id)),
    ...(custom_domains
      ? [
          db.delete(tenantDomains).where(eq(tenantDomains.tenantId, id)),
          ...(custom_domains.length
            ? [db.insert(tenantDomains).values(custom_domains.map((domain) => ({ domain, tenantId: id })))]
            : []),
        ]
      : []),
    outboxInsert(
      db,
      id,
      statusChanged ? (input.status === "suspended" ? "tenant.suspended" : "tenant.reactivated") : "tenant.updated",
      {
        id,
      },
    ),
  ]);
  forgetPublicTenant(id); // a suspension or a new slug applies to public reads at once in this isolate
  forgetSessions({ tenantId: id }); // and to its learners' sessions
  return getTenant(db, id);
}

/** Deletes the tenant and, by cascade, everything it owns. */
export async function deleteTenant(db: Db, id: number) {
  const row = await findTenant(db, id);
  await db.batch([
    db.delete(tenants).where(eq(tenants.id, id)),
    outboxInsert(db, id, "tenant.deleted", { id, slug: row.slug }),
  ]);
  forgetPublicTenant(id);
  forgetSessions({ tenantId: id });
}

/** The platform operator issues an owner API key (first access, or recovery when every key is lost). */
export async function issueOwnerKey(db: Db, id: number, name: string) {
  await findTenant(db, id);
  const { key, values } = await newApiKey({ tenantId: id, name, scopes: [WILDCARD] });
  const [[row]] = await db.batch([
    apiKeyInsert(db, values),
    outboxInsert(db, id, "api_key.created", { name, prefix: values.prefix, issued_by: "platform" }),
  ]);
  return { ...toApiKey(row), key };
}

/**
 * The tenant of a request that carries no credential (learner sign-in, public API):
 * `X-Tenant: <slug>`, or else the Host when it is one of a tenant's custom domains.
 */
export async function resolveTenant(c: Context<AppEnv>): Promise<TenantRow> {
  const db = c.get("db");
  const slug = c.req.header("x-tenant")?.trim().toLowerCase();
  let row: TenantRow | undefined;
  if (slug) {
    row = await db.query.tenants.findFirst({ where: eq(tenants.slug, slug) });
  } else {
    const host = new URL(c.req.url).hostname.toLowerCase();
    const [match] = await db
      .select({ tenant: tenants })
      .from(tenantDomains)
      .innerJoin(tenants, eq(tenants.id, tenantDomains.tenantId))
      .where(eq(tenantDomains.domain, host))
      .limit(1);
    row = match?.tenant;
    if (!row) {
      throw ApiError.badRequest("Say which academy: send `X-Tenant: <slug>` or call the academy's custom domain.");
    }
  }
  if (!row) throw ApiError.notFound(`Academy "${slug}"`);
  if (row.status !== "active") throw ApiError.forbidden("This academy is suspended.");
  return row;
}

/**
 * Public reads' academy rows, kept per isolate for a few seconds, so a cached catalog answer (or its 304) needs
 * no D1 read at all (DESIGN.md section 11, issue 9's hot reads). Public answers already say `max-age=60`, so a
 * change or a suspension seen up to PUBLIC_TENANT_TTL_MS late by another isolate is within what they promise;
 * in this isolate `catalogChanged` and tenant updates forget the row at once. Only active academies are kept.
 */
const PUBLIC_TENANT_TTL_MS = 5_000;
const PUBLIC_TENANT_MAX = 1_000;
const publicTenants = new Map<string, { row: TenantRow; until: number }>();

/** `resolveTenant` for the public read routes, through the isolate's short-lived memo. */
export async function resolvePublicTenant(c: Context<AppEnv>): Promise<TenantRow> {
  const slug = c.req.header("x-tenant")?.trim().toLowerCase();
  const key = slug ? `slug:${slug}` : `host:${new URL(c.req.url).hostname.toLowerCase()}`;
  const now = Date.now();
  const hit = publicTenants.get(key);
  if (hit && hit.until > now) return hit.row;
  const row = await resolveTenant(c);
  if (publicTenants.size >= PUBLIC_TENANT_MAX) publicTenants.clear();
  publicTenants.set(key, { row, until: now + PUBLIC_TENANT_TTL_MS });
  return row;
}

/** Drops an academy from the public memo (its catalog or its settings changed in this isolate). */
export function forgetPublicTenant(tenantId: number) {
  for (const [key, entry] of publicTenants) if (entry.row.id === tenantId) publicTenants.delete(key);
}

/**
 * The statement that marks the tenant's public catalog as changed: put it in the same batch as any write that
 * changes what `/v1/public/*` shows (a course, its curriculum, a learning path, a category). The catalog's
 * ETags and cache keys carry `catalog_version`, so the next read misses the cache and sees the change.
 */
export function catalogChanged(db: Db, tenantId: number) {
  forgetPublicTenant(tenantId);
  return db
    .update(tenants)
    .set({ catalogVersion: sql`${tenants.catalogVersion} + 1` })
    .where(eq(tenants.id, tenantId));
}
