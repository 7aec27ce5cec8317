import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { contentModules } from "../content-modules/tables";
import { coursePlacements } from "../courses/tables";
import { enrollments } from "../enrollments/tables";
import { questions } from "../questions/tables";
import { tenants } from "../tenants/tables";
import { users } from "../users/tables";

/** The chosen questions of a static quiz (a quiz module), in order. */
export const quizQuestions = sqliteTable(
  "quiz_questions",
  {
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    moduleId: integer("module_id")
      .notNull()
      .references(() => contentModules.id, { onDelete: "cascade" }),
    questionId: integer("question_id")
      .notNull()
      .references(() => questions.id, { onDelete: "cascade" }),
    position: integer("position").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.moduleId, t.questionId] }),
    index("quiz_questions_tenant_module_position_idx").on(t.tenantId, t.moduleId, t.position),
    index("quiz_questions_tenant_question_idx").on(t.tenantId, t.questionId),
    index("quiz_questions_module_fk_idx").on(t.moduleId),
    index("quiz_questions_question_fk_idx").on(t.questionId),
  ],
);

export const ATTEMPT_STATUSES = ["in_progress", "pending_review", "graded"] as const;

/**
 * One attempt of a learner at a quiz placement. While `in_progress` the QuizAttempt Durable Object named after
 * the attempt is the authority (questions, answers, deadline); submit writes the result here.
 */
export const quizAttempts = sqliteTable(
  "quiz_attempts",
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
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    number: integer("number").notNull(),
    status: text("status", { enum: ATTEMPT_STATUSES }).notNull().default("in_progress"),
    submittedBy: text("submitted_by", { enum: ["learner", "deadline"] }),
    questionCount: integer("question_count").notNull(),
    startedAt: text("started_at").notNull(),
    deadlineAt: text("deadline_at"),
    submittedAt: text("submitted_at"),
    gradedAt: text("graded_at"),
    score: real("score"),
    maxScore: real("max_score"),
    percent: real("percent"),
    passed: integer("passed", { mode: "boolean" }),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("quiz_attempts_tenant_enrollment_placement_number_uq").on(
      t.tenantId,
      t.enrollmentId,
      t.placementId,
      t.number,
    ),
    index("quiz_attempts_tenant_user_module_idx").on(t.tenantId, t.userId, t.moduleId, t.startedAt),
    index("quiz_attempts_tenant_module_started_idx").on(t.tenantId, t.moduleId, t.startedAt),
    index("quiz_attempts_tenant_module_status_idx").on(t.tenantId, t.moduleId, t.status),
    index("quiz_attempts_module_fk_idx").on(t.moduleId),
    index("quiz_attempts_placement_fk_idx").on(t.placementId),
    index("quiz_attempts_enrollment_fk_idx").on(t.enrollmentId),
    index("quiz_attempts_user_fk_idx").on(t.userId),
  ],
);

/**
 * The graded answers of a submitted attempt, with the question as it was presented (`question`: the frozen
 * snapshot including its key, so later edits of the bank never change a past result).
 */
export const quizAttemptAnswers = sqliteTable(
  "quiz_attempt_answers",
  {
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    attemptId: integer("attempt_id")
      .notNull()
      .references(() => quizAttempts.id, { onDelete: "cascade" }),
    moduleId: integer("module_id").notNull(),
    questionId: integer("question_id").notNull(),
    position: integer("position").notNull(),
    questionType: text("question_type").notNull(),
    question: text("question", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    answer: text("answer", { mode: "json" }).$type<Record<string, unknown>>(),
    /** 1 right, 0 wrong or unanswered, null waiting for manual grading (essays) */
    correct: integer("correct", { mode: "boolean" }),
    score: real("score"),
    maxScore: real("max_score").notNull(),
    feedback: text("feedback"),
    gradedBy: integer("graded_by"),
    gradedAt: text("graded_at"),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.attemptId, t.questionId] }),
    index("quiz_attempt_answers_tenant_module_question_idx").on(t.tenantId, t.moduleId, t.questionId),
    index("quiz_attempt_answers_attempt_fk_idx").on(t.attemptId),
  ],
);
