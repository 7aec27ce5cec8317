import { z } from "@hono/zod-openapi";
import { listQuery, paginated, Timestamp } from "../../platform/openapi";
import { Name, Slug, Url } from "../../platform/validation";
import { LEARNING_PATH_STATUSES } from "./tables";

const Id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** The most steps a path holds (and the most categories it carries). */
export const MAX_STEPS = 100;
export const MAX_CATEGORIES = 50;

export const LearningPathStep = z
  .object({
    id: z.number().int(),
    course_id: z.number().int(),
    course_name: z.string(),
    position: z.number().int().openapi({ description: "0-based order of the step in the path" }),
    required: z.boolean(),
    prerequisite_step_ids: z
      .array(z.number().int())
      .openapi({ description: "Steps of this path to complete before this one opens" }),
  })
  .openapi("LearningPathStep");

export const LearningPath = z
  .object({
    id: z.number().int(),
    name: z.string().openapi({ example: "Data analyst track" }),
    slug: z.string().openapi({ example: "data-analyst-track" }),
    description: z.string().nullable(),
    picture_url: z.string().nullable(),
    status: z.enum(LEARNING_PATH_STATUSES),
    show_in_catalog: z.boolean().openapi({ description: "Listed in the public catalog once published" }),
    certificate_template_id: z.number().int().nullable(),
    category_ids: z.array(z.number().int()),
    steps: z.array(LearningPathStep),
    course_count: z.number().int(),
    published_at: Timestamp.nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("LearningPath");

export const LearningPathStepInput = z
  .strictObject({
    course_id: Id.openapi({ example: 12 }),
    required: z.boolean().default(true),
    prerequisite_course_ids: z
      .array(Id)
      .max(MAX_STEPS)
      .default([])
      .openapi({ description: "Courses of other steps of this path to complete first (no cycles)" }),
  })
  .openapi("LearningPathStepInput");

const StepsInput = z
  .array(LearningPathStepInput)
  .max(MAX_STEPS)
  .openapi({ description: `The steps in order (at most ${MAX_STEPS}); each course once` });

const pathFields = {
  name: Name.openapi({ example: "Data analyst track" }),
  slug: Slug.openapi({ description: "Unique per academy; defaults to one made from the name" }),
  description: z.string().max(100_000).nullable(),
  picture_url: Url.nullable(),
  show_in_catalog: z.boolean(),
  certificate_template_id: Id.nullable().openapi({ description: "The certificate learners get on completion" }),
  category_ids: z
    .array(Id)
    .max(MAX_CATEGORIES)
    .openapi({ description: "learning_path categories (GET /v1/admin/categories?type=learning_path)" }),
};

export const LearningPathCreate = z
  .strictObject({
    ...pathFields,
    slug: pathFields.slug.optional(),
    description: pathFields.description.optional(),
    picture_url: pathFields.picture_url.optional(),
    show_in_catalog: pathFields.show_in_catalog.optional(),
    certificate_template_id: pathFields.certificate_template_id.optional(),
    category_ids: pathFields.category_ids.default([]),
    steps: StepsInput.default([]),
  })
  .openapi("LearningPathCreate");

export const LearningPathUpdate = z
  .strictObject({
    ...pathFields,
    status: z.enum(["draft", "archived"]).openapi({
      description: "Unpublish (`draft`) or archive; publish through POST /v1/admin/learning-paths/{id}/publish",
    }),
  })
  .partial()
  .openapi("LearningPathUpdate");

export const LearningPathSteps = z.strictObject({ steps: StepsInput }).openapi("LearningPathSteps");

export const LearningPathClone = z
  .strictObject({
    name: pathFields.name.optional().openapi({ description: "Defaults to `<name> (copy)`" }),
    slug: pathFields.slug.optional(),
  })
  .openapi("LearningPathClone");

export const LearningPathListQuery = listQuery(["name", "created_at", "updated_at"], "-created_at").extend({
  status: z.enum(LEARNING_PATH_STATUSES).optional(),
  category_id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
  course_id: z.coerce
    .number()
    .int()
    .positive()
    .max(Number.MAX_SAFE_INTEGER)
    .optional()
    .openapi({ description: "Only paths that contain this course" }),
});

export const LearningPathList = paginated(LearningPath, "LearningPathList");
