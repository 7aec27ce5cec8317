import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { coursePlacements } from "../courses/tables";
import { enrollments } from "../enrollments/tables";
import { tenants } from "../tenants/tables";

/**
 * Where a learner stands on one placement of a course:
 * not_started -> in_progress -> completed, or -> submitted (waiting for review) -> passed | failed.
 */
export const MODULE_STATUSES = ["not_started", "in_progress", "submitted", "completed", "passed", "failed"] as const;

export const moduleProgress = sqliteTable(
  "module_progress",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    enrollmentId: integer("enrollment_id")
      .notNull()
      .references(() => enrollments.id, { onDelete: "cascade" }),
    placementId: integer("placement_id")
      .notNull()
      .references(() => coursePlacements.id, { onDelete: "cascade" }),
    courseId: integer("course_id").notNull(),
    userId: integer("user_id").notNull(),
    status: text("status", { enum: MODULE_STATUSES }).notNull().default("not_started"),
    firstAccessedAt: text("first_accessed_at"),
    lastAccessedAt: text("last_accessed_at"),
    completedAt: text("completed_at"),
    watchedSeconds: integer("watched_seconds").notNull().default(0),
    score: integer("score"),
    maxScore: integer("max_score"),
    attempts: integer("attempts").notNull().default(0),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("module_progress_tenant_enrollment_placement_uq").on(t.tenantId, t.enrollmentId, t.placementId),
    index("module_progress_tenant_course_user_idx").on(t.tenantId, t.courseId, t.userId),
    index("module_progress_enrollment_fk_idx").on(t.enrollmentId),
    index("module_progress_placement_fk_idx").on(t.placementId),
  ],
);
