import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { categories } from "../categories/tables";
import { courses } from "../courses/tables";
import { tenants } from "../tenants/tables";

export const LEARNING_PATH_STATUSES = ["draft", "published", "archived"] as const;

/** An ordered series of courses, with its own certificate. */
export const learningPaths = sqliteTable(
  "learning_paths",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    slug: text("slug").notNull(),
    description: text("description"),
    pictureUrl: text("picture_url"),
    status: text("status", { enum: LEARNING_PATH_STATUSES }).notNull().default("draft"),
    showInCatalog: integer("show_in_catalog", { mode: "boolean" }).notNull().default(true),
    certificateTemplateId: integer("certificate_template_id"),
    publishedAt: text("published_at"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("learning_paths_tenant_slug_uq").on(t.tenantId, t.slug),
    index("learning_paths_tenant_created_idx").on(t.tenantId, t.createdAt),
    index("learning_paths_tenant_status_created_idx").on(t.tenantId, t.status, t.createdAt),
    index("learning_paths_tenant_name_idx").on(t.tenantId, t.name),
    index("learning_paths_tenant_catalog_idx").on(t.tenantId, t.status, t.showInCatalog, t.publishedAt),
    index("learning_paths_tenant_catalog_name_idx").on(t.tenantId, t.status, t.showInCatalog, t.name),
  ],
);

/** A course in a learning path, at a position, required or optional. */
export const learningPathSteps = sqliteTable(
  "learning_path_steps",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    pathId: integer("path_id")
      .notNull()
      .references(() => learningPaths.id, { onDelete: "cascade" }),
    courseId: integer("course_id")
      .notNull()
      .references(() => courses.id, { onDelete: "cascade" }),
    position: integer("position").notNull(),
    required: integer("required", { mode: "boolean" }).notNull().default(true),
  },
  (t) => [
    uniqueIndex("learning_path_steps_tenant_path_course_uq").on(t.tenantId, t.pathId, t.courseId),
    index("learning_path_steps_tenant_path_position_idx").on(t.tenantId, t.pathId, t.position),
    index("learning_path_steps_tenant_course_idx").on(t.tenantId, t.courseId),
    index("learning_path_steps_path_fk_idx").on(t.pathId),
  ],
);

/** Step `step_id` opens once `prerequisite_step_id` (a step of the same path) is complete. */
export const learningPathStepPrerequisites = sqliteTable(
  "learning_path_step_prerequisites",
  {
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    stepId: integer("step_id")
      .notNull()
      .references(() => learningPathSteps.id, { onDelete: "cascade" }),
    prerequisiteStepId: integer("prerequisite_step_id")
      .notNull()
      .references(() => learningPathSteps.id, { onDelete: "cascade" }),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.stepId, t.prerequisiteStepId] }),
    index("learning_path_step_prerequisites_step_fk_idx").on(t.stepId),
    index("learning_path_step_prerequisites_prerequisite_fk_idx").on(t.prerequisiteStepId),
  ],
);

export const learningPathCategories = sqliteTable(
  "learning_path_categories",
  {
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    pathId: integer("path_id")
      .notNull()
      .references(() => learningPaths.id, { onDelete: "cascade" }),
    categoryId: integer("category_id")
      .notNull()
      .references(() => categories.id, { onDelete: "cascade" }),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.pathId, t.categoryId] }),
    index("learning_path_categories_tenant_category_idx").on(t.tenantId, t.categoryId),
    index("learning_path_categories_path_fk_idx").on(t.pathId),
    index("learning_path_categories_category_fk_idx").on(t.categoryId),
  ],
);
