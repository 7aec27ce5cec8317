import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { categories } from "../categories/tables";
import { tenants } from "../tenants/tables";

/** Every module type of the seeds. Type-specific fields live in `settings`, validated per type. */
export const MODULE_TYPES = [
  "text",
  "video",
  "audio",
  "pdf",
  "powerpoint",
  "embed",
  "assignment",
  "quiz",
  "survey",
  "scorm",
  "discussion",
  "flashcards",
  "webinar",
] as const;

/**
 * A reusable content item ("module" in the seeds). Courses place modules into sections; one module may sit in
 * several courses. Content that lives elsewhere (quiz questions, a SCORM package, a media file) is referenced
 * by id from `settings`.
 */
export const contentModules = sqliteTable(
  "modules",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    type: text("type", { enum: MODULE_TYPES }).notNull(),
    name: text("name").notNull(),
    slug: text("slug").notNull(),
    description: text("description"),
    estimatedMinutes: integer("estimated_minutes"),
    points: integer("points").notNull().default(0),
    settings: text("settings", { mode: "json" }).$type<Record<string, unknown>>().notNull().default(sql`'{}'`),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("modules_tenant_slug_uq").on(t.tenantId, t.slug),
    index("modules_tenant_created_idx").on(t.tenantId, t.createdAt),
    index("modules_tenant_type_created_idx").on(t.tenantId, t.type, t.createdAt),
    index("modules_tenant_name_idx").on(t.tenantId, t.name),
    index("modules_tenant_updated_idx").on(t.tenantId, t.updatedAt),
  ],
);

export const moduleCategories = sqliteTable(
  "module_categories",
  {
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    moduleId: integer("module_id")
      .notNull()
      .references(() => contentModules.id, { onDelete: "cascade" }),
    categoryId: integer("category_id")
      .notNull()
      .references(() => categories.id, { onDelete: "cascade" }),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.moduleId, t.categoryId] }),
    index("module_categories_tenant_category_idx").on(t.tenantId, t.categoryId),
    index("module_categories_module_fk_idx").on(t.moduleId),
    index("module_categories_category_fk_idx").on(t.categoryId),
  ],
);
