import { createRoute, z } from "@hono/zod-openapi";
import { adminContext, learnerContext } from "../../platform/auth";
import { adminAccess, createRouter, errorResponses, jsonBody, jsonResponse, SECURITY } from "../../platform/openapi";
import { ModuleIdParam, ResultsQuery, SurveyResponse, SurveyResponseInput, SurveyResults } from "./schemas";
import * as surveys from "./service";

export const surveysRouter = createRouter();

surveysRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/learner/surveys/{module_id}/responses",
    operationId: "submitSurveyResponse",
    tags: ["Learner assessments"],
    summary: "Respond to a survey",
    description:
      "Answers the survey module's questions (its `settings.questions`) in one of the learner's courses: `course_id` and " +
      "`placement_id` name where. The same access rules as a launch apply (403 with `rule` when the placement is locked or " +
      "the enrollment is not active). Each answer names a `question_id`; an unknown question, a value outside the question's " +
      "scale or options, a question answered twice or a required question left out is a 422 naming each. Unless the survey " +
      "`allow_multiple_responses`, a second response is a 409 (`code: already_responded`). Anonymous surveys store the " +
      "answers without the learner. The response passes the placement (course progress, grade and completion follow) in the " +
      "same atomic write, and emits `survey_response.created` and `module.graded`.",
    security: SECURITY.learner,
    request: { params: ModuleIdParam, body: jsonBody(SurveyResponseInput) },
    responses: {
      201: jsonResponse(SurveyResponse, "The stored response and the placement's new status"),
      ...errorResponses(401, 403, 404, 409, 413, 415),
    },
  }),
  async (c) => {
    const result = await surveys.submitResponse(learnerContext(c), c.req.valid("param").module_id, c.req.valid("json"));
    return c.json(result, 201);
  },
);

surveysRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/surveys/{module_id}/results",
    operationId: "getSurveyResults",
    tags: ["Surveys"],
    summary: "Aggregated survey results",
    description:
      "Per question: how many responses answered it; for ratings the distribution over the whole scale and the average; " +
      "for choices the count and percent of every option; for text questions the 10 latest answers. `course_id` narrows to " +
      "the responses given in one course. A module that is not a survey is a 404.",
    ...adminAccess("assessments:read"),
    request: { params: ModuleIdParam, query: ResultsQuery },
    responses: { 200: jsonResponse(SurveyResults, "The results"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const { course_id } = c.req.valid("query");
    return c.json(await surveys.surveyResults(adminContext(c), c.req.valid("param").module_id, course_id), 200);
  },
);

surveysRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/surveys/{module_id}/results.csv",
    operationId: "exportSurveyResponses",
    tags: ["Surveys"],
    summary: "Export survey responses as CSV",
    description:
      "Every response as a streamed CSV download (RFC 4180, UTF-8): `response_id`, `created_at`, `course_id`, " +
      "`placement_id`, the learner's id, name and email (empty for anonymous responses), then one column per question " +
      "headed by its prompt (options by their text; several joined with `; `). `course_id` narrows to one course. Text " +
      "a spreadsheet would take for a formula is prefixed with `'`.",
    ...adminAccess("assessments:read"),
    request: { params: ModuleIdParam, query: ResultsQuery },
    responses: {
      200: {
        description: "The responses as CSV",
        headers: {
          "Content-Disposition": {
            description: "`attachment; filename=survey-<module_id>.csv`",
            schema: { type: "string" as const },
          },
        },
        content: { "text/csv": { schema: z.string() } },
      },
      ...errorResponses(401, 403, 404),
    },
  }),
  async (c) => {
    const id = c.req.valid("param").module_id;
    const { stream } = await surveys.surveyCsv(adminContext(c), id, c.req.valid("query").course_id);
    return new Response(stream, {
      status: 200,
      headers: {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": `attachment; filename="survey-${id}.csv"`,
        "Cache-Control": "no-store",
      },
    }) as never;
  },
);
