import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { tenants } from "../tenants/tables";

export const CATEGORY_TYPES = ["course", "module", "product", "question", "user", "learning_path"] as const;

/** Typed categories (the seeds' course, module, product, question, user and learning path categories). */
export const categories = sqliteTable(
  "categories",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    type: text("type", { enum: CATEGORY_TYPES }).notNull(),
    name: text("name").notNull(),
    slug: text("slug").notNull(),
    description: text("description"),
    position: integer("position").notNull().default(0),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("categories_tenant_type_slug_uq").on(t.tenantId, t.type, t.slug),
    index("categories_tenant_type_position_idx").on(t.tenantId, t.type, t.position),
  ],
);
