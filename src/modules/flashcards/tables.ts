import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { coursePlacements } from "../courses/tables";
import { enrollments } from "../enrollments/tables";
import { tenants } from "../tenants/tables";

/**
 * A learner's mark on one card of a flashcard placement (the deck is the module's settings, `cards[].id`).
 * Marks of cards no longer in the deck are ignored.
 */
export const flashcardMarks = sqliteTable(
  "flashcard_marks",
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
    cardId: text("card_id").notNull(),
    known: integer("known", { mode: "boolean" }).notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("flashcard_marks_tenant_enrollment_placement_card_uq").on(
      t.tenantId,
      t.enrollmentId,
      t.placementId,
      t.cardId,
    ),
    index("flashcard_marks_enrollment_fk_idx").on(t.enrollmentId),
    index("flashcard_marks_placement_fk_idx").on(t.placementId),
  ],
);
