import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { courses } from "../courses/tables";
import { learningPaths } from "../learning-paths/tables";
import { tenants } from "../tenants/tables";
import { users } from "../users/tables";

export const ENROLLMENT_STATUSES = ["active", "revoked"] as const;
export const ENROLLMENT_SOURCES = ["admin", "learning_path", "auto", "self"] as const;

/**
 * A learner's enrollment in a course. `status` says whether access is granted; completion is `completed_at`
 * (set once). Progress counters are kept here, recomputed in the batch that changes a module status, so
 * "my courses" and enrollment lists read one row per course.
 */
export const enrollments = sqliteTable(
  "enrollments",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    courseId: integer("course_id")
      .notNull()
      .references(() => courses.id, { onDelete: "cascade" }),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    status: text("status", { enum: ENROLLMENT_STATUSES }).notNull().default("active"),
    source: text("source", { enum: ENROLLMENT_SOURCES }).notNull().default("admin"),
    pathEnrollmentId: integer("path_enrollment_id"),
    enrolledAt: text("enrolled_at").notNull(),
    startedAt: text("started_at"),
    expiresAt: text("expires_at"),
    revokedAt: text("revoked_at"),
    completedAt: text("completed_at"),
    lastAccessedAt: text("last_accessed_at"),
    resumePlacementId: integer("resume_placement_id"),
    requiredTotal: integer("required_total").notNull().default(0),
    requiredDone: integer("required_done").notNull().default(0),
    progressPercent: integer("progress_percent").notNull().default(0),
    grade: integer("grade"),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("enrollments_tenant_course_user_uq").on(t.tenantId, t.courseId, t.userId),
    index("enrollments_tenant_user_enrolled_idx").on(t.tenantId, t.userId, t.enrolledAt),
    index("enrollments_tenant_course_enrolled_idx").on(t.tenantId, t.courseId, t.enrolledAt),
    index("enrollments_tenant_course_status_idx").on(t.tenantId, t.courseId, t.status, t.enrolledAt),
    index("enrollments_tenant_course_progress_idx").on(t.tenantId, t.courseId, t.progressPercent),
    index("enrollments_user_fk_idx").on(t.userId),
    index("enrollments_course_fk_idx").on(t.courseId),
  ],
);

/** A learner's enrollment in a learning path (which enrolls them in its courses). */
export const pathEnrollments = sqliteTable(
  "path_enrollments",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    pathId: integer("path_id")
      .notNull()
      .references(() => learningPaths.id, { onDelete: "cascade" }),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    status: text("status", { enum: ENROLLMENT_STATUSES }).notNull().default("active"),
    enrolledAt: text("enrolled_at").notNull(),
    expiresAt: text("expires_at"),
    completedAt: text("completed_at"),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("path_enrollments_tenant_path_user_uq").on(t.tenantId, t.pathId, t.userId),
    index("path_enrollments_tenant_user_idx").on(t.tenantId, t.userId, t.enrolledAt),
    index("path_enrollments_tenant_path_enrolled_idx").on(t.tenantId, t.pathId, t.enrolledAt),
    index("path_enrollments_user_fk_idx").on(t.userId),
    index("path_enrollments_path_fk_idx").on(t.pathId),
  ],
);

/** Courses every new learner of the academy is enrolled in. */
export const autoEnrollCourses = sqliteTable(
  "auto_enroll_courses",
  {
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    courseId: integer("course_id")
      .notNull()
      .references(() => courses.id, { onDelete: "cascade" }),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("auto_enroll_courses_tenant_course_uq").on(t.tenantId, t.courseId),
    index("auto_enroll_courses_course_fk_idx").on(t.courseId),
  ],
);
