import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { contentModules } from "../content-modules/tables";
import { coursePlacements } from "../courses/tables";
import { enrollments } from "../enrollments/tables";
import { tenants } from "../tenants/tables";

/**
 * submitted (waiting for an instructor) -> passed | failed | resubmission_requested; a newer submission of the
 * same learner and placement turns a waiting one into `superseded`.
 */
export const SUBMISSION_STATUSES = ["submitted", "passed", "failed", "resubmission_requested", "superseded"] as const;

/** A learner's hand-in for an assignment placement; the assignment itself is the module's settings. */
export const assignmentSubmissions = sqliteTable(
  "assignment_submissions",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    moduleId: integer("module_id")
      .notNull()
      .references(() => contentModules.id, { onDelete: "cascade" }),
    courseId: integer("course_id").notNull(),
    placementId: integer("placement_id")
      .notNull()
      .references(() => coursePlacements.id, { onDelete: "cascade" }),
    enrollmentId: integer("enrollment_id")
      .notNull()
      .references(() => enrollments.id, { onDelete: "cascade" }),
    userId: integer("user_id").notNull(),
    /** 1 for the first submission of this learner on this placement, then 2, 3, ... */
    attempt: integer("attempt").notNull(),
    text: text("text"),
    status: text("status", { enum: SUBMISSION_STATUSES }).notNull(),
    late: integer("late", { mode: "boolean" }).notNull(),
    score: integer("score"),
    maxScore: integer("max_score").notNull(),
    feedback: text("feedback"),
    evaluatedBy: integer("evaluated_by"),
    evaluatedAt: text("evaluated_at"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("assignment_submissions_tenant_enrollment_placement_attempt_uq").on(
      t.tenantId,
      t.enrollmentId,
      t.placementId,
      t.attempt,
    ),
    index("assignment_submissions_tenant_status_course_idx").on(t.tenantId, t.status, t.courseId),
    index("assignment_submissions_tenant_module_idx").on(t.tenantId, t.moduleId, t.createdAt),
    index("assignment_submissions_tenant_course_idx").on(t.tenantId, t.courseId, t.createdAt),
    index("assignment_submissions_tenant_created_idx").on(t.tenantId, t.createdAt),
    index("assignment_submissions_tenant_user_idx").on(t.tenantId, t.userId, t.createdAt),
    index("assignment_submissions_module_fk_idx").on(t.moduleId),
    index("assignment_submissions_placement_fk_idx").on(t.placementId),
    index("assignment_submissions_enrollment_fk_idx").on(t.enrollmentId),
  ],
);

/** A file of a submission, stored in R2 MEDIA under `t/<tenant_id>/submissions/<submission_id>/<file_id>`. */
export const submissionFiles = sqliteTable(
  "submission_files",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    submissionId: integer("submission_id")
      .notNull()
      .references(() => assignmentSubmissions.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    contentType: text("content_type").notNull(),
    size: integer("size").notNull(),
    r2Key: text("r2_key").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    index("submission_files_tenant_submission_idx").on(t.tenantId, t.submissionId),
    index("submission_files_submission_fk_idx").on(t.submissionId),
  ],
);
