import { z } from "@hono/zod-openapi";
import { listQuery, paginated, Timestamp } from "../../platform/openapi";
import { SUBMISSION_STATUSES } from "./tables";

const Id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const QueryId = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);

export const ModuleIdParam = z.object({
  module_id: QueryId.openapi({
    param: { name: "module_id", in: "path" },
    example: 12,
    description: "The assignment module",
  }),
});
export const FileParams = z.object({
  id: QueryId.openapi({ param: { name: "id", in: "path" }, example: 5, description: "The submission" }),
  file_id: QueryId.openapi({ param: { name: "file_id", in: "path" }, example: 9, description: "The file" }),
});

export const SubmissionJsonInput = z
  .strictObject({
    course_id: Id.openapi({ example: 3 }),
    placement_id: Id.openapi({ example: 17 }),
    text: z.string().max(200_000).optional().openapi({ description: "The text answer (HTML or plain text)" }),
  })
  .openapi("SubmissionInput");

export const SubmissionFile = z
  .object({
    id: z.number().int(),
    name: z.string(),
    content_type: z.string(),
    size: z.number().int(),
    created_at: Timestamp,
  })
  .openapi("SubmissionFile");

export const Submission = z
  .object({
    id: z.number().int(),
    module_id: z.number().int(),
    course_id: z.number().int(),
    placement_id: z.number().int(),
    enrollment_id: z.number().int(),
    user_id: z.number().int(),
    attempt: z.number().int().openapi({ description: "1 for the first submission, then 2, 3, ..." }),
    text: z.string().nullable(),
    status: z.enum(SUBMISSION_STATUSES),
    late: z.boolean().openapi({ description: "Submitted after the assignment's `due_at`" }),
    score: z.number().int().nullable(),
    max_score: z.number().int(),
    feedback: z.string().nullable(),
    evaluated_by: z.number().int().nullable(),
    evaluated_at: Timestamp.nullable(),
    files: z.array(SubmissionFile),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Submission");

export const SubmissionList = paginated(Submission, "SubmissionList");

export const MySubmissionsQuery = z.object({
  course_id: QueryId.openapi({ example: 3 }),
  placement_id: QueryId.openapi({ example: 17 }),
});
export const MySubmissions = z.object({ data: z.array(Submission) }).openapi("MySubmissions");

export const SubmissionListQuery = listQuery(["created_at", "updated_at"] as const, "-created_at").extend({
  status: z.enum(SUBMISSION_STATUSES).optional(),
  course_id: QueryId.optional(),
  module_id: QueryId.optional(),
  learner_id: QueryId.optional(),
});

export const PendingCountQuery = z.object({ course_id: QueryId.optional() });
export const PendingCounts = z
  .object({
    total: z.number().int(),
    courses: z.array(z.object({ course_id: z.number().int(), pending: z.number().int() })),
  })
  .openapi("PendingSubmissionCounts");

export const EvaluateInput = z
  .strictObject({
    score: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .optional()
      .openapi({ description: "From 0 to the assignment's `total_points`" }),
    passed: z.boolean().optional().openapi({
      description: "Pass or fail; omitted: passed when `score` reaches `pass_points` (half the points when null)",
    }),
    feedback: z.string().max(20_000).optional(),
    request_resubmission: z.boolean().default(false).openapi({
      description: "Ask the learner to submit again instead of grading (score and passed are not given then)",
    }),
  })
  .superRefine((v, ctx) => {
    if (!v.request_resubmission && v.score === undefined) {
      ctx.addIssue({ code: "custom", path: ["score"], message: "Required unless `request_resubmission`." });
    }
    if (v.request_resubmission && (v.score !== undefined || v.passed !== undefined)) {
      ctx.addIssue({ code: "custom", path: ["request_resubmission"], message: "Give no score or passed with it." });
    }
  })
  .openapi("SubmissionEvaluation");
