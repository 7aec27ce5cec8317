import { z } from "@hono/zod-openapi";
import { listQuery, paginated, Timestamp } from "../../platform/openapi";
import { ANNOUNCEMENT_STATUSES, SENDING_RULES } from "./tables";

const Id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const IdList = (what: string) =>
  z
    .array(Id)
    .max(500)
    .openapi({ description: `${what} (at most 500)`, example: [12, 13] });

/**
 * Expiry: an ISO 8601 date-time, the seed's `2025-12-31 23:59:59` (UTC), or a date (`2025-12-31`: the end of
 * that day, UTC). Stored and answered as an ISO 8601 UTC timestamp.
 */
export const Expiry = z
  .string()
  .max(40)
  .transform((value, ctx) => {
    const v = value.trim();
    let iso: string | undefined;
    if (/^\d{4}-\d{2}-\d{2}$/.test(v)) iso = `${v}T23:59:59.999Z`;
    else if (/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?$/.test(v)) iso = `${v.replace(" ", "T")}Z`;
    else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(v)) iso = v;
    const ms = iso ? Date.parse(iso) : Number.NaN;
    if (Number.isNaN(ms)) {
      ctx.addIssue({
        code: "custom",
        message: "Use an ISO 8601 date-time, `YYYY-MM-DD HH:MM:SS` (UTC) or `YYYY-MM-DD`.",
      });
      return z.NEVER;
    }
    return new Date(ms).toISOString();
  })
  .openapi({ type: "string", example: "2027-12-31T23:59:59Z" });

const fields = {
  heading: z.string().trim().min(1, "Required.").max(300).openapi({ example: "System maintenance" }),
  content: z
    .string()
    .min(1, "Required.")
    .max(50_000)
    .openapi({ description: "The message (HTML allowed)", example: "<p>We are down tonight 22:00-23:00 UTC.</p>" }),
  sending_rules: z.enum(SENDING_RULES).openapi({
    description:
      "`all` learners; `specific_users` (`user_ids`); `specific_course_users` (learners actively enrolled in `course_ids`); `specific_class_users` (`class_ids`) and `specific_portals` (`portal_ids`) are stored, but Lectern has no classes or portals yet, so they reach no learner.",
  }),
  user_ids: IdList("Learner ids, for `specific_users`"),
  course_ids: IdList("Course ids, for `specific_course_users`"),
  class_ids: IdList("Class ids, for `specific_class_users`"),
  portal_ids: IdList("Portal ids, for `specific_portals`"),
  expires_at: Expiry.nullable().openapi({ description: "Learners stop seeing it then (future); null: never" }),
};

export const AnnouncementCreate = z
  .strictObject({
    ...fields,
    user_ids: fields.user_ids.optional(),
    course_ids: fields.course_ids.optional(),
    class_ids: fields.class_ids.optional(),
    portal_ids: fields.portal_ids.optional(),
    expires_at: fields.expires_at.optional(),
    publish: z.boolean().optional().openapi({ description: "Publish at once (default: save as a draft)" }),
  })
  .openapi("AnnouncementCreate");

export const AnnouncementUpdate = z.strictObject(fields).partial().openapi("AnnouncementUpdate");

export const Announcement = z
  .object({
    id: z.number().int(),
    heading: z.string(),
    content: z.string(),
    sending_rules: z.enum(SENDING_RULES),
    user_ids: z.array(z.number().int()),
    course_ids: z.array(z.number().int()),
    class_ids: z.array(z.number().int()),
    portal_ids: z.array(z.number().int()),
    status: z.enum(ANNOUNCEMENT_STATUSES),
    expires_at: Timestamp.nullable(),
    expired: z.boolean(),
    author_id: z.number().int().nullable(),
    author: z.string().nullable().openapi({ description: "The author's name" }),
    published_at: Timestamp.nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Announcement");

export const AnnouncementList = paginated(Announcement, "AnnouncementList");

export const AnnouncementListQuery = listQuery(
  ["created_at", "heading", "published_at", "expires_at"],
  "-created_at",
).extend({
  status: z.enum(ANNOUNCEMENT_STATUSES).optional(),
  sending_rules: z.enum(SENDING_RULES).optional(),
  active: z
    .enum(["true", "false"])
    .transform((v) => v === "true")
    .optional()
    .openapi({ description: "`true`: only published, unexpired announcements" }),
});

export const BulkDeleteRequest = z
  .strictObject({
    ids: z
      .array(Id)
      .min(1)
      .max(500)
      .openapi({ description: "Announcement ids (at most 500)", example: [1, 12] }),
  })
  .openapi("AnnouncementBulkDelete");

export const BulkDeleteResult = z
  .object({
    deleted: z.array(z.number().int()),
    not_found: z.array(z.number().int()).openapi({ description: "Ids of no announcement of this academy" }),
  })
  .openapi("AnnouncementBulkDeleteResult");

export const LearnerAnnouncement = z
  .object({
    id: z.number().int(),
    heading: z.string(),
    content: z.string(),
    author: z.string().nullable(),
    expires_at: Timestamp.nullable(),
    published_at: Timestamp,
    created_at: Timestamp,
  })
  .openapi("LearnerAnnouncement");

export const LearnerAnnouncementList = paginated(LearnerAnnouncement, "LearnerAnnouncementList");

export const LearnerAnnouncementQuery = listQuery(["published_at"], "-published_at").omit({ sort: true });
