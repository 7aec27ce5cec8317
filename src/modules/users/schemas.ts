import { z } from "@hono/zod-openapi";
import { listQuery, paginated, Timestamp } from "../../platform/openapi";
import { Email, IsoDateTime, Locale, Name, Password, Timezone, Url } from "../../platform/validation";

/** Fields every person has (Miestro's user fields plus Lectern's status and locale). */
const personFields = {
  id: z.number().int().openapi({ example: 7 }),
  name: z.string().openapi({ example: "Ada Lovelace" }),
  email: z.string().openapi({ example: "ada@example.com" }),
  status: z.enum(["active", "suspended"]),
  picture_src: z.string().nullable(),
  company_name: z.string().nullable(),
  paypal_email: z.string().nullable(),
  email_unsubscribe: z.boolean(),
  score: z.number().int(),
  locale: z.string().nullable(),
  timezone: z.string().nullable(),
  email_verified_at: Timestamp.nullable(),
  last_login_at: Timestamp.nullable(),
  created_at: Timestamp,
  updated_at: Timestamp,
};

export const Staff = z
  .object({
    ...personFields,
    role_id: z.number().int(),
    role: z.string().openapi({ example: "instructor", description: "The key of the staff user's role" }),
    headline: z.string().nullable().openapi({ description: "Instructor profile: a one-line headline" }),
    bio: z.string().nullable().openapi({ description: "Instructor profile: a longer biography" }),
  })
  .openapi("Staff");

export const Learner = z
  .object({
    ...personFields,
    external_id: z.string().nullable().openapi({ description: "Your own id for this learner" }),
  })
  .openapi("Learner");

/** The public instructor profile of staff who teach (shown with their courses). */
const instructorProfileFields = {
  headline: z.string().trim().max(200).nullish().openapi({ example: "Statistician and teacher" }),
  bio: z.string().max(5000).nullish().openapi({ description: "Instructor biography (plain text)" }),
};

const editableFields = {
  name: Name,
  picture_src: Url.nullish(),
  company_name: z.string().max(200).nullish(),
  paypal_email: Email.nullish(),
  email_unsubscribe: z.boolean().optional(),
  locale: Locale.nullish(),
  timezone: Timezone.nullish(),
  status: z.enum(["active", "suspended"]).optional(),
};

export const StaffCreate = z
  .strictObject({
    ...editableFields,
    ...instructorProfileFields,
    email: Email,
    role_id: z.number().int().positive().openapi({ description: "One of GET /v1/admin/roles" }),
    password: Password.optional().openapi({ description: "Optional; without it the user sets one by password reset" }),
  })
  .openapi("StaffCreate");

export const StaffUpdate = z
  .strictObject({
    ...editableFields,
    ...instructorProfileFields,
    email: Email,
    role_id: z.number().int().positive(),
    password: Password,
  })
  .partial()
  .openapi("StaffUpdate");

export const LearnerCreate = z
  .strictObject({
    ...editableFields,
    email: Email,
    external_id: z.string().max(200).nullish(),
    score: z.number().int().min(0).max(1_000_000_000).optional(),
    password: Password.optional().openapi({
      description: "Optional; without it the learner sets one by password reset",
    }),
    email_verified: z.boolean().optional().openapi({ description: "Mark the email as already verified" }),
  })
  .openapi("LearnerCreate");

export const LearnerUpdate = z
  .strictObject({
    ...editableFields,
    email: Email,
    external_id: z.string().max(200).nullable(),
    score: z.number().int().min(0).max(1_000_000_000),
    password: Password,
  })
  .partial()
  .openapi("LearnerUpdate");

const userListSort = ["name", "email", "created_at", "last_login_at"] as const;

export const StaffListQuery = listQuery(userListSort, "-created_at").extend({
  status: z.enum(["active", "suspended"]).optional(),
  role_id: z.coerce.number().int().positive().optional(),
});

export const LearnerListQuery = listQuery(userListSort, "-created_at").extend({
  status: z.enum(["active", "suspended"]).optional(),
  email: z.string().max(254).optional().openapi({ description: "Exact email" }),
  created_from: IsoDateTime.optional(),
  created_to: IsoDateTime.optional(),
});

export const StaffList = paginated(Staff, "StaffList");
export const LearnerList = paginated(Learner, "LearnerList");

export const EmailParam = z.object({
  email: z
    .string()
    .max(254)
    .openapi({ param: { name: "email", in: "path" }, example: "ada@example.com" }),
});

export const Invitation = z
  .object({
    id: z.number().int(),
    email: z.string(),
    name: z.string().nullable(),
    role_id: z.number().int(),
    status: z.enum(["pending", "accepted", "revoked", "expired"]),
    expires_at: Timestamp,
    accepted_at: Timestamp.nullable(),
    created_at: Timestamp,
  })
  .openapi("Invitation");

export const InvitationCreated = Invitation.extend({
  token: z.string().openapi({
    description:
      "Shown once. Send it to the invitee (or let your mailer do it from the `invitation.created` event); they accept at POST /v1/admin/auth/accept-invitation.",
  }),
}).openapi("InvitationCreated");

export const InvitationCreate = z
  .strictObject({
    email: Email,
    name: Name.optional(),
    role_id: z.number().int().positive(),
    expires_in_days: z.number().int().min(1).max(30).default(7),
  })
  .openapi("InvitationCreate");

export const InvitationList = paginated(Invitation, "InvitationList");

export const AcceptInvitation = z
  .strictObject({ token: z.string().min(10).max(200), name: Name.optional(), password: Password })
  .openapi("AcceptInvitation");

/** What a learner may change about themselves (no email, score or status: mass assignment is refused). */
export const LearnerSelfUpdate = z
  .strictObject({
    name: editableFields.name,
    picture_src: editableFields.picture_src,
    company_name: editableFields.company_name,
    email_unsubscribe: editableFields.email_unsubscribe,
    locale: editableFields.locale,
    timezone: editableFields.timezone,
  })
  .partial()
  .openapi("LearnerSelfUpdate");
