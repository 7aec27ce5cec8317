import { and, asc, eq, isNotNull, isNull, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { TenantContext } from "../../platform/auth";
import { batchableRaw, chunk, inList } from "../../platform/db";
import { ApiError, type FieldError } from "../../platform/errors";
import { outboxInsert, outboxInsertFor } from "../../platform/events";
import { contains, type ListParams, orderBy, paginate } from "../../platform/pagination";
import { slugify } from "../../platform/slug";
import { nowIso } from "../../platform/time";
import { assertCategoriesExist } from "../categories/service";
import { moduleCopyStatements } from "../content-modules/service";
import { contentModules } from "../content-modules/tables";
import { catalogChanged } from "../tenants/service";
import { users } from "../users/tables";
import { courseOutline, type OutlineData } from "./curriculum.service";
import {
  type COMPLETION_RULES,
  type COURSE_STATUSES,
  courseCategories,
  courseInstructors,
  coursePlacements,
  courseSections,
  courses,
  type DURATION_RULES,
  type GRADING_RULES,
  placementPrerequisites,
  type ThankYouPage,
} from "./tables";

type CourseRow = typeof courses.$inferSelect;
type CourseStatus = (typeof COURSE_STATUSES)[number];
type Batch = [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]];

/** What create and update accept (snake_case, as the API names it). */
export interface CourseInput {
  name?: string;
  slug?: string;
  subtitle?: string | null;
  description?: string | null;
  show_in_catalog?: boolean;
  picture_url?: string | null;
  thumbnail_url?: string | null;
  logo_url?: string | null;
  landing_page_url?: string | null;
  custom_url?: string | null;
  seo_title?: string | null;
  seo_description?: string | null;
  seo_keywords?: string | null;
  finish_message?: string | null;
  thank_you_page?: ThankYouPage;
  ratings_enabled?: boolean;
  duration_rule?: (typeof DURATION_RULES)[number];
  access_days?: number | null;
  access_until?: string | null;
  grading_rule?: (typeof GRADING_RULES)[number];
  graded_module_ids?: number[];
  passing_grade?: number | null;
  completion_rule?: (typeof COMPLETION_RULES)[number];
  completion_percentage?: number | null;
  certificate_template_ids?: number[];
  sequential_navigation?: boolean;
  drip_enabled?: boolean;
  estimated_minutes?: number | null;
  category_ids?: number[];
  instructor_ids?: number[];
  status?: CourseStatus;
}

/** API field -> column, for the plain fields (the rest have rules of their own). */
const PLAIN_FIELDS = {
  name: "name",
  subtitle: "subtitle",
  description: "description",
  show_in_catalog: "showInCatalog",
  picture_url: "pictureUrl",
  thumbnail_url: "thumbnailUrl",
  logo_url: "logoUrl",
  landing_page_url: "landingPageUrl",
  custom_url: "customUrl",
  seo_title: "seoTitle",
  seo_description: "seoDescription",
  seo_keywords: "seoKeywords",
  finish_message: "finishMessage",
  thank_you_page: "thankYouPage",
  ratings_enabled: "ratingsEnabled",
  duration_rule: "durationRule",
  access_days: "accessDays",
  access_until: "accessUntil",
  grading_rule: "gradingRule",
  graded_module_ids: "gradedModuleIds",
  passing_grade: "passingGrade",
  completion_rule: "completionRule",
  completion_percentage: "completionPercentage",
  certificate_template_ids: "certificateTemplateIds",
  sequential_navigation: "sequentialNavigation",
  drip_enabled: "dripEnabled",
  estimated_minutes: "estimatedMinutes",
} as const satisfies Partial<Record<keyof CourseInput, keyof CourseRow>>;

function columnValues(input: CourseInput): Partial<CourseRow> {
  const values: Record<string, unknown> = {};
  for (const [field, column] of Object.entries(PLAIN_FIELDS)) {
    const value = input[field as keyof CourseInput];
    if (value !== undefined) values[column] = value;
  }
  return values as Partial<CourseRow>;
}

export function toCourse(row: CourseRow, categoryIds: number[], instructorIds: number[]) {
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    subtitle: row.subtitle,
    description: row.description,
    status: row.status,
    show_in_catalog: row.showInCatalog,
    picture_url: row.pictureUrl,
    thumbnail_url: row.thumbnailUrl,
    logo_url: row.logoUrl,
    landing_page_url: row.landingPageUrl,
    custom_url: row.customUrl,
    seo_title: row.seoTitle,
    seo_description: row.seoDescription,
    seo_keywords: row.seoKeywords,
    finish_message: row.finishMessage,
    thank_you_page: row.thankYouPage,
    ratings_enabled: row.ratingsEnabled,
    rating: {
      average: row.ratingCount > 0 ? Math.round((row.ratingSum / row.ratingCount) * 100) / 100 : null,
      count: row.ratingCount,
    },
    duration_rule: row.durationRule,
    access_days: row.accessDays,
    access_until: row.accessUntil,
    grading_rule: row.gradingRule,
    graded_module_ids: row.gradedModuleIds,
    passing_grade: row.passingGrade,
    completion_rule: row.completionRule,
    completion_percentage: row.completionPercentage,
    certificate_template_ids: row.certificateTemplateIds,
    sequential_navigation: row.sequentialNavigation,
    drip_enabled: row.dripEnabled,
    estimated_minutes: row.estimatedMinutes,
    category_ids: categoryIds,
    instructor_ids: instructorIds,
    version: row.version,
    published_at: row.publishedAt,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    deleted_at: row.deletedAt,
  };
}

export type CourseView = ReturnType<typeof toCourse>;

/** Category and instructor ids of many courses, in one batch. */
async function relationsOf(ctx: TenantContext, courseIds: number[]) {
  const categories = new Map<number, number[]>();
  const instructors = new Map<number, number[]>();
  if (courseIds.length === 0) return { categories, instructors };
  const [categoryRows, instructorRows] = await ctx.db.batch([
    ctx.db
      .select()
      .from(courseCategories)
      .where(and(eq(courseCategories.tenantId, ctx.tenantId), inList(courseCategories.courseId, courseIds))),
    ctx.db
      .select()
      .from(courseInstructors)
      .where(and(eq(courseInstructors.tenantId, ctx.tenantId), inList(courseInstructors.courseId, courseIds)))
      .orderBy(asc(courseInstructors.position)),
  ]);
  for (const r of categoryRows) categories.set(r.courseId, [...(categories.get(r.courseId) ?? []), r.categoryId]);
  for (const r of instructorRows) instructors.set(r.courseId, [...(instructors.get(r.courseId) ?? []), r.userId]);
  return { categories, instructors };
}

async function withRelations(ctx: TenantContext, rows: CourseRow[]) {
  const rel = await relationsOf(
    ctx,
    rows.map((r) => r.id),
  );
  return rows.map((r) => toCourse(r, rel.categories.get(r.id) ?? [], rel.instructors.get(r.id) ?? []));
}

export async function listCourses(
  ctx: TenantContext,
  query: ListParams & {
    q?: string;
    status?: CourseStatus;
    category_id?: number;
    instructor_id?: number;
    deleted?: "exclude" | "only";
  },
) {
  const where = and(
    eq(courses.tenantId, ctx.tenantId),
    query.deleted === "only" ? isNotNull(courses.deletedAt) : isNull(courses.deletedAt),
    query.status ? eq(courses.status, query.status) : undefined,
    query.q ? contains(courses.name, query.q) : undefined,
    query.category_id
      ? sql`${courses.id} IN (SELECT course_id FROM course_categories WHERE tenant_id = ${ctx.tenantId} AND category_id = ${query.category_id})`
      : undefined,
    query.instructor_id
      ? sql`${courses.id} IN (SELECT course_id FROM course_instructors WHERE tenant_id = ${ctx.tenantId} AND user_id = ${query.instructor_id})`
      : undefined,
  );
  const order = orderBy(
    query.sort,
    {
      name: courses.name,
      created_at: courses.createdAt,
      updated_at: courses.updatedAt,
      published_at: courses.publishedAt,
    },
    courses.id,
  );
  const page = await paginate(ctx.db, courses, where, order, query, (row: CourseRow) => row);
  return { ...page, data: await withRelations(ctx, page.data) };
}

/** The course row of this tenant (deleted ones only when asked), or a 404. */
export async function findCourse(ctx: TenantContext, id: number, options: { deleted?: boolean } = {}) {
  const row = await ctx.db.query.courses.findFirst({
    where: and(
      eq(courses.tenantId, ctx.tenantId),
      eq(courses.id, id),
      options.deleted ? isNotNull(courses.deletedAt) : isNull(courses.deletedAt),
    ),
  });
  if (!row) throw ApiError.notFound(options.deleted ? `Deleted course ${id}` : `Course ${id}`);
  return row;
}

export async function getCourse(ctx: TenantContext, id: number) {
  const [course] = await withRelations(ctx, [await findCourse(ctx, id)]);
  return course;
}

export async function lookupCourses(ctx: TenantContext, q: string | undefined, limit: number) {
  const rows = await ctx.db
    .select({ value: courses.id, label: courses.name })
    .from(courses)
    .where(
      and(eq(courses.tenantId, ctx.tenantId), isNull(courses.deletedAt), q ? contains(courses.name, q) : undefined),
    )
    .orderBy(asc(courses.name), asc(courses.id))
    .limit(limit);
  return rows;
}

/**
 * `base`, or `stem-2`, `stem-3`, ...: the first slug no course of the tenant uses (one query). The stem is the
 * base cut so a suffix still fits the 64-character slug limit.
 */
async function freeSlug(ctx: TenantContext, base: string): Promise<string> {
  const stem = base.slice(0, 58).replace(/-+$/, "");
  const taken = await ctx.db
    .select({ slug: courses.slug })
    .from(courses)
    .where(
      and(
        eq(courses.tenantId, ctx.tenantId),
        // substr, not GLOB: D1 refuses LIKE/GLOB patterns over 50 bytes, and slugs reach 64 characters.
        sql`(${courses.slug} = ${base} OR substr(${courses.slug}, 1, ${stem.length + 1}) = ${`${stem}-`})`,
      ),
    );
  const used = new Set(taken.map((r) => r.slug));
  if (!used.has(base)) return base;
  let n = 2;
  while (used.has(`${stem}-${n}`)) n++;
  return `${stem}-${n}`;
}

/** Slugs already used by other courses of the tenant (deleted ones included: they can be restored). */
async function takenSlugs(ctx: TenantContext, slugs: string[], exceptIds: number[] = []) {
  if (slugs.length === 0) return new Set<string>();
  const rows = await ctx.db
    .select({ id: courses.id, slug: courses.slug })
    .from(courses)
    .where(and(eq(courses.tenantId, ctx.tenantId), inList(courses.slug, slugs)));
  return new Set(rows.filter((r) => !exceptIds.includes(r.id)).map((r) => r.slug));
}

function slugConflict(slug: string, path = "slug") {
  return ApiError.conflict(`A course with slug "${slug}" already exists.`, {
    errors: [{ path, message: "Already taken." }],
  });
}

/**
 * Staff users of this tenant (instructors must be staff). Reads the users table directly: the FK from
 * course_instructors already ties the two modules together.
 */
async function assertInstructors(ctx: TenantContext, ids: number[], path: string) {
  if (ids.length === 0) return;
  const rows = await ctx.db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.tenantId, ctx.tenantId), eq(users.kind, "staff"), inList(users.id, ids)));
  const known = new Set(rows.map((r) => r.id));
  const errors = ids
    .map((id, i) => ({ id, i }))
    .filter(({ id }) => !known.has(id))
    .map(({ id, i }) => ({ path: `${path}.${i}`, message: `Staff user ${id} is not a staff user of this academy.` }));
  if (errors.length) throw ApiError.validation(errors);
}

async function assertModules(ctx: TenantContext, ids: number[], path: string) {
  if (ids.length === 0) return;
  const rows = await ctx.db
    .select({ id: contentModules.id })
    .from(contentModules)
    .where(and(eq(contentModules.tenantId, ctx.tenantId), inList(contentModules.id, ids)));
  const known = new Set(rows.map((r) => r.id));
  const errors = ids
    .map((id, i) => ({ id, i }))
    .filter(({ id }) => !known.has(id))
    .map(({ id, i }) => ({ path: `${path}.${i}`, message: `Module ${id} is not a module of this academy.` }));
  if (errors.length) throw ApiError.validation(errors);
}

/** Checks the ids a course input refers to (categories, instructors, graded modules). */
async function assertReferences(ctx: TenantContext, input: CourseInput) {
  const categoryIds = unique(input.category_ids ?? []);
  await Promise.all([
    assertCategoriesExist(ctx, categoryIds, "course", "category_ids"),
    assertInstructors(ctx, unique(input.instructor_ids ?? []), "instructor_ids"),
    assertModules(ctx, unique(input.graded_module_ids ?? []), "graded_module_ids"),
  ]);
}

const unique = (ids: number[]) => [...new Set(ids)];

/** `(SELECT id FROM courses ...)` for a course inserted earlier in the same batch, found by its unique slug. */
function courseIdBySlug(tenantId: number, slug: string) {
  return sql`(SELECT id FROM courses WHERE tenant_id = ${tenantId} AND slug = ${slug})`;
}

function relationInserts(ctx: TenantContext, courseId: number | SQL, categoryIds: number[], instructorIds: number[]) {
  const items: BatchItem<"sqlite">[] = [];
  for (const part of chunk(categoryIds, 3)) {
    items.push(
      ctx.db
        .insert(courseCategories)
        .values(part.map((categoryId) => ({ tenantId: ctx.tenantId, courseId: courseId as number, categoryId }))),
    );
  }
  for (const part of chunk(
    instructorIds.map((userId, position) => ({ userId, position })),
    4,
  )) {
    items.push(
      ctx.db.insert(courseInstructors).values(
        part.map(({ userId, position }) => ({
          tenantId: ctx.tenantId,
          courseId: courseId as number,
          userId,
          position,
        })),
      ),
    );
  }
  return items;
}

/** Creates a draft course: only a name is needed; publishing checks the rest. */
export async function createCourse(ctx: TenantContext, input: CourseInput & { name: string }) {
  const slug = input.slug ?? (await freeSlug(ctx, slugify(input.name)));
  if (input.slug && (await takenSlugs(ctx, [slug])).size) throw slugConflict(slug);
  await assertReferences(ctx, input);
  const categoryIds = unique(input.category_ids ?? []);
  const instructorIds = unique(input.instructor_ids ?? []);
  const now = nowIso();
  const [[row]] = await ctx.db.batch([
    ctx.db
      .insert(courses)
      .values({
        ...columnValues(input),
        tenantId: ctx.tenantId,
        name: input.name,
        slug,
        status: "draft",
        createdAt: now,
        updatedAt: now,
      })
      .returning(),
    ...relationInserts(ctx, courseIdBySlug(ctx.tenantId, slug), categoryIds, instructorIds),
    outboxInsertFor(ctx.db, ctx.tenantId, "course.created", courseIdBySlug(ctx.tenantId, slug), {
      slug,
      name: input.name,
    }),
  ]);
  return toCourse(row, categoryIds, instructorIds);
}

/**
 * What a course still needs before learners may see it. Draft mode only needs a name; publishing (and any
 * change to a published course) must leave nothing here.
 */
export function readinessProblems(course: CourseRow, outline: OutlineData): FieldError[] {
  const problems: FieldError[] = [];
  const placements = outline.sections.flatMap((s) => s.placements);
  const placedModuleIds = new Set(placements.map((p) => p.module_id));
  if (placements.length === 0) {
    problems.push({ path: "curriculum", message: "Add at least one module to a section of the course." });
  }
  if (course.durationRule === "on_specific_date" && !course.accessUntil) {
    problems.push({ path: "access_until", message: "The on_specific_date duration rule needs `access_until`." });
  }
  if (
    (course.durationRule === "x_days_after_start" || course.durationRule === "x_days_after_enrollment") &&
    !course.accessDays
  ) {
    problems.push({ path: "access_days", message: `The ${course.durationRule} duration rule needs \`access_days\`.` });
  }
  const gradable = placements.filter((p) => ["quiz", "assignment", "discussion", "scorm"].includes(p.module.type));
  if (course.gradingRule === "avg_all_modules" && placements.length > 0 && gradable.length === 0) {
    problems.push({
      path: "grading_rule",
      message: "avg_all_modules needs at least one quiz, assignment, discussion or SCORM module in the curriculum.",
    });
  }
  if (course.gradingRule === "avg_specific_modules") {
    if (course.gradedModuleIds.length === 0) {
      problems.push({ path: "graded_module_ids", message: "avg_specific_modules needs the modules to average." });
    }
    course.gradedModuleIds.forEach((id, i) => {
      if (!placedModuleIds.has(id)) {
        problems.push({ path: `graded_module_ids.${i}`, message: `Module ${id} is not in the course's curriculum.` });
      }
    });
  }
  if (course.completionRule === "required_modules" && placements.length > 0 && !placements.some((p) => p.required)) {
    problems.push({ path: "completion_rule", message: "required_modules needs at least one required module." });
  }
  if (course.completionRule === "percentage_of_modules" && !course.completionPercentage) {
    problems.push({ path: "completion_percentage", message: "percentage_of_modules needs `completion_percentage`." });
  }
  if (course.completionRule === "passing_grade") {
    if (course.gradingRule === "no_grading") {
      problems.push({ path: "completion_rule", message: "passing_grade needs a grading rule other than no_grading." });
    }
    if (course.passingGrade === null) {
      problems.push({ path: "passing_grade", message: "The passing_grade completion rule needs `passing_grade`." });
    }
  }
  return problems;
}

async function assertReady(ctx: TenantContext, course: CourseRow) {
  const problems = readinessProblems(course, await courseOutline(ctx, course.id));
  if (problems.length) {
    throw ApiError.validation(problems, "The course is not ready to publish; `errors` lists what is missing.");
  }
}

function replaceRelations(ctx: TenantContext, courseId: number, input: CourseInput) {
  const items: BatchItem<"sqlite">[] = [];
  if (input.category_ids) {
    items.push(
      ctx.db
        .delete(courseCategories)
        .where(and(eq(courseCategories.tenantId, ctx.tenantId), eq(courseCategories.courseId, courseId))),
      ...relationInserts(ctx, courseId, unique(input.category_ids), []),
    );
  }
  if (input.instructor_ids) {
    items.push(
      ctx.db
        .delete(courseInstructors)
        .where(and(eq(courseInstructors.tenantId, ctx.tenantId), eq(courseInstructors.courseId, courseId))),
      ...relationInserts(ctx, courseId, [], unique(input.instructor_ids)),
    );
  }
  return items;
}

export async function updateCourse(ctx: TenantContext, id: number, input: CourseInput) {
  const current = await findCourse(ctx, id);
  if (input.slug && input.slug !== current.slug && (await takenSlugs(ctx, [input.slug], [id])).size) {
    throw slugConflict(input.slug);
  }
  await assertReferences(ctx, input);
  const status = input.status ?? current.status;
  const merged = { ...current, ...columnValues(input), status } as CourseRow;
  // A published course stays complete: publishing, or editing a published course, runs the publish checks.
  if (status === "published") await assertReady(ctx, merged);
  const publishing = status === "published" && current.status !== "published";
  const now = nowIso();
  const changed = Object.keys(input).filter((k) => (input as Record<string, unknown>)[k] !== undefined);
  const [[row]] = await ctx.db.batch([
    ctx.db
      .update(courses)
      .set({
        ...columnValues(input),
        ...(input.slug ? { slug: input.slug } : {}),
        status,
        ...(publishing ? { publishedAt: now } : {}),
        version: sql`${courses.version} + 1`,
        updatedAt: now,
      })
      .where(and(eq(courses.tenantId, ctx.tenantId), eq(courses.id, id)))
      .returning(),
    ...replaceRelations(ctx, id, input),
    catalogChanged(ctx.db, ctx.tenantId),
    outboxInsert(ctx.db, ctx.tenantId, "course.updated", { id, changed }),
    ...(publishing
      ? [outboxInsert(ctx.db, ctx.tenantId, "course.published", { id, slug: input.slug ?? current.slug })]
      : []),
  ]);
  const [course] = await withRelations(ctx, [row]);
  return course;
}

export async function publishCourse(ctx: TenantContext, id: number) {
  const current = await findCourse(ctx, id);
  await assertReady(ctx, { ...current, status: "published" });
  if (current.status === "published") return getCourse(ctx, id);
  const now = nowIso();
  const [[row]] = await ctx.db.batch([
    ctx.db
      .update(courses)
      .set({ status: "published", publishedAt: now, version: sql`${courses.version} + 1`, updatedAt: now })
      .where(and(eq(courses.tenantId, ctx.tenantId), eq(courses.id, id)))
      .returning(),
    catalogChanged(ctx.db, ctx.tenantId),
    outboxInsert(ctx.db, ctx.tenantId, "course.published", { id, slug: current.slug }),
  ]);
  const [course] = await withRelations(ctx, [row]);
  return course;
}

/** Learning paths containing each course (raw SQL over the learning-paths tables: a read, no import cycle). */
async function pathsUsing(ctx: TenantContext, courseIds: number[]) {
  const usage = new Map<number, { id: number; name: string }[]>();
  if (courseIds.length === 0) return usage;
  const rows = await ctx.db.all<{ course_id: number; id: number; name: string }>(
    sql`SELECT s.course_id, p.id, p.name FROM learning_path_steps s JOIN learning_paths p ON p.id = s.path_id
        WHERE s.tenant_id = ${ctx.tenantId} AND p.tenant_id = ${ctx.tenantId}
        AND ${inList(sql`s.course_id`, courseIds)} ORDER BY s.course_id, p.id`,
  );
  for (const r of rows) usage.set(r.course_id, [...(usage.get(r.course_id) ?? []), { id: r.id, name: r.name }]);
  return usage;
}

/**
 * Soft-deletes courses in one batch. Courses that learning paths contain are refused (409 naming the paths)
 * unless `force`, which also takes them out of those paths.
 */
export async function deleteCourses(ctx: TenantContext, ids: number[], force: boolean, path = "ids") {
  const wanted = unique(ids);
  const rows = await ctx.db
    .select({ id: courses.id, name: courses.name })
    .from(courses)
    .where(and(eq(courses.tenantId, ctx.tenantId), inList(courses.id, wanted), isNull(courses.deletedAt)));
  const known = new Set(rows.map((r) => r.id));
  const missing = ids.map((id, i) => ({ id, i })).filter(({ id }) => !known.has(id));
  if (missing.length) {
    throw ApiError.validation(
      missing.map(({ id, i }) => ({ path: `${path}.${i}`, message: `Course ${id} is not a course of this academy.` })),
    );
  }
  const usage = await pathsUsing(ctx, wanted);
  if (usage.size && !force) {
    const used = [...usage.entries()].map(([course_id, learning_paths]) => ({ course_id, learning_paths }));
    throw new ApiError(
      409,
      `${used.length} course(s) are part of learning paths; remove them from the paths first, or pass \`force: true\`.`,
      { extra: { used_by: used } },
    );
  }
  const now = nowIso();
  await ctx.db.batch([
    ctx.db
      .update(courses)
      .set({ deletedAt: now, updatedAt: now, version: sql`${courses.version} + 1` })
      .where(and(eq(courses.tenantId, ctx.tenantId), inList(courses.id, wanted))),
    ...(usage.size
      ? [
          batchableRaw(
            ctx.db,
            sql`DELETE FROM learning_path_steps WHERE tenant_id = ${ctx.tenantId} AND ${inList(sql`course_id`, wanted)}`,
          ),
        ]
      : []),
    catalogChanged(ctx.db, ctx.tenantId),
    ...wanted.map((id) => outboxInsert(ctx.db, ctx.tenantId, "course.deleted", { id })),
  ]);
  return { deleted: wanted };
}

export async function deleteCourse(ctx: TenantContext, id: number, force: boolean) {
  await findCourse(ctx, id);
  await deleteCourses(ctx, [id], force);
}

export async function restoreCourse(ctx: TenantContext, id: number) {
  await findCourse(ctx, id, { deleted: true });
  const now = nowIso();
  const [[row]] = await ctx.db.batch([
    ctx.db
      .update(courses)
      .set({ deletedAt: null, updatedAt: now, version: sql`${courses.version} + 1` })
      .where(and(eq(courses.tenantId, ctx.tenantId), eq(courses.id, id)))
      .returning(),
    catalogChanged(ctx.db, ctx.tenantId),
    outboxInsert(ctx.db, ctx.tenantId, "course.restored", { id }),
  ]);
  const [course] = await withRelations(ctx, [row]);
  return course;
}

type QuickEditItem = Pick<
  CourseInput,
  "name" | "subtitle" | "slug" | "show_in_catalog" | "ratings_enabled" | "sequential_navigation" | "category_ids"
> & { id: number; status?: "draft" | "archived" };

/** Edits many courses in one atomic batch; any bad item refuses the whole request. */
export async function quickEditCourses(ctx: TenantContext, items: QuickEditItem[]) {
  const errors: FieldError[] = [];
  const seen = new Map<number, number>();
  items.forEach((item, i) => {
    if (seen.has(item.id)) errors.push({ path: `items.${i}.id`, message: `Course ${item.id} is listed twice.` });
    seen.set(item.id, i);
  });
  const ids = unique(items.map((i) => i.id));
  const rows = await ctx.db
    .select({ id: courses.id, slug: courses.slug })
    .from(courses)
    .where(and(eq(courses.tenantId, ctx.tenantId), inList(courses.id, ids), isNull(courses.deletedAt)));
  const known = new Set(rows.map((r) => r.id));
  items.forEach((item, i) => {
    if (!known.has(item.id)) errors.push({ path: `items.${i}.id`, message: `Course ${item.id} was not found.` });
  });
  const slugs = items.filter((i) => i.slug).map((i) => i.slug as string);
  const taken = await takenSlugs(ctx, slugs, ids);
  const slugSeen = new Set<string>();
  items.forEach((item, i) => {
    if (!item.slug) return;
    if (taken.has(item.slug) || slugSeen.has(item.slug)) {
      errors.push({ path: `items.${i}.slug`, message: `Slug "${item.slug}" is already taken.` });
    }
    slugSeen.add(item.slug);
  });
  const categoryIds = unique(items.flatMap((i) => i.category_ids ?? []));
  try {
    await assertCategoriesExist(ctx, categoryIds, "course", "category_ids");
  } catch {
    // Rare path: find which item holds each unknown category.
    const checks = await Promise.allSettled(
      items.map((item, i) =>
        assertCategoriesExist(ctx, unique(item.category_ids ?? []), "course", `items.${i}.category_ids`),
      ),
    );
    for (const check of checks) {
      if (check.status === "rejected") {
        if (!(check.reason instanceof ApiError)) throw check.reason;
        errors.push(...(check.reason.options.errors ?? []));
      }
    }
  }
  if (errors.length) throw ApiError.validation(errors);

  const now = nowIso();
  const statements: BatchItem<"sqlite">[] = [];
  for (const item of items) {
    const { id, status, slug, category_ids, ...fields } = item;
    statements.push(
      ctx.db
        .update(courses)
        .set({
          ...columnValues(fields),
          ...(slug ? { slug } : {}),
          ...(status ? { status } : {}),
          version: sql`${courses.version} + 1`,
          updatedAt: now,
        })
        .where(and(eq(courses.tenantId, ctx.tenantId), eq(courses.id, id))),
      ...replaceRelations(ctx, id, { category_ids }),
      outboxInsert(ctx.db, ctx.tenantId, "course.updated", {
        id,
        changed: Object.keys(item).filter((k) => k !== "id"),
      }),
    );
  }
  await ctx.db.batch([catalogChanged(ctx.db, ctx.tenantId), ...statements] as Batch);
  const updated = await ctx.db
    .select()
    .from(courses)
    .where(and(eq(courses.tenantId, ctx.tenantId), inList(courses.id, ids)));
  const byId = new Map((await withRelations(ctx, updated)).map((c) => [c.id, c]));
  return { data: ids.map((id) => byId.get(id) as CourseView) };
}

/**
 * A deep copy of a course as a draft: settings, categories, instructors, sections, placements and their
 * prerequisites, in one batch. `modules: "share"` places the same modules; `"copy"` places new copies.
 */
export async function cloneCourse(
  ctx: TenantContext,
  id: number,
  input: { name?: string; slug?: string; modules: "share" | "copy" },
) {
  const source = await findCourse(ctx, id);
  const [outline, rel] = await Promise.all([courseOutline(ctx, id), relationsOf(ctx, [id])]);
  const name = input.name ?? `${source.name} (copy)`.slice(0, 200);
  if (input.slug && (await takenSlugs(ctx, [input.slug])).size) throw slugConflict(input.slug);
  const slug = input.slug ?? (await freeSlug(ctx, slugify(name)));
  const placements = outline.sections.flatMap((s) => s.placements);
  const moduleIds = unique(placements.map((p) => p.module_id));

  // With copies, each placement points at the copy of its module, found by the copy's new slug.
  let moduleRef = (moduleId: number) => moduleId as unknown as SQL | number;
  const copyStatements: BatchItem<"sqlite">[] = [];
  let copiedGraded: SQL | undefined;
  if (input.modules === "copy" && moduleIds.length) {
    const copies = await moduleCopyStatements(ctx, moduleIds);
    copyStatements.push(...copies.statements);
    moduleRef = (moduleId) =>
      sql`(SELECT id FROM modules WHERE tenant_id = ${ctx.tenantId} AND slug = ${copies.newSlugs.get(moduleId)})`;
    const graded = source.gradedModuleIds.filter((m) => copies.newSlugs.has(m));
    if (graded.length) {
      copiedGraded = sql`(SELECT json_group_array(id) FROM modules WHERE tenant_id = ${ctx.tenantId} AND slug IN (${sql.join(
        graded.map((m) => sql`${copies.newSlugs.get(m)}`),
        sql`, `,
      )}))`;
    }
  }

  const newCourseId = courseIdBySlug(ctx.tenantId, slug);
  const sectionId = (position: number) =>
    sql`(SELECT id FROM course_sections WHERE tenant_id = ${ctx.tenantId} AND course_id = ${newCourseId} AND position = ${position})`;
  const placementId = (moduleId: number) =>
    sql`(SELECT id FROM course_placements WHERE tenant_id = ${ctx.tenantId} AND course_id = ${newCourseId} AND module_id = ${moduleRef(moduleId)})`;
  const now = nowIso();
  const {
    id: _id,
    tenantId: _t,
    ratingCount: _rc,
    ratingSum: _rs,
    publishedAt: _p,
    deletedAt: _d,
    version: _v,
    ...settings
  } = source;

  const sectionRows = outline.sections.map((s, position) => ({
    tenantId: ctx.tenantId,
    courseId: newCourseId,
    name: s.name,
    description: s.description,
    position,
    releaseAt: s.release_at,
    createdAt: now,
    updatedAt: now,
  }));
  const placementRows = outline.sections.flatMap((s, sectionPosition) =>
    s.placements.map((p, position) => ({
      tenantId: ctx.tenantId,
      courseId: newCourseId,
      sectionId: sectionId(sectionPosition) as unknown as number,
      moduleId: moduleRef(p.module_id) as unknown as number,
      position,
      required: p.required,
      dripRule: p.drip_rule,
      dripDays: p.drip_days,
      dripDate: p.drip_date,
      createdAt: now,
      updatedAt: now,
    })),
  );
  const moduleOfPlacement = new Map(placements.map((p) => [p.id, p.module_id]));
  const prerequisiteRows = placements.flatMap((p) =>
    p.prerequisite_ids.map((pre) => ({
      tenantId: ctx.tenantId,
      placementId: placementId(p.module_id) as unknown as number,
      prerequisiteId: placementId(moduleOfPlacement.get(pre) as number) as unknown as number,
    })),
  );

  await ctx.db.batch([
    ctx.db.insert(courses).values({
      ...settings,
      tenantId: ctx.tenantId,
      name,
      slug,
      status: "draft",
      gradedModuleIds: input.modules === "copy" ? [] : source.gradedModuleIds,
      createdAt: now,
      updatedAt: now,
    }),
    ...copyStatements,
    ...(copiedGraded
      ? [
          ctx.db
            .update(courses)
            .set({ gradedModuleIds: copiedGraded as unknown as number[] })
            .where(and(eq(courses.tenantId, ctx.tenantId), eq(courses.slug, slug))),
        ]
      : []),
    ...relationInserts(ctx, newCourseId, rel.categories.get(id) ?? [], rel.instructors.get(id) ?? []),
    // Rows carry subqueries with several parameters each: small chunks keep every statement under 100.
    ...chunk(sectionRows, 12).map((part) => ctx.db.insert(courseSections).values(part)),
    ...chunk(placementRows, 25).map((part) => ctx.db.insert(coursePlacements).values(part)),
    ...chunk(prerequisiteRows, 25).map((part) => ctx.db.insert(placementPrerequisites).values(part)),
    outboxInsertFor(ctx.db, ctx.tenantId, "course.cloned", newCourseId, {
      source_id: id,
      slug,
      modules: input.modules,
    }),
    outboxInsertFor(ctx.db, ctx.tenantId, "course.created", newCourseId, { slug, name, cloned_from: id }),
  ] as Batch);
  const created = await ctx.db.query.courses.findFirst({
    where: and(eq(courses.tenantId, ctx.tenantId), eq(courses.slug, slug)),
  });
  const [course] = await withRelations(ctx, [created as CourseRow]);
  return course;
}

export const STATUS_OPTIONS = [
  { value: "draft", label: "Draft" },
  { value: "published", label: "Published" },
  { value: "archived", label: "Archived" },
] satisfies { value: CourseStatus; label: string }[];

export const GRADING_RULE_OPTIONS = [
  { value: "no_grading", label: "No Grading" },
  { value: "avg_all_modules", label: "Average of all Quiz/Assignment/Discussions/Scorm" },
  { value: "avg_specific_modules", label: "Average of specific Quiz/Assignment/Discussions/Scorm" },
] satisfies { value: (typeof GRADING_RULES)[number]; label: string }[];

export const DURATION_RULE_OPTIONS = [
  { value: "unlimited", label: "Unlimited" },
  { value: "on_specific_date", label: "Till Specific Date" },
  { value: "x_days_after_start", label: "Till X day(s) after a student starts the course" },
  { value: "x_days_after_enrollment", label: "Till X day(s) after a student registers in the course" },
] satisfies { value: (typeof DURATION_RULES)[number]; label: string }[];
