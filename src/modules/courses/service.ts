import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import type { TenantContext } from "../../platform/auth";
import { ApiError } from "../../platform/errors";
import { outboxInsert } from "../../platform/events";
import { contains, type ListParams, orderBy, paginate } from "../../platform/pagination";
import { slugify } from "../../platform/slug";
import { nowIso } from "../../platform/time";
import { assertCategoriesExist } from "../categories/service";
import { type COURSE_STATUSES, courseCategories, courses } from "./tables";

type CourseRow = typeof courses.$inferSelect;

export function toCourse(row: CourseRow, categoryIds: number[]) {
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    subtitle: row.subtitle,
    description: row.description,
    status: row.status,
    show_in_catalog: row.showInCatalog,
    category_ids: categoryIds,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

async function categoryIdsOf(ctx: TenantContext, courseIds: number[]) {
  const map = new Map<number, number[]>();
  if (courseIds.length === 0) return map;
  const rows = await ctx.db
    .select()
    .from(courseCategories)
    .where(and(eq(courseCategories.tenantId, ctx.tenantId), inArray(courseCategories.courseId, courseIds)));
  for (const r of rows) map.set(r.courseId, [...(map.get(r.courseId) ?? []), r.categoryId]);
  return map;
}

export async function listCourses(
  ctx: TenantContext,
  query: ListParams & { q?: string; status?: (typeof COURSE_STATUSES)[number]; category_id?: number },
) {
  const where = and(
    eq(courses.tenantId, ctx.tenantId),
    isNull(courses.deletedAt),
    query.status ? eq(courses.status, query.status) : undefined,
    query.q ? contains(courses.name, query.q) : undefined,
    query.category_id
      ? sql`${courses.id} IN (SELECT course_id FROM course_categories WHERE tenant_id = ${ctx.tenantId} AND category_id = ${query.category_id})`
      : undefined,
  );
  const order = orderBy(
    query.sort,
    { name: courses.name, created_at: courses.createdAt, updated_at: courses.updatedAt },
    courses.id,
  );
  const page = await paginate(ctx.db, courses, where, order, query, (row: CourseRow) => row);
  const cats = await categoryIdsOf(
    ctx,
    page.data.map((c) => c.id),
  );
  return { ...page, data: page.data.map((c) => toCourse(c, cats.get(c.id) ?? [])) };
}

export async function getCourse(ctx: TenantContext, id: number) {
  const row = await ctx.db.query.courses.findFirst({
    where: and(eq(courses.tenantId, ctx.tenantId), eq(courses.id, id), isNull(courses.deletedAt)),
  });
  if (!row) throw ApiError.notFound(`Course ${id}`);
  return toCourse(row, (await categoryIdsOf(ctx, [id])).get(id) ?? []);
}

/** `base`, or `base-2`, `base-3`, ... : the first slug no course of the tenant uses (one query). */
async function freeSlug(ctx: TenantContext, base: string): Promise<string> {
  const taken = await ctx.db
    .select({ slug: courses.slug })
    .from(courses)
    .where(
      and(
        eq(courses.tenantId, ctx.tenantId),
        // substr, not GLOB: D1 refuses LIKE/GLOB patterns over 50 bytes, and slugs reach 64 characters.
        sql`(${courses.slug} = ${base} OR substr(${courses.slug}, 1, ${base.length + 1}) = ${`${base}-`})`,
      ),
    );
  const used = new Set(taken.map((r) => r.slug));
  if (!used.has(base)) return base;
  let n = 2;
  while (used.has(`${base}-${n}`)) n++;
  return `${base}-${n}`;
}

/** Creates a draft course: only a name is needed (the catalog issue adds publishing rules). */
export async function createCourse(
  ctx: TenantContext,
  input: {
    name: string;
    slug?: string;
    subtitle?: string | null;
    description?: string | null;
    show_in_catalog?: boolean;
    category_ids: number[];
  },
) {
  const slug = input.slug ?? (await freeSlug(ctx, slugify(input.name)));
  const clash = await ctx.db.query.courses.findFirst({
    where: and(eq(courses.tenantId, ctx.tenantId), eq(courses.slug, slug)),
  });
  if (clash) {
    throw ApiError.conflict(`A course with slug "${slug}" already exists.`, {
      errors: [{ path: "slug", message: "Already taken." }],
    });
  }
  const categoryIds = [...new Set(input.category_ids)];
  await assertCategoriesExist(ctx, categoryIds, "course", "category_ids");
  const now = nowIso();
  const courseId = sql`(SELECT id FROM courses WHERE tenant_id = ${ctx.tenantId} AND slug = ${slug})`;
  const [[row]] = await ctx.db.batch([
    ctx.db
      .insert(courses)
      .values({
        tenantId: ctx.tenantId,
        name: input.name,
        slug,
        subtitle: input.subtitle ?? null,
        description: input.description ?? null,
        showInCatalog: input.show_in_catalog ?? true,
        createdAt: now,
        updatedAt: now,
      })
      .returning(),
    ...(categoryIds.length
      ? [
          ctx.db.insert(courseCategories).values(
            categoryIds.map((categoryId) => ({
              tenantId: ctx.tenantId,
              courseId: courseId as unknown as number,
              categoryId,
            })),
          ),
        ]
      : []),
    outboxInsert(ctx.db, ctx.tenantId, "course.created", { slug, name: input.name }),
  ]);
  return toCourse(row, categoryIds);
}
