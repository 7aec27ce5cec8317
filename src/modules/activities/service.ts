import { and, desc, eq, gte, lt, lte, type SQL } from "drizzle-orm";
import type { TenantContext } from "../../platform/auth";
import type { Db } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { nowIso } from "../../platform/time";
import { findCourse } from "../courses/service";
import { activities } from "./tables";

export type ActivityActor = "learner" | "staff" | "system";

export interface ActivityInput {
  type: string;
  userId?: number | null;
  courseId?: number | null;
  placementId?: number | null;
  actor?: ActivityActor;
  data?: Record<string, unknown>;
}

/**
 * The insert of one activity row, to put in the same `db.batch` as the change it records (shared contract of
 * the learning runtime: enrollments, progress and certificates all log through this).
 */
export function activityInsert(db: Db, tenantId: number, a: ActivityInput) {
  return db.insert(activities).values({
    tenantId,
    type: a.type,
    userId: a.userId ?? null,
    courseId: a.courseId ?? null,
    placementId: a.placementId ?? null,
    actor: a.actor ?? "learner",
    data: a.data ?? {},
    occurredAt: nowIso(),
  });
}

type ActivityRow = typeof activities.$inferSelect;

export function toActivity(row: ActivityRow) {
  return {
    id: row.id,
    type: row.type,
    learner_id: row.userId,
    course_id: row.courseId,
    placement_id: row.placementId,
    actor: row.actor,
    data: row.data,
    occurred_at: row.occurredAt,
  };
}

export interface ActivityQuery {
  cursor?: string;
  per_page: number;
  course_id?: number;
  learner_id?: number;
  type?: string;
  from?: string;
  to?: string;
}

/** A cursor is the last id of the previous page, opaque to clients (base64url of `a:<id>`). */
export function encodeCursor(id: number): string {
  return btoa(`a:${id}`).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

export function decodeCursor(cursor: string): number {
  let text = "";
  try {
    text = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    // falls through to the validation error
  }
  const match = /^a:(\d{1,15})$/.exec(text);
  if (!match)
    throw ApiError.validation([{ path: "query.cursor", message: "Invalid cursor: pass `meta.next_cursor` as is." }]);
  return Number(match[1]);
}

/**
 * Newest first, keyset-paginated by id: each filter has an index `(tenant_id, <filter>, id)`, so a page is one
 * index range whatever the size of the log. One extra row tells whether there is a next page.
 */
export async function listActivities(ctx: TenantContext, query: ActivityQuery) {
  const before = query.cursor ? decodeCursor(query.cursor) : undefined;
  const where: (SQL | undefined)[] = [
    eq(activities.tenantId, ctx.tenantId),
    query.course_id !== undefined ? eq(activities.courseId, query.course_id) : undefined,
    query.learner_id !== undefined ? eq(activities.userId, query.learner_id) : undefined,
    query.type !== undefined ? eq(activities.type, query.type) : undefined,
    query.from ? gte(activities.occurredAt, new Date(query.from).toISOString()) : undefined,
    query.to ? lte(activities.occurredAt, new Date(query.to).toISOString()) : undefined,
    before !== undefined ? lt(activities.id, before) : undefined,
  ];
  const rows = await ctx.db
    .select()
    .from(activities)
    .where(and(...where))
    .orderBy(desc(activities.id))
    .limit(query.per_page + 1);
  const more = rows.length > query.per_page;
  const page = more ? rows.slice(0, query.per_page) : rows;
  return {
    data: page.map(toActivity),
    meta: {
      per_page: query.per_page,
      next_cursor: more ? encodeCursor(page[page.length - 1].id) : null,
    },
  };
}

/** The activity of one course (404 for a course of another academy or a deleted one). */
export async function listCourseActivities(ctx: TenantContext, courseId: number, query: ActivityQuery) {
  await findCourse(ctx, courseId);
  return listActivities(ctx, { ...query, course_id: courseId });
}
