import { z } from "@hono/zod-openapi";
import { Timestamp } from "../../platform/openapi";
import { IsoDateTime } from "../../platform/validation";

const Id = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);

export const Activity = z
  .object({
    id: z.number().int(),
    type: z.string().openapi({ example: "enrollment.created" }),
    learner_id: z.number().int().nullable(),
    course_id: z.number().int().nullable(),
    placement_id: z.number().int().nullable(),
    actor: z.string().openapi({ description: "`learner`, `staff` or `system`", example: "staff" }),
    data: z.record(z.string(), z.unknown()),
    occurred_at: Timestamp,
  })
  .openapi("Activity");

export const ActivityList = z
  .object({
    data: z.array(Activity),
    meta: z.object({
      per_page: z.number().int(),
      next_cursor: z.string().nullable().openapi({ description: "Pass as `cursor` for the next (older) page" }),
    }),
  })
  .openapi("ActivityList");

const common = {
  cursor: z
    .string()
    .max(64)
    .optional()
    .openapi({ description: "`meta.next_cursor` of the previous page; omit for the newest entries" }),
  per_page: z.coerce.number().int().min(1).max(100).default(15).openapi({ description: "Items per page (max 100)" }),
  learner_id: Id.optional().openapi({ description: "Only this learner's activity" }),
  type: z.string().min(1).max(64).optional().openapi({ description: "One type, e.g. `module.completed`" }),
  from: IsoDateTime.optional().openapi({ description: "Occurred at or after this time" }),
  to: IsoDateTime.optional().openapi({ description: "Occurred at or before this time" }),
};

export const CourseActivityQuery = z.object(common);
export const ActivityQuery = z.object({
  ...common,
  course_id: Id.optional().openapi({ description: "Only this course" }),
});
