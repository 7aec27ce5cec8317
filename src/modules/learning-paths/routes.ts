import { createRoute } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { adminContext } from "../../platform/auth";
import type { AppEnv } from "../../platform/env";
import {
  adminAccess,
  createRouter,
  errorResponses,
  IdParam,
  jsonBody,
  jsonResponse,
  LookupQuery,
  LookupResponse,
} from "../../platform/openapi";
import {
  LearningPath,
  LearningPathClone,
  LearningPathCreate,
  LearningPathList,
  LearningPathListQuery,
  LearningPathSteps,
  LearningPathUpdate,
} from "./schemas";
import * as paths from "./service";

const tags = ["Learning paths"];
export const learningPathsRouter = createRouter();

/**
 * Another academy's (or no) path answers 404 before its body is validated, like the permission check answers
 * 403 first: a body that is required on this operation never decides what a stranger learns.
 */
const pathExists: MiddlewareHandler<AppEnv> = async (c, next) => {
  const id = Number(c.req.param("id"));
  if (Number.isSafeInteger(id) && id > 0) await paths.findPathRow(adminContext(c), id);
  await next();
};

learningPathsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/learning-paths",
    operationId: "listLearningPaths",
    tags,
    summary: "List learning paths",
    description:
      "Learning paths of the academy with their steps; filter by status, category or a course they contain, search by name.",
    ...adminAccess("courses:read"),
    request: { query: LearningPathListQuery },
    responses: { 200: jsonResponse(LearningPathList, "A page of learning paths"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await paths.listPaths(adminContext(c), c.req.valid("query")), 200),
);

learningPathsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/learning-paths/lookup",
    operationId: "lookupLearningPaths",
    tags,
    summary: "Learning path picker",
    description: "`[{value, label}]` pairs for a learning path picker, by name.",
    ...adminAccess("courses:read"),
    request: { query: LookupQuery },
    responses: { 200: jsonResponse(LookupResponse, "Matching learning paths"), ...errorResponses(401, 403) },
  }),
  async (c) => {
    const { q, limit } = c.req.valid("query");
    return c.json(await paths.lookupPaths(adminContext(c), q, limit), 200);
  },
);

learningPathsRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/learning-paths",
    operationId: "createLearningPath",
    tags,
    summary: "Create a learning path",
    description:
      "A draft path; only `name` is required. `steps` (optional) lists the courses in order, each once, with the courses of other steps each needs first (`prerequisite_course_ids`, no cycles). Slugs are unique per academy: an explicit `slug` in use is a 409; one made from the name gets the first free suffix.",
    ...adminAccess("courses:write"),
    request: { body: jsonBody(LearningPathCreate) },
    responses: {
      201: jsonResponse(LearningPath, "The new learning path"),
      ...errorResponses(401, 403, 409, 413, 415),
    },
  }),
  async (c) => {
    const path = await paths.createPath(adminContext(c), c.req.valid("json"));
    c.header("Location", `/v1/admin/learning-paths/${path.id}`);
    return c.json(path, 201);
  },
);

learningPathsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/learning-paths/{id}",
    operationId: "getLearningPath",
    tags,
    summary: "Get a learning path",
    description: "One learning path with its steps, prerequisites and categories.",
    ...adminAccess("courses:read"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(LearningPath, "The learning path"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await paths.getPath(adminContext(c), c.req.valid("param").id), 200),
);

learningPathsRouter.openapi(
  createRoute({
    method: "patch",
    path: "/v1/admin/learning-paths/{id}",
    operationId: "updateLearningPath",
    tags,
    summary: "Update a learning path",
    description:
      "Changes any of the path's fields; `category_ids` replaces the categories. `status` may go to `draft` (unpublish) or `archived`; publish through POST /v1/admin/learning-paths/{id}/publish. Steps change through PUT /v1/admin/learning-paths/{id}/steps.",
    ...adminAccess("courses:write"),
    request: { params: IdParam, body: jsonBody(LearningPathUpdate) },
    responses: {
      200: jsonResponse(LearningPath, "The updated learning path"),
      ...errorResponses(401, 403, 404, 409, 413, 415),
    },
  }),
  async (c) => c.json(await paths.updatePath(adminContext(c), c.req.valid("param").id, c.req.valid("json")), 200),
);

learningPathsRouter.openapi(
  createRoute({
    method: "delete",
    path: "/v1/admin/learning-paths/{id}",
    operationId: "deleteLearningPath",
    tags,
    summary: "Delete a learning path",
    description: "Deletes the path with its steps; the courses stay.",
    ...adminAccess("courses:write"),
    request: { params: IdParam },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    await paths.deletePath(adminContext(c), c.req.valid("param").id);
    return c.body(null, 204);
  },
);

const stepsAccess = adminAccess("courses:write");

learningPathsRouter.openapi(
  createRoute({
    method: "put",
    path: "/v1/admin/learning-paths/{id}/steps",
    operationId: "replaceLearningPathSteps",
    tags,
    summary: "Replace the steps of a learning path",
    description:
      "Replaces every step atomically, in the order given. Each course once (422), a course of this academy (422 naming `steps.N.course_id`); prerequisites name courses of other steps of the path and form no cycle (422 naming `steps.N.prerequisite_course_ids`). Nothing is written on any error. A published path's steps must all be published courses.",
    ...stepsAccess,
    middleware: [...stepsAccess.middleware, pathExists],
    request: { params: IdParam, body: jsonBody(LearningPathSteps) },
    responses: {
      200: jsonResponse(LearningPath, "The learning path with its new steps"),
      ...errorResponses(401, 403, 404, 413, 415),
    },
  }),
  async (c) =>
    c.json(await paths.replaceSteps(adminContext(c), c.req.valid("param").id, c.req.valid("json").steps), 200),
);

learningPathsRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/learning-paths/{id}/publish",
    operationId: "publishLearningPath",
    tags,
    summary: "Publish a learning path",
    description:
      "Publishes the path when it has at least one step and every step's course is published; otherwise a 422 whose `errors` list what is missing (`steps`, `steps.N.course_id`). Publishing a published path changes nothing.",
    ...adminAccess("courses:write"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(LearningPath, "The published learning path"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await paths.publishPath(adminContext(c), c.req.valid("param").id), 200),
);

learningPathsRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/learning-paths/{id}/clone",
    operationId: "cloneLearningPath",
    tags,
    summary: "Clone a learning path",
    description:
      "A draft copy named `<name> (copy)` (or `name`) with a new slug, the same steps, prerequisites and categories. An explicit `slug` in use is a 409.",
    ...adminAccess("courses:write"),
    request: { params: IdParam, body: jsonBody(LearningPathClone) },
    responses: {
      201: jsonResponse(LearningPath, "The copy"),
      ...errorResponses(401, 403, 404, 409, 413, 415),
    },
  }),
  async (c) => {
    const copy = await paths.clonePath(adminContext(c), c.req.valid("param").id, c.req.valid("json"));
    c.header("Location", `/v1/admin/learning-paths/${copy.id}`);
    return c.json(copy, 201);
  },
);
