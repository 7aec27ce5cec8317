import { sql } from "drizzle-orm";
import { batchableRaw } from "../../platform/db";
import type { Db } from "../../platform/env";

/**
 * After a curriculum change (a placement added, removed or made optional, a section deleted): recounts the
 * progress of the course's unfinished enrollments in one statement, so "my courses" and enrollment lists never
 * show a percentage of an outline that no longer exists. Completed enrollments keep their completion.
 * Runs in the same batch as the change; its cost grows with the course's enrollments (an admin write, not a hot
 * path).
 */
export function recountCourseProgress(db: Db, tenantId: number, courseId: number, now: string) {
  const anyRequired = sql`EXISTS (SELECT 1 FROM course_placements q WHERE q.tenant_id = ${tenantId} AND q.course_id = ${courseId} AND q.required = 1)`;
  const total = sql`(SELECT CASE WHEN coalesce(sum(required), 0) > 0 THEN sum(required) ELSE count(*) END
                     FROM course_placements WHERE tenant_id = ${tenantId} AND course_id = ${courseId})`;
  const done = sql`(SELECT count(*) FROM module_progress mp JOIN course_placements p ON p.id = mp.placement_id
                    WHERE mp.tenant_id = ${tenantId} AND mp.enrollment_id = e.id AND mp.status IN ('completed', 'passed')
                    AND p.tenant_id = ${tenantId} AND p.course_id = ${courseId} AND (p.required = 1 OR NOT ${anyRequired}))`;
  return batchableRaw(
    db,
    sql`UPDATE enrollments AS e
        SET required_total = ${total},
            required_done = ${done},
            progress_percent = CASE WHEN ${total} > 0 THEN min(100, (${done} * 100) / ${total}) ELSE 0 END,
            updated_at = ${now}
        WHERE e.tenant_id = ${tenantId} AND e.course_id = ${courseId} AND e.completed_at IS NULL`,
  );
}
