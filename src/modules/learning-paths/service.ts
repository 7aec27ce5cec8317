import { and, asc, eq, type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { TenantContext } from "../../platform/auth";
import { chunk } from "../../platform/db";
import { ApiError, type FieldError } from "../../platform/errors";
import { outboxInsert, outboxInsertFor } from "../../platform/events";
import { contains, type ListParams, orderBy, paginate } from "../../platform/pagination";
import { slugify } from "../../platform/slug";
import { nowIso } from "../../platform/time";
import { assertCategoriesExist } from "../categories/service";
import { catalogChanged } from "../tenants/service";
import {
  type LEARNING_PATH_STATUSES,
  learningPathCategories,
  learningPathStepPrerequisites,
  learningPathSteps,
  learningPaths,
} from "./tables";

type PathRow = typeof learningPaths.$inferSelect;
type PathStatus = (typeof LEARNING_PATH_STATUSES)[number];

export interface StepInput {
  course_id: number;
  required: boolean;
  prerequisite_course_ids: number[];
}

interface StepRow {
  id: number;
  pathId: number;
  courseId: number;
  courseName: string;
  position: number;
  required: boolean;
}

// ---- small helpers -----------------------------------------------------------------------------------------------

/**
 * `column IN (ids)` with the ids as ONE bound JSON array (json_each), so a page of 100 ids stays under D1's 100
 * bound parameters per statement; SQLite still searches the column's index once per id.
 */
function inIds(column: SQLiteColumn | SQL, ids: number[]): SQL {
  return sql`${column} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`;
}

interface CourseInfo {
  id: number;
  name: string;
  slug: string;
  status: string;
  deleted_at: string | null;
}

/**
 * The courses of this tenant among `ids` (deleted ones included, flagged by `deleted_at`). Raw SQL over the
 * `courses` table by name: DESIGN.md keeps services off other modules' drizzle tables, and the courses service
 * offers no batch read with status (courses/usage.ts's assertCoursesExist names one path for every id, where a
 * path's steps need `steps.N.course_id`).
 */
async function coursesById(ctx: TenantContext, ids: number[]): Promise<Map<number, CourseInfo>> {
  if (ids.length === 0) return new Map();
  const rows = await ctx.db.all<CourseInfo>(
    sql`SELECT id, name, slug, status, deleted_at FROM courses WHERE tenant_id = ${ctx.tenantId} AND ${inIds(sql.raw("id"), ids)}`,
  );
  return new Map(rows.map((r) => [r.id, r]));
}

/** The course's name, read next to each step (the steps' `(tenant_id, path_id, ...)` rows join courses by id). */
const courseName = sql<string>`coalesce((SELECT c.name FROM courses c WHERE c.id = ${learningPathSteps.courseId} AND c.tenant_id = ${learningPathSteps.tenantId}), '')`;

/** `base`, or `base-2`, `base-3`, ... : the first slug no path of the tenant uses (one query). */
async function freeSlug(ctx: TenantContext, base: string): Promise<string> {
  const taken = await ctx.db
    .select({ slug: learningPaths.slug })
    .from(learningPaths)
    .where(
      and(
        eq(learningPaths.tenantId, ctx.tenantId),
        // substr, not GLOB/LIKE: D1 refuses LIKE/GLOB patterns over 50 bytes, and slugs reach 64 characters.
        sql`(${learningPaths.slug} = ${base} OR substr(${learningPaths.slug}, 1, ${base.length + 1}) = ${`${base}-`})`,
      ),
    );
  const used = new Set(taken.map((r) => r.slug));
  if (!used.has(base)) return base;
  let n = 2;
  while (used.has(`${base}-${n}`)) n++;
  return `${base}-${n}`;
}

async function assertSlugFree(ctx: TenantContext, slug: string, exceptId?: number) {
  const clash = await ctx.db.query.learningPaths.findFirst({
    where: and(eq(learningPaths.tenantId, ctx.tenantId), eq(learningPaths.slug, slug)),
  });
  if (clash && clash.id !== exceptId) {
    throw ApiError.conflict(`A learning path with slug "${slug}" already exists.`, {
      errors: [{ path: "slug", message: "Already taken." }],
    });
  }
}

/** A slug made from `name` that fits the 64 characters of a slug even with a `-NN` suffix. */
const baseSlug = (name: string) => slugify(name, 58);

// ---- reading -----------------------------------------------------------------------------------------------------

export async function findPathRow(ctx: TenantContext, id: number): Promise<PathRow> {
  const row = await ctx.db.query.learningPaths.findFirst({
    where: and(eq(learningPaths.tenantId, ctx.tenantId), eq(learningPaths.id, id)),
  });
  if (!row) throw ApiError.notFound(`Learning path ${id}`);
  return row;
}

interface Details {
  steps: Map<number, StepRow[]>;
  prerequisites: Map<number, number[]>;
  categories: Map<number, number[]>;
}

/** Steps (with course names), prerequisites and categories of the given paths: one batch of three reads. */
async function loadDetails(ctx: TenantContext, pathIds: number[]): Promise<Details> {
  const details: Details = { steps: new Map(), prerequisites: new Map(), categories: new Map() };
  if (pathIds.length === 0) return details;
  const t = ctx.tenantId;
  const [steps, prerequisites, categories] = await ctx.db.batch([
    ctx.db
      .select({
        id: learningPathSteps.id,
        pathId: learningPathSteps.pathId,
        courseId: learningPathSteps.courseId,
        courseName,
        position: learningPathSteps.position,
        required: learningPathSteps.required,
      })
      .from(learningPathSteps)
      .where(and(eq(learningPathSteps.tenantId, t), inIds(learningPathSteps.pathId, pathIds)))
      .orderBy(asc(learningPathSteps.pathId), asc(learningPathSteps.position), asc(learningPathSteps.id)),
    ctx.db
      .select({
        stepId: learningPathStepPrerequisites.stepId,
        prerequisiteStepId: learningPathStepPrerequisites.prerequisiteStepId,
      })
      .from(learningPathStepPrerequisites)
      .where(
        and(
          eq(learningPathStepPrerequisites.tenantId, t),
          sql`${learningPathStepPrerequisites.stepId} IN (SELECT id FROM learning_path_steps WHERE tenant_id = ${t} AND ${inIds(sql.raw("path_id"), pathIds)})`,
        ),
      )
      .orderBy(asc(learningPathStepPrerequisites.stepId), asc(learningPathStepPrerequisites.prerequisiteStepId)),
    ctx.db
      .select({ pathId: learningPathCategories.pathId, categoryId: learningPathCategories.categoryId })
      .from(learningPathCategories)
      .where(and(eq(learningPathCategories.tenantId, t), inIds(learningPathCategories.pathId, pathIds)))
      .orderBy(asc(learningPathCategories.pathId), asc(learningPathCategories.categoryId)),
  ]);
  for (const s of steps) details.steps.set(s.pathId, [...(details.steps.get(s.pathId) ?? []), s]);
  for (const p of prerequisites) {
    details.prerequisites.set(p.stepId, [...(details.prerequisites.get(p.stepId) ?? []), p.prerequisiteStepId]);
  }
  for (const c of categories)
    details.categories.set(c.pathId, [...(details.categories.get(c.pathId) ?? []), c.categoryId]);
  return details;
}

export function toLearningPath(row: PathRow, details: Details) {
  const steps = (details.steps.get(row.id) ?? []).map((s, index) => ({
    id: s.id,
    course_id: s.courseId,
    course_name: s.courseName,
    position: index,
    required: s.required,
    prerequisite_step_ids: details.prerequisites.get(s.id) ?? [],
  }));
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    description: row.description,
    picture_url: row.pictureUrl,
    status: row.status,
    show_in_catalog: row.showInCatalog,
    certificate_template_id: row.certificateTemplateId,
    category_ids: details.categories.get(row.id) ?? [],
    steps,
    course_count: steps.length,
    published_at: row.publishedAt,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

export type LearningPathView = ReturnType<typeof toLearningPath>;

export async function getPath(ctx: TenantContext, id: number): Promise<LearningPathView> {
  const row = await findPathRow(ctx, id);
  return toLearningPath(row, await loadDetails(ctx, [id]));
}

export async function listPaths(
  ctx: TenantContext,
  query: ListParams & { q?: string; status?: PathStatus; category_id?: number; course_id?: number },
) {
  const t = ctx.tenantId;
  // Index-backed: (tenant_id, status, created_at), (tenant_id, created_at) and (tenant_id, name) serve the
  // filters and sorts; the category and course filters read the join tables' (tenant_id, category_id) and
  // (tenant_id, course_id) indexes (INDEXED BY: without statistics SQLite would rather read the covering primary
  // key's every row of the tenant).
  const where = and(
    eq(learningPaths.tenantId, t),
    query.status ? eq(learningPaths.status, query.status) : undefined,
    query.q ? contains(learningPaths.name, query.q) : undefined,
    query.category_id
      ? sql`${learningPaths.id} IN (SELECT path_id FROM learning_path_categories INDEXED BY learning_path_categories_tenant_category_idx WHERE tenant_id = ${t} AND category_id = ${query.category_id})`
      : undefined,
    query.course_id
      ? sql`${learningPaths.id} IN (SELECT path_id FROM learning_path_steps INDEXED BY learning_path_steps_tenant_course_idx WHERE tenant_id = ${t} AND course_id = ${query.course_id})`
      : undefined,
  );
  const order = orderBy(
    query.sort,
    { name: learningPaths.name, created_at: learningPaths.createdAt, updated_at: learningPaths.updatedAt },
    learningPaths.id,
  );
  const page = await paginate(ctx.db, learningPaths, where, order, query, (row: PathRow) => row);
  const details = await loadDetails(
    ctx,
    page.data.map((p) => p.id),
  );
  return { ...page, data: page.data.map((p) => toLearningPath(p, details)) };
}

export async function lookupPaths(ctx: TenantContext, q: string | undefined, limit: number) {
  return ctx.db
    .select({ value: learningPaths.id, label: learningPaths.name })
    .from(learningPaths)
    .where(and(eq(learningPaths.tenantId, ctx.tenantId), q ? contains(learningPaths.name, q) : undefined))
    .orderBy(asc(learningPaths.name), asc(learningPaths.id))
    .limit(limit);
}

// ---- steps: validation and statements ----------------------------------------------------------------------------

/** Steps with every course once and prerequisites deduplicated (the order of `steps` is the order of the path). */
function normalizeSteps(steps: StepInput[]): StepInput[] {
  return steps.map((s) => ({ ...s, prerequisite_course_ids: [...new Set(s.prerequisite_course_ids)] }));
}

/**
 * Checks a path's steps: every course a (not deleted) course of this tenant, each once; every prerequisite the
 * course of another step of the same path; no circular prerequisites. All problems in one 422.
 */
async function assertValidSteps(ctx: TenantContext, steps: StepInput[]) {
  const errors: FieldError[] = [];
  const courses = await coursesById(ctx, [...new Set(steps.map((s) => s.course_id))]);
  const indexOf = new Map<number, number>();
  steps.forEach((s, i) => {
    const course = courses.get(s.course_id);
    if (!course || course.deleted_at) {
      errors.push({ path: `steps.${i}.course_id`, message: `Course ${s.course_id} is not a course of this academy.` });
    } else if (indexOf.has(s.course_id)) {
      errors.push({
        path: `steps.${i}.course_id`,
        message: `Course ${s.course_id} is already step ${indexOf.get(s.course_id)}; a path holds each course once.`,
      });
    }
    if (!indexOf.has(s.course_id)) indexOf.set(s.course_id, i);
  });
  steps.forEach((s, i) => {
    for (const p of s.prerequisite_course_ids) {
      if (p === s.course_id) {
        errors.push({ path: `steps.${i}.prerequisite_course_ids`, message: "A step cannot be its own prerequisite." });
      } else if (!indexOf.has(p)) {
        errors.push({
          path: `steps.${i}.prerequisite_course_ids`,
          message: `Course ${p} is not a step of this path; prerequisites name courses of other steps.`,
        });
      }
    }
  });
  for (const cycle of prerequisiteCycles(steps, indexOf)) {
    const chain = [...cycle, cycle[0]].map((i) => steps[i].course_id).join(" -> ");
    for (const i of cycle) {
      errors.push({
        path: `steps.${i}.prerequisite_course_ids`,
        message: `Circular prerequisites: course ${chain} (a course cannot need itself, even indirectly).`,
      });
    }
  }
  if (errors.length) throw ApiError.validation(errors);
}

/**
 * The cycles of the prerequisite graph (step -> the steps it needs), as lists of step indexes: the strongly
 * connected components with more than one step (Tarjan). Self-references are reported by the caller.
 */
function prerequisiteCycles(steps: StepInput[], indexOf: Map<number, number>): number[][] {
  const edges = steps.map((s) =>
    s.prerequisite_course_ids.filter((p) => p !== s.course_id && indexOf.has(p)).map((p) => indexOf.get(p) as number),
  );
  const index: number[] = new Array(steps.length).fill(-1);
  const low: number[] = new Array(steps.length).fill(0);
  const onStack: boolean[] = new Array(steps.length).fill(false);
  const stack: number[] = [];
  const cycles: number[][] = [];
  let counter = 0;
  const visit = (v: number) => {
    index[v] = low[v] = counter++;
    stack.push(v);
    onStack[v] = true;
    for (const w of edges[v]) {
      if (index[w] === -1) {
        visit(w);
        low[v] = Math.min(low[v], low[w]);
      } else if (onStack[w]) low[v] = Math.min(low[v], index[w]);
    }
    if (low[v] === index[v]) {
      const component: number[] = [];
      let w: number;
      do {
        w = stack.pop() as number;
        onStack[w] = false;
        component.push(w);
      } while (w !== v);
      if (component.length > 1) cycles.push(component.sort((a, b) => a - b));
    }
  };
  // At most MAX_STEPS (100) steps: the recursion depth is bounded.
  for (let v = 0; v < steps.length; v++) if (index[v] === -1) visit(v);
  return cycles;
}

/**
 * The statements that insert a path's steps and their prerequisites. `pathRef` is the path's id, or a subquery
 * finding it (a path created in the same batch); each prerequisite selects the new step ids by
 * (tenant_id, path_id, course_id), the steps' unique key. Chunked under D1's 100 bound parameters.
 */
function stepStatements(ctx: TenantContext, pathRef: SQL, steps: StepInput[]) {
  const t = ctx.tenantId;
  const stepRef = (courseId: number) =>
    sql`(SELECT id FROM learning_path_steps WHERE tenant_id = ${t} AND path_id = ${pathRef} AND course_id = ${courseId})`;
  const stepRows = steps.map((s, position) => ({
    tenantId: t,
    pathId: pathRef,
    courseId: s.course_id,
    position,
    required: s.required,
  }));
  const prerequisiteRows = steps.flatMap((s) =>
    s.prerequisite_course_ids.map((p) => ({
      tenantId: t,
      stepId: stepRef(s.course_id),
      prerequisiteStepId: stepRef(p),
    })),
  );
  // Parameters per row, counting the subqueries' own (pathRef has at most 2).
  return [
    ...chunk(stepRows, 6).map((rows) => ctx.db.insert(learningPathSteps).values(rows)),
    ...chunk(prerequisiteRows, 9).map((rows) => ctx.db.insert(learningPathStepPrerequisites).values(rows)),
  ];
}

/** Removes every step (and prerequisite) of a path; prerequisites first, so no cascade has to find them. */
function clearStepStatements(ctx: TenantContext, pathId: number) {
  const t = ctx.tenantId;
  return [
    ctx.db
      .delete(learningPathStepPrerequisites)
      .where(
        and(
          eq(learningPathStepPrerequisites.tenantId, t),
          sql`${learningPathStepPrerequisites.stepId} IN (SELECT id FROM learning_path_steps WHERE tenant_id = ${t} AND path_id = ${pathId})`,
        ),
      ),
    ctx.db
      .delete(learningPathSteps)
      .where(and(eq(learningPathSteps.tenantId, t), eq(learningPathSteps.pathId, pathId))),
  ] as const;
}

function categoryStatements(ctx: TenantContext, pathRef: SQL, categoryIds: number[]) {
  return chunk(categoryIds, 4).map((ids) =>
    ctx.db
      .insert(learningPathCategories)
      .values(ids.map((categoryId) => ({ tenantId: ctx.tenantId, pathId: pathRef, categoryId }))),
  );
}

// ---- writes ------------------------------------------------------------------------------------------------------

interface PathFields {
  name: string;
  slug?: string;
  description?: string | null;
  picture_url?: string | null;
  show_in_catalog?: boolean;
  certificate_template_id?: number | null;
  category_ids: number[];
  steps: StepInput[];
}

/** The insert of a new draft path with its steps and categories, in one batch; answers the new path's id. */
async function insertPath(
  ctx: TenantContext,
  input: PathFields & { slug: string },
  event: [type: string, data: Record<string, string | number>],
): Promise<number> {
  const now = nowIso();
  const pathRef = sql`(SELECT id FROM learning_paths WHERE tenant_id = ${ctx.tenantId} AND slug = ${input.slug})`;
  const [[row]] = await ctx.db.batch([
    ctx.db
      .insert(learningPaths)
      .values({
        tenantId: ctx.tenantId,
        name: input.name,
        slug: input.slug,
        description: input.description ?? null,
        pictureUrl: input.picture_url ?? null,
        status: "draft",
        showInCatalog: input.show_in_catalog ?? true,
        certificateTemplateId: input.certificate_template_id ?? null,
        createdAt: now,
        updatedAt: now,
      })
      .returning({ id: learningPaths.id }),
    ...stepStatements(ctx, pathRef, input.steps),
    ...categoryStatements(ctx, pathRef, input.category_ids),
    outboxInsertFor(ctx.db, ctx.tenantId, event[0], pathRef, event[1]),
  ]);
  return row.id;
}

/** Creates a draft path; steps and categories are optional. */
export async function createPath(ctx: TenantContext, input: PathFields) {
  const categoryIds = [...new Set(input.category_ids)];
  await assertCategoriesExist(ctx, categoryIds, "learning_path", "category_ids");
  const steps = normalizeSteps(input.steps);
  await assertValidSteps(ctx, steps);
  if (input.slug) await assertSlugFree(ctx, input.slug);
  const slug = input.slug ?? (await freeSlug(ctx, baseSlug(input.name)));
  const id = await insertPath(ctx, { ...input, slug, steps, category_ids: categoryIds }, [
    "learning_path.created",
    { slug, name: input.name },
  ]);
  return getPath(ctx, id);
}

export async function updatePath(
  ctx: TenantContext,
  id: number,
  input: Partial<Omit<PathFields, "steps">> & { status?: "draft" | "archived" },
) {
  const current = await findPathRow(ctx, id);
  if (input.slug !== undefined && input.slug !== current.slug) await assertSlugFree(ctx, input.slug, id);
  const categoryIds = input.category_ids ? [...new Set(input.category_ids)] : undefined;
  if (categoryIds) await assertCategoriesExist(ctx, categoryIds, "learning_path", "category_ids");
  const changes: Partial<typeof learningPaths.$inferInsert> = {};
  if (input.name !== undefined) changes.name = input.name;
  if (input.slug !== undefined) changes.slug = input.slug;
  if (input.description !== undefined) changes.description = input.description;
  if (input.picture_url !== undefined) changes.pictureUrl = input.picture_url;
  if (input.show_in_catalog !== undefined) changes.showInCatalog = input.show_in_catalog;
  if (input.certificate_template_id !== undefined) changes.certificateTemplateId = input.certificate_template_id;
  if (input.status !== undefined) changes.status = input.status;
  const t = ctx.tenantId;
  await ctx.db.batch([
    ctx.db
      .update(learningPaths)
      .set({ ...changes, updatedAt: nowIso() })
      .where(and(eq(learningPaths.tenantId, t), eq(learningPaths.id, id))),
    ...(categoryIds
      ? [
          ctx.db
            .delete(learningPathCategories)
            .where(and(eq(learningPathCategories.tenantId, t), eq(learningPathCategories.pathId, id))),
          ...categoryStatements(ctx, sql`${id}`, categoryIds),
        ]
      : []),
    outboxInsert(ctx.db, t, "learning_path.updated", {
      id,
      slug: changes.slug ?? current.slug,
      changed: Object.keys(input),
      ...(changes.status && changes.status !== current.status ? { status: changes.status } : {}),
    }),
    // Only a published path is in the catalog; PATCH can unpublish one but never publish.
    ...(current.status === "published" ? [catalogChanged(ctx.db, t)] : []),
  ]);
  return getPath(ctx, id);
}

export async function deletePath(ctx: TenantContext, id: number) {
  const current = await findPathRow(ctx, id);
  const t = ctx.tenantId;
  await ctx.db.batch([
    ...clearStepStatements(ctx, id),
    ctx.db
      .delete(learningPathCategories)
      .where(and(eq(learningPathCategories.tenantId, t), eq(learningPathCategories.pathId, id))),
    ctx.db.delete(learningPaths).where(and(eq(learningPaths.tenantId, t), eq(learningPaths.id, id))),
    outboxInsert(ctx.db, t, "learning_path.deleted", { id, slug: current.slug, name: current.name }),
    ...(current.status === "published" ? [catalogChanged(ctx.db, t)] : []),
  ]);
}

/** Why each step keeps a path from being published (`steps`, `steps.N.course_id`); empty when it may be. */
function publishProblems(steps: { course_id: number }[], courses: Map<number, CourseInfo>): FieldError[] {
  if (steps.length === 0) {
    return [{ path: "steps", message: "A learning path needs at least one step to be published." }];
  }
  const errors: FieldError[] = [];
  steps.forEach((s, i) => {
    const course = courses.get(s.course_id);
    if (!course || course.deleted_at) {
      errors.push({
        path: `steps.${i}.course_id`,
        message: `Course ${s.course_id} was deleted; remove it from the path or restore it.`,
      });
    } else if (course.status !== "published") {
      errors.push({
        path: `steps.${i}.course_id`,
        message: `Course ${course.id} ("${course.name}") is ${course.status}; publish it first.`,
      });
    }
  });
  return errors;
}

/** Replaces every step of a path atomically (one batch: old steps out, new steps and prerequisites in). */
export async function replaceSteps(ctx: TenantContext, id: number, input: StepInput[]) {
  const current = await findPathRow(ctx, id);
  const steps = normalizeSteps(input);
  await assertValidSteps(ctx, steps);
  if (current.status === "published") {
    // A published path stays publishable: its learners and the catalog must never meet a draft course.
    const problems = publishProblems(
      steps,
      await coursesById(
        ctx,
        steps.map((s) => s.course_id),
      ),
    );
    if (problems.length) {
      throw ApiError.validation(
        problems,
        "The path is published: its steps must be published courses (unpublish the path to edit it freely).",
      );
    }
  }
  const t = ctx.tenantId;
  await ctx.db.batch([
    ...clearStepStatements(ctx, id),
    ...stepStatements(ctx, sql`${id}`, steps),
    ctx.db
      .update(learningPaths)
      .set({ updatedAt: nowIso() })
      .where(and(eq(learningPaths.tenantId, t), eq(learningPaths.id, id))),
    outboxInsert(ctx.db, t, "learning_path.updated", {
      id,
      slug: current.slug,
      changed: ["steps"],
      course_ids: steps.map((s) => s.course_id),
    }),
    ...(current.status === "published" ? [catalogChanged(ctx.db, t)] : []),
  ]);
  return getPath(ctx, id);
}

/**
 * Publishes a path that has at least one step and only published courses; otherwise a 422 listing what is
 * missing. Publishing a published path changes nothing.
 */
export async function publishPath(ctx: TenantContext, id: number) {
  const path = await getPath(ctx, id);
  const problems = publishProblems(
    path.steps,
    await coursesById(
      ctx,
      path.steps.map((s) => s.course_id),
    ),
  );
  if (problems.length) throw ApiError.validation(problems, "This learning path cannot be published yet; see `errors`.");
  if (path.status === "published") return path;
  const now = nowIso();
  const t = ctx.tenantId;
  await ctx.db.batch([
    ctx.db
      .update(learningPaths)
      .set({ status: "published", publishedAt: now, updatedAt: now })
      .where(and(eq(learningPaths.tenantId, t), eq(learningPaths.id, id))),
    outboxInsert(ctx.db, t, "learning_path.published", { id, slug: path.slug, name: path.name }),
    catalogChanged(ctx.db, t),
  ]);
  return getPath(ctx, id);
}

/** A draft copy (`<name> (copy)`, a new slug) with the same steps, prerequisites and categories, in one batch. */
export async function clonePath(ctx: TenantContext, id: number, input: { name?: string; slug?: string }) {
  const source = await getPath(ctx, id);
  const name = input.name ?? `${source.name.slice(0, 193).trimEnd()} (copy)`;
  if (input.slug) await assertSlugFree(ctx, input.slug);
  const slug = input.slug ?? (await freeSlug(ctx, baseSlug(`${source.slug}-copy`)));
  const courseOfStep = new Map(source.steps.map((s) => [s.id, s.course_id]));
  const newId = await insertPath(
    ctx,
    {
      name,
      slug,
      description: source.description,
      picture_url: source.picture_url,
      show_in_catalog: source.show_in_catalog,
      certificate_template_id: source.certificate_template_id,
      category_ids: source.category_ids,
      steps: source.steps.map((s) => ({
        course_id: s.course_id,
        required: s.required,
        prerequisite_course_ids: s.prerequisite_step_ids.map((p) => courseOfStep.get(p) as number),
      })),
    },
    ["learning_path.cloned", { source_id: id, slug, name }],
  );
  return getPath(ctx, newId);
}

// ---- the public catalog (used by the catalog module) ------------------------------------------------------------

/** Sort fields of listPublishedPaths (`-published_at,name` style). */
export const PUBLISHED_PATH_SORTS = ["name", "published_at", "created_at"] as const;

/** Published, not deleted courses among each path's steps. */
async function publishedCourseCounts(ctx: TenantContext, pathIds: number[]) {
  if (pathIds.length === 0) return new Map<number, number>();
  const rows = await ctx.db.all<{ path_id: number; n: number }>(
    sql`SELECT s.path_id, count(*) AS n FROM learning_path_steps s JOIN courses c ON c.id = s.course_id AND c.tenant_id = s.tenant_id WHERE s.tenant_id = ${ctx.tenantId} AND ${inIds(sql.raw("s.path_id"), pathIds)} AND c.status = 'published' AND c.deleted_at IS NULL GROUP BY s.path_id`,
  );
  return new Map(rows.map((r) => [r.path_id, r.n]));
}

/**
 * The paths the public catalog lists: published and `show_in_catalog`, filtered by text and learning_path
 * category, paginated (`sort` over PUBLISHED_PATH_SORTS, default `-published_at`). Served by the
 * `(tenant_id, status, show_in_catalog, published_at)` index. `course_count` counts the published courses.
 */
export async function listPublishedPaths(
  ctx: TenantContext,
  query: { q?: string; category_id?: number; page: number; per_page: number; sort?: string },
) {
  const t = ctx.tenantId;
  const where = and(
    eq(learningPaths.tenantId, t),
    eq(learningPaths.status, "published"),
    eq(learningPaths.showInCatalog, true),
    query.q ? contains(learningPaths.name, query.q) : undefined,
    query.category_id
      ? sql`${learningPaths.id} IN (SELECT path_id FROM learning_path_categories INDEXED BY learning_path_categories_tenant_category_idx WHERE tenant_id = ${t} AND category_id = ${query.category_id})`
      : undefined,
  );
  const order = orderBy(
    query.sort || "-published_at",
    { name: learningPaths.name, published_at: learningPaths.publishedAt, created_at: learningPaths.createdAt },
    learningPaths.id,
  );
  const page = await paginate(
    ctx.db,
    learningPaths,
    where,
    order,
    { page: query.page, per_page: query.per_page, sort: query.sort || "-published_at" },
    (row: PathRow) => row,
  );
  const ids = page.data.map((p) => p.id);
  const [counts, categories] = await Promise.all([
    publishedCourseCounts(ctx, ids),
    ids.length
      ? ctx.db
          .select({ pathId: learningPathCategories.pathId, categoryId: learningPathCategories.categoryId })
          .from(learningPathCategories)
          .where(and(eq(learningPathCategories.tenantId, t), inIds(learningPathCategories.pathId, ids)))
          .orderBy(asc(learningPathCategories.categoryId))
      : Promise.resolve([]),
  ]);
  return {
    ...page,
    data: page.data.map((p) => ({
      id: p.id,
      name: p.name,
      slug: p.slug,
      description: p.description,
      picture_url: p.pictureUrl,
      course_count: counts.get(p.id) ?? 0,
      category_ids: categories.filter((c) => c.pathId === p.id).map((c) => c.categoryId),
    })),
  };
}

/**
 * One published path by slug (listed in the catalog or not: a direct link works), with the steps whose course is
 * published and not deleted. 404 otherwise.
 */
export async function getPublishedPathBySlug(ctx: TenantContext, slug: string) {
  const row = await ctx.db.query.learningPaths.findFirst({
    where: and(
      eq(learningPaths.tenantId, ctx.tenantId),
      eq(learningPaths.slug, slug),
      eq(learningPaths.status, "published"),
    ),
  });
  if (!row) throw ApiError.notFound(`Learning path ${slug}`);
  const path = toLearningPath(row, await loadDetails(ctx, [row.id]));
  const courses = await coursesById(
    ctx,
    path.steps.map((s) => s.course_id),
  );
  const visible = path.steps.filter((s) => {
    const c = courses.get(s.course_id);
    return c && c.status === "published" && !c.deleted_at;
  });
  const visibleIds = new Set(visible.map((s) => s.id));
  const steps = visible.map((s, position) => ({
    id: s.id,
    course_id: s.course_id,
    course_name: s.course_name,
    course_slug: courses.get(s.course_id)?.slug ?? "",
    position,
    required: s.required,
    prerequisite_step_ids: s.prerequisite_step_ids.filter((p) => visibleIds.has(p)),
  }));
  return {
    id: path.id,
    name: path.name,
    slug: path.slug,
    description: path.description,
    picture_url: path.picture_url,
    category_ids: path.category_ids,
    course_count: steps.length,
    published_at: path.published_at,
    steps,
  };
}
