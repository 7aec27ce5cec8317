import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { tenants } from "../tenants/tables";

/** The seed's sending rules (Academy of Mine). Classes and portals do not exist in Lectern yet (docs/notifications.md). */
export const SENDING_RULES = [
  "all",
  "specific_users",
  "specific_course_users",
  "specific_class_users",
  "specific_portals",
] as const;
export type SendingRule = (typeof SENDING_RULES)[number];
export const ANNOUNCEMENT_STATUSES = ["draft", "published"] as const;

/**
 * An announcement to learners. Drafts are invisible to learners; publishing (once) emits `announcement.published`,
 * whose consumer fans it out to the targeted learners' inboxes. The target ids are kept as JSON arrays; who sees
 * the announcement in the learner list is resolved when they read it (so learners enrolled later see it too).
 */
export const announcements = sqliteTable(
  "announcements",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    heading: text("heading").notNull(),
    content: text("content").notNull(),
    sendingRules: text("sending_rules", { enum: SENDING_RULES }).notNull(),
    userIds: text("user_ids", { mode: "json" }).$type<number[]>().notNull(),
    courseIds: text("course_ids", { mode: "json" }).$type<number[]>().notNull(),
    classIds: text("class_ids", { mode: "json" }).$type<number[]>().notNull(),
    portalIds: text("portal_ids", { mode: "json" }).$type<number[]>().notNull(),
    status: text("status", { enum: ANNOUNCEMENT_STATUSES }).notNull().default("draft"),
    expiresAt: text("expires_at"),
    // The staff user who wrote it (null for API keys without a user); no FK: the author may leave.
    authorId: integer("author_id"),
    authorName: text("author_name"),
    publishedAt: text("published_at"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    index("announcements_tenant_created_idx").on(t.tenantId, t.createdAt),
    index("announcements_tenant_status_published_idx").on(t.tenantId, t.status, t.publishedAt),
  ],
);

export type AnnouncementRow = typeof announcements.$inferSelect;
