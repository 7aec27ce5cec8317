import { z } from "@hono/zod-openapi";
import { Timestamp } from "../../platform/openapi";
import { EMAIL_STATUSES, NOTIFICATION_CATEGORIES } from "./tables";

const Cursor = z
  .string()
  .regex(/^\d{1,15}$/, "Use the `meta.next_cursor` of the previous page.")
  .optional()
  .openapi({ description: "`meta.next_cursor` of the previous page; omit for the newest" });
const PerPage = z.coerce
  .number()
  .int()
  .min(1)
  .max(100)
  .default(15)
  .openapi({ description: "Items per page (max 100)" });
const KeysetMeta = z.object({
  per_page: z.number().int(),
  next_cursor: z.string().nullable().openapi({ description: "Pass as `cursor` for the next page; null at the end" }),
});

export const Notification = z
  .object({
    id: z.number().int(),
    type: z.string().openapi({ description: "The event that caused it", example: "module.graded" }),
    category: z.enum(NOTIFICATION_CATEGORIES),
    title: z.string(),
    body: z.string().openapi({ description: "Plain text; for announcements, the announcement's content (HTML)" }),
    data: z.record(z.string(), z.unknown()).openapi({
      description: "Ids to link to (course_id, announcement_id, certificate_id, thread_id, ...)",
      example: { course_id: 7, placement_id: 31, status: "passed", score: 90 },
    }),
    read: z.boolean(),
    read_at: Timestamp.nullable(),
    created_at: Timestamp,
  })
  .openapi("Notification");

export const NotificationList = z.object({ data: z.array(Notification), meta: KeysetMeta }).openapi("NotificationList");

const BooleanQuery = z
  .enum(["true", "false", "1", "0"])
  .transform((v) => v === "true" || v === "1")
  .optional();

export const NotificationListQuery = z.object({
  cursor: Cursor,
  per_page: PerPage,
  unread: BooleanQuery.openapi({ description: "`true`: only unread notifications" }),
  category: z.enum(NOTIFICATION_CATEGORIES).optional(),
});

export const UnreadCount = z.object({ unread: z.number().int() }).openapi("NotificationUnreadCount");

export const ReadAllRequest = z
  .strictObject({
    up_to_id: z
      .number()
      .int()
      .positive()
      .max(Number.MAX_SAFE_INTEGER)
      .optional()
      .openapi({ description: "Only notifications with an id up to this one (what the learner has seen)" }),
  })
  .openapi("NotificationsReadAllRequest");

export const ReadAllResult = z
  .object({ updated: z.number().int().openapi({ description: "How many were unread and are now read" }) })
  .openapi("NotificationsReadAllResult");

const EmailChoices = z.object(
  Object.fromEntries(NOTIFICATION_CATEGORIES.map((c) => [c, z.boolean()])) as Record<
    (typeof NOTIFICATION_CATEGORIES)[number],
    z.ZodBoolean
  >,
);

export const Preferences = z
  .object({
    email: EmailChoices.openapi({ description: "Per category: also send an email (default true)" }),
    updated_at: Timestamp.nullable(),
  })
  .openapi("NotificationPreferences");

export const PreferencesUpdate = z
  .strictObject({
    email: EmailChoices.partial()
      .strict()
      .openapi({ description: "The categories to change", example: { grading: false } }),
  })
  .openapi("NotificationPreferencesUpdate");

export const Email = z
  .object({
    id: z.number().int(),
    to: z.string(),
    user_id: z.number().int().nullable(),
    notification_id: z.number().int().nullable(),
    subject: z.string(),
    text: z.string(),
    html: z.string().nullable(),
    status: z.enum(EMAIL_STATUSES).openapi({
      description: "`pending` (waiting for its first or next try), `sending`, `sent`, `failed` (for good)",
    }),
    attempts: z.number().int(),
    last_error: z.string().nullable(),
    next_attempt_at: Timestamp.nullable().openapi({ description: "When a pending email is tried next" }),
    provider_message_id: z.string().nullable(),
    sent_at: Timestamp.nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("OutboxEmail");

export const EmailList = z.object({ data: z.array(Email), meta: KeysetMeta }).openapi("OutboxEmailList");

export const EmailListQuery = z.object({
  cursor: Cursor,
  per_page: PerPage,
  status: z.enum(EMAIL_STATUSES).optional(),
  user_id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
});
