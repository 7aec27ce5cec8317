import { z } from "@hono/zod-openapi";
import { listQuery, PaginationMeta, paginated, Timestamp } from "../../platform/openapi";
import { Email, IsoDateTime } from "../../platform/validation";
import { ENROLLMENT_FILTERS } from "./service";
import { ENROLLMENT_SOURCES, ENROLLMENT_STATUSES } from "./tables";

const Id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const LearnerIds = z
  .array(Id)
  .max(500)
  .openapi({ description: "Learner ids (at most 500)", example: [42] });

const Learner = z.object({ id: z.number().int(), name: z.string(), email: z.string() }).openapi("EnrolledLearner");

const enrollmentFields = {
  id: z.number().int(),
  status: z.enum(ENROLLMENT_STATUSES).openapi({ description: "`revoked` blocks access until granted back" }),
  access: z
    .enum(["active", "revoked", "expired"])
    .openapi({ description: "Whether the learner has access now (`expired`: past `expires_at`)" }),
  progress_status: z.enum(["not_started", "in_progress", "completed"]),
  source: z.enum(ENROLLMENT_SOURCES),
  enrolled_at: Timestamp,
  started_at: Timestamp.nullable(),
  expires_at: Timestamp.nullable(),
  revoked_at: Timestamp.nullable(),
  completed_at: Timestamp.nullable(),
  last_accessed_at: Timestamp.nullable(),
  progress_percent: z.number().int(),
  grade: z.number().int().nullable(),
};

export const Enrollment = z
  .object({
    ...enrollmentFields,
    course_id: z.number().int(),
    learner_id: z.number().int(),
    path_enrollment_id: z.number().int().nullable(),
    required_total: z.number().int(),
    required_done: z.number().int(),
    updated_at: Timestamp,
    learner: Learner,
  })
  .openapi("Enrollment");

export const EnrollmentList = paginated(Enrollment, "EnrollmentList");

export const EnrollmentListQuery = listQuery(["enrolled_at", "progress", "name"], "-enrolled_at").extend({
  status: z.enum(ENROLLMENT_FILTERS).optional().openapi({
    description:
      "`active` (access now), `revoked`, `expired` (past `expires_at`), `completed`, `in_progress`, `not_started`",
  }),
  progress_min: z.coerce.number().int().min(0).max(100).optional().openapi({ description: "Progress at least (%)" }),
  progress_max: z.coerce.number().int().min(0).max(100).optional().openapi({ description: "Progress at most (%)" }),
});

const learnersBody = {
  learner_ids: LearnerIds.optional(),
  emails: z
    .array(Email)
    .max(500)
    .optional()
    .openapi({ description: "Learners' emails (at most 500); unknown ones are reported" }),
};

function atLeastOne(v: { learner_ids?: number[]; emails?: string[] }, ctx: z.RefinementCtx) {
  const n = (v.learner_ids?.length ?? 0) + (v.emails?.length ?? 0);
  if (n === 0) ctx.addIssue({ code: "custom", path: ["learner_ids"], message: "Give `learner_ids` or `emails`." });
  if (n > 500) ctx.addIssue({ code: "custom", path: ["learner_ids"], message: "At most 500 learners per request." });
}

export const EnrollRequest = z
  .strictObject({
    ...learnersBody,
    expires_at: IsoDateTime.nullable().optional().openapi({ description: "Access ends then (future); null: never" }),
  })
  .superRefine(atLeastOne)
  .openapi("EnrollRequest");

export const EnrollResult = z
  .object({
    enrolled: z.array(Enrollment).openapi({ description: "Enrollments this request created" }),
    already_enrolled: z
      .array(z.number().int())
      .openapi({ description: "Learner ids enrolled before (left as they are)" }),
    not_found_emails: z.array(z.string()).openapi({ description: "Emails of no learner of this academy" }),
  })
  .openapi("EnrollResult");

export const LearnerIdsRequest = z.strictObject({ learner_ids: LearnerIds.min(1) }).openapi("EnrollmentLearnerIds");

export const ExpiryRequest = z
  .strictObject({
    learner_ids: LearnerIds.min(1),
    expires_at: IsoDateTime.nullable().openapi({ description: "A future time, or null for no expiry" }),
  })
  .openapi("EnrollmentExpiry");

export const EnrollmentChangeResult = z
  .object({
    changed: z.array(z.number().int()).openapi({ description: "Learner ids whose enrollment this request changed" }),
    unchanged: z.array(z.number().int()).openapi({ description: "Enrolled learners already in the asked state" }),
    not_enrolled: z.array(z.number().int()).openapi({ description: "Learners not enrolled in the course" }),
  })
  .openapi("EnrollmentChangeResult");

export const LearnerEnrollment = z
  .object({
    ...enrollmentFields,
    course: z.object({ id: z.number().int(), name: z.string(), status: z.string() }),
  })
  .openapi("LearnerEnrollment");

export const LearnerEnrollmentList = paginated(LearnerEnrollment, "LearnerEnrollmentList");
export const LearnerEnrollmentQuery = listQuery(["enrolled_at", "progress"], "-enrolled_at").omit({ q: true });

export const PathEnrollment = z
  .object({
    id: z.number().int(),
    path_id: z.number().int(),
    learner_id: z.number().int(),
    status: z.enum(ENROLLMENT_STATUSES),
    enrolled_at: Timestamp,
    expires_at: Timestamp.nullable(),
    completed_at: Timestamp.nullable(),
    learner: Learner,
  })
  .openapi("PathEnrollment");

export const PathEnrollmentList = z
  .object({ data: z.array(PathEnrollment), meta: PaginationMeta })
  .openapi("PathEnrollmentList");
export const PathEnrollmentQuery = listQuery(["enrolled_at", "name"], "-enrolled_at");

export const PathEnrollRequest = z.strictObject(learnersBody).superRefine(atLeastOne).openapi("PathEnrollRequest");

export const PathEnrollResult = z
  .object({
    enrolled: z.array(PathEnrollment).openapi({ description: "Path enrollments this request created" }),
    already_enrolled: z.array(z.number().int()).openapi({ description: "Learner ids already in the path" }),
    not_found_emails: z.array(z.string()),
    course_ids: z.array(z.number().int()).openapi({ description: "The path's published courses, enrolled in" }),
    skipped_courses: z
      .array(z.object({ course_id: z.number().int(), reason: z.string() }))
      .openapi({ description: "Courses of the path not enrolled in (not published: `draft`, `archived`, `deleted`)" }),
    course_enrollments_created: z.number().int(),
  })
  .openapi("PathEnrollResult");

export const AutoEnrollList = z
  .object({
    data: z.array(
      z.object({
        course_id: z.number().int(),
        course_name: z.string(),
        course_status: z.string(),
        added_at: Timestamp,
      }),
    ),
  })
  .openapi("AutoEnrollList");

export const AutoEnrollRequest = z
  .strictObject({ course_ids: z.array(Id).max(100).openapi({ description: "Published courses; replaces the list" }) })
  .openapi("AutoEnrollRequest");
