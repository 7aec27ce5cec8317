import { and, eq, isNull, sql } from "drizzle-orm";
import type { TenantContext } from "../../platform/auth";
import { inList } from "../../platform/db";
import type { Db } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { coursePlacements, courses } from "./tables";

/** For each module id, the (not deleted) courses that place it: what a module shows and what blocks deleting it. */
export async function coursesUsingModules(ctx: TenantContext, moduleIds: number[]) {
  const usage = new Map<number, { id: number; name: string }[]>();
  if (moduleIds.length === 0) return usage;
  const rows = await ctx.db
    .select({ moduleId: coursePlacements.moduleId, id: courses.id, name: courses.name })
    .from(coursePlacements)
    .innerJoin(courses, and(eq(courses.id, coursePlacements.courseId), eq(courses.tenantId, ctx.tenantId)))
    .where(and(eq(coursePlacements.tenantId, ctx.tenantId), inList(coursePlacements.moduleId, moduleIds)))
    .orderBy(coursePlacements.moduleId, courses.id);
  for (const r of rows) usage.set(r.moduleId, [...(usage.get(r.moduleId) ?? []), { id: r.id, name: r.name }]);
  return usage;
}

/**
 * The statement that bumps the version of every course placing one of `moduleIds` (their outlines show the
 * module's name and type): put it in the batch that changes or deletes the modules.
 */
export function touchCoursesUsingModules(db: Db, tenantId: number, moduleIds: number[]) {
  return db
    .update(courses)
    .set({ version: sql`${courses.version} + 1` })
    .where(
      and(
        eq(courses.tenantId, tenantId),
        sql`${courses.id} IN (SELECT course_id FROM course_placements WHERE tenant_id = ${tenantId} AND ${inList(sql`module_id`, moduleIds)})`,
      ),
    );
}

/** Checks that every id is a (not deleted) course of this tenant; names the ones that are not. */
export async function assertCoursesExist(ctx: TenantContext, ids: number[], path: string) {
  if (ids.length === 0) return;
  const found = await ctx.db
    .select({ id: courses.id })
    .from(courses)
    .where(and(eq(courses.tenantId, ctx.tenantId), inList(courses.id, ids), isNull(courses.deletedAt)));
  const known = new Set(found.map((r) => r.id));
  const missing = ids.filter((id) => !known.has(id));
  if (missing.length) {
    throw ApiError.validation(
      missing.map((id) => ({ path, message: `Course ${id} is not a course of this academy.` })),
    );
  }
}
