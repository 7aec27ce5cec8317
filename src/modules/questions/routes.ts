import { createRoute, z } from "@hono/zod-openapi";
import { adminContext } from "../../platform/auth";
import {
  adminAccess,
  createRouter,
  errorResponses,
  IdParam,
  jsonBody,
  jsonResponse,
  LookupResponse,
} from "../../platform/openapi";
import {
  Question,
  QuestionBulkDelete,
  QuestionBulkDeleted,
  QuestionCreate,
  QuestionCreateFields,
  QuestionForceQuery,
  QuestionList,
  QuestionListQuery,
  QuestionLookupQuery,
  QuestionTypeInfo,
  QuestionUpdate,
} from "./schemas";
import * as service from "./service";

const tags = ["Questions"];
export const questionsRouter = createRouter();
questionsRouter.openAPIRegistry.register("QuestionCreateFields", QuestionCreateFields);

questionsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/questions",
    operationId: "listQuestions",
    tags,
    summary: "List questions",
    description:
      "The question bank, with answer keys. Filter by `types` (comma-separated), `category_id`, `quiz_id` (questions of a static quiz module), `tag`, and `q` (title contains); sort by `created_at`, `updated_at`, `title`, `type`.",
    ...adminAccess("assessments:read"),
    request: { query: QuestionListQuery },
    responses: { 200: jsonResponse(QuestionList, "A page of questions"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await service.listQuestions(adminContext(c), c.req.valid("query")), 200),
);

questionsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/questions/lookup",
    operationId: "lookupQuestions",
    tags,
    summary: "Look up questions",
    description: "`[{value: id, label: title}]` for pickers; `q` searches titles, `types` narrows the types.",
    ...adminAccess("assessments:read"),
    request: { query: QuestionLookupQuery },
    responses: { 200: jsonResponse(LookupResponse, "Matching questions"), ...errorResponses(401, 403) },
  }),
  async (c) => {
    const { q, limit, types } = c.req.valid("query");
    return c.json(await service.lookupQuestions(adminContext(c), q, limit, types), 200);
  },
);

questionsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/questions/types",
    operationId: "listQuestionTypes",
    tags,
    summary: "Question types",
    description: "The nine question types, whether each is graded automatically, and the answer a learner sends.",
    ...adminAccess("assessments:read"),
    responses: { 200: jsonResponse(z.array(QuestionTypeInfo), "The types"), ...errorResponses(401, 403) },
  }),
  async (c) => {
    adminContext(c);
    return c.json(service.questionTypes(), 200);
  },
);

questionsRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/questions",
    operationId: "createQuestion",
    tags,
    summary: "Create a question",
    description:
      "A question of one of the nine types with its answer key (`options` for choice types with exactly one correct for `multiple_choice`, `correct_answer` for true/false, `accepted_answers`, `correct_value` + `tolerance`, `blanks`, `pairs`, `items`; essays are graded by hand). Emits `question.created`.",
    ...adminAccess("assessments:write"),
    request: { body: jsonBody(QuestionCreate) },
    responses: { 201: jsonResponse(Question, "The question"), ...errorResponses(401, 403, 413, 415) },
  }),
  async (c) => {
    const out = await service.createQuestion(adminContext(c), c.req.valid("json"));
    c.header("Location", `/v1/admin/questions/${out.id}`);
    return c.json(out, 201);
  },
);

questionsRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/questions/bulk-delete",
    operationId: "bulkDeleteQuestions",
    tags,
    summary: "Delete questions",
    description:
      "Deletes up to 100 questions atomically. Ids of no question of this academy are a 422 naming each (`ids.2`); questions used by a quiz are a 409 listing them with their quizzes (`in_use`) unless `force` is true, which removes them from those quizzes. Past attempts keep their frozen copies. Emits `question.deleted` per question.",
    ...adminAccess("assessments:write"),
    request: { body: jsonBody(QuestionBulkDelete) },
    responses: { 200: jsonResponse(QuestionBulkDeleted, "Deleted"), ...errorResponses(401, 403, 409, 413, 415) },
  }),
  async (c) => {
    const { ids, force } = c.req.valid("json");
    return c.json(await service.deleteQuestions(adminContext(c), ids, force), 200);
  },
);

questionsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/questions/{id}",
    operationId: "getQuestion",
    tags,
    summary: "Get a question",
    description: "The question with its answer key, categories and the quizzes using it.",
    ...adminAccess("assessments:read"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(Question, "The question"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await service.getQuestion(adminContext(c), c.req.valid("param").id), 200),
);

questionsRouter.openapi(
  createRoute({
    method: "patch",
    path: "/v1/admin/questions/{id}",
    operationId: "updateQuestion",
    tags,
    summary: "Update a question",
    description:
      "Partial update; answer-key fields replace the question's and the result is validated as a whole (changing `type` needs the new type's key fields). Attempts already started keep the version they froze. Emits `question.updated`.",
    ...adminAccess("assessments:write"),
    request: { params: IdParam, body: jsonBody(QuestionUpdate) },
    responses: { 200: jsonResponse(Question, "The question"), ...errorResponses(401, 403, 404, 413, 415) },
  }),
  async (c) => c.json(await service.updateQuestion(adminContext(c), c.req.valid("param").id, c.req.valid("json")), 200),
);

questionsRouter.openapi(
  createRoute({
    method: "delete",
    path: "/v1/admin/questions/{id}",
    operationId: "deleteQuestion",
    tags,
    summary: "Delete a question",
    description:
      "A question used by a quiz is a 409 naming the quizzes unless `?force=true`. Emits `question.deleted`.",
    ...adminAccess("assessments:write"),
    request: { params: IdParam, query: QuestionForceQuery },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404, 409) },
  }),
  async (c) => {
    await service.deleteQuestions(
      adminContext(c),
      [c.req.valid("param").id],
      c.req.valid("query").force === "true",
      true,
    );
    return c.body(null, 204);
  },
);

questionsRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/questions/{id}/clone",
    operationId: "cloneQuestion",
    tags,
    summary: "Clone a question",
    description:
      "A copy titled `<title> (copy)` with the same answer key, categories and tags. Emits `question.created` (with `source_id`).",
    ...adminAccess("assessments:write"),
    request: { params: IdParam },
    responses: { 201: jsonResponse(Question, "The copy"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const out = await service.cloneQuestion(adminContext(c), c.req.valid("param").id);
    c.header("Location", `/v1/admin/questions/${out.id}`);
    return c.json(out, 201);
  },
);
