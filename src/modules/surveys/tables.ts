import { index, integer, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { contentModules } from "../content-modules/tables";
import { coursePlacements } from "../courses/tables";
import { enrollments } from "../enrollments/tables";
import { tenants } from "../tenants/tables";

/**
 * One submitted survey form. The questions live in the survey module's settings (`SurveyModuleSettings.questions`);
 * an anonymous survey stores its responses without `user_id` (who answered is only in `survey_participations`,
 * which holds no answers).
 */
export const surveyResponses = sqliteTable(
  "survey_responses",
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
    /** null when the survey is anonymous. */
    userId: integer("user_id"),
    anonymous: integer("anonymous", { mode: "boolean" }).notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    index("survey_responses_tenant_module_idx").on(t.tenantId, t.moduleId, t.id),
    index("survey_responses_tenant_user_idx").on(t.tenantId, t.userId, t.placementId),
    index("survey_responses_module_fk_idx").on(t.moduleId),
    index("survey_responses_placement_fk_idx").on(t.placementId),
  ],
);

/**
 * The answers of a response, one row per answered question (one per chosen option of a multiple choice), so
 * results aggregate in SQL: `option_index` for choices, `number` for ratings, `text` for text questions.
 */
export const surveyAnswers = sqliteTable(
  "survey_answers",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    responseId: integer("response_id")
      .notNull()
      .references(() => surveyResponses.id, { onDelete: "cascade" }),
    moduleId: integer("module_id").notNull(),
    questionId: text("question_id").notNull(),
    optionIndex: integer("option_index"),
    number: real("number"),
    text: text("text"),
  },
  (t) => [
    index("survey_answers_tenant_module_question_idx").on(t.tenantId, t.moduleId, t.questionId),
    index("survey_answers_tenant_response_idx").on(t.tenantId, t.responseId),
    index("survey_answers_response_fk_idx").on(t.responseId),
  ],
);

/** Who responded to a placed survey, and how often (the one-response rule), without the answers. */
export const surveyParticipations = sqliteTable(
  "survey_participations",
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
    moduleId: integer("module_id").notNull(),
    userId: integer("user_id").notNull(),
    responses: integer("responses").notNull(),
    firstRespondedAt: text("first_responded_at").notNull(),
    lastRespondedAt: text("last_responded_at").notNull(),
  },
  (t) => [
    uniqueIndex("survey_participations_tenant_enrollment_placement_uq").on(t.tenantId, t.enrollmentId, t.placementId),
    index("survey_participations_enrollment_fk_idx").on(t.enrollmentId),
    index("survey_participations_placement_fk_idx").on(t.placementId),
  ],
);
