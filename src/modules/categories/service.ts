import { and, asc, eq, inArray, type SQL, sql } from "drizzle-orm";
import type { TenantContext } from "../../platform/auth";
import { batchableRaw } from "../../platform/db";
import type { Db } from "../../platform/env";
import { ApiError, type FieldError } from "../../platform/errors";
import { outboxInsert, outboxInsertFor, outboxInsertMany } from "../../platform/events";
import { contains, type ListParams, orderBy, paginate } from "../../platform/pagination";
import { slugify } from "../../platform/slug";
import { nowIso } from "../../platform/time";
import { catalogChanged } from "../tenants/service";
import { type CATEGORY_TYPES, categories } from "./tables";

type CategoryRow = typeof categories.$inferSelect;
type CategoryType = (typeof CATEGORY_TYPES)[number];

/** Categories the public catalog shows (course and learning path filters): changing them bumps the catalog. */
const CATALOG_TYPES: ReadonlySet<CategoryType> = new Set(["course", "learning_path"]);

/** How many users of each kind a 409 names per category (the totals are in `used_by_counts`). */
const USAGE_LIMIT = 20;

export function toCategory(row: CategoryRow) {
  return {
    id: row.id,
    type: row.type,
    name: row.name,
    slug: row.slug,
    description: row.description,
    position: row.position,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

export async function listCategories(ctx: TenantContext, query: ListParams & { q?: string; type?: CategoryType }) {
  // Index-backed: (tenant_id, type, position) serves the type filter and the default order; without a type the
  // same index's tenant_id prefix narrows the rows to the tenant.
  const where = and(
    eq(categories.tenantId, ctx.tenantId),
    query.type ? eq(categories.type, query.type) : undefined,
    query.q ? contains(categories.name, query.q) : undefined,
  );
  const order = orderBy(
    query.sort,
    {
      name: categories.name,
      position: categories.position,
      created_at: categories.createdAt,
      updated_at: categories.updatedAt,
    },
    categories.id,
  );
  return paginate(ctx.db, categories, where, order, query, toCategory);
}

export async function lookupCategories(ctx: TenantContext, query: { q?: string; limit: number; type?: CategoryType }) {
  return ctx.db
    .select({ value: categories.id, label: categories.name })
    .from(categories)
    .where(
      and(
        eq(categories.tenantId, ctx.tenantId),
        query.type ? eq(categories.type, query.type) : undefined,
        query.q ? contains(categories.name, query.q) : undefined,
      ),
    )
    .orderBy(asc(categories.position), asc(categories.name), asc(categories.id))
    .limit(query.limit);
}

export async function findCategory(ctx: TenantContext, id: number) {
  const row = await ctx.db.query.categories.findFirst({
    where: and(eq(categories.tenantId, ctx.tenantId), eq(categories.id, id)),
  });
  if (!row) throw ApiError.notFound(`Category ${id}`);
  return row;
}

async function assertSlugFree(ctx: TenantContext, type: CategoryType, slug: string, exceptId?: number) {
  const clash = await ctx.db.query.categories.findFirst({
    where: and(eq(categories.tenantId, ctx.tenantId), eq(categories.type, type), eq(categories.slug, slug)),
  });
  if (clash && clash.id !== exceptId) {
    throw ApiError.conflict(`A ${type} category with slug "${slug}" already exists.`, {
      errors: [{ path: "slug", message: "Already taken." }],
    });
  }
}

export async function createCategory(
  ctx: TenantContext,
  input: { type: CategoryType; name: string; slug?: string; description?: string | null; position?: number },
) {
  const slug = input.slug ?? slugify(input.name);
  await assertSlugFree(ctx, input.type, slug);
  const now = nowIso();
  const [[row]] = await ctx.db.batch([
    ctx.db
      .insert(categories)
      .values({
        tenantId: ctx.tenantId,
        type: input.type,
        name: input.name,
        slug,
        description: input.description ?? null,
        position: input.position ?? 0,
        createdAt: now,
        updatedAt: now,
      })
      .returning(),
    // The event carries the new id, read in SQL (it is not known when the batch is built).
    outboxInsertFor(
      ctx.db,
      ctx.tenantId,
      "category.created",
      sql`(SELECT id FROM categories WHERE tenant_id = ${ctx.tenantId} AND type = ${input.type} AND slug = ${slug})`,
      { type: input.type, slug },
    ),
    ...(CATALOG_TYPES.has(input.type) ? [catalogChanged(ctx.db, ctx.tenantId)] : []),
  ]);
  return toCategory(row);
}

export async function updateCategory(
  ctx: TenantContext,
  id: number,
  input: { type?: CategoryType; name?: string; slug?: string; description?: string | null; position?: number },
) {
  const current = await findCategory(ctx, id);
  if (input.type !== undefined && input.type !== current.type) {
    throw ApiError.validation([
      {
        path: "type",
        message: `The type of a category cannot change (this one is a ${current.type} category); create a new category instead.`,
      },
    ]);
  }
  if (input.slug !== undefined && input.slug !== current.slug) await assertSlugFree(ctx, current.type, input.slug, id);
  const changes: Partial<typeof categories.$inferInsert> = {};
  if (input.name !== undefined) changes.name = input.name;
  if (input.slug !== undefined) changes.slug = input.slug;
  if (input.description !== undefined) changes.description = input.description;
  if (input.position !== undefined) changes.position = input.position;
  const [[row]] = await ctx.db.batch([
    ctx.db
      .update(categories)
      .set({ ...changes, updatedAt: nowIso() })
      .where(and(eq(categories.tenantId, ctx.tenantId), eq(categories.id, id)))
      .returning(),
    outboxInsert(ctx.db, ctx.tenantId, "category.updated", {
      id,
      type: current.type,
      slug: changes.slug ?? current.slug,
      changed: Object.keys(input).filter((k) => k !== "type"),
    }),
    ...(CATALOG_TYPES.has(current.type) ? [catalogChanged(ctx.db, ctx.tenantId)] : []),
  ]);
  return toCategory(row);
}

// ---- usage and deletion ----------------------------------------------------------------------------------------

type UsageKind = "courses" | "modules" | "learning_paths";
export interface CategoryUsage {
  used_by: Record<UsageKind, { id: number; name: string }[]>;
  used_by_counts: Record<UsageKind, number>;
}

const emptyUsage = (): CategoryUsage => ({
  used_by: { courses: [], modules: [], learning_paths: [] },
  used_by_counts: { courses: 0, modules: 0, learning_paths: 0 },
});

/** `ids` as one bound JSON array, read back with json_each(): any number of ids in one parameter. */
const jsonIds = (ids: number[]) => JSON.stringify(ids);

/**
 * What uses each category: (not deleted) courses, modules and learning paths, at most USAGE_LIMIT of each kind
 * per category plus the totals, in ONE query. It reads three other modules' join tables by name (raw SQL, not
 * their drizzle tables): DESIGN.md keeps modules from importing each other's tables, and asking three services
 * would be three round trips. The ids travel as one JSON parameter (json_each), so 100 ids stay under D1's 100
 * bound parameters. INDEXED BY pins each branch to its join table's `(tenant_id, category_id)` index: without
 * statistics SQLite prefers the covering primary key and reads every link of the tenant.
 */
export async function categoryUsage(ctx: TenantContext, ids: number[]): Promise<Map<number, CategoryUsage>> {
  const usage = new Map<number, CategoryUsage>();
  if (ids.length === 0) return usage;
  const list = jsonIds(ids);
  const t = ctx.tenantId;
  const rows = await ctx.db.all<{ kind: UsageKind; category_id: number; id: number; name: string; total: number }>(sql`
    SELECT kind, category_id, id, name, total FROM (
      SELECT u.*, row_number() OVER w AS n, count(*) OVER w AS total FROM (
        SELECT 'courses' AS kind, j.category_id, c.id, c.name
          FROM course_categories j INDEXED BY course_categories_tenant_category_idx JOIN courses c ON c.id = j.course_id AND c.tenant_id = j.tenant_id
          WHERE j.tenant_id = ${t} AND j.category_id IN (SELECT value FROM json_each(${list})) AND c.deleted_at IS NULL
        UNION ALL
        SELECT 'modules', j.category_id, m.id, m.name
          FROM module_categories j INDEXED BY module_categories_tenant_category_idx JOIN modules m ON m.id = j.module_id AND m.tenant_id = j.tenant_id
          WHERE j.tenant_id = ${t} AND j.category_id IN (SELECT value FROM json_each(${list}))
        UNION ALL
        SELECT 'learning_paths', j.category_id, p.id, p.name
          FROM learning_path_categories j INDEXED BY learning_path_categories_tenant_category_idx JOIN learning_paths p ON p.id = j.path_id AND p.tenant_id = j.tenant_id
          WHERE j.tenant_id = ${t} AND j.category_id IN (SELECT value FROM json_each(${list}))
      ) u
      WINDOW w AS (PARTITION BY u.kind, u.category_id)
    ) WHERE n <= ${USAGE_LIMIT}
    ORDER BY category_id, kind, id`);
  for (const r of rows) {
    const entry = usage.get(r.category_id) ?? emptyUsage();
    usage.set(r.category_id, entry);
    entry.used_by[r.kind].push({ id: r.id, name: r.name });
    entry.used_by_counts[r.kind] = r.total;
  }
  return usage;
}

function describeUsage(u: CategoryUsage): string {
  const parts: string[] = [];
  const { courses, modules, learning_paths } = u.used_by_counts;
  if (courses) parts.push(`${courses} course${courses === 1 ? "" : "s"}`);
  if (modules) parts.push(`${modules} module${modules === 1 ? "" : "s"}`);
  if (learning_paths) parts.push(`${learning_paths} learning path${learning_paths === 1 ? "" : "s"}`);
  return parts.join(", ");
}

/**
 * The statements that detach and delete categories (in the caller's batch). The join rows would also go by the
 * foreign keys' ON DELETE CASCADE; deleting them explicitly keeps the batch correct whatever the FK pragma.
 * Courses that lose a category get a new `version` (their cached reads show category ids).
 */
function deleteStatements(db: Db, tenantId: number, ids: number[]) {
  const list = jsonIds(ids);
  return [
    batchableRaw(
      db,
      sql`UPDATE courses SET version = version + 1 WHERE tenant_id = ${tenantId} AND id IN (SELECT course_id FROM course_categories INDEXED BY course_categories_tenant_category_idx WHERE tenant_id = ${tenantId} AND category_id IN (SELECT value FROM json_each(${list})))`,
    ),
    batchableRaw(
      db,
      sql`DELETE FROM course_categories INDEXED BY course_categories_tenant_category_idx WHERE tenant_id = ${tenantId} AND category_id IN (SELECT value FROM json_each(${list}))`,
    ),
    batchableRaw(
      db,
      sql`DELETE FROM module_categories INDEXED BY module_categories_tenant_category_idx WHERE tenant_id = ${tenantId} AND category_id IN (SELECT value FROM json_each(${list}))`,
    ),
    batchableRaw(
      db,
      sql`DELETE FROM learning_path_categories INDEXED BY learning_path_categories_tenant_category_idx WHERE tenant_id = ${tenantId} AND category_id IN (SELECT value FROM json_each(${list}))`,
    ),
    db
      .delete(categories)
      .where(and(eq(categories.tenantId, tenantId), sql`${categories.id} IN (SELECT value FROM json_each(${list}))`)),
  ] as const;
}

/** Deletes a category; one still in use is a 409 naming its users unless `force` detaches it first. */
export async function deleteCategory(ctx: TenantContext, id: number, force: boolean) {
  const row = await findCategory(ctx, id);
  const usage = (await categoryUsage(ctx, [id])).get(id);
  if (usage && !force) {
    throw ApiError.conflict(
      `Category "${row.name}" is still used by ${describeUsage(usage)}; remove it from them first, or delete with ?force=true to detach it.`,
      { ...usage },
    );
  }
  await ctx.db.batch([
    ...deleteStatements(ctx.db, ctx.tenantId, [id]),
    outboxInsert(ctx.db, ctx.tenantId, "category.deleted", {
      id,
      type: row.type,
      slug: row.slug,
      detached: usage?.used_by_counts ?? emptyUsage().used_by_counts,
    }),
    ...(CATALOG_TYPES.has(row.type) || usage ? [catalogChanged(ctx.db, ctx.tenantId)] : []),
  ]);
}

/** Deletes many categories atomically: unknown ids are a 422 (`ids.N`), categories in use a 409 unless `force`. */
export async function bulkDeleteCategories(ctx: TenantContext, input: { ids: number[]; force: boolean }) {
  const rows = await ctx.db
    .select()
    .from(categories)
    .where(
      and(
        eq(categories.tenantId, ctx.tenantId),
        sql`${categories.id} IN (SELECT value FROM json_each(${jsonIds(input.ids)}))`,
      ),
    );
  const byId = new Map(rows.map((r) => [r.id, r]));
  const errors: FieldError[] = [];
  const seen = new Set<number>();
  input.ids.forEach((id, i) => {
    if (!byId.has(id)) errors.push({ path: `ids.${i}`, message: `Category ${id} does not exist in this academy.` });
    else if (seen.has(id)) errors.push({ path: `ids.${i}`, message: `Category ${id} is listed more than once.` });
    seen.add(id);
  });
  if (errors.length) throw ApiError.validation(errors);
  const ids = [...seen];
  const usage = await categoryUsage(ctx, ids);
  if (usage.size > 0 && !input.force) {
    const inUse = ids
      .filter((id) => usage.has(id))
      .map((id) => {
        const row = byId.get(id) as CategoryRow;
        return { id, name: row.name, type: row.type, ...(usage.get(id) as CategoryUsage) };
      });
    throw ApiError.conflict(
      `${inUse.length} of the categories ${inUse.length === 1 ? "is" : "are"} still in use (${inUse
        .map((c) => `"${c.name}": ${describeUsage(c)}`)
        .join("; ")}); nothing was deleted. Send \`force: true\` to detach and delete them.`,
      { in_use: inUse },
    );
  }
  const touchesCatalog = usage.size > 0 || rows.some((r) => CATALOG_TYPES.has(r.type));
  await ctx.db.batch([
    ...deleteStatements(ctx.db, ctx.tenantId, ids),
    ...outboxInsertMany(
      ctx.db,
      ctx.tenantId,
      "category.deleted",
      ids.map((id) => {
        const row = byId.get(id) as CategoryRow;
        return {
          id,
          type: row.type,
          slug: row.slug,
          detached: usage.get(id)?.used_by_counts ?? emptyUsage().used_by_counts,
        };
      }),
    ),
    ...(touchesCatalog ? [catalogChanged(ctx.db, ctx.tenantId)] : []),
  ]);
  return { deleted: ids };
}

// ---- ordering ------------------------------------------------------------------------------------------------

/**
 * Sets `position` = index in `ids` for exactly the categories of `type` (every one of them, each once, no
 * other): anything else is a 422 naming the offending entries, and nothing is written. One UPDATE whatever the
 * number of categories: the order travels as one JSON parameter and json_each() gives each id its index.
 */
export async function orderCategories(ctx: TenantContext, input: { type: CategoryType; ids: number[] }) {
  const existing = await ctx.db
    .select({ id: categories.id, name: categories.name })
    .from(categories)
    .where(and(eq(categories.tenantId, ctx.tenantId), eq(categories.type, input.type)));
  const ofType = new Map(existing.map((r) => [r.id, r.name]));
  const errors: FieldError[] = [];
  const seen = new Map<number, number>();
  input.ids.forEach((id, i) => {
    if (!ofType.has(id)) {
      errors.push({ path: `ids.${i}`, message: `Category ${id} is not a ${input.type} category of this academy.` });
    } else if (seen.has(id)) {
      errors.push({ path: `ids.${i}`, message: `Category ${id} is listed twice (also at ids.${seen.get(id)}).` });
    } else seen.set(id, i);
  });
  const missing = existing.filter((r) => !seen.has(r.id));
  for (const r of missing.slice(0, 50)) {
    errors.push({
      path: "ids",
      message: `Category ${r.id} ("${r.name}") is missing: list every ${input.type} category.`,
    });
  }
  if (missing.length > 50) {
    errors.push({ path: "ids", message: `${missing.length - 50} more ${input.type} categories are missing.` });
  }
  if (errors.length) throw ApiError.validation(errors);

  const list = jsonIds(input.ids);
  const inList: SQL = sql`${categories.id} IN (SELECT value FROM json_each(${list}))`;
  const [updated] = await ctx.db.batch([
    ctx.db
      .update(categories)
      .set({
        position: sql`(SELECT CAST(key AS INTEGER) FROM json_each(${list}) WHERE value = ${categories.id})`,
        updatedAt: nowIso(),
      })
      .where(and(eq(categories.tenantId, ctx.tenantId), eq(categories.type, input.type), inList))
      .returning(),
    outboxInsert(ctx.db, ctx.tenantId, "category.reordered", { type: input.type, ids: input.ids }),
    ...(CATALOG_TYPES.has(input.type) ? [catalogChanged(ctx.db, ctx.tenantId)] : []),
  ]);
  return { data: updated.map(toCategory).sort((a, b) => a.position - b.position || a.id - b.id) };
}

/** Checks that every id is a category of the given type in this tenant; reports the ones that are not. */
export async function assertCategoriesExist(ctx: TenantContext, ids: number[], type: CategoryType, path: string) {
  if (ids.length === 0) return;
  const found = await ctx.db
    .select({ id: categories.id })
    .from(categories)
    .where(and(eq(categories.tenantId, ctx.tenantId), eq(categories.type, type), inArray(categories.id, ids)));
  const known = new Set(found.map((r) => r.id));
  const missing = ids.filter((id) => !known.has(id));
  if (missing.length) {
    throw ApiError.validation(
      missing.map((id) => ({ path, message: `Category ${id} is not a ${type} category of this academy.` })),
    );
  }
}
