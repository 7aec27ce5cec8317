import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { tenants } from "../tenants/tables";
import { users } from "../users/tables";

/** What a notification is about; learners choose per category whether they also get an email. */
export const NOTIFICATION_CATEGORIES = [
  "announcements",
  "grading",
  "certificates",
  "enrollments",
  "discussions",
] as const;
export type NotificationCategory = (typeof NOTIFICATION_CATEGORIES)[number];

/**
 * A user's inbox entry. Written only by the EVENTS consumer from outbox events; `dedupe_key` (`event:<id>`, or
 * `announcement:<id>`) is unique per user, so a redelivered event adds nothing.
 */
export const notifications = sqliteTable(
  "notifications",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    type: text("type").notNull(),
    category: text("category", { enum: NOTIFICATION_CATEGORIES }).notNull(),
    title: text("title").notNull(),
    body: text("body").notNull(),
    data: text("data", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    eventId: integer("event_id"),
    dedupeKey: text("dedupe_key").notNull(),
    readAt: text("read_at"),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("notifications_tenant_dedupe_user_uq").on(t.tenantId, t.dedupeKey, t.userId),
    index("notifications_tenant_user_id_idx").on(t.tenantId, t.userId, t.id),
    index("notifications_tenant_user_unread_idx").on(t.tenantId, t.userId, t.readAt, t.id),
    index("notifications_user_fk_idx").on(t.userId),
  ],
);

/** A user's email choices per category (`{"grading": false}`); a missing category means yes. */
export const notificationPreferences = sqliteTable(
  "notification_preferences",
  {
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    email: text("email", { mode: "json" }).$type<Partial<Record<NotificationCategory, boolean>>>().notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("notification_preferences_tenant_user_uq").on(t.tenantId, t.userId),
    index("notification_preferences_user_fk_idx").on(t.userId),
  ],
);

export const EMAIL_STATUSES = ["pending", "sending", "sent", "failed"] as const;
export type EmailStatus = (typeof EMAIL_STATUSES)[number];

/**
 * The email outbox: every email Lectern sends is a row here first, written in the same batch as its cause;
 * the scheduled sweep sends due rows through the configured sender, retrying with backoff.
 */
export const emails = sqliteTable(
  "emails",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    userId: integer("user_id").references(() => users.id, { onDelete: "set null" }),
    notificationId: integer("notification_id"),
    toAddress: text("to_address").notNull(),
    subject: text("subject").notNull(),
    textBody: text("text_body").notNull(),
    htmlBody: text("html_body"),
    status: text("status", { enum: EMAIL_STATUSES }).notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
    nextAttemptAt: text("next_attempt_at").notNull(),
    providerMessageId: text("provider_message_id"),
    dedupeKey: text("dedupe_key").notNull(),
    sentAt: text("sent_at"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("emails_tenant_dedupe_uq").on(t.tenantId, t.dedupeKey),
    index("emails_tenant_id_idx").on(t.tenantId, t.id),
    index("emails_tenant_status_id_idx").on(t.tenantId, t.status, t.id),
    // The sweep across academies (like the outbox's unsent index).
    index("emails_status_due_idx").on(t.status, t.nextAttemptAt),
    index("emails_user_fk_idx").on(t.userId),
  ],
);

export type EmailRow = typeof emails.$inferSelect;
export type NotificationRow = typeof notifications.$inferSelect;
