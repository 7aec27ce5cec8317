import { createRoute, z } from "@hono/zod-openapi";
import { adminContext } from "../../platform/auth";
import {
  adminAccess,
  createRouter,
  errorResponses,
  IdParam,
  jsonResponse,
  PaginationMeta,
} from "../../platform/openapi";
import { GRADING_RULES } from "../courses/tables";
import { MODULE_STATUSES } from "../progress/tables";
import * as service from "./service";

const tags = ["Gradebook"];
export const gradebookRouter = createRouter();

const GradebookQuery = z.object({
  page: z.coerce.number().int().min(1).max(100_000).default(1).openapi({ description: "Page number, from 1" }),
  per_page: z.coerce.number().int().min(1).max(100).default(15).openapi({ description: "Learners per page (max 100)" }),
});

const Gradebook = z
  .object({
    course: z.object({
      id: z.number().int(),
      name: z.string(),
      grading_rule: z.enum(GRADING_RULES),
      graded_module_ids: z.array(z.number().int()),
      passing_grade: z.number().int().nullable(),
    }),
    placements: z
      .array(
        z.object({
          placement_id: z.number().int(),
          module_id: z.number().int(),
          name: z.string(),
          type: z.string().openapi({ example: "quiz" }),
        }),
      )
      .openapi({
        description:
          "The graded placements (quiz, assignment, discussion, SCORM, and graded modules) in curriculum order",
      }),
    data: z.array(
      z.object({
        enrollment_id: z.number().int(),
        learner: z.object({ id: z.number().int(), name: z.string(), email: z.string() }),
        enrollment_status: z.string().openapi({ example: "active" }),
        enrolled_at: z.string(),
        completed_at: z.string().nullable(),
        progress_percent: z.number().int(),
        grade: z.number().int().nullable().openapi({
          description:
            "Course grade in whole percent by the course's grading rule (the average of the unrounded percentages, rounded); null when not graded or nothing scored",
        }),
        passed: z.boolean().nullable().openapi({ description: "grade >= passing_grade; null without both" }),
        results: z.array(
          z.object({
            placement_id: z.number().int(),
            status: z.enum(MODULE_STATUSES),
            score: z.number().nullable(),
            max_score: z.number().nullable(),
            percent: z.number().nullable(),
            attempts: z.number().int(),
          }),
        ),
      }),
    ),
    meta: PaginationMeta,
  })
  .openapi("Gradebook");

gradebookRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/courses/{id}/gradebook",
    operationId: "getCourseGradebook",
    tags,
    summary: "A course's gradebook",
    description:
      "Per enrolled learner (in enrollment order, paginated): each graded placement's status, score, maximum, percentage and attempts, " +
      "the course grade by the course's grading rule (`no_grading`: null; `avg_all_modules`: the average percentage of the graded placements that have a score; " +
      "`avg_specific_modules`: the same over `graded_module_ids`) and whether it reaches `passing_grade`.",
    ...adminAccess("reports:read"),
    request: { params: IdParam, query: GradebookQuery },
    responses: { 200: jsonResponse(Gradebook, "A page of the gradebook"), ...errorResponses(401, 403, 404) },
  }),
  async (c) =>
    c.json(
      (await service.gradebookPage(adminContext(c), c.req.valid("param").id, c.req.valid("query"))) as z.infer<
        typeof Gradebook
      >,
      200,
    ),
);

gradebookRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/courses/{id}/gradebook.csv",
    operationId: "exportCourseGradebook",
    tags,
    summary: "Export a course's gradebook as CSV",
    description:
      "The whole gradebook as a streamed CSV download (RFC 4180, UTF-8): one row per enrolled learner; per graded placement a percentage column named after the placement and a status column; " +
      "then the course grade and `passed`. Text a spreadsheet would take for a formula is prefixed with `'`.",
    ...adminAccess("reports:read"),
    request: { params: IdParam },
    responses: {
      200: {
        description: "The gradebook as CSV",
        headers: {
          "Content-Disposition": {
            description: "`attachment; filename=gradebook-course-<id>.csv`",
            schema: { type: "string" as const },
          },
        },
        content: { "text/csv": { schema: z.string() } },
      },
      ...errorResponses(401, 403, 404),
    },
  }),
  async (c) => {
    const id = c.req.valid("param").id;
    const { stream } = await service.gradebookCsv(adminContext(c), id);
    return new Response(stream, {
      status: 200,
      headers: {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": `attachment; filename="gradebook-course-${id}.csv"`,
        "Cache-Control": "no-store",
      },
    }) as never;
  },
);
