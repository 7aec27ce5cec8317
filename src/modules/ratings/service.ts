import { and, asc, count, desc, eq, isNull, type SQL, sql } from "drizzle-orm";
import type { LearnerPrincipal, TenantContext } from "../../platform/auth";
import { ApiError } from "../../platform/errors";
import { outboxInsert } from "../../platform/events";
import { contains, type ListParams, type Page } from "../../platform/pagination";
import { nowIso } from "../../platform/time";
// The ratings table references courses and users (FKs); the aggregate columns live on courses.
import { courses } from "../courses/tables";
import { enrollments } from "../enrollments/tables";
import { catalogChanged } from "../tenants/service";
import { users } from "../users/tables";
import { courseRatings } from "./tables";

type RatingRow = typeof courseRatings.$inferSelect;
type CourseRow = typeof courses.$inferSelect;

export type RatingListParams = ListParams & { q?: string; rating?: number };

/** `sum / count` with two decimals, or null without ratings. */
export function ratingAverage(sum: number, countOf: number): number | null {
  return countOf > 0 ? Math.round((sum / countOf) * 100) / 100 : null;
}

export function toMyRating(row: RatingRow) {
  return {
    id: row.id,
    course_id: row.courseId,
    rating: row.rating,
    review: row.review,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

/** A course of the tenant that is not deleted (admin side), or 404. */
async function existingCourse(ctx: TenantContext, courseId: number): Promise<CourseRow> {
  const row = await ctx.db.query.courses.findFirst({
    where: and(eq(courses.tenantId, ctx.tenantId), eq(courses.id, courseId), isNull(courses.deletedAt)),
  });
  if (!row) throw ApiError.notFound(`Course ${courseId}`);
  return row;
}

/** A published, not deleted course of the learner's tenant, or 404 (drafts do not exist for learners). */
async function publishedCourse(ctx: TenantContext, courseId: number): Promise<CourseRow> {
  const row = await existingCourse(ctx, courseId);
  if (row.status !== "published") throw ApiError.notFound(`Course ${courseId}`);
  return row;
}

/** Only learners who took the course rate it: an enrollment in any state (active, completed, expired, revoked). */
async function assertEnrolled(ctx: TenantContext<LearnerPrincipal>, courseId: number) {
  const [row] = await ctx.db
    .select({ id: enrollments.id })
    .from(enrollments)
    .where(
      and(
        eq(enrollments.tenantId, ctx.tenantId),
        eq(enrollments.courseId, courseId),
        eq(enrollments.userId, ctx.principal.userId),
      ),
    )
    .limit(1);
  if (!row) throw ApiError.forbidden("Only learners enrolled in this course can rate it.");
}

function assertRatingsOn(course: CourseRow) {
  if (!course.ratingsEnabled) throw ApiError.conflict("Ratings are turned off for this course");
}

const ofCourse = (ctx: TenantContext, courseId: number) =>
  and(eq(courseRatings.tenantId, ctx.tenantId), eq(courseRatings.courseId, courseId));

/** SQL for the rating (0 if none) and the count (0 or 1) of the rows matching `where` right now. */
function currentContribution(where: SQL) {
  return {
    sum: sql`coalesce((SELECT ${courseRatings.rating} FROM ${courseRatings} WHERE ${where}), 0)`,
    count: sql`(SELECT count(*) FROM ${courseRatings} WHERE ${where})`,
  };
}

/**
 * The course statement of every rating write: takes out what the rating row(s) matching `where` contribute now
 * (read in SQL, in the same atomic batch, never in JavaScript), adds `add`, and bumps the course's version
 * (the public course page shows the average).
 */
function adjustCourse(ctx: TenantContext, courseId: number, where: SQL, add: { sum: number; count: number }) {
  const old = currentContribution(where);
  return ctx.db
    .update(courses)
    .set({
      ratingSum: sql`${courses.ratingSum} - ${old.sum} + ${add.sum}`,
      ratingCount: sql`${courses.ratingCount} - ${old.count} + ${add.count}`,
      version: sql`${courses.version} + 1`,
    })
    .where(and(eq(courses.tenantId, ctx.tenantId), eq(courses.id, courseId)));
}

function mineWhere(ctx: TenantContext<LearnerPrincipal>, courseId: number) {
  return and(ofCourse(ctx, courseId), eq(courseRatings.userId, ctx.principal.userId)) as SQL;
}

async function findMine(ctx: TenantContext<LearnerPrincipal>, courseId: number) {
  return ctx.db.query.courseRatings.findFirst({ where: mineWhere(ctx, courseId) });
}

/**
 * Creates or replaces the learner's one rating of the course. The course's count and sum change in the same
 * batch through SQL expressions (safe under concurrent ratings of other learners).
 */
export async function upsertMyRating(
  ctx: TenantContext<LearnerPrincipal>,
  courseId: number,
  input: { rating: number; review?: string | null },
) {
  const course = await publishedCourse(ctx, courseId);
  assertRatingsOn(course);
  await assertEnrolled(ctx, courseId);
  const existing = await findMine(ctx, courseId);
  const now = nowIso();
  const review = input.review ? input.review : null;
  const userId = ctx.principal.userId;
  const [, [row]] = await ctx.db.batch([
    adjustCourse(ctx, courseId, mineWhere(ctx, courseId), { sum: input.rating, count: 1 }),
    ctx.db
      .insert(courseRatings)
      .values({
        tenantId: ctx.tenantId,
        courseId,
        userId,
        rating: input.rating,
        review,
        createdAt: now,
        updatedAt: now,
      })
      .onConflictDoUpdate({
        target: [courseRatings.tenantId, courseRatings.courseId, courseRatings.userId],
        set: { rating: input.rating, review, updatedAt: now },
      })
      .returning(),
    catalogChanged(ctx.db, ctx.tenantId),
    outboxInsert(ctx.db, ctx.tenantId, existing ? "rating.updated" : "rating.created", {
      ...(existing ? { id: existing.id } : {}),
      course_id: courseId,
      user_id: userId,
      rating: input.rating,
      ...(existing ? { previous_rating: existing.rating } : {}),
    }),
  ]);
  return { rating: toMyRating(row), created: !existing };
}

export async function getMyRating(ctx: TenantContext<LearnerPrincipal>, courseId: number) {
  await publishedCourse(ctx, courseId);
  const row = await findMine(ctx, courseId);
  if (!row) throw ApiError.notFound("Your rating of this course");
  return toMyRating(row);
}

async function deleteRatingRow(ctx: TenantContext, row: RatingRow, by: "learner" | "staff") {
  const where = and(eq(courseRatings.tenantId, ctx.tenantId), eq(courseRatings.id, row.id)) as SQL;
  await ctx.db.batch([
    adjustCourse(ctx, row.courseId, where, { sum: 0, count: 0 }),
    ctx.db.delete(courseRatings).where(where),
    catalogChanged(ctx.db, ctx.tenantId),
    outboxInsert(ctx.db, ctx.tenantId, "rating.deleted", {
      id: row.id,
      course_id: row.courseId,
      user_id: row.userId,
      rating: row.rating,
      deleted_by: by,
    }),
  ]);
}

/** A learner withdraws their rating (allowed even while ratings are turned off). */
export async function deleteMyRating(ctx: TenantContext<LearnerPrincipal>, courseId: number) {
  await publishedCourse(ctx, courseId);
  const row = await findMine(ctx, courseId);
  if (!row) throw ApiError.notFound("Your rating of this course");
  await deleteRatingRow(ctx, row, "learner");
}

/** The star distribution of a course (covered by the (tenant, course, rating) index). */
export async function ratingDistribution(ctx: TenantContext, courseId: number) {
  const rows = await ctx.db
    .select({ rating: courseRatings.rating, n: count() })
    .from(courseRatings)
    .where(ofCourse(ctx, courseId))
    .groupBy(courseRatings.rating);
  const distribution = { "1": 0, "2": 0, "3": 0, "4": 0, "5": 0 };
  for (const r of rows) {
    const key = String(r.rating) as keyof typeof distribution;
    if (key in distribution) distribution[key] = r.n;
  }
  return distribution;
}

export async function ratingSummary(ctx: TenantContext, course: CourseRow) {
  return {
    average: ratingAverage(course.ratingSum, course.ratingCount),
    count: course.ratingCount,
    distribution: await ratingDistribution(ctx, course.id),
  };
}

/**
 * A rating and its learner as flat, uniquely named columns: D1 batches return rows as objects, so two columns
 * of the same name (`id`, `name`) from a join would overwrite each other.
 */
const joinedColumns = {
  id: courseRatings.id,
  tenantId: courseRatings.tenantId,
  courseId: courseRatings.courseId,
  userId: courseRatings.userId,
  rating: courseRatings.rating,
  review: courseRatings.review,
  createdAt: courseRatings.createdAt,
  updatedAt: courseRatings.updatedAt,
  // Scalar lookups by primary key, not a join: the planner may otherwise scan users as the outer loop.
  learnerName: sql<string>`(SELECT ${users.name} FROM ${users} WHERE ${users.id} = ${courseRatings.userId})`.as(
    "learner_name",
  ),
  learnerEmail: sql<string>`(SELECT ${users.email} FROM ${users} WHERE ${users.id} = ${courseRatings.userId})`.as(
    "learner_email",
  ),
};

type JoinedRow = RatingRow & { learnerName: string; learnerEmail: string };

/** One page of a course's ratings with the rater, and the total, in one batch. */
async function ratingPage(ctx: TenantContext, courseId: number, query: RatingListParams): Promise<Page<JoinedRow>> {
  const where = and(
    ofCourse(ctx, courseId),
    query.rating ? eq(courseRatings.rating, query.rating) : undefined,
    query.q ? contains(courseRatings.review, query.q) : undefined,
  );
  const columns = { created_at: courseRatings.createdAt, rating: courseRatings.rating };
  const order = query.sort
    .split(",")
    .filter(Boolean)
    .map((field) => {
      const descending = field.startsWith("-");
      const column = columns[(descending ? field.slice(1) : field) as keyof typeof columns];
      return descending ? desc(column) : asc(column);
    });
  const offset = (query.page - 1) * query.per_page;
  const [rows, totals] = await ctx.db.batch([
    ctx.db
      .select(joinedColumns)
      .from(courseRatings)
      .where(where)
      .orderBy(...order, desc(courseRatings.id))
      .limit(query.per_page)
      .offset(offset),
    ctx.db.select({ total: count() }).from(courseRatings).where(where),
  ]);
  const total = totals[0]?.total ?? 0;
  return {
    data: rows,
    meta: {
      page: query.page,
      per_page: query.per_page,
      total,
      last_page: Math.max(1, Math.ceil(total / query.per_page)),
    },
  };
}

/** What learners see: every rating of a published course, newest first by default, the reviewer's name only. */
export async function listRatingsForLearner(ctx: TenantContext, courseId: number, query: RatingListParams) {
  const course = await publishedCourse(ctx, courseId);
  assertRatingsOn(course);
  const [page, summary] = await Promise.all([ratingPage(ctx, courseId, query), ratingSummary(ctx, course)]);
  return {
    data: page.data.map((row) => ({
      id: row.id,
      rating: row.rating,
      review: row.review,
      reviewer: { name: row.learnerName },
      created_at: row.createdAt,
      updated_at: row.updatedAt,
    })),
    meta: page.meta,
    summary,
  };
}

function toAdminRating(row: JoinedRow) {
  return { ...toMyRating(row), learner: { id: row.userId, name: row.learnerName, email: row.learnerEmail } };
}

/** What staff see: ratings of any (not deleted) course of the academy with who gave them. */
export async function listRatingsForAdmin(ctx: TenantContext, courseId: number, query: RatingListParams) {
  const course = await existingCourse(ctx, courseId);
  const [page, summary] = await Promise.all([ratingPage(ctx, courseId, query), ratingSummary(ctx, course)]);
  return { data: page.data.map(toAdminRating), meta: page.meta, summary };
}

async function findRatingOfCourse(ctx: TenantContext, courseId: number, ratingId: number): Promise<JoinedRow> {
  await existingCourse(ctx, courseId);
  const [row] = await ctx.db
    .select(joinedColumns)
    .from(courseRatings)
    .where(and(ofCourse(ctx, courseId), eq(courseRatings.id, ratingId)))
    .limit(1);
  if (!row) throw ApiError.notFound(`Rating ${ratingId} of course ${courseId}`);
  return row;
}

export async function getRatingForAdmin(ctx: TenantContext, courseId: number, ratingId: number) {
  return toAdminRating(await findRatingOfCourse(ctx, courseId, ratingId));
}

/** Staff remove a rating (moderation); the course's average follows in the same batch. */
export async function deleteRatingForAdmin(ctx: TenantContext, courseId: number, ratingId: number) {
  await deleteRatingRow(ctx, await findRatingOfCourse(ctx, courseId, ratingId), "staff");
}

/**
 * The statement that takes a learner's ratings out of their courses' counts and sums: put it in the batch that
 * deletes the learner, BEFORE the delete (the ratings rows go by cascade, which would leave the aggregates stale).
 */
export function forgetRatingsOfUser(ctx: TenantContext, userId: number) {
  const byUser = sql`${courseRatings.tenantId} = ${ctx.tenantId} AND ${courseRatings.userId} = ${userId}`;
  return ctx.db
    .update(courses)
    .set({
      ratingSum: sql`${courses.ratingSum} - coalesce((SELECT sum(${courseRatings.rating}) FROM ${courseRatings} WHERE ${byUser} AND ${courseRatings.courseId} = ${courses.id}), 0)`,
      ratingCount: sql`${courses.ratingCount} - (SELECT count(*) FROM ${courseRatings} WHERE ${byUser} AND ${courseRatings.courseId} = ${courses.id})`,
      version: sql`${courses.version} + 1`,
    })
    .where(
      and(
        eq(courses.tenantId, ctx.tenantId),
        sql`${courses.id} IN (SELECT ${courseRatings.courseId} FROM ${courseRatings} WHERE ${byUser})`,
      ),
    );
}
