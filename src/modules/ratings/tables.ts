import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { courses } from "../courses/tables";
import { tenants } from "../tenants/tables";
import { users } from "../users/tables";

/** A learner's 1-5 rating of a course, with an optional review; one per learner and course. */
export const courseRatings = sqliteTable(
  "course_ratings",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    courseId: integer("course_id")
      .notNull()
      .references(() => courses.id, { onDelete: "cascade" }),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    rating: integer("rating").notNull(),
    review: text("review"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("course_ratings_tenant_course_user_uq").on(t.tenantId, t.courseId, t.userId),
    index("course_ratings_tenant_course_created_idx").on(t.tenantId, t.courseId, t.createdAt),
    index("course_ratings_tenant_course_rating_idx").on(t.tenantId, t.courseId, t.rating),
    index("course_ratings_user_fk_idx").on(t.userId),
  ],
);
