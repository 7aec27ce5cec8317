import { and, eq, inArray, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { TenantContext } from "../../platform/auth";
import { chunk } from "../../platform/db";
import type { Db } from "../../platform/env";
import { ApiError, type FieldError, zodFieldErrors } from "../../platform/errors";
import { outboxInsert, outboxInsertFor, outboxInsertMany } from "../../platform/events";
import { contains, type ListParams, orderBy, paginate } from "../../platform/pagination";
import { slugify } from "../../platform/slug";
import { nowIso } from "../../platform/time";
import { assertCategoriesExist } from "../categories/service";
import { coursesUsingModules, touchCoursesUsingModules } from "../courses/usage";
import { catalogChanged } from "../tenants/service";
import {
  MODULE_TYPE_INFO,
  type ModuleCreateInput,
  type ModuleOut,
  type ModuleQuickEditInput,
  type ModuleType,
  type ModuleUpdateInput,
  SETTINGS_SCHEMAS,
} from "./schemas";
import { contentModules, MODULE_TYPES, moduleCategories } from "./tables";

type ModuleRow = typeof contentModules.$inferSelect;
type Batch = [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]];
type CourseRef = { id: number; name: string };

/** Slugs made from names leave room for a `-<n>` suffix under the 64-character slug limit. */
const DERIVED_SLUG_LENGTH = 56;
/** Ids per `IN (...)` list: D1 allows 100 bound parameters per statement, and the tenant id is one more. */
const IDS_PER_STATEMENT = 90;

/** `items` in slices of at most `size` (statements sized under D1's 100 bound parameters). */
function slices<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

// ---- reading ----------------------------------------------------------------------------------------------------

const defaultsCache = new Map<ModuleType, Record<string, unknown>>();

/** The settings of a type when nothing is given (every field of every settings schema has a default). */
export function defaultSettings(type: ModuleType): Record<string, unknown> {
  let defaults = defaultsCache.get(type);
  if (!defaults) {
    defaults = SETTINGS_SCHEMAS[type].parse({}) as Record<string, unknown>;
    defaultsCache.set(type, defaults);
  }
  return structuredClone(defaults);
}

export function toModule(row: ModuleRow, categoryIds: number[], usedIn: CourseRef[]): ModuleOut {
  return {
    id: row.id,
    type: row.type,
    name: row.name,
    slug: row.slug,
    description: row.description,
    estimated_minutes: row.estimatedMinutes,
    points: row.points,
    // Stored settings were validated on write; defaults fill fields a later version of the schema added.
    settings: { ...defaultSettings(row.type), ...row.settings },
    category_ids: categoryIds,
    used_in_courses: usedIn,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  } as ModuleOut;
}

async function categoryIdsOf(ctx: TenantContext, moduleIds: number[]) {
  const map = new Map<number, number[]>();
  for (const ids of slices(moduleIds, IDS_PER_STATEMENT)) {
    const rows = await ctx.db
      .select({ moduleId: moduleCategories.moduleId, categoryId: moduleCategories.categoryId })
      .from(moduleCategories)
      .where(and(eq(moduleCategories.tenantId, ctx.tenantId), inArray(moduleCategories.moduleId, ids)))
      .orderBy(moduleCategories.moduleId, moduleCategories.categoryId);
    for (const r of rows) map.set(r.moduleId, [...(map.get(r.moduleId) ?? []), r.categoryId]);
  }
  return map;
}

/** The courses placing each module (coursesUsingModules, in slices under D1's parameter limit). */
async function usageOf(ctx: TenantContext, moduleIds: number[]) {
  const usage = new Map<number, CourseRef[]>();
  for (const part of slices(moduleIds, IDS_PER_STATEMENT)) {
    for (const [id, courses] of await coursesUsingModules(ctx, part)) usage.set(id, courses);
  }
  return usage;
}

/** Rows -> the documented resources, with their categories and the courses using them (two queries). */
async function present(ctx: TenantContext, rows: ModuleRow[]): Promise<ModuleOut[]> {
  const ids = rows.map((r) => r.id);
  const [categories, usage] = await Promise.all([categoryIdsOf(ctx, ids), usageOf(ctx, ids)]);
  return rows.map((r) => toModule(r, categories.get(r.id) ?? [], usage.get(r.id) ?? []));
}

async function findRow(ctx: TenantContext, id: number): Promise<ModuleRow> {
  const row = await ctx.db.query.contentModules.findFirst({
    where: and(eq(contentModules.tenantId, ctx.tenantId), eq(contentModules.id, id)),
  });
  if (!row) throw ApiError.notFound(`Module ${id}`);
  return row;
}

/** The rows of this tenant among `ids` (chunked under D1's parameter limit). */
async function rowsByIds(ctx: TenantContext, ids: number[]): Promise<ModuleRow[]> {
  const out: ModuleRow[] = [];
  for (const part of slices(ids, IDS_PER_STATEMENT)) {
    out.push(
      ...(await ctx.db
        .select()
        .from(contentModules)
        .where(and(eq(contentModules.tenantId, ctx.tenantId), inArray(contentModules.id, part)))),
    );
  }
  return out;
}

export async function listModules(
  ctx: TenantContext,
  query: ListParams & { q?: string; type?: ModuleType; category_id?: number; course_id?: number },
) {
  const where = and(
    eq(contentModules.tenantId, ctx.tenantId),
    query.type ? eq(contentModules.type, query.type) : undefined,
    query.q ? contains(contentModules.name, query.q) : undefined,
    query.category_id
      ? sql`${contentModules.id} IN (SELECT module_id FROM module_categories WHERE tenant_id = ${ctx.tenantId} AND category_id = ${query.category_id})`
      : undefined,
    query.course_id
      ? sql`${contentModules.id} IN (SELECT module_id FROM course_placements WHERE tenant_id = ${ctx.tenantId} AND course_id = ${query.course_id})`
      : undefined,
  );
  // `type` sorts by type, then by creation within a type: the order of the (tenant_id, type, created_at) index.
  const sort = query.sort.replace(/(^|,)(-?)type(?=,|$)/g, "$1$2type,$2created_at");
  const order = orderBy(
    sort,
    {
      name: contentModules.name,
      created_at: contentModules.createdAt,
      updated_at: contentModules.updatedAt,
      type: contentModules.type,
    },
    contentModules.id,
  );
  const page = await paginate(ctx.db, contentModules, where, order, query, (row: ModuleRow) => row);
  return { ...page, data: await present(ctx, page.data) };
}

export async function getModule(ctx: TenantContext, id: number) {
  const [module] = await present(ctx, [await findRow(ctx, id)]);
  return module;
}

export async function lookupModules(ctx: TenantContext, q: string | undefined, limit: number, type?: ModuleType) {
  const rows = await ctx.db
    .select({ value: contentModules.id, label: contentModules.name, type: contentModules.type })
    .from(contentModules)
    .where(
      and(
        eq(contentModules.tenantId, ctx.tenantId),
        type ? eq(contentModules.type, type) : undefined,
        q ? contains(contentModules.name, q) : undefined,
      ),
    )
    .orderBy(contentModules.name, contentModules.id)
    .limit(limit);
  return rows;
}

export function moduleTypes() {
  return MODULE_TYPES.map((value) => ({ value, ...MODULE_TYPE_INFO[value] }));
}

/**
 * Checks that every id is a module of this tenant (422 naming `path` for the others) and returns the modules
 * found, by id.
 */
export async function assertModulesExist(
  ctx: TenantContext,
  ids: number[],
  path: string,
): Promise<Map<number, { id: number; type: ModuleType; name: string }>> {
  const found = new Map<number, { id: number; type: ModuleType; name: string }>();
  const wanted = [...new Set(ids)];
  for (const part of slices(wanted, IDS_PER_STATEMENT)) {
    const rows = await ctx.db
      .select({ id: contentModules.id, type: contentModules.type, name: contentModules.name })
      .from(contentModules)
      .where(and(eq(contentModules.tenantId, ctx.tenantId), inArray(contentModules.id, part)));
    for (const r of rows) found.set(r.id, r);
  }
  const missing = wanted.filter((id) => !found.has(id));
  if (missing.length) {
    throw ApiError.validation(
      missing.map((id) => ({ path, message: `Module ${id} is not a module of this academy.` })),
    );
  }
  return found;
}

// ---- slugs ------------------------------------------------------------------------------------------------------

/**
 * For each base, `base` or `base-2`, `base-3`, ...: the first slug no module of the tenant uses and no earlier
 * base of the same call took (one query per 30 bases).
 */
async function freeSlugs(ctx: TenantContext, bases: string[]): Promise<string[]> {
  const used = new Set<string>();
  const distinct = [...new Set(bases)];
  for (const part of slices(distinct, 30)) {
    const rows = await ctx.db
      .select({ slug: contentModules.slug })
      .from(contentModules)
      .where(
        and(
          eq(contentModules.tenantId, ctx.tenantId),
          // substr, not GLOB/LIKE: D1 refuses LIKE/GLOB patterns over 50 bytes, and slugs reach 64 characters.
          sql`(${sql.join(
            part.map(
              (base) =>
                sql`${contentModules.slug} = ${base} OR substr(${contentModules.slug}, 1, ${base.length + 1}) = ${`${base}-`}`,
            ),
            sql` OR `,
          )})`,
        ),
      );
    for (const r of rows) used.add(r.slug);
  }
  return bases.map((base) => {
    let slug = base;
    for (let n = 2; used.has(slug); n++) slug = `${base}-${n}`;
    used.add(slug);
    return slug;
  });
}

async function assertSlugFree(ctx: TenantContext, slug: string, exceptId?: number) {
  const clash = await ctx.db.query.contentModules.findFirst({
    columns: { id: true },
    where: and(eq(contentModules.tenantId, ctx.tenantId), eq(contentModules.slug, slug)),
  });
  if (clash && clash.id !== exceptId) {
    throw ApiError.conflict(`A module with slug "${slug}" already exists.`, {
      errors: [{ path: "slug", message: "Already taken." }],
    });
  }
}

// ---- statements -------------------------------------------------------------------------------------------------

/** The new module's id inside the batch that inserts it (the slug is unique per tenant). */
const idBySlug = (tenantId: number, slug: string) =>
  sql`(SELECT id FROM modules WHERE tenant_id = ${tenantId} AND slug = ${slug})`;

/** Inserts of category rows for a module (by id or by a subquery of the same batch), chunked under 100 params. */
function categoryInserts(db: Db, tenantId: number, moduleId: number | SQL, categoryIds: number[]) {
  return chunk(categoryIds, 3).map((part) =>
    db
      .insert(moduleCategories)
      .values(part.map((categoryId) => ({ tenantId, moduleId: moduleId as unknown as number, categoryId }))),
  );
}

/**
 * Statements that bump the version of the courses placing any of `ids` and the academy's catalog version, when
 * some course places one of them (their outlines show module names and types).
 */
function courseTouches(ctx: TenantContext, ids: number[], usage: Map<number, CourseRef[]>) {
  const used = ids.filter((id) => (usage.get(id)?.length ?? 0) > 0);
  if (used.length === 0) return [];
  return [
    ...slices(used, IDS_PER_STATEMENT).map((part) => touchCoursesUsingModules(ctx.db, ctx.tenantId, part)),
    catalogChanged(ctx.db, ctx.tenantId),
  ];
}

function validateSettings(type: ModuleType, settings: unknown): Record<string, unknown> {
  const parsed = SETTINGS_SCHEMAS[type].safeParse(settings);
  if (!parsed.success) throw ApiError.validation(zodFieldErrors(parsed.error, "settings"));
  return parsed.data as Record<string, unknown>;
}

// ---- writes -----------------------------------------------------------------------------------------------------

export async function createModule(ctx: TenantContext, input: ModuleCreateInput) {
  const slug = input.slug ?? (await freeSlugs(ctx, [slugify(input.name, DERIVED_SLUG_LENGTH)]))[0];
  if (input.slug) await assertSlugFree(ctx, slug);
  const categoryIds = [...new Set(input.category_ids ?? [])];
  await assertCategoriesExist(ctx, categoryIds, "module", "category_ids");
  const settings = (input.settings as Record<string, unknown> | undefined) ?? defaultSettings(input.type);
  const now = nowIso();
  const [[row]] = await ctx.db.batch([
    ctx.db
      .insert(contentModules)
      .values({
        tenantId: ctx.tenantId,
        type: input.type,
        name: input.name,
        slug,
        description: input.description ?? null,
        estimatedMinutes: input.estimated_minutes ?? null,
        points: input.points ?? 0,
        settings,
        createdAt: now,
        updatedAt: now,
      })
      .returning(),
    ...categoryInserts(ctx.db, ctx.tenantId, idBySlug(ctx.tenantId, slug), categoryIds),
    outboxInsertFor(ctx.db, ctx.tenantId, "module.created", idBySlug(ctx.tenantId, slug), {
      type: input.type,
      slug,
      name: input.name,
    }),
  ]);
  return toModule(row, categoryIds, []);
}

export async function updateModule(ctx: TenantContext, id: number, input: ModuleUpdateInput) {
  const current = await findRow(ctx, id);
  if (input.type !== undefined && input.type !== current.type) {
    throw ApiError.validation([
      { path: "type", message: `A module's type cannot change (this one is ${current.type}); create a new module.` },
    ]);
  }
  const settings = input.settings !== undefined ? validateSettings(current.type, input.settings) : undefined;
  if (input.slug !== undefined && input.slug !== current.slug) await assertSlugFree(ctx, input.slug, id);
  const categoryIds = input.category_ids ? [...new Set(input.category_ids)] : undefined;
  if (categoryIds) await assertCategoriesExist(ctx, categoryIds, "module", "category_ids");
  const usage = await usageOf(ctx, [id]);
  const changed = Object.keys(input).filter((k) => k !== "type");

  const [[row]] = await ctx.db.batch([
    ctx.db
      .update(contentModules)
      .set({
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.slug !== undefined ? { slug: input.slug } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.estimated_minutes !== undefined ? { estimatedMinutes: input.estimated_minutes } : {}),
        ...(input.points !== undefined ? { points: input.points } : {}),
        ...(settings ? { settings } : {}),
        updatedAt: nowIso(),
      })
      .where(and(eq(contentModules.tenantId, ctx.tenantId), eq(contentModules.id, id)))
      .returning(),
    ...(categoryIds
      ? [
          ctx.db
            .delete(moduleCategories)
            .where(and(eq(moduleCategories.tenantId, ctx.tenantId), eq(moduleCategories.moduleId, id))),
          ...categoryInserts(ctx.db, ctx.tenantId, id, categoryIds),
        ]
      : []),
    ...courseTouches(ctx, [id], usage),
    outboxInsert(ctx.db, ctx.tenantId, "module.updated", { id, type: current.type, changed }),
  ]);
  if (!row) throw ApiError.notFound(`Module ${id}`); // deleted meanwhile
  const [module] = await present(ctx, [row]);
  return module;
}

/**
 * A statement that fails (and so rolls back its whole batch) when any of `ids` is placed in a course: the
 * check made before the batch cannot see a placement added since. `json()` of text that is not JSON raises.
 */
function notPlacedGuard(db: Db, tenantId: number, ids: number[]) {
  return (
    db
      .select({
        guard: sql`CASE WHEN EXISTS (SELECT 1 FROM course_placements WHERE tenant_id = ${tenantId} AND module_id IN (${sql.join(
          ids.map((id) => sql`${id}`),
          sql`, `,
        )})) THEN json('module placed in a course') ELSE 0 END`,
      })
      .from(contentModules)
      // Any one row of the tenant (the modules being deleted exist until the delete that follows): CASE runs once.
      .where(eq(contentModules.tenantId, tenantId))
      .limit(1)
  );
}

/** The 409 of deleting modules that courses place: the courses per module, and an error naming each module. */
function inUseConflict(
  usage: Map<number, CourseRef[]>,
  rows: ModuleRow[],
  paths: Map<number, string>,
  single: boolean,
): ApiError | undefined {
  const used = rows.filter((r) => (usage.get(r.id)?.length ?? 0) > 0);
  if (used.length === 0) return undefined;
  const errors: FieldError[] = used.map((r) => ({
    path: paths.get(r.id) ?? "id",
    message: `Module ${r.id} is placed in ${(usage.get(r.id) ?? [])
      .map((c) => `"${c.name}" (${c.id})`)
      .join(", ")}; remove it from those courses or delete with force.`,
  }));
  if (single) {
    const courses = usage.get(used[0].id) ?? [];
    return ApiError.conflict(
      `The module is placed in ${courses.length} course(s); remove it from them first or delete with \`force=true\`.`,
      { courses, errors },
    );
  }
  return ApiError.conflict(
    `${used.length} of the modules are placed in courses; remove them first or delete with \`force: true\`.`,
    { modules: used.map((r) => ({ id: r.id, name: r.name, courses: usage.get(r.id) ?? [] })), errors },
  );
}

/** Deletes modules; placed ones only with `force` (their placements go too, by FK cascade), in one batch. */
async function deleteRows(
  ctx: TenantContext,
  rows: ModuleRow[],
  force: boolean,
  paths: Map<number, string>,
  single: boolean,
) {
  const ids = rows.map((r) => r.id);
  const usage = await usageOf(ctx, ids);
  const conflict = force ? undefined : inUseConflict(usage, rows, paths, single);
  if (conflict) throw conflict;
  const parts = slices(ids, IDS_PER_STATEMENT);
  const statements: BatchItem<"sqlite">[] = [
    // Course versions move before the placements disappear with the modules.
    ...courseTouches(ctx, ids, usage),
    ...(force ? [] : parts.map((part) => notPlacedGuard(ctx.db, ctx.tenantId, part))),
    ...parts.map((part) =>
      ctx.db
        .delete(contentModules)
        .where(and(eq(contentModules.tenantId, ctx.tenantId), inArray(contentModules.id, part))),
    ),
    ...outboxInsertMany(
      ctx.db,
      ctx.tenantId,
      "module.deleted",
      rows.map((r) => ({
        id: r.id,
        type: r.type,
        slug: r.slug,
        course_ids: (usage.get(r.id) ?? []).map((c) => c.id),
      })),
    ),
  ];
  try {
    await ctx.db.batch(statements as Batch);
  } catch (err) {
    if (force) throw err;
    // The guard fired: a course placed one of the modules after the check above (the batch rolled back).
    throw inUseConflict(await usageOf(ctx, ids), rows, paths, single) ?? err;
  }
}

export async function deleteModule(ctx: TenantContext, id: number, force: boolean) {
  const row = await findRow(ctx, id);
  await deleteRows(ctx, [row], force, new Map([[id, "id"]]), true);
}

export async function bulkDeleteModules(ctx: TenantContext, input: { ids: number[]; force: boolean }) {
  const ids = [...new Set(input.ids)];
  const rows = await rowsByIds(ctx, ids);
  const known = new Set(rows.map((r) => r.id));
  const errors = input.ids
    .map((id, i) => ({ id, i }))
    .filter(({ id }) => !known.has(id))
    .map(({ id, i }) => ({ path: `ids.${i}`, message: `Module ${id} is not a module of this academy.` }));
  if (errors.length) throw ApiError.validation(errors);
  const paths = new Map(input.ids.map((id, i) => [id, `ids.${i}`] as const).reverse());
  const byId = new Map(rows.map((r) => [r.id, r]));
  await deleteRows(
    ctx,
    ids.map((id) => byId.get(id) as ModuleRow),
    input.force,
    paths,
    false,
  );
  return { deleted: ids };
}

/** Every item's category_ids are module categories: one check for all, and per item only to name the culprits. */
async function assertItemCategories(ctx: TenantContext, items: ModuleQuickEditInput[]) {
  const all = [...new Set(items.flatMap((item) => item.category_ids ?? []))];
  try {
    for (const part of slices(all, IDS_PER_STATEMENT)) await assertCategoriesExist(ctx, part, "module", "category_ids");
    return;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
  }
  const errors: FieldError[] = [];
  for (const [i, item] of items.entries()) {
    if (!item.category_ids?.length) continue;
    try {
      await assertCategoriesExist(ctx, [...new Set(item.category_ids)], "module", `items.${i}.category_ids`);
    } catch (err) {
      if (err instanceof ApiError && err.options.errors) errors.push(...err.options.errors);
      else throw err;
    }
  }
  throw ApiError.validation(errors);
}

/**
 * Quick edit: the listed fields of many modules in one batch. Each field is one `CASE id ...` update per chunk
 * of items, so the statement count stays small whatever the number of items (at most 100).
 */
export async function quickEditModules(ctx: TenantContext, items: ModuleQuickEditInput[]) {
  const seen = new Map<number, number>();
  const errors: FieldError[] = [];
  items.forEach((item, i) => {
    if (seen.has(item.id)) errors.push({ path: `items.${i}.id`, message: `Module ${item.id} is listed twice.` });
    seen.set(item.id, i);
  });
  if (errors.length) throw ApiError.validation(errors);
  const ids = items.map((item) => item.id);
  const rows = await rowsByIds(ctx, ids);
  const known = new Set(rows.map((r) => r.id));
  const missing = items
    .map((item, i) => ({ item, i }))
    .filter(({ item }) => !known.has(item.id))
    .map(({ item, i }) => ({ path: `items.${i}.id`, message: `Module ${item.id} is not a module of this academy.` }));
  if (missing.length) throw ApiError.validation(missing);
  await assertItemCategories(ctx, items);

  const usage = await usageOf(ctx, ids);
  const now = nowIso();
  const columns = {
    name: "name",
    description: "description",
    estimated_minutes: "estimatedMinutes",
    points: "points",
  } as const;
  const updates: BatchItem<"sqlite">[] = [];
  for (const [field, key] of Object.entries(columns) as [
    keyof typeof columns,
    (typeof columns)[keyof typeof columns],
  ][]) {
    const column = contentModules[key];
    // Per item: the id and the value in the CASE, and the id in the IN list (plus the tenant id).
    for (const part of slices(
      items.filter((item) => item[field] !== undefined),
      30,
    )) {
      const value = sql`CASE ${contentModules.id} ${sql.join(
        part.map((item) => sql`WHEN ${item.id} THEN ${item[field]}`),
        sql` `,
      )} ELSE ${column} END`;
      updates.push(
        ctx.db
          .update(contentModules)
          .set({ [key]: value })
          .where(
            and(
              eq(contentModules.tenantId, ctx.tenantId),
              inArray(
                contentModules.id,
                part.map((item) => item.id),
              ),
            ),
          ),
      );
    }
  }
  const recategorized = items.filter((item) => item.category_ids !== undefined);
  const categoryRows = recategorized.flatMap((item) =>
    [...new Set(item.category_ids)].map((categoryId) => ({ tenantId: ctx.tenantId, moduleId: item.id, categoryId })),
  );
  const touched = items.filter((item) => Object.keys(item).length > 1).map((item) => item.id);
  const statements = [
    ...updates,
    ...slices(recategorized, IDS_PER_STATEMENT).map((part) =>
      ctx.db.delete(moduleCategories).where(
        and(
          eq(moduleCategories.tenantId, ctx.tenantId),
          inArray(
            moduleCategories.moduleId,
            part.map((item) => item.id),
          ),
        ),
      ),
    ),
    ...chunk(categoryRows, 3).map((part) => ctx.db.insert(moduleCategories).values(part)),
    // Items that only name an id change nothing: no touch, no event.
    ...(touched.length
      ? [
          ...slices(touched, IDS_PER_STATEMENT).map((part) =>
            ctx.db
              .update(contentModules)
              .set({ updatedAt: now })
              .where(and(eq(contentModules.tenantId, ctx.tenantId), inArray(contentModules.id, part))),
          ),
          ...courseTouches(ctx, touched, usage),
          ...outboxInsertMany(
            ctx.db,
            ctx.tenantId,
            "module.updated",
            items
              .filter((item) => touched.includes(item.id))
              .map((item) => ({ id: item.id, changed: Object.keys(item).filter((k) => k !== "id") })),
          ),
        ]
      : []),
  ];
  if (statements.length) await ctx.db.batch(statements as Batch);
  const after = await rowsByIds(ctx, ids);
  const byId = new Map((await present(ctx, after)).map((m) => [m.id, m]));
  return { data: ids.map((id) => byId.get(id) as ModuleOut) };
}

/**
 * Insert statements that copy modules (row and categories) under new free slugs, for the caller's own batch
 * (a course deep clone). The copies keep their names, types, settings and categories; each new id is reachable in
 * that batch as `(SELECT id FROM modules WHERE tenant_id = ? AND slug = <newSlugs.get(sourceId)>)`. Each copy
 * also writes a `module.cloned` event. Unknown source ids are a 422 naming `module_ids`.
 */
export async function moduleCopyStatements(
  ctx: TenantContext,
  sourceIds: number[],
): Promise<{ statements: BatchItem<"sqlite">[]; newSlugs: Map<number, string> }> {
  const ids = [...new Set(sourceIds)];
  const rows = await rowsByIds(ctx, ids);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const missing = ids.filter((id) => !byId.has(id));
  if (missing.length) {
    throw ApiError.validation(
      missing.map((id) => ({ path: "module_ids", message: `Module ${id} is not a module of this academy.` })),
    );
  }
  const ordered = ids.map((id) => byId.get(id) as ModuleRow);
  return copyStatements(
    ctx,
    ordered,
    ordered.map((r) => r.name),
    await freeSlugs(
      ctx,
      ordered.map((r) => r.slug.slice(0, DERIVED_SLUG_LENGTH).replace(/-+$/, "") || "module"),
    ),
  );
}

async function copyStatements(ctx: TenantContext, sources: ModuleRow[], names: string[], slugs: string[]) {
  const categories = await categoryIdsOf(
    ctx,
    sources.map((r) => r.id),
  );
  const now = nowIso();
  const newSlugs = new Map<number, string>();
  const statements: BatchItem<"sqlite">[] = [];
  sources.forEach((source, i) => {
    const slug = slugs[i];
    newSlugs.set(source.id, slug);
    statements.push(
      ctx.db.insert(contentModules).values({
        tenantId: ctx.tenantId,
        type: source.type,
        name: names[i],
        slug,
        description: source.description,
        estimatedMinutes: source.estimatedMinutes,
        points: source.points,
        settings: source.settings,
        createdAt: now,
        updatedAt: now,
      }),
      ...categoryInserts(ctx.db, ctx.tenantId, idBySlug(ctx.tenantId, slug), categories.get(source.id) ?? []),
      outboxInsertFor(ctx.db, ctx.tenantId, "module.cloned", idBySlug(ctx.tenantId, slug), {
        source_id: source.id,
        type: source.type,
        slug,
        name: names[i],
      }),
    );
  });
  return { statements, newSlugs };
}

export async function cloneModule(ctx: TenantContext, id: number, input: { name?: string }) {
  const source = await findRow(ctx, id);
  const name = input.name ?? `${source.name} (copy)`.slice(0, 200);
  const [slug] = await freeSlugs(ctx, [slugify(name, DERIVED_SLUG_LENGTH)]);
  const { statements } = await copyStatements(ctx, [source], [name], [slug]);
  await ctx.db.batch(statements as Batch);
  const row = await ctx.db.query.contentModules.findFirst({
    where: and(eq(contentModules.tenantId, ctx.tenantId), eq(contentModules.slug, slug)),
  });
  if (!row) throw new Error(`clone of module ${id} not found after insert`);
  return toModule(row, (await categoryIdsOf(ctx, [row.id])).get(row.id) ?? [], []);
}
