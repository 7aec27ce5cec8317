import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { categories } from "../categories/tables";
import { tenants } from "../tenants/tables";
import { users } from "../users/tables";

/** The question types of the bank (issue 8). Every type but `essay` is graded automatically. */
export const QUESTION_TYPES = [
  "multiple_choice",
  "multiple_correct",
  "true_false",
  "short_answers",
  "numeric",
  "fill_in_blanks",
  "matching",
  "ordering",
  "essay",
] as const;

/**
 * A question of the academy's bank. `answer_key` holds the type's options and correct answers (validated per type
 * by the `QuestionKey` union of questions/schemas.ts); it never reaches a learner except as the results rules allow.
 */
export const questions = sqliteTable(
  "questions",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    type: text("type", { enum: QUESTION_TYPES }).notNull(),
    title: text("title").notNull(),
    content: text("content"),
    mediaIds: text("media_ids", { mode: "json" }).$type<number[]>().notNull().default(sql`'[]'`),
    hint: text("hint"),
    explanation: text("explanation"),
    points: integer("points").notNull().default(1),
    negativePoints: integer("negative_points").notNull().default(0),
    tags: text("tags", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    answerKey: text("answer_key", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    authorId: integer("author_id").references(() => users.id, { onDelete: "set null" }),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    index("questions_tenant_created_idx").on(t.tenantId, t.createdAt),
    index("questions_tenant_type_created_idx").on(t.tenantId, t.type, t.createdAt),
    index("questions_tenant_title_idx").on(t.tenantId, t.title),
    index("questions_tenant_updated_idx").on(t.tenantId, t.updatedAt),
    index("questions_author_fk_idx").on(t.authorId),
  ],
);

/** Question categories (categories of type `question`); dynamic quizzes draw from them. */
export const questionCategories = sqliteTable(
  "question_categories",
  {
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    questionId: integer("question_id")
      .notNull()
      .references(() => questions.id, { onDelete: "cascade" }),
    categoryId: integer("category_id")
      .notNull()
      .references(() => categories.id, { onDelete: "cascade" }),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.questionId, t.categoryId] }),
    // The dynamic draw reads only this index: `WHERE tenant_id = ? AND category_id = ? ORDER BY random() LIMIT n`.
    index("question_categories_tenant_category_idx").on(t.tenantId, t.categoryId, t.questionId),
    index("question_categories_question_fk_idx").on(t.questionId),
    index("question_categories_category_fk_idx").on(t.categoryId),
  ],
);
