import { and, asc, count, eq, gt, gte, isNotNull, isNull, lte, or, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { TenantContext } from "../../platform/auth";
import { batchableRaw, inList } from "../../platform/db";
import type { Db } from "../../platform/env";
import { ApiError, type FieldError } from "../../platform/errors";
import { outboxInsert } from "../../platform/events";
import { type ListParams, orderBy } from "../../platform/pagination";
import { nowIso } from "../../platform/time";
import { findCourse } from "../courses/service";
import { courses } from "../courses/tables";
import { findPathRow, getPath } from "../learning-paths/service";
import { resetProgressStatements } from "../progress/service";
import { moduleProgress } from "../progress/tables";
import { users } from "../users/tables";
import { autoEnrollCourses, enrollments, pathEnrollments } from "./tables";

type Batch = [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]];
type Source = "admin" | "learning_path" | "auto" | "self";

export const ENROLLMENT_FILTERS = ["active", "revoked", "expired", "completed", "in_progress", "not_started"] as const;
export type EnrollmentFilter = (typeof ENROLLMENT_FILTERS)[number];

// ---- shapes ------------------------------------------------------------------------------------------------------

/**
 * The columns of an enrollment with its learner. Inside a D1 batch drizzle keys rows by column name, so the
 * joined user columns carry aliases of their own (docs/architecture.md, "two traps").
 */
const enrollmentColumns = {
  id: enrollments.id,
  courseId: enrollments.courseId,
  userId: enrollments.userId,
  status: enrollments.status,
  source: enrollments.source,
  pathEnrollmentId: enrollments.pathEnrollmentId,
  enrolledAt: enrollments.enrolledAt,
  startedAt: enrollments.startedAt,
  expiresAt: enrollments.expiresAt,
  revokedAt: enrollments.revokedAt,
  completedAt: enrollments.completedAt,
  lastAccessedAt: enrollments.lastAccessedAt,
  requiredTotal: enrollments.requiredTotal,
  requiredDone: enrollments.requiredDone,
  progressPercent: enrollments.progressPercent,
  grade: enrollments.grade,
  updatedAt: enrollments.updatedAt,
  learnerName: sql<string>`(SELECT u.name FROM users u WHERE u.id = ${enrollments.userId})`.as("learner_name"),
  learnerEmail: sql<string>`(SELECT u.email FROM users u WHERE u.id = ${enrollments.userId})`.as("learner_email"),
};

/**
 * Learner columns, the learner search and the name sort are correlated subqueries on the users primary key
 * rather than a join: the enrollments index then always drives the query (with a join, SQLite may choose to scan
 * users first when it believes enrollments is large).
 */
const userCol = (column: "name" | "email", userId: SQL | typeof enrollments.userId) =>
  sql`(SELECT u.${sql.raw(column)} FROM users u WHERE u.id = ${userId})`;

function learnerMatches(userId: SQL | typeof enrollments.userId, q: string | undefined): SQL | undefined {
  if (!q) return undefined;
  return sql`EXISTS (SELECT 1 FROM users u WHERE u.id = ${userId} AND (instr(lower(u.name), lower(${q})) > 0 OR instr(lower(u.email), lower(${q})) > 0))`;
}

interface EnrollmentRow {
  id: number;
  courseId: number;
  userId: number;
  status: "active" | "revoked";
  source: Source;
  pathEnrollmentId: number | null;
  enrolledAt: string;
  startedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  completedAt: string | null;
  lastAccessedAt: string | null;
  requiredTotal: number;
  requiredDone: number;
  progressPercent: number;
  grade: number | null;
  updatedAt: string;
  learnerName: string;
  learnerEmail: string;
}

function progressState(row: { startedAt: string | null; completedAt: string | null }) {
  return row.completedAt ? "completed" : row.startedAt ? "in_progress" : "not_started";
}

function accessState(row: { status: "active" | "revoked"; expiresAt: string | null }, now: string) {
  if (row.status === "revoked") return "revoked";
  return row.expiresAt && row.expiresAt <= now ? "expired" : "active";
}

export function toEnrollment(row: EnrollmentRow, now = nowIso()) {
  return {
    id: row.id,
    course_id: row.courseId,
    learner_id: row.userId,
    status: row.status,
    access: accessState(row, now) as "active" | "revoked" | "expired",
    progress_status: progressState(row) as "not_started" | "in_progress" | "completed",
    source: row.source,
    path_enrollment_id: row.pathEnrollmentId,
    enrolled_at: row.enrolledAt,
    started_at: row.startedAt,
    expires_at: row.expiresAt,
    revoked_at: row.revokedAt,
    completed_at: row.completedAt,
    last_accessed_at: row.lastAccessedAt,
    required_total: row.requiredTotal,
    required_done: row.requiredDone,
    progress_percent: row.progressPercent,
    grade: row.grade,
    updated_at: row.updatedAt,
    learner: { id: row.userId, name: row.learnerName, email: row.learnerEmail },
  };
}

function selectEnrollments(db: Db, where: SQL | undefined) {
  return db.select(enrollmentColumns).from(enrollments).where(where);
}

// ---- checks ------------------------------------------------------------------------------------------------------

/** A course learners can be enrolled in: this academy's, not deleted (404), published (409 otherwise). */
async function enrollableCourse(ctx: TenantContext, courseId: number) {
  const course = await findCourse(ctx, courseId);
  if (course.status !== "published") {
    throw ApiError.conflict(
      `Course ${courseId} is ${course.status === "draft" ? "a draft" : "archived"}: only published courses take enrollments.`,
      { course_status: course.status },
    );
  }
  return course;
}

function assertFuture(expiresAt: string | null | undefined, now: string) {
  if (expiresAt && new Date(expiresAt).toISOString() <= now) {
    throw ApiError.validation([{ path: "expires_at", message: "Use a time in the future (or null for no expiry)." }]);
  }
  return expiresAt ? new Date(expiresAt).toISOString() : null;
}

/**
 * Learners named by id and by email, in one batch. Unknown ids (or another academy's) are a 422 naming the
 * item; unknown emails are reported, not refused.
 */
async function resolveLearners(ctx: TenantContext, learnerIds: number[] = [], emails: string[] = []) {
  const normalized = emails.map((e) => e.trim().toLowerCase());
  const t = ctx.tenantId;
  const [byId, byEmail] = await ctx.db.batch([
    ctx.db
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.tenantId, t), eq(users.kind, "learner"), inList(users.id, learnerIds))),
    ctx.db
      .select({ id: users.id, email: users.email })
      .from(users)
      .where(and(eq(users.tenantId, t), eq(users.kind, "learner"), inList(users.email, normalized))),
  ]);
  const known = new Set(byId.map((r) => r.id));
  const errors: FieldError[] = [];
  learnerIds.forEach((id, i) => {
    if (!known.has(id)) errors.push({ path: `learner_ids.${i}`, message: `Learner ${id} does not exist.` });
  });
  if (errors.length > 0) throw ApiError.validation(errors);
  const emailIds = new Map(byEmail.map((r) => [r.email, r.id]));
  const ids = [
    ...new Set([...learnerIds, ...normalized.flatMap((e) => (emailIds.has(e) ? [emailIds.get(e) as number] : []))]),
  ];
  const notFoundEmails = [...new Set(normalized.filter((e) => !emailIds.has(e)))];
  return { ids, notFoundEmails };
}

/** The learners given by id must exist in this academy (422 naming `learner_ids.N`). */
async function assertLearnersExist(ctx: TenantContext, learnerIds: number[]) {
  await resolveLearners(ctx, learnerIds, []);
}

// ---- statements shared by every way of enrolling ------------------------------------------------------------------

/**
 * Enrollment inserts for `users` (an SQL source yielding a `user_id` column) in `courseIds`, skipping existing
 * ones (ON CONFLICT DO NOTHING, so a concurrent enroll of the same learner is harmless), followed by the
 * `enrollment.created` event and activity of each row this batch created (and only those, even under
 * concurrency: see `created`). A fixed number of statements whatever the number of learners and courses.
 */
function enrollStatements(
  db: Db,
  tenantId: number,
  input: {
    userSource: SQL;
    userFilter: SQL;
    courseIds: number[] | SQL;
    source: Source;
    now: string;
    expiresAt?: string | null;
    pathId?: number;
    actor: "staff" | "system";
  },
): BatchItem<"sqlite">[] {
  const { now, source } = input;
  const courseSource = Array.isArray(input.courseIds)
    ? sql`SELECT value AS course_id FROM json_each(${JSON.stringify(input.courseIds)})`
    : input.courseIds;
  const pathEnrollment =
    input.pathId !== undefined
      ? sql`(SELECT pe.id FROM path_enrollments pe WHERE pe.tenant_id = ${tenantId} AND pe.path_id = ${input.pathId} AND pe.user_id = u.user_id)`
      : sql`NULL`;
  // The course's duration rule, unless the request set an expiry: until a date, or N days after enrollment
  // ("N days after start" is set by the first launch).
  const courseExpiry = sql`(SELECT CASE co.duration_rule
      WHEN 'on_specific_date' THEN strftime('%Y-%m-%dT%H:%M:%fZ', co.access_until)
      WHEN 'x_days_after_enrollment' THEN strftime('%Y-%m-%dT%H:%M:%fZ', ${now}, '+' || co.access_days || ' days')
    END FROM courses co WHERE co.tenant_id = ${tenantId} AND co.id = c.course_id)`;
  const insert = sql`INSERT INTO enrollments (tenant_id, course_id, user_id, status, source, path_enrollment_id, enrolled_at, expires_at, required_total, updated_at)
    SELECT ${tenantId}, c.course_id, u.user_id, 'active', ${source}, ${pathEnrollment}, ${now}, coalesce(${input.expiresAt ?? null}, ${courseExpiry}),
      (SELECT count(*) FROM course_placements p WHERE p.tenant_id = ${tenantId} AND p.course_id = c.course_id AND p.required = 1),
      ${now}
    FROM (${input.userSource}) u, (${courseSource}) c
    WHERE true
    ON CONFLICT (tenant_id, course_id, user_id) DO NOTHING`;
  // Rows this batch created: inserted at `now` with this source, and not yet announced. The activity row is
  // written last and marks the enrollment as announced, so a concurrent batch that enrolled the same learner in
  // the same millisecond (its INSERT did nothing) finds it and emits nothing: one event per enrollment.
  const created = sql`e.tenant_id = ${tenantId} AND ${input.userFilter} AND e.enrolled_at = ${now} AND e.source = ${source}
    AND NOT EXISTS (SELECT 1 FROM activities a WHERE a.tenant_id = e.tenant_id AND a.user_id = e.user_id
      AND a.type = 'enrollment.created' AND a.course_id = e.course_id AND json_extract(a.data, '$.enrollment_id') = e.id)`;
  const event = sql`INSERT INTO outbox (tenant_id, type, data, occurred_at)
    SELECT ${tenantId}, 'enrollment.created',
      json_object('id', e.id, 'course_id', e.course_id, 'user_id', e.user_id, 'source', e.source, 'path_enrollment_id', e.path_enrollment_id, 'expires_at', e.expires_at),
      ${now}
    FROM enrollments e WHERE ${created}`;
  const activity = sql`INSERT INTO activities (tenant_id, type, user_id, course_id, placement_id, actor, data, occurred_at)
    SELECT ${tenantId}, 'enrollment.created', e.user_id, e.course_id, NULL, ${input.actor},
      json_object('enrollment_id', e.id, 'source', e.source), ${now}
    FROM enrollments e WHERE ${created}`;
  return [batchableRaw(db, insert), batchableRaw(db, event), batchableRaw(db, activity)];
}

const idsSource = (ids: number[]) => sql`SELECT value AS user_id FROM json_each(${JSON.stringify(ids)})`;
const idsFilter = (ids: number[]) => sql`e.user_id IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`;

/**
 * Auto-enrollment of a learner created in the same batch (found by email): the academy's auto-enroll courses
 * that are published and not deleted. Goes into the batch that inserts the learner (admin create and
 * self-registration), after the user insert.
 */
export function autoEnrollStatements(db: Db, tenantId: number, email: string): BatchItem<"sqlite">[] {
  const userId = sql`(SELECT id FROM users WHERE tenant_id = ${tenantId} AND kind = 'learner' AND email = ${email})`;
  return enrollStatements(db, tenantId, {
    userSource: sql`SELECT value AS user_id FROM json_each(json_array(${userId})) WHERE value IS NOT NULL`,
    userFilter: sql`e.user_id = ${userId}`,
    courseIds: sql`SELECT a.course_id FROM auto_enroll_courses a JOIN courses cs ON cs.id = a.course_id AND cs.tenant_id = a.tenant_id
      WHERE a.tenant_id = ${tenantId} AND cs.status = 'published' AND cs.deleted_at IS NULL`,
    source: "auto",
    now: nowIso(),
    actor: "system",
  });
}

// ---- course enrollments ------------------------------------------------------------------------------------------

export interface EnrollmentListQuery extends ListParams {
  q?: string;
  status?: EnrollmentFilter;
  progress_min?: number;
  progress_max?: number;
}

function statusFilter(status: EnrollmentFilter | undefined, now: string): SQL | undefined {
  switch (status) {
    case "active":
      return and(eq(enrollments.status, "active"), or(isNull(enrollments.expiresAt), gt(enrollments.expiresAt, now)));
    case "revoked":
      return eq(enrollments.status, "revoked");
    case "expired":
      return and(eq(enrollments.status, "active"), lte(enrollments.expiresAt, now));
    case "completed":
      return isNotNull(enrollments.completedAt);
    case "in_progress":
      return and(isNull(enrollments.completedAt), isNotNull(enrollments.startedAt));
    case "not_started":
      return and(isNull(enrollments.completedAt), isNull(enrollments.startedAt));
    default:
      return undefined;
  }
}

/** Enrolled learners of a course; served by the (tenant_id, course_id, ...) indexes of enrollments. */
export async function listCourseEnrollments(ctx: TenantContext, courseId: number, query: EnrollmentListQuery) {
  await findCourse(ctx, courseId);
  const now = nowIso();
  const where = and(
    eq(enrollments.tenantId, ctx.tenantId),
    eq(enrollments.courseId, courseId),
    statusFilter(query.status, now),
    query.progress_min !== undefined ? gte(enrollments.progressPercent, query.progress_min) : undefined,
    query.progress_max !== undefined ? lte(enrollments.progressPercent, query.progress_max) : undefined,
    learnerMatches(enrollments.userId, query.q),
  );
  const order = orderBy(
    query.sort,
    {
      enrolled_at: enrollments.enrolledAt,
      progress: enrollments.progressPercent,
      name: userCol("name", enrollments.userId) as unknown as typeof enrollments.enrolledAt,
    },
    enrollments.id,
  );
  const offset = (query.page - 1) * query.per_page;
  const [rows, totals] = await ctx.db.batch([
    selectEnrollments(ctx.db, where)
      .orderBy(...order)
      .limit(query.per_page)
      .offset(offset),
    ctx.db.select({ total: count() }).from(enrollments).where(where),
  ]);
  const total = totals[0]?.total ?? 0;
  return {
    data: (rows as EnrollmentRow[]).map((r) => toEnrollment(r, now)),
    meta: {
      page: query.page,
      per_page: query.per_page,
      total,
      last_page: Math.max(1, Math.ceil(total / query.per_page)),
    },
  };
}

export async function lookupEnrolledLearners(
  ctx: TenantContext,
  courseId: number,
  q: string | undefined,
  limit: number,
) {
  await findCourse(ctx, courseId);
  const name = userCol("name", enrollments.userId);
  const rows = await ctx.db
    .select({
      value: enrollments.userId,
      name: sql<string>`${name}`.as("learner_name"),
      email: sql<string>`${userCol("email", enrollments.userId)}`.as("learner_email"),
    })
    .from(enrollments)
    .where(
      and(
        eq(enrollments.tenantId, ctx.tenantId),
        eq(enrollments.courseId, courseId),
        learnerMatches(enrollments.userId, q),
      ),
    )
    .orderBy(asc(name), asc(enrollments.userId))
    .limit(limit);
  return rows.map((r) => ({ value: r.value, label: `${r.name} <${r.email}>` }));
}

export interface EnrollInput {
  learner_ids?: number[];
  emails?: string[];
  expires_at?: string | null;
}

/**
 * Enrolls many learners in one atomic batch (a fixed number of statements whatever their number). Already
 * enrolled learners are reported and left as they are; so are unknown emails.
 */
export async function enrollInCourse(ctx: TenantContext, courseId: number, input: EnrollInput) {
  const now = nowIso();
  const expiresAt = assertFuture(input.expires_at, now);
  await enrollableCourse(ctx, courseId);
  const { ids, notFoundEmails } = await resolveLearners(ctx, input.learner_ids, input.emails);
  const existing = await enrolledUserIds(ctx, courseId, ids);
  const fresh = ids.filter((id) => !existing.has(id));
  let enrolled: ReturnType<typeof toEnrollment>[] = [];
  if (fresh.length > 0) {
    const statements = enrollStatements(ctx.db, ctx.tenantId, {
      userSource: idsSource(fresh),
      userFilter: idsFilter(fresh),
      courseIds: [courseId],
      source: "admin",
      now,
      expiresAt,
      actor: "staff",
    });
    // The answer reads the enrollments this batch created before its activity rows mark them as announced.
    const [insert, event, activity] = statements;
    const results = await ctx.db.batch([
      insert,
      event,
      selectEnrollments(
        ctx.db,
        and(
          eq(enrollments.tenantId, ctx.tenantId),
          eq(enrollments.courseId, courseId),
          inList(enrollments.userId, fresh),
          eq(enrollments.enrolledAt, now),
          eq(enrollments.source, "admin"),
          sql`NOT EXISTS (SELECT 1 FROM activities a WHERE a.tenant_id = ${enrollments.tenantId} AND a.user_id = ${enrollments.userId}
            AND a.type = 'enrollment.created' AND a.course_id = ${enrollments.courseId} AND json_extract(a.data, '$.enrollment_id') = ${enrollments.id})`,
        ),
      ).orderBy(asc(enrollments.id)),
      activity,
    ]);
    enrolled = (results[2] as EnrollmentRow[]).map((r) => toEnrollment(r, now));
  }
  const made = new Set(enrolled.map((e) => e.learner_id));
  return {
    enrolled,
    already_enrolled: ids.filter((id) => !made.has(id)),
    not_found_emails: notFoundEmails,
  };
}

async function enrolledUserIds(ctx: TenantContext, courseId: number, userIds: number[]) {
  if (userIds.length === 0) return new Set<number>();
  const rows = await ctx.db
    .select({ userId: enrollments.userId })
    .from(enrollments)
    .where(
      and(
        eq(enrollments.tenantId, ctx.tenantId),
        eq(enrollments.courseId, courseId),
        inList(enrollments.userId, userIds),
      ),
    );
  return new Set(rows.map((r) => r.userId));
}

export type EnrollmentAction = "remove" | "revoke" | "grant" | "expiry" | "reset-progress";

interface EnrollmentState {
  id: number;
  userId: number;
  status: "active" | "revoked";
  expiresAt: string | null;
}

/**
 * The actions on enrolled learners of a course. Learners not enrolled are reported (`not_enrolled`), learners
 * the action does not change (`unchanged`: revoking a revoked enrollment) too, so every action is idempotent.
 * Events and activity rows are written BEFORE the change in the same batch, selected by the same condition as
 * the change itself, so they name exactly the enrollments this batch changes.
 */
export async function changeEnrollments(
  ctx: TenantContext,
  courseId: number,
  action: EnrollmentAction,
  input: { learner_ids: number[]; expires_at?: string | null },
) {
  const now = nowIso();
  const expiresAt = action === "expiry" ? assertFuture(input.expires_at, now) : null;
  await findCourse(ctx, courseId);
  await assertLearnersExist(ctx, input.learner_ids);
  const t = ctx.tenantId;
  const learnerIds = [...new Set(input.learner_ids)];
  const rows: EnrollmentState[] = await ctx.db
    .select({
      id: enrollments.id,
      userId: enrollments.userId,
      status: enrollments.status,
      expiresAt: enrollments.expiresAt,
    })
    .from(enrollments)
    .where(
      and(eq(enrollments.tenantId, t), eq(enrollments.courseId, courseId), inList(enrollments.userId, learnerIds)),
    );
  const enrolled = new Set(rows.map((r) => r.userId));
  const notEnrolled = learnerIds.filter((id) => !enrolled.has(id));

  // The condition that selects the enrollments the action changes (evaluated inside the batch, not here).
  const scope = and(
    eq(enrollments.tenantId, t),
    eq(enrollments.courseId, courseId),
    inList(enrollments.userId, learnerIds),
  );
  const condition: Record<EnrollmentAction, SQL | undefined> = {
    remove: scope,
    "reset-progress": scope,
    revoke: and(scope, eq(enrollments.status, "active")),
    grant: and(scope, eq(enrollments.status, "revoked")),
    expiry: and(
      scope,
      expiresAt === null ? isNotNull(enrollments.expiresAt) : sql`${enrollments.expiresAt} IS NOT ${expiresAt}`,
    ),
  };
  const changes = (r: EnrollmentState) =>
    action === "revoke"
      ? r.status === "active"
      : action === "grant"
        ? r.status === "revoked"
        : action === "expiry"
          ? r.expiresAt !== expiresAt
          : true;
  const toChange = rows.filter(changes);
  const eventType = {
    remove: "enrollment.removed",
    revoke: "enrollment.revoked",
    grant: "enrollment.granted",
    expiry: "enrollment.expiry_changed",
    "reset-progress": "enrollment.progress_reset",
  }[action];
  if (toChange.length > 0) {
    const where = condition[action] as SQL;
    const extra = action === "expiry" ? sql`, 'expires_at', ${expiresAt}` : sql``;
    const event = sql`INSERT INTO outbox (tenant_id, type, data, occurred_at)
      SELECT ${t}, ${eventType}, json_object('id', id, 'course_id', course_id, 'user_id', user_id ${extra}), ${now}
      FROM enrollments WHERE ${where}`;
    const activity = sql`INSERT INTO activities (tenant_id, type, user_id, course_id, placement_id, actor, data, occurred_at)
      SELECT ${t}, ${eventType}, user_id, course_id, NULL, 'staff', json_object('enrollment_id', id ${extra}), ${now}
      FROM enrollments WHERE ${where}`;
    const change = changeStatements(ctx, action, where, scope, now, expiresAt, toChange);
    await ctx.db.batch([batchableRaw(ctx.db, event), batchableRaw(ctx.db, activity), ...change] as Batch);
  }
  const changedIds = new Set(toChange.map((r) => r.userId));
  return {
    changed: learnerIds.filter((id) => changedIds.has(id)),
    unchanged: learnerIds.filter((id) => enrolled.has(id) && !changedIds.has(id)),
    not_enrolled: notEnrolled,
  };
}

function changeStatements(
  ctx: TenantContext,
  action: EnrollmentAction,
  where: SQL,
  scope: SQL | undefined,
  now: string,
  expiresAt: string | null,
  toChange: EnrollmentState[],
): BatchItem<"sqlite">[] {
  const db = ctx.db;
  const progressOf = and(
    eq(moduleProgress.tenantId, ctx.tenantId),
    sql`${moduleProgress.enrollmentId} IN (SELECT id FROM enrollments WHERE ${scope})`,
  );
  switch (action) {
    case "remove":
      return [db.delete(moduleProgress).where(progressOf), db.delete(enrollments).where(where)];
    case "revoke":
      return [db.update(enrollments).set({ status: "revoked", revokedAt: now, updatedAt: now }).where(where)];
    case "grant":
      return [db.update(enrollments).set({ status: "active", revokedAt: null, updatedAt: now }).where(where)];
    case "expiry":
      return [db.update(enrollments).set({ expiresAt, updatedAt: now }).where(where)];
    case "reset-progress":
      return resetProgressStatements(
        ctx,
        toChange.map((r) => r.id),
      );
  }
}

// ---- a learner's enrollments -------------------------------------------------------------------------------------

export async function listLearnerEnrollments(ctx: TenantContext, learnerId: number, query: ListParams) {
  const learner = await ctx.db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.tenantId, ctx.tenantId), eq(users.kind, "learner"), eq(users.id, learnerId)));
  if (learner.length === 0) throw ApiError.notFound(`Learner ${learnerId}`);
  const now = nowIso();
  const where = and(
    eq(enrollments.tenantId, ctx.tenantId),
    eq(enrollments.userId, learnerId),
    sql`EXISTS (SELECT 1 FROM courses c WHERE c.id = ${enrollments.courseId} AND c.deleted_at IS NULL)`,
  );
  const order = orderBy(
    query.sort,
    { enrolled_at: enrollments.enrolledAt, progress: enrollments.progressPercent },
    enrollments.id,
  );
  const [rows, totals] = await ctx.db.batch([
    ctx.db
      .select({
        id: enrollments.id,
        courseId: enrollments.courseId,
        courseName: sql<string>`(SELECT c.name FROM courses c WHERE c.id = ${enrollments.courseId})`.as("course_name"),
        courseStatus: sql<string>`(SELECT c.status FROM courses c WHERE c.id = ${enrollments.courseId})`.as(
          "course_status",
        ),
        status: enrollments.status,
        source: enrollments.source,
        enrolledAt: enrollments.enrolledAt,
        startedAt: enrollments.startedAt,
        expiresAt: enrollments.expiresAt,
        revokedAt: enrollments.revokedAt,
        completedAt: enrollments.completedAt,
        lastAccessedAt: enrollments.lastAccessedAt,
        progressPercent: enrollments.progressPercent,
        grade: enrollments.grade,
      })
      .from(enrollments)
      .where(where)
      .orderBy(...order)
      .limit(query.per_page)
      .offset((query.page - 1) * query.per_page),
    ctx.db.select({ total: count() }).from(enrollments).where(where),
  ]);
  const total = totals[0]?.total ?? 0;
  return {
    data: rows.map((r) => ({
      id: r.id,
      course: { id: r.courseId, name: r.courseName, status: r.courseStatus },
      status: r.status,
      access: accessState(r, now) as "active" | "revoked" | "expired",
      progress_status: progressState(r) as "not_started" | "in_progress" | "completed",
      source: r.source,
      enrolled_at: r.enrolledAt,
      started_at: r.startedAt,
      expires_at: r.expiresAt,
      revoked_at: r.revokedAt,
      completed_at: r.completedAt,
      last_accessed_at: r.lastAccessedAt,
      progress_percent: r.progressPercent,
      grade: r.grade,
    })),
    meta: {
      page: query.page,
      per_page: query.per_page,
      total,
      last_page: Math.max(1, Math.ceil(total / query.per_page)),
    },
  };
}

// ---- learning paths ----------------------------------------------------------------------------------------------

export async function listPathEnrollments(ctx: TenantContext, pathId: number, query: ListParams & { q?: string }) {
  await findPathRow(ctx, pathId);
  const where = and(
    eq(pathEnrollments.tenantId, ctx.tenantId),
    eq(pathEnrollments.pathId, pathId),
    learnerMatches(pathEnrollments.userId as unknown as typeof enrollments.userId, query.q),
  );
  const order = orderBy(
    query.sort,
    {
      enrolled_at: pathEnrollments.enrolledAt,
      name: userCol(
        "name",
        pathEnrollments.userId as unknown as typeof enrollments.userId,
      ) as unknown as typeof pathEnrollments.enrolledAt,
    },
    pathEnrollments.id,
  );
  const [rows, totals] = await ctx.db.batch([
    ctx.db
      .select({
        id: pathEnrollments.id,
        pathId: pathEnrollments.pathId,
        userId: pathEnrollments.userId,
        status: pathEnrollments.status,
        enrolledAt: pathEnrollments.enrolledAt,
        expiresAt: pathEnrollments.expiresAt,
        completedAt: pathEnrollments.completedAt,
        ...pathLearnerColumns(),
      })
      .from(pathEnrollments)
      .where(where)
      .orderBy(...order)
      .limit(query.per_page)
      .offset((query.page - 1) * query.per_page),
    ctx.db.select({ total: count() }).from(pathEnrollments).where(where),
  ]);
  const total = totals[0]?.total ?? 0;
  return {
    data: rows.map(toPathEnrollment),
    meta: {
      page: query.page,
      per_page: query.per_page,
      total,
      last_page: Math.max(1, Math.ceil(total / query.per_page)),
    },
  };
}

function pathLearnerColumns() {
  const userId = pathEnrollments.userId as unknown as typeof enrollments.userId;
  return {
    learnerName: sql<string>`${userCol("name", userId)}`.as("learner_name"),
    learnerEmail: sql<string>`${userCol("email", userId)}`.as("learner_email"),
  };
}

function toPathEnrollment(r: {
  id: number;
  pathId: number;
  userId: number;
  status: "active" | "revoked";
  enrolledAt: string;
  expiresAt: string | null;
  completedAt: string | null;
  learnerName: string;
  learnerEmail: string;
}) {
  return {
    id: r.id,
    path_id: r.pathId,
    learner_id: r.userId,
    status: r.status,
    enrolled_at: r.enrolledAt,
    expires_at: r.expiresAt,
    completed_at: r.completedAt,
    learner: { id: r.userId, name: r.learnerName, email: r.learnerEmail },
  };
}

/**
 * Enrolls learners in a learning path and in every published course of it, in one batch. Learners already in
 * the path are reported, and still get the path's courses they lack (courses added to the path since), so
 * calling again is safe. Courses that are not published (or deleted) are skipped and reported.
 */
export async function enrollInPath(
  ctx: TenantContext,
  pathId: number,
  input: { learner_ids?: number[]; emails?: string[] },
) {
  const path = await getPath(ctx, pathId);
  if (path.status !== "published") {
    throw ApiError.conflict(
      `Learning path ${pathId} is ${path.status === "draft" ? "a draft" : "archived"}: only published paths take enrollments.`,
      { path_status: path.status },
    );
  }
  const { ids, notFoundEmails } = await resolveLearners(ctx, input.learner_ids, input.emails);
  const stepCourseIds = path.steps.map((s) => s.course_id);
  const courseRows =
    stepCourseIds.length === 0
      ? []
      : await ctx.db
          .select({ id: courses.id, status: courses.status, deletedAt: courses.deletedAt })
          .from(courses)
          .where(and(eq(courses.tenantId, ctx.tenantId), inList(courses.id, stepCourseIds)));
  const byId = new Map(courseRows.map((c) => [c.id, c]));
  const courseIds = stepCourseIds.filter((id) => byId.get(id)?.status === "published" && !byId.get(id)?.deletedAt);
  const skipped = stepCourseIds
    .filter((id) => !courseIds.includes(id))
    .map((id) => ({
      course_id: id,
      reason: byId.get(id)?.deletedAt ? "deleted" : (byId.get(id)?.status ?? "missing"),
    }));
  const existingRows =
    ids.length === 0
      ? []
      : await ctx.db
          .select({ userId: pathEnrollments.userId })
          .from(pathEnrollments)
          .where(
            and(
              eq(pathEnrollments.tenantId, ctx.tenantId),
              eq(pathEnrollments.pathId, pathId),
              inList(pathEnrollments.userId, ids),
            ),
          );
  const existing = new Set(existingRows.map((r) => r.userId));
  const fresh = ids.filter((id) => !existing.has(id));
  const now = nowIso();
  const t = ctx.tenantId;
  let enrolled: ReturnType<typeof toPathEnrollment>[] = [];
  let courseEnrollments = 0;
  if (ids.length > 0) {
    const freshJson = JSON.stringify(fresh);
    const statements: BatchItem<"sqlite">[] = [
      batchableRaw(
        ctx.db,
        sql`INSERT INTO path_enrollments (tenant_id, path_id, user_id, status, enrolled_at, updated_at)
          SELECT ${t}, ${pathId}, value, 'active', ${now}, ${now} FROM json_each(${freshJson}) WHERE true
          ON CONFLICT (tenant_id, path_id, user_id) DO NOTHING`,
      ),
      batchableRaw(
        ctx.db,
        sql`INSERT INTO outbox (tenant_id, type, data, occurred_at)
          SELECT ${t}, 'path_enrollment.created', json_object('id', id, 'path_id', path_id, 'user_id', user_id), ${now}
          FROM path_enrollments WHERE tenant_id = ${t} AND path_id = ${pathId}
            AND user_id IN (SELECT value FROM json_each(${freshJson})) AND enrolled_at = ${now}`,
      ),
      ...(courseIds.length > 0
        ? enrollStatements(ctx.db, t, {
            userSource: idsSource(ids),
            userFilter: idsFilter(ids),
            courseIds,
            source: "learning_path",
            now,
            pathId,
            actor: "staff",
          })
        : []),
      ctx.db
        .select({
          id: pathEnrollments.id,
          pathId: pathEnrollments.pathId,
          userId: pathEnrollments.userId,
          status: pathEnrollments.status,
          enrolledAt: pathEnrollments.enrolledAt,
          expiresAt: pathEnrollments.expiresAt,
          completedAt: pathEnrollments.completedAt,
          ...pathLearnerColumns(),
        })
        .from(pathEnrollments)
        .where(
          and(
            eq(pathEnrollments.tenantId, t),
            eq(pathEnrollments.pathId, pathId),
            inList(pathEnrollments.userId, fresh),
            eq(pathEnrollments.enrolledAt, now),
          ),
        )
        .orderBy(asc(pathEnrollments.id)),
      ctx.db
        .select({ n: count() })
        .from(enrollments)
        .where(
          and(
            eq(enrollments.tenantId, t),
            inList(enrollments.userId, ids),
            eq(enrollments.enrolledAt, now),
            eq(enrollments.source, "learning_path"),
          ),
        ),
    ];
    const results = await ctx.db.batch(statements as Batch);
    enrolled = (results[results.length - 2] as Parameters<typeof toPathEnrollment>[0][]).map(toPathEnrollment);
    courseEnrollments = (results[results.length - 1] as { n: number }[])[0]?.n ?? 0;
  }
  const made = new Set(enrolled.map((e) => e.learner_id));
  return {
    enrolled,
    already_enrolled: ids.filter((id) => !made.has(id)),
    not_found_emails: notFoundEmails,
    course_ids: courseIds,
    skipped_courses: skipped,
    course_enrollments_created: courseEnrollments,
  };
}

// ---- auto-enroll -------------------------------------------------------------------------------------------------

export async function listAutoEnroll(ctx: TenantContext) {
  const rows = await ctx.db
    .select({
      courseId: autoEnrollCourses.courseId,
      name: courses.name,
      status: courses.status,
      createdAt: autoEnrollCourses.createdAt,
    })
    .from(autoEnrollCourses)
    .innerJoin(
      courses,
      and(eq(courses.id, autoEnrollCourses.courseId), eq(courses.tenantId, autoEnrollCourses.tenantId)),
    )
    .where(and(eq(autoEnrollCourses.tenantId, ctx.tenantId), isNull(courses.deletedAt)))
    .orderBy(asc(courses.name), asc(autoEnrollCourses.courseId));
  return {
    data: rows.map((r) => ({
      course_id: r.courseId,
      course_name: r.name,
      course_status: r.status,
      added_at: r.createdAt,
    })),
  };
}

/** Replaces the auto-enroll courses (published, not deleted courses of this academy: 422 naming each other id). */
export async function setAutoEnroll(ctx: TenantContext, courseIds: number[]) {
  const ids = [...new Set(courseIds)];
  const t = ctx.tenantId;
  const rows =
    ids.length === 0
      ? []
      : await ctx.db
          .select({ id: courses.id, status: courses.status })
          .from(courses)
          .where(and(eq(courses.tenantId, t), isNull(courses.deletedAt), inList(courses.id, ids)));
  const status = new Map(rows.map((r) => [r.id, r.status]));
  const errors: FieldError[] = [];
  courseIds.forEach((id, i) => {
    const s = status.get(id);
    if (!s) errors.push({ path: `course_ids.${i}`, message: `Course ${id} does not exist.` });
    else if (s !== "published") errors.push({ path: `course_ids.${i}`, message: `Course ${id} is not published.` });
  });
  if (errors.length > 0) throw ApiError.validation(errors);
  const now = nowIso();
  await ctx.db.batch([
    ctx.db.delete(autoEnrollCourses).where(eq(autoEnrollCourses.tenantId, t)),
    batchableRaw(
      ctx.db,
      sql`INSERT INTO auto_enroll_courses (tenant_id, course_id, created_at)
        SELECT ${t}, value, ${now} FROM json_each(${JSON.stringify(ids)}) WHERE true
        ON CONFLICT (tenant_id, course_id) DO NOTHING`,
    ),
    outboxInsert(ctx.db, t, "auto_enroll.updated", { course_ids: ids }),
  ]);
  return listAutoEnroll(ctx);
}
