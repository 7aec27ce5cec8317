import { z } from "@hono/zod-openapi";
import { listQuery, paginated, Timestamp } from "../../platform/openapi";
import { JOB_STATUSES } from "./service";

export const Job = z
  .object({
    id: z.number().int(),
    kind: z
      .string()
      .openapi({ description: "What the job does (see `GET /v1/admin/jobs/kinds`)", example: "questions.import" }),
    status: z.enum(JOB_STATUSES).openapi({
      description:
        "`queued` (waiting, or waiting to be retried after a transient error), `running`, `succeeded`, `failed`",
    }),
    progress: z.object({
      done: z.number().int().openapi({ description: "Units of work done (rows, files)" }),
      total: z.number().int().nullable().openapi({ description: "Units in all, once the job knows" }),
    }),
    result: z.unknown().openapi({ description: "The job's outcome, shaped by its kind (an import's row report)" }),
    error: z.string().nullable().openapi({ description: "Why it failed, or the last transient error while queued" }),
    attempts: z.number().int().openapi({ description: "Runs so far (transient errors are retried with backoff)" }),
    created_by: z.string().nullable().openapi({ example: "staff:12" }),
    created_at: Timestamp,
    started_at: Timestamp.nullable(),
    finished_at: Timestamp.nullable(),
  })
  .openapi("Job");

export const JobList = paginated(Job, "JobList");

export const JobListQuery = listQuery(["created_at"] as const, "-created_at")
  .omit({ q: true, sort: true })
  .extend({
    kind: z.string().max(100).optional().openapi({ description: "Only jobs of this kind" }),
    status: z.enum(JOB_STATUSES).optional().openapi({ description: "Only jobs in this status" }),
  });

export const JobKindList = z
  .array(
    z.object({
      kind: z.string(),
      permission: z.string().openapi({ description: "The permission needed to see jobs of this kind" }),
      description: z.string(),
    }),
  )
  .openapi("JobKindList");
