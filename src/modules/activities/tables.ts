import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { tenants } from "../tenants/tables";

/** What learners did and what was done to their enrollments: an append-only log, read with keyset pagination. */
export const activities = sqliteTable(
  "activities",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    type: text("type").notNull(),
    userId: integer("user_id"),
    courseId: integer("course_id"),
    placementId: integer("placement_id"),
    actor: text("actor").notNull().default("learner"),
    data: text("data", { mode: "json" }).$type<Record<string, unknown>>().notNull().default(sql`'{}'`),
    occurredAt: text("occurred_at").notNull(),
  },
  (t) => [
    index("activities_tenant_id_idx").on(t.tenantId, t.id),
    index("activities_tenant_course_idx").on(t.tenantId, t.courseId, t.id),
    index("activities_tenant_user_idx").on(t.tenantId, t.userId, t.id),
    index("activities_tenant_type_idx").on(t.tenantId, t.type, t.id),
  ],
);
