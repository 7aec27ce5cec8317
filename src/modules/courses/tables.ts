import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { categories } from "../categories/tables";
import { tenants } from "../tenants/tables";

export const COURSE_STATUSES = ["draft", "published", "archived"] as const;

/** A course. The catalog issue adds the full field set of the seeds; this is its core. */
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
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    deletedAt: text("deleted_at"),
  },
  (t) => [
    uniqueIndex("courses_tenant_slug_uq").on(t.tenantId, t.slug),
    index("courses_tenant_created_idx").on(t.tenantId, t.createdAt),
    index("courses_tenant_status_created_idx").on(t.tenantId, t.status, t.createdAt),
    index("courses_tenant_name_idx").on(t.tenantId, t.name),
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
  ],
);
