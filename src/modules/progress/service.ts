/**
 * The learner runtime: "my courses", the outline with per-placement status and locks, launch, self-reported
 * completion, media progress, graded results (quizzes, assignments: issue 8) and course completion.
 *
 * Every request is a fixed number of D1 statements whatever the size of the course or of the academy: one read
 * batch (course, enrollment, the learner's progress), the outline of that course version (Cache API, else one
 * batch) and one write batch. The write
 * batch recomputes the enrollment's progress with SQL subqueries (never read-modify-write) and completes the
 * enrollment at most once:
 *
 * - statements that must only happen with a transition (events, activities) run BEFORE the statement that makes
 *   it, guarded in SQL by the state it changes (`... WHERE <not yet completed>`); a D1 batch is one transaction,
 *   so of two concurrent batches the second sees the first one's change and its guarded inserts do nothing;
 * - course completion is decided in SQL, and the certificates (whose statements cannot be made conditional) are
 *   added only when the reads predicted it. A guard statement aborts the batch when SQL disagrees with the
 *   prediction (another request changed the progress in between); the request then reads again and retries, so a
 *   certificate is issued exactly when the enrollment completes, and once (its unique key does the rest).
 */
import { and, count, eq, isNotNull, isNull, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { LearnerPrincipal, TenantContext } from "../../platform/auth";
import { batchableRaw, inList } from "../../platform/db";
import type { Db } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { outboxInsert } from "../../platform/events";
import { orderBy, type Page } from "../../platform/pagination";
import { nowIso } from "../../platform/time";
import { activityInsert } from "../activities/service";
import { cachedBody, cacheSlot, storeBody } from "../catalog/service";
import { certificateIssueStatements } from "../certificates/service";
import { contentModules } from "../content-modules/tables";
import { courseOutline, type OutlineData, type OutlinePlacement } from "../courses/curriculum.service";
// The course row, placements and modules are read inside this module's one read batch and written by nobody here:
// joining them in the same statements keeps "my courses" and launch at a fixed number of statements.
import { coursePlacements, courses } from "../courses/tables";
import { enrollments } from "../enrollments/tables";
import { findUser } from "../users/service";
import { courseDenial, isDone, type Lock, placementLocks } from "./access";
import { moduleProgress } from "./tables";

type Batch = [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]];
type LearnerCtx = TenantContext<LearnerPrincipal>;
type CourseRow = typeof courses.$inferSelect;
type EnrollmentRow = typeof enrollments.$inferSelect;
type ProgressRow = typeof moduleProgress.$inferSelect;
type ModuleStatus = ProgressRow["status"];

/** Modules the learner completes by saying so (`POST .../complete`); video and audio also by watching. */
export const SELF_COMPLETED_TYPES = [
  "text",
  "video",
  "audio",
  "pdf",
  "powerpoint",
  "embed",
  "flashcards",
  "webinar",
] as const;
/** Modules completed by a graded attempt or submission (`recordGradedResult`), never by the generic endpoint. */
export const GRADED_TYPES = ["quiz", "assignment", "survey", "scorm", "discussion"] as const;
/** Module types whose results make a course grade under `avg_all_modules` (as the course publish checks say). */
const AVERAGED_TYPES = new Set(["quiz", "assignment", "discussion", "scorm"]);
const MEDIA_TYPES = new Set(["video", "audio"]);
const DEFAULT_THRESHOLD_PERCENT = 90;

// ---- SQL helpers ---------------------------------------------------------------------------------------------

/**
 * A single-row `INSERT ... VALUES (...)` turned into `INSERT ... SELECT ... WHERE <condition>`: the row is
 * written only when the condition holds when the statement runs (inside the batch).
 */
export function onlyIf(db: Db, statement: { toSQL(): { sql: string; params: unknown[] } }, condition: SQL) {
  const { sql: text, params } = statement.toSQL();
  const match = /^(insert into .+?\)) values \((.*)\)$/is.exec(text);
  if (!match) throw new Error(`onlyIf needs a single-row INSERT ... VALUES statement, got: ${text}`);
  const pieces = `${match[1]} select ${match[2]} where `.split("?");
  if (pieces.length !== params.length + 1) throw new Error("onlyIf: unexpected placeholders");
  const parts: SQL[] = [];
  pieces.forEach((piece, i) => {
    parts.push(sql.raw(piece));
    if (i < params.length) parts.push(sql`${params[i]}`);
  });
  parts.push(sql`(${condition})`);
  return batchableRaw(db, sql.join(parts, sql.raw("")));
}

const STALE_MARKER = /malformed JSON/i;

/**
 * A statement that fails (rolling the whole batch back) unless `condition` holds when it runs: `json()` of a
 * non-JSON text raises. Used to refuse a batch built on reads that another request has since made wrong.
 */
function abortUnless(db: Db, condition: SQL) {
  return batchableRaw(db, sql`SELECT json(CASE WHEN coalesce((${condition}), 0) THEN '1' ELSE 'stale' END)`);
}

function isStale(err: unknown) {
  const message = err instanceof Error ? `${err.message} ${(err as { cause?: Error }).cause?.message ?? ""}` : "";
  return STALE_MARKER.test(message);
}

const DONE_SQL = sql.raw(`('completed', 'passed')`);

// ---- reading one learner's state in a course -------------------------------------------------------------------

interface State {
  now: string;
  course: CourseRow;
  enrollment: EnrollmentRow | undefined;
  outline: OutlineData;
  placements: OutlinePlacement[];
  progress: Map<number, ProgressRow>;
}

/**
 * The course's outline (with module settings) for the runtime, kept in the Cache API under the course's
 * `version`, which every change to the course, its curriculum or a module it places bumps: a versioned key never
 * goes stale, so a launch or an outline read costs D1 only the learner's own rows on a hit.
 */
async function runtimeOutline(ctx: TenantContext, course: CourseRow): Promise<OutlineData> {
  // The creation time too: ids and versions restart with a fresh database (local resets, test runs), it does not.
  const slot = cacheSlot(
    ctx.tenantId,
    [course.id, course.version, Date.parse(course.createdAt) || 0],
    `runtime-outline/${course.id}`,
  );
  const hit = await cachedBody(slot.key);
  if (hit !== undefined) {
    try {
      const outline = JSON.parse(hit) as OutlineData;
      if (outline.version === course.version) return outline;
    } catch {
      // a damaged entry: read D1 below
    }
  }
  const outline = await courseOutline(ctx, course.id);
  // Only an outline of the version the course row showed is stored under that version's key.
  if (outline.version === course.version) ctx.defer(storeBody(slot.key, JSON.stringify(outline)));
  return outline;
}

/**
 * Everything the access rules and the writes need: the course row, the enrollment and the learner's module
 * progress in this course (one batch of three reads), and the outline of that course version (Cache API, else
 * its own batch of four reads).
 */
async function loadState(ctx: TenantContext, courseId: number, userId: number): Promise<State> {
  const t = ctx.tenantId;
  const [courseRows, enrollmentRows, progressRows] = await ctx.db.batch([
    ctx.db
      .select()
      .from(courses)
      .where(and(eq(courses.tenantId, t), eq(courses.id, courseId), isNull(courses.deletedAt)))
      .limit(1),
    ctx.db
      .select()
      .from(enrollments)
      .where(and(eq(enrollments.tenantId, t), eq(enrollments.courseId, courseId), eq(enrollments.userId, userId)))
      .limit(1),
    ctx.db
      .select()
      .from(moduleProgress)
      .where(
        and(eq(moduleProgress.tenantId, t), eq(moduleProgress.courseId, courseId), eq(moduleProgress.userId, userId)),
      ),
  ]);
  const course = courseRows[0];
  if (!course) throw ApiError.notFound(`Course ${courseId}`);
  const enrollment = enrollmentRows[0];
  const outline = await runtimeOutline(ctx, course);
  const progress = new Map(
    progressRows.filter((r) => !enrollment || r.enrollmentId === enrollment.id).map((r) => [r.placementId, r]),
  );
  return {
    now: nowIso(),
    course,
    enrollment,
    outline,
    placements: outline.sections.flatMap((s) => s.placements),
    progress,
  };
}

function accessDenied(rule: string, detail: string, opensAt?: string, prerequisiteIds?: number[]) {
  return new ApiError(403, detail, {
    slug: "access-denied",
    title: "Access denied",
    extra: {
      rule,
      ...(opensAt ? { opens_at: opensAt } : {}),
      ...(prerequisiteIds ? { prerequisite_ids: prerequisiteIds } : {}),
    },
  });
}

/** The learner's active enrollment, or the 403 that says why there is none. */
function activeEnrollment(state: State): EnrollmentRow {
  const denial = courseDenial(state.course, state.enrollment, state.now);
  if (denial) throw accessDenied(denial.rule, denial.detail);
  return state.enrollment as EnrollmentRow;
}

function locksOf(state: State, enrollment: EnrollmentRow) {
  return placementLocks(state.course, enrollment, state.outline, (id) => state.progress.get(id)?.status, state.now);
}

function placementOf(state: State, placementId: number): OutlinePlacement {
  const placement = state.placements.find((p) => p.id === placementId);
  if (!placement) throw ApiError.notFound(`Placement ${placementId} of course ${state.course.id}`);
  return placement;
}

/** The placement, if the learner may use it now; else the 403 naming the rule (and when it opens). */
function openPlacement(state: State, placementId: number) {
  const enrollment = activeEnrollment(state);
  const placement = placementOf(state, placementId);
  const lock = locksOf(state, enrollment).get(placementId);
  if (lock) throw accessDenied(lock.rule, lock.detail, lock.opens_at, lock.prerequisite_ids);
  return { enrollment, placement };
}

// ---- views ---------------------------------------------------------------------------------------------------

function accessOf(e: Pick<EnrollmentRow, "status" | "expiresAt">, now: string) {
  if (e.status === "revoked") return "revoked" as const;
  return e.expiresAt && e.expiresAt <= now ? ("expired" as const) : ("active" as const);
}

export function enrollmentView(e: EnrollmentRow, now = nowIso()) {
  return {
    id: e.id,
    status: e.status,
    access: accessOf(e, now),
    progress_status: (e.completedAt ? "completed" : e.startedAt ? "in_progress" : "not_started") as
      | "completed"
      | "in_progress"
      | "not_started",
    enrolled_at: e.enrolledAt,
    started_at: e.startedAt,
    expires_at: e.expiresAt,
    completed_at: e.completedAt,
    last_accessed_at: e.lastAccessedAt,
    resume_placement_id: e.resumePlacementId,
    required_total: e.requiredTotal,
    required_done: e.requiredDone,
    progress_percent: e.progressPercent,
    grade: e.grade,
  };
}

function progressView(row: ProgressRow | undefined) {
  return {
    status: (row?.status ?? "not_started") as ModuleStatus,
    first_accessed_at: row?.firstAccessedAt ?? null,
    last_accessed_at: row?.lastAccessedAt ?? null,
    completed_at: row?.completedAt ?? null,
    watched_seconds: row?.watchedSeconds ?? 0,
    score: row?.score ?? null,
    max_score: row?.maxScore ?? null,
    attempts: row?.attempts ?? 0,
  };
}

function moduleSummary(p: OutlinePlacement) {
  return {
    id: p.module.id,
    type: p.module.type,
    name: p.module.name,
    slug: p.module.slug,
    description: p.module.description,
    estimated_minutes: p.module.estimated_minutes,
    points: p.module.points,
  };
}

function lockView(lock: Lock | null | undefined) {
  return lock ? { rule: lock.rule, opens_at: lock.opens_at ?? null, detail: lock.detail } : null;
}

// ---- my courses ------------------------------------------------------------------------------------------------

export const MY_COURSE_SORTS = ["enrolled_at", "last_accessed_at"] as const;
export const MY_COURSE_FILTERS = ["not_started", "in_progress", "completed"] as const;

export interface MyCoursesQuery {
  page: number;
  per_page: number;
  sort: string;
  status?: (typeof MY_COURSE_FILTERS)[number];
}

function myCoursesWhere(ctx: LearnerCtx, status: MyCoursesQuery["status"]) {
  const filter =
    status === "completed"
      ? isNotNull(enrollments.completedAt)
      : status === "in_progress"
        ? and(isNull(enrollments.completedAt), isNotNull(enrollments.startedAt))
        : status === "not_started"
          ? and(isNull(enrollments.completedAt), isNull(enrollments.startedAt))
          : undefined;
  return and(
    eq(enrollments.tenantId, ctx.tenantId),
    eq(enrollments.userId, ctx.principal.userId),
    filter,
    // The course of each enrollment, by primary key. A CROSS JOIN keeps enrollments the outer loop in SQLite
    // (served by enrollments_tenant_user_enrolled_idx), whatever the planner's statistics say about courses.
    eq(courses.id, enrollments.courseId),
    eq(courses.tenantId, ctx.tenantId),
    isNull(courses.deletedAt),
  );
}

/** The two statements of a "my courses" page (exported for the query-plan test). */
export function myCoursesStatements(ctx: LearnerCtx, query: MyCoursesQuery) {
  const t = ctx.tenantId;
  const where = myCoursesWhere(ctx, query.status);
  // Inside a D1 batch rows come back keyed by column name: the joined columns get names of their own.
  const page = ctx.db
    .select({
      enrollment: enrollments,
      courseName: sql<string>`${courses.name}`.as("course_name"),
      courseSlug: sql<string>`${courses.slug}`.as("course_slug"),
      coursePicture: sql<string | null>`${courses.pictureUrl}`.as("course_picture_url"),
      courseThumbnail: sql<string | null>`${courses.thumbnailUrl}`.as("course_thumbnail_url"),
      courseStatus: sql<string>`${courses.status}`.as("course_status"),
      resumeModuleId: sql<number | null>`${contentModules.id}`.as("resume_module_id"),
      resumeModuleName: sql<string | null>`${contentModules.name}`.as("resume_module_name"),
      resumeModuleType: sql<string | null>`${contentModules.type}`.as("resume_module_type"),
    })
    .from(enrollments)
    .crossJoin(courses)
    .leftJoin(
      coursePlacements,
      and(eq(coursePlacements.id, enrollments.resumePlacementId), eq(coursePlacements.tenantId, t)),
    )
    .leftJoin(contentModules, and(eq(contentModules.id, coursePlacements.moduleId), eq(contentModules.tenantId, t)))
    .where(where)
    .orderBy(
      ...orderBy(
        query.sort,
        { enrolled_at: enrollments.enrolledAt, last_accessed_at: enrollments.lastAccessedAt },
        enrollments.id,
      ),
    )
    .limit(query.per_page)
    .offset((query.page - 1) * query.per_page);
  // INDEXED BY: without it SQLite counts through the covering enrollments_tenant_course_user_uq, a walk over every
  // enrollment of the tenant (bench, 1M enrollments: ~160 ms per page) instead of the learner's own.
  const total = ctx.db
    .select({ total: count() })
    .from(sql`${enrollments} INDEXED BY enrollments_tenant_user_enrolled_idx`)
    .crossJoin(courses)
    .where(where);
  return [page, total] as const;
}

/** The learner's courses with their enrollment and progress: one batch of two statements. */
export async function listMyCourses(ctx: LearnerCtx, query: MyCoursesQuery) {
  const [rows, totals] = await ctx.db.batch(myCoursesStatements(ctx, query));
  const now = nowIso();
  const total = totals[0]?.total ?? 0;
  return {
    data: rows.map((r) => ({
      id: r.enrollment.courseId,
      name: r.courseName,
      slug: r.courseSlug,
      picture_url: r.coursePicture,
      thumbnail_url: r.courseThumbnail,
      course_status: r.courseStatus as "draft" | "published" | "archived",
      enrollment: enrollmentView(r.enrollment, now),
      resume:
        r.enrollment.resumePlacementId !== null && r.resumeModuleId !== null
          ? {
              placement_id: r.enrollment.resumePlacementId,
              module_id: r.resumeModuleId,
              module_name: r.resumeModuleName as string,
              module_type: r.resumeModuleType as string,
            }
          : null,
    })),
    meta: {
      page: query.page,
      per_page: query.per_page,
      total,
      last_page: Math.max(1, Math.ceil(total / query.per_page)),
    },
  } satisfies Page<unknown>;
}

// ---- the outline -----------------------------------------------------------------------------------------------

/** The course outline as this learner sees it: status, lock and progress per placement, and where to resume. */
export async function learnerOutline(ctx: LearnerCtx, courseId: number) {
  const state = await loadState(ctx, courseId, ctx.principal.userId);
  const enrollment = activeEnrollment(state);
  const locks = locksOf(state, enrollment);
  const stored = state.placements.find((p) => p.id === enrollment.resumePlacementId);
  // Where to continue: the last module opened, else the first open module not done yet.
  const resume = stored ?? state.placements.find((p) => !locks.get(p.id) && !isDone(state.progress.get(p.id)?.status));
  return {
    course: {
      id: state.course.id,
      name: state.course.name,
      slug: state.course.slug,
      sequential_navigation: state.course.sequentialNavigation,
      drip_enabled: state.course.dripEnabled,
      completion_rule: state.course.completionRule,
      version: state.outline.version,
    },
    enrollment: enrollmentView(enrollment, state.now),
    resume: resume
      ? {
          placement_id: resume.id,
          module_id: resume.module_id,
          module_name: resume.module.name,
          module_type: resume.module.type,
        }
      : null,
    sections: state.outline.sections.map((s) => ({
      id: s.id,
      name: s.name,
      description: s.description,
      position: s.position,
      release_at: s.release_at,
      placements: s.placements.map((p) => {
        const lock = locks.get(p.id);
        return {
          id: p.id,
          module_id: p.module_id,
          position: p.position,
          required: p.required,
          drip_rule: p.drip_rule,
          drip_days: p.drip_days,
          drip_date: p.drip_date,
          prerequisite_ids: p.prerequisite_ids,
          module: moduleSummary(p),
          ...progressView(state.progress.get(p.id)),
          locked: Boolean(lock),
          lock: lockView(lock),
        };
      }),
    })),
  };
}

// ---- progress and completion in SQL ----------------------------------------------------------------------------

interface Scope {
  t: number;
  courseId: number;
  enrollmentId: number;
}

const countAll = (s: Scope) =>
  sql`(SELECT count(*) FROM course_placements WHERE tenant_id = ${s.t} AND course_id = ${s.courseId})`;
const countDone = (s: Scope) =>
  sql`(SELECT count(*) FROM module_progress mp JOIN course_placements p ON p.id = mp.placement_id
       WHERE mp.tenant_id = ${s.t} AND mp.enrollment_id = ${s.enrollmentId} AND mp.status IN ${DONE_SQL}
       AND p.tenant_id = ${s.t} AND p.course_id = ${s.courseId})`;

/**
 * Recomputes the enrollment's counters from module_progress in SQL: required placements done / required
 * placements (every placement counts when none is marked required), then the percentage.
 */
export function progressStatements(ctx: TenantContext, s: Scope, now: string): BatchItem<"sqlite">[] {
  const anyRequired = sql`EXISTS (SELECT 1 FROM course_placements q WHERE q.tenant_id = ${s.t} AND q.course_id = ${s.courseId} AND q.required = 1)`;
  return [
    ctx.db
      .update(enrollments)
      .set({
        requiredTotal: sql`(SELECT CASE WHEN coalesce(sum(required), 0) > 0 THEN sum(required) ELSE count(*) END
                            FROM course_placements WHERE tenant_id = ${s.t} AND course_id = ${s.courseId})`,
        requiredDone: sql`(SELECT count(*) FROM module_progress mp JOIN course_placements p ON p.id = mp.placement_id
                           WHERE mp.tenant_id = ${s.t} AND mp.enrollment_id = ${s.enrollmentId}
                           AND mp.status IN ${DONE_SQL} AND p.tenant_id = ${s.t} AND p.course_id = ${s.courseId}
                           AND (p.required = 1 OR NOT ${anyRequired}))`,
        updatedAt: now,
      })
      .where(and(eq(enrollments.tenantId, s.t), eq(enrollments.id, s.enrollmentId))),
    ctx.db
      .update(enrollments)
      .set({
        progressPercent: sql`CASE WHEN ${enrollments.requiredTotal} > 0
                                  THEN min(100, (${enrollments.requiredDone} * 100) / ${enrollments.requiredTotal}) ELSE 0 END`,
      })
      .where(and(eq(enrollments.tenantId, s.t), eq(enrollments.id, s.enrollmentId))),
  ];
}

/** The placements whose results make the course grade, by the course's grading rule (empty: no grade). */
function gradedPlacementIds(course: CourseRow, placements: OutlinePlacement[]): number[] {
  if (course.gradingRule === "avg_all_modules") {
    return placements.filter((p) => AVERAGED_TYPES.has(p.module.type)).map((p) => p.id);
  }
  if (course.gradingRule === "avg_specific_modules") {
    const ids = new Set(course.gradedModuleIds);
    return placements.filter((p) => ids.has(p.module_id)).map((p) => p.id);
  }
  return [];
}

/** The course grade: the average percentage of the graded placements that have a score (null: none yet). */
function gradeStatement(ctx: TenantContext, s: Scope, graded: number[]) {
  return ctx.db
    .update(enrollments)
    .set({
      grade: graded.length
        ? sql`(SELECT CAST(round(avg(score * 100.0 / max_score)) AS INTEGER) FROM module_progress
               WHERE tenant_id = ${s.t} AND enrollment_id = ${s.enrollmentId} AND score IS NOT NULL AND max_score > 0
               AND ${inList(sql`placement_id`, graded)})`
        : sql`NULL`,
    })
    .where(and(eq(enrollments.tenantId, s.t), eq(enrollments.id, s.enrollmentId)));
}

function gradeOf(graded: number[], progressOf: (id: number) => Pick<ProgressRow, "score" | "maxScore"> | undefined) {
  const percents = graded
    .map((id) => progressOf(id))
    .filter((r): r is ProgressRow => r?.score !== null && r?.score !== undefined && (r.maxScore ?? 0) > 0)
    .map((r) => ((r.score as number) * 100.0) / (r.maxScore as number));
  if (percents.length === 0) return null;
  return Math.round(percents.reduce((a, b) => a + b, 0) / percents.length);
}

/** Whether the course's completion rule holds in SQL, after the statements before it in the batch. */
function criteriaSql(course: CourseRow, s: Scope, graded: number[]): SQL {
  switch (course.completionRule) {
    case "all_modules":
      return sql`(${countAll(s)} > 0 AND ${countDone(s)} >= ${countAll(s)})`;
    case "required_modules":
      return sql`EXISTS (SELECT 1 FROM enrollments WHERE tenant_id = ${s.t} AND id = ${s.enrollmentId}
                 AND required_total > 0 AND required_done >= required_total)`;
    case "percentage_of_modules":
      return sql`(${countAll(s)} > 0 AND ${countDone(s)} * 100 >= ${countAll(s)} * ${course.completionPercentage ?? 100})`;
    case "passing_grade":
      if (course.passingGrade === null || graded.length === 0) return sql`0`;
      return sql`(EXISTS (SELECT 1 FROM enrollments WHERE tenant_id = ${s.t} AND id = ${s.enrollmentId}
                   AND grade IS NOT NULL AND grade >= ${course.passingGrade})
                 AND NOT EXISTS (SELECT 1 FROM json_each(${JSON.stringify(graded)}) g WHERE NOT EXISTS (
                   SELECT 1 FROM module_progress mp WHERE mp.tenant_id = ${s.t} AND mp.enrollment_id = ${s.enrollmentId}
                   AND mp.placement_id = g.value AND mp.score IS NOT NULL)))`;
  }
}

/** The same rule over the state the batch will leave (predicted from the reads). */
function criteriaMet(
  course: CourseRow,
  placements: OutlinePlacement[],
  graded: number[],
  after: (id: number) => Pick<ProgressRow, "status" | "score" | "maxScore"> | undefined,
  grade: number | null,
): boolean {
  const done = placements.filter((p) => isDone(after(p.id)?.status)).length;
  const required = placements.some((p) => p.required) ? placements.filter((p) => p.required) : placements;
  switch (course.completionRule) {
    case "all_modules":
      return placements.length > 0 && done >= placements.length;
    case "required_modules":
      return required.length > 0 && required.every((p) => isDone(after(p.id)?.status));
    case "percentage_of_modules":
      return placements.length > 0 && done * 100 >= placements.length * (course.completionPercentage ?? 100);
    case "passing_grade":
      return (
        course.passingGrade !== null &&
        graded.length > 0 &&
        grade !== null &&
        grade >= course.passingGrade &&
        graded.every((id) => after(id)?.score !== null && after(id)?.score !== undefined)
      );
  }
}

/**
 * The statements that complete the enrollment when the course's criteria hold, exactly once: a guard that
 * aborts the batch when SQL disagrees with `predicted`; then, when predicted, the event and activity (only while
 * `completed_at` is still empty), the certificates of the course's templates (unique per enrollment and
 * template) and the update that sets `completed_at`.
 */
async function completionStatements(
  ctx: TenantContext,
  state: State,
  enrollment: EnrollmentRow,
  graded: number[],
  predicted: boolean,
): Promise<BatchItem<"sqlite">[]> {
  if (enrollment.completedAt) return [];
  const s: Scope = { t: ctx.tenantId, courseId: state.course.id, enrollmentId: enrollment.id };
  const met = criteriaSql(state.course, s, graded);
  const items: BatchItem<"sqlite">[] = [abortUnless(ctx.db, sql`(coalesce((${met}), 0) != 0) = ${predicted ? 1 : 0}`)];
  if (!predicted) return items;
  const now = state.now;
  const notYet = sql`EXISTS (SELECT 1 FROM enrollments WHERE tenant_id = ${s.t} AND id = ${s.enrollmentId} AND completed_at IS NULL)`;
  const data = { id: enrollment.id, course_id: state.course.id, user_id: enrollment.userId, completed_at: now };
  items.push(
    onlyIf(ctx.db, outboxInsert(ctx.db, ctx.tenantId, "enrollment.completed", data), notYet),
    onlyIf(
      ctx.db,
      activityInsert(ctx.db, ctx.tenantId, {
        type: "enrollment.completed",
        userId: enrollment.userId,
        courseId: state.course.id,
        actor: "learner",
        data: { enrollment_id: enrollment.id },
      }),
      notYet,
    ),
  );
  const templateIds = state.course.certificateTemplateIds ?? [];
  if (templateIds.length) {
    const learner = await findUser(ctx, "learner", enrollment.userId);
    items.push(
      ...certificateIssueStatements(ctx, {
        userId: enrollment.userId,
        recipientName: learner.name,
        title: state.course.name,
        courseId: state.course.id,
        sourceKey: `course:${enrollment.id}`,
        templateIds,
      }),
    );
  }
  items.push(
    ctx.db
      .update(enrollments)
      .set({ completedAt: now, updatedAt: now })
      .where(and(eq(enrollments.tenantId, s.t), eq(enrollments.id, s.enrollmentId), isNull(enrollments.completedAt))),
  );
  return items;
}

/** Runs `attempt` on fresh reads; again (at most three times) when its batch was refused as built on stale reads. */
async function withRetry<T>(attempt: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (!isStale(err)) throw err;
      if (i >= 2) {
        throw ApiError.conflict("The course progress changed while this request ran; send it again.");
      }
    }
  }
}

const progressKey = (ctx: TenantContext, enrollmentId: number, placementId: number) =>
  and(
    eq(moduleProgress.tenantId, ctx.tenantId),
    eq(moduleProgress.enrollmentId, enrollmentId),
    eq(moduleProgress.placementId, placementId),
  );

/** The two reads that end every write batch: the placement's progress row and the enrollment. */
function readBack(ctx: TenantContext, enrollmentId: number, placementId: number) {
  return [
    ctx.db
      .select()
      .from(moduleProgress)
      .where(progressKey(ctx, enrollmentId, placementId))
      .limit(1),
    ctx.db
      .select()
      .from(enrollments)
      .where(and(eq(enrollments.tenantId, ctx.tenantId), eq(enrollments.id, enrollmentId)))
      .limit(1),
  ] as const;
}

async function runWrite(
  ctx: TenantContext,
  statements: BatchItem<"sqlite">[],
  enrollmentId: number,
  placementId: number,
) {
  const results = await ctx.db.batch([...statements, ...readBack(ctx, enrollmentId, placementId)] as unknown as Batch);
  const progress = (results[results.length - 2] as ProgressRow[])[0];
  const enrollment = (results[results.length - 1] as EnrollmentRow[])[0] as EnrollmentRow;
  return { progress, enrollment };
}

function stateView(placement: OutlinePlacement, progress: ProgressRow | undefined, enrollment: EnrollmentRow) {
  return {
    course_id: enrollment.courseId,
    placement_id: placement.id,
    ...progressView(progress),
    enrollment: enrollmentView(enrollment),
  };
}

/**
 * The course's duration rule "X days after the learner starts": the first launch sets the enrollment's expiry
 * (unless an admin set one). The other rules apply at enrollment (src/modules/enrollments/service.ts).
 */
function accessEndsOnStart(course: State["course"], enrollment: EnrollmentRow, now: string) {
  if (course.durationRule !== "x_days_after_start" || !course.accessDays || enrollment.startedAt) return {};
  return {
    expiresAt: sql`coalesce(${enrollments.expiresAt}, strftime('%Y-%m-%dT%H:%M:%fZ', ${now}, ${`+${course.accessDays} days`}))`,
  };
}

// ---- launch ----------------------------------------------------------------------------------------------------

/**
 * Opens a placement: checks every access rule, records the access (first access: not_started -> in_progress,
 * the enrollment's `started_at`), moves the resume point, and answers the module with its settings.
 */
export async function launchModule(ctx: LearnerCtx, courseId: number, placementId: number) {
  const state = await loadState(ctx, courseId, ctx.principal.userId);
  const { enrollment, placement } = openPlacement(state, placementId);
  const now = state.now;
  const s: Scope = { t: ctx.tenantId, courseId, enrollmentId: enrollment.id };
  const key = progressKey(ctx, enrollment.id, placementId);
  const firstTime = sql`NOT EXISTS (SELECT 1 FROM module_progress WHERE ${key} AND first_accessed_at IS NOT NULL)`;
  const statements: BatchItem<"sqlite">[] = [
    // Before the upsert: only the request that makes the first access records `module.started`.
    onlyIf(
      ctx.db,
      outboxInsert(ctx.db, ctx.tenantId, "module.started", {
        enrollment_id: enrollment.id,
        course_id: courseId,
        placement_id: placementId,
        module_id: placement.module_id,
        user_id: enrollment.userId,
      }),
      firstTime,
    ),
    ctx.db
      .insert(moduleProgress)
      .values({
        tenantId: ctx.tenantId,
        enrollmentId: enrollment.id,
        placementId,
        courseId,
        userId: enrollment.userId,
        status: "in_progress",
        firstAccessedAt: now,
        lastAccessedAt: now,
        updatedAt: now,
      })
      .onConflictDoUpdate({
        target: [moduleProgress.tenantId, moduleProgress.enrollmentId, moduleProgress.placementId],
        set: {
          status: sql`CASE WHEN ${moduleProgress.status} = 'not_started' THEN 'in_progress' ELSE ${moduleProgress.status} END`,
          firstAccessedAt: sql`coalesce(${moduleProgress.firstAccessedAt}, excluded.first_accessed_at)`,
          lastAccessedAt: now,
          updatedAt: now,
        },
      }),
    ctx.db
      .update(enrollments)
      .set({
        startedAt: sql`coalesce(${enrollments.startedAt}, ${now})`,
        ...accessEndsOnStart(state.course, enrollment, now),
        lastAccessedAt: now,
        resumePlacementId: placementId,
        updatedAt: now,
      })
      .where(and(eq(enrollments.tenantId, ctx.tenantId), eq(enrollments.id, enrollment.id))),
    ...progressStatements(ctx, s, now),
    activityInsert(ctx.db, ctx.tenantId, {
      type: "module.launched",
      userId: enrollment.userId,
      courseId,
      placementId,
      data: { module_id: placement.module_id, module_type: placement.module.type },
    }),
  ];
  const written = await runWrite(ctx, statements, enrollment.id, placementId);
  return {
    ...stateView(placement, written.progress, written.enrollment),
    module: { ...moduleSummary(placement), settings: placement.module.settings },
  };
}

// ---- completing ------------------------------------------------------------------------------------------------

/**
 * The statements that mark a launched placement completed (event and activity only for the request that does
 * it), recompute progress and complete the course when its criteria hold.
 */
async function completionBatch(
  ctx: TenantContext,
  state: State,
  enrollment: EnrollmentRow,
  placement: OutlinePlacement,
  extra: { watchedSeconds?: number } = {},
): Promise<BatchItem<"sqlite">[]> {
  const now = state.now;
  const s: Scope = { t: ctx.tenantId, courseId: state.course.id, enrollmentId: enrollment.id };
  const key = progressKey(ctx, enrollment.id, placement.id);
  const notDone = sql`EXISTS (SELECT 1 FROM module_progress WHERE ${key} AND status NOT IN ${DONE_SQL})`;
  const graded = gradedPlacementIds(state.course, state.placements);
  const current = state.progress.get(placement.id);
  const after = (id: number) =>
    id === placement.id && current
      ? { ...current, status: isDone(current.status) ? current.status : "completed" }
      : state.progress.get(id);
  const predicted = criteriaMet(state.course, state.placements, graded, after, enrollment.grade);
  const detail = { module_id: placement.module_id, module_type: placement.module.type };
  return [
    onlyIf(
      ctx.db,
      outboxInsert(ctx.db, ctx.tenantId, "module.completed", {
        enrollment_id: enrollment.id,
        course_id: state.course.id,
        placement_id: placement.id,
        user_id: enrollment.userId,
        ...detail,
      }),
      notDone,
    ),
    onlyIf(
      ctx.db,
      activityInsert(ctx.db, ctx.tenantId, {
        type: "module.completed",
        userId: enrollment.userId,
        courseId: state.course.id,
        placementId: placement.id,
        data: detail,
      }),
      notDone,
    ),
    ctx.db
      .update(moduleProgress)
      .set({
        status: sql`CASE WHEN ${moduleProgress.status} IN ${DONE_SQL} THEN ${moduleProgress.status} ELSE 'completed' END`,
        completedAt: sql`coalesce(${moduleProgress.completedAt}, ${now})`,
        ...(extra.watchedSeconds !== undefined
          ? { watchedSeconds: sql`max(${moduleProgress.watchedSeconds}, ${extra.watchedSeconds})` }
          : {}),
        lastAccessedAt: now,
        updatedAt: now,
      })
      .where(key),
    ctx.db
      .update(enrollments)
      .set({ lastAccessedAt: now, resumePlacementId: placement.id })
      .where(and(eq(enrollments.tenantId, ctx.tenantId), eq(enrollments.id, enrollment.id))),
    ...progressStatements(ctx, s, now),
    ...(await completionStatements(ctx, state, enrollment, graded, predicted)),
  ];
}

/** A self-reported module opened before and open now: its progress row, or the problem that says why not. */
function completable(state: State, placementId: number, types: readonly string[] = SELF_COMPLETED_TYPES) {
  const { enrollment, placement } = openPlacement(state, placementId);
  const type = placement.module.type;
  if (!types.includes(type)) {
    throw ApiError.conflict(
      `A ${type} module is completed by a graded attempt or submission, not by marking it complete.`,
      { module_type: type },
    );
  }
  const current = state.progress.get(placementId);
  if (!current?.firstAccessedAt) {
    throw ApiError.conflict(
      `Placement ${placementId} has not been launched: launch it (POST .../launch) before completing it.`,
    );
  }
  return { enrollment, placement, current };
}

/** Marks a launched, open, self-reported placement completed (idempotent: completing it again changes nothing). */
export async function completeModule(ctx: LearnerCtx, courseId: number, placementId: number) {
  return withRetry(async () => {
    const state = await loadState(ctx, courseId, ctx.principal.userId);
    const { enrollment, placement } = completable(state, placementId);
    const statements = await completionBatch(ctx, state, enrollment, placement);
    const written = await runWrite(ctx, statements, enrollment.id, placementId);
    return stateView(placement, written.progress, written.enrollment);
  });
}

/**
 * Completes a launched, open placement whose own runtime decides that it is done (an ungraded discussion whose
 * posting rules the learner has met): `completeModule` for the runtime types it names, never for others.
 */
export async function completeModuleByRule(
  ctx: LearnerCtx,
  courseId: number,
  placementId: number,
  types: readonly (typeof GRADED_TYPES)[number][],
) {
  return withRetry(async () => {
    const state = await loadState(ctx, courseId, ctx.principal.userId);
    const { enrollment, placement } = completable(state, placementId, types);
    const statements = await completionBatch(ctx, state, enrollment, placement);
    const written = await runWrite(ctx, statements, enrollment.id, placementId);
    return stateView(placement, written.progress, written.enrollment);
  });
}

/**
 * A video or audio player's report: keeps the furthest point watched; at `completion_threshold_percent` of a
 * known `duration_seconds` the placement completes as with `completeModule`.
 */
export async function reportMediaProgress(
  ctx: LearnerCtx,
  courseId: number,
  placementId: number,
  input: { watched_seconds: number; position_seconds?: number },
) {
  return withRetry(async () => {
    const state = await loadState(ctx, courseId, ctx.principal.userId);
    const { enrollment, placement, current } = completable(state, placementId);
    if (!MEDIA_TYPES.has(placement.module.type)) {
      throw ApiError.conflict(
        `Only video and audio modules report watched time; this one is ${placement.module.type}.`,
        {
          module_type: placement.module.type,
        },
      );
    }
    const settings = placement.module.settings as {
      duration_seconds?: number | null;
      completion_threshold_percent?: number;
    };
    const duration =
      typeof settings.duration_seconds === "number" && settings.duration_seconds > 0 ? settings.duration_seconds : null;
    const watched = duration === null ? input.watched_seconds : Math.min(input.watched_seconds, duration);
    const threshold = settings.completion_threshold_percent ?? DEFAULT_THRESHOLD_PERCENT;
    const reached = duration !== null && Math.max(watched, current.watchedSeconds) * 100 >= threshold * duration;
    const now = state.now;
    const statements =
      reached && !isDone(current.status)
        ? await completionBatch(ctx, state, enrollment, placement, { watchedSeconds: watched })
        : [
            // Watching is not an event (players report it every few seconds): only the furthest point is kept.
            ctx.db
              .update(moduleProgress)
              .set({
                watchedSeconds: sql`max(${moduleProgress.watchedSeconds}, ${watched})`,
                lastAccessedAt: now,
                updatedAt: now,
              })
              .where(progressKey(ctx, enrollment.id, placementId)),
          ];
    const written = await runWrite(ctx, statements, enrollment.id, placementId);
    return {
      ...stateView(placement, written.progress, written.enrollment),
      duration_seconds: duration,
      completion_threshold_percent: threshold,
    };
  });
}

// ---- contracts with other modules --------------------------------------------------------------------------------

/**
 * Statements that reset the progress of enrollments (shared contract; enrollments' `reset-progress` calls it):
 * their module progress goes, counters, grade, start, completion and resume point are cleared.
 */
export function resetProgressStatements(ctx: TenantContext, enrollmentIds: number[]): BatchItem<"sqlite">[] {
  if (enrollmentIds.length === 0) return [];
  const now = nowIso();
  return [
    ctx.db
      .delete(moduleProgress)
      .where(and(eq(moduleProgress.tenantId, ctx.tenantId), inList(moduleProgress.enrollmentId, enrollmentIds))),
    ctx.db
      .update(enrollments)
      .set({
        requiredDone: 0,
        progressPercent: 0,
        startedAt: null,
        completedAt: null,
        lastAccessedAt: null,
        resumePlacementId: null,
        grade: null,
        updatedAt: now,
      })
      .where(and(eq(enrollments.tenantId, ctx.tenantId), inList(enrollments.id, enrollmentIds))),
  ];
}

/**
 * The access check of launch for modules with their own runtime (quizzes, surveys, assignments, flashcards,
 * discussions, packages): the learner's active enrollment and the placement, or the same 403/404/409 problems a
 * launch answers (course unpublished, enrollment revoked or expired, section release, drip, prerequisites,
 * sequential navigation). Records nothing; launch the placement to record access.
 */
export async function assertPlacementOpen(ctx: LearnerCtx, courseId: number, placementId: number) {
  const state = await loadState(ctx, courseId, ctx.principal.userId);
  const { enrollment, placement } = openPlacement(state, placementId);
  return { enrollmentId: enrollment.id, enrolledAt: enrollment.enrolledAt, placement };
}

/**
 * The course-level access check for things of a course that are not placements (course discussion threads): the
 * learner's active enrollment, or the same 403/404 problems a launch answers (course unpublished or deleted,
 * enrollment missing, revoked or expired). Records nothing.
 */
export async function assertCourseOpen(ctx: LearnerCtx, courseId: number) {
  const state = await loadState(ctx, courseId, ctx.principal.userId);
  const enrollment = activeEnrollment(state);
  return { enrollmentId: enrollment.id };
}

/**
 * The result of a graded attempt or submission (quizzes, assignments, SCORM, ...: issue 8). `passed` true ->
 * passed, false -> failed, null -> submitted (waiting for review). A passed placement stays passed when a later
 * attempt fails (its best result counts). Recomputes progress and the course grade, and completes the course when
 * its criteria hold, in one batch.
 */
export async function recordGradedResult(
  ctx: TenantContext,
  input: { enrollmentId: number; placementId: number; score: number; maxScore: number; passed: boolean | null },
  /** The caller's own writes (a survey response, a submission), applied in the same atomic batch, first. */
  extra: BatchItem<"sqlite">[] = [],
) {
  const [row] = await ctx.db
    .select({ courseId: enrollments.courseId, userId: enrollments.userId })
    .from(enrollments)
    .where(and(eq(enrollments.tenantId, ctx.tenantId), eq(enrollments.id, input.enrollmentId)))
    .limit(1);
  if (!row) throw ApiError.notFound(`Enrollment ${input.enrollmentId}`);
  return withRetry(async () => {
    const state = await loadState(ctx, row.courseId, row.userId);
    const enrollment = state.enrollment as EnrollmentRow;
    const placement = placementOf(state, input.placementId);
    const now = state.now;
    const s: Scope = { t: ctx.tenantId, courseId: row.courseId, enrollmentId: enrollment.id };
    const status: ModuleStatus = input.passed === true ? "passed" : input.passed === false ? "failed" : "submitted";
    const current = state.progress.get(placement.id);
    const keepBest = current?.status === "passed" && status !== "passed";
    const afterRow = {
      status: keepBest ? ("passed" as const) : status,
      score: keepBest ? current.score : input.score,
      maxScore: keepBest ? current.maxScore : input.maxScore,
    };
    const graded = gradedPlacementIds(state.course, state.placements);
    const after = (id: number) => (id === placement.id ? afterRow : state.progress.get(id));
    const grade = gradeOf(graded, after);
    const predicted = criteriaMet(state.course, state.placements, graded, after, grade);
    const done = isDone(afterRow.status);
    const statements: BatchItem<"sqlite">[] = [
      ...extra,
      outboxInsert(ctx.db, ctx.tenantId, "module.graded", {
        enrollment_id: enrollment.id,
        course_id: row.courseId,
        placement_id: placement.id,
        user_id: row.userId,
        status: afterRow.status,
        score: input.score,
        max_score: input.maxScore,
      }),
      activityInsert(ctx.db, ctx.tenantId, {
        type: "module.status_changed",
        userId: row.userId,
        courseId: row.courseId,
        placementId: placement.id,
        actor: "system",
        data: { status: afterRow.status, score: input.score, max_score: input.maxScore },
      }),
      ctx.db
        .insert(moduleProgress)
        .values({
          tenantId: ctx.tenantId,
          enrollmentId: enrollment.id,
          placementId: placement.id,
          courseId: row.courseId,
          userId: row.userId,
          status,
          firstAccessedAt: now,
          lastAccessedAt: now,
          completedAt: done ? now : null,
          score: input.score,
          maxScore: input.maxScore,
          attempts: 1,
          updatedAt: now,
        })
        .onConflictDoUpdate({
          target: [moduleProgress.tenantId, moduleProgress.enrollmentId, moduleProgress.placementId],
          set: {
            // A passed placement keeps its passing result; anything else takes the new one.
            status: sql`CASE WHEN ${moduleProgress.status} = 'passed' AND excluded.status != 'passed' THEN 'passed' ELSE excluded.status END`,
            score: sql`CASE WHEN ${moduleProgress.status} = 'passed' AND excluded.status != 'passed' THEN ${moduleProgress.score} ELSE excluded.score END`,
            maxScore: sql`CASE WHEN ${moduleProgress.status} = 'passed' AND excluded.status != 'passed' THEN ${moduleProgress.maxScore} ELSE excluded.max_score END`,
            completedAt: sql`CASE WHEN excluded.status = 'passed' OR ${moduleProgress.status} = 'passed' THEN coalesce(${moduleProgress.completedAt}, excluded.completed_at) ELSE NULL END`,
            firstAccessedAt: sql`coalesce(${moduleProgress.firstAccessedAt}, excluded.first_accessed_at)`,
            attempts: sql`${moduleProgress.attempts} + 1`,
            lastAccessedAt: now,
            updatedAt: now,
          },
        }),
      ...progressStatements(ctx, s, now),
      gradeStatement(ctx, s, graded),
      ...(await completionStatements(ctx, state, enrollment, graded, predicted)),
    ];
    const written = await runWrite(ctx, statements, enrollment.id, placement.id);
    return stateView(placement, written.progress, written.enrollment);
  });
}
