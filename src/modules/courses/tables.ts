import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { categories } from "../categories/tables";
import { contentModules } from "../content-modules/tables";
import { tenants } from "../tenants/tables";
import { users } from "../users/tables";

export const COURSE_STATUSES = ["draft", "published", "archived"] as const;
/** The seeds' duration rules (Academy of Mine `Duration Rules Lookup`). */
export const DURATION_RULES = [
  "unlimited",
  "on_specific_date",
  "x_days_after_start",
  "x_days_after_enrollment",
] as const;
/** The seeds' grading rules (Academy of Mine `Grading Rules Lookup`). */
export const GRADING_RULES = ["no_grading", "avg_all_modules", "avg_specific_modules"] as const;
/** When a learner has completed the course. */
export const COMPLETION_RULES = ["all_modules", "required_modules", "percentage_of_modules", "passing_grade"] as const;
export const DRIP_RULES = ["none", "after_enrollment", "on_date"] as const;

export interface ThankYouPage {
  enabled: boolean;
  url: string | null;
  message: string | null;
}

/**
 * A course: Miestro's course fields and Academy of Mine's course settings. `version` grows with every change
 * to the course or its curriculum (cache keys and ETags of the read side use it).
 */
export const courses = sqliteTable(
  "courses",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    slug: text("slug").notNull(),
    subtitle: text("subtitle"),
    description: text("description"),
    status: text("status", { enum: COURSE_STATUSES }).notNull().default("draft"),
    showInCatalog: integer("show_in_catalog", { mode: "boolean" }).notNull().default(true),
    pictureUrl: text("picture_url"),
    thumbnailUrl: text("thumbnail_url"),
    logoUrl: text("logo_url"),
    landingPageUrl: text("landing_page_url"),
    customUrl: text("custom_url"),
    seoTitle: text("seo_title"),
    seoDescription: text("seo_description"),
    seoKeywords: text("seo_keywords"),
    finishMessage: text("finish_message"),
    thankYouPage: text("thank_you_page", { mode: "json" })
      .$type<ThankYouPage>()
      .notNull()
      .default(sql`'{"enabled":false,"url":null,"message":null}'`),
    ratingsEnabled: integer("ratings_enabled", { mode: "boolean" }).notNull().default(true),
    ratingCount: integer("rating_count").notNull().default(0),
    ratingSum: integer("rating_sum").notNull().default(0),
    durationRule: text("duration_rule", { enum: DURATION_RULES }).notNull().default("unlimited"),
    accessDays: integer("access_days"),
    accessUntil: text("access_until"),
    gradingRule: text("grading_rule", { enum: GRADING_RULES }).notNull().default("no_grading"),
    gradedModuleIds: text("graded_module_ids", { mode: "json" }).$type<number[]>().notNull().default(sql`'[]'`),
    passingGrade: integer("passing_grade"),
    completionRule: text("completion_rule", { enum: COMPLETION_RULES }).notNull().default("all_modules"),
    completionPercentage: integer("completion_percentage"),
    certificateTemplateIds: text("certificate_template_ids", { mode: "json" })
      .$type<number[]>()
      .notNull()
      .default(sql`'[]'`),
    sequentialNavigation: integer("sequential_navigation", { mode: "boolean" }).notNull().default(false),
    dripEnabled: integer("drip_enabled", { mode: "boolean" }).notNull().default(false),
    estimatedMinutes: integer("estimated_minutes"),
    version: integer("version").notNull().default(1),
    publishedAt: text("published_at"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    deletedAt: text("deleted_at"),
  },
  (t) => [
    uniqueIndex("courses_tenant_slug_uq").on(t.tenantId, t.slug),
    index("courses_tenant_created_idx").on(t.tenantId, t.createdAt),
    index("courses_tenant_status_created_idx").on(t.tenantId, t.status, t.createdAt),
    index("courses_tenant_name_idx").on(t.tenantId, t.name),
    index("courses_tenant_updated_idx").on(t.tenantId, t.updatedAt),
    // The public catalog: published, visible, not deleted, newest first.
    index("courses_tenant_catalog_idx").on(t.tenantId, t.status, t.showInCatalog, t.deletedAt, t.publishedAt),
    // The public catalog by name: covers the keys of a page (name, id), so deep pages walk the index alone.
    index("courses_tenant_catalog_name_idx").on(t.tenantId, t.status, t.showInCatalog, t.deletedAt, t.name),
  ],
);

export const courseCategories = sqliteTable(
  "course_categories",
  {
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    courseId: integer("course_id")
      .notNull()
      .references(() => courses.id, { onDelete: "cascade" }),
    categoryId: integer("category_id")
      .notNull()
      .references(() => categories.id, { onDelete: "cascade" }),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.courseId, t.categoryId] }),
    index("course_categories_tenant_category_idx").on(t.tenantId, t.categoryId),
    index("course_categories_category_fk_idx").on(t.categoryId),
  ],
);

/** Staff users who teach a course, in display order. */
export const courseInstructors = sqliteTable(
  "course_instructors",
  {
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    courseId: integer("course_id")
      .notNull()
      .references(() => courses.id, { onDelete: "cascade" }),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    position: integer("position").notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.courseId, t.userId] }),
    index("course_instructors_tenant_user_idx").on(t.tenantId, t.userId),
    index("course_instructors_user_fk_idx").on(t.userId),
  ],
);

/** An ordered, named part of a course's curriculum. */
export const courseSections = sqliteTable(
  "course_sections",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    courseId: integer("course_id")
      .notNull()
      .references(() => courses.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    description: text("description"),
    position: integer("position").notNull(),
    releaseAt: text("release_at"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [index("course_sections_tenant_course_position_idx").on(t.tenantId, t.courseId, t.position)],
);

/**
 * A module placed in a course section. The same module may sit in many courses, once per course.
 * Drip: `after_enrollment` opens `drip_days` after the learner enrolls; `on_date` opens at `drip_date`.
 */
export const coursePlacements = sqliteTable(
  "course_placements",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    courseId: integer("course_id")
      .notNull()
      .references(() => courses.id, { onDelete: "cascade" }),
    sectionId: integer("section_id")
      .notNull()
      .references(() => courseSections.id, { onDelete: "cascade" }),
    moduleId: integer("module_id")
      .notNull()
      .references(() => contentModules.id, { onDelete: "cascade" }),
    position: integer("position").notNull(),
    required: integer("required", { mode: "boolean" }).notNull().default(true),
    dripRule: text("drip_rule", { enum: DRIP_RULES }).notNull().default("none"),
    dripDays: integer("drip_days"),
    dripDate: text("drip_date"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("course_placements_tenant_course_module_uq").on(t.tenantId, t.courseId, t.moduleId),
    index("course_placements_tenant_section_position_idx").on(t.tenantId, t.sectionId, t.position),
    index("course_placements_tenant_module_idx").on(t.tenantId, t.moduleId),
    index("course_placements_module_fk_idx").on(t.moduleId),
    index("course_placements_section_fk_idx").on(t.sectionId),
  ],
);

/** Placement `placement_id` opens only once `prerequisite_id` (a placement of the same course) is complete. */
export const placementPrerequisites = sqliteTable(
  "placement_prerequisites",
  {
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    placementId: integer("placement_id")
      .notNull()
      .references(() => coursePlacements.id, { onDelete: "cascade" }),
    prerequisiteId: integer("prerequisite_id")
      .notNull()
      .references(() => coursePlacements.id, { onDelete: "cascade" }),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.placementId, t.prerequisiteId] }),
    index("placement_prerequisites_tenant_prerequisite_idx").on(t.tenantId, t.prerequisiteId),
    index("placement_prerequisites_placement_fk_idx").on(t.placementId),
    index("placement_prerequisites_prerequisite_fk_idx").on(t.prerequisiteId),
  ],
);
