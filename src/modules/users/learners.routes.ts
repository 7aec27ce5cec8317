import { createRoute } from "@hono/zod-openapi";
import { adminContext, learnerContext } from "../../platform/auth";
import { ApiError } from "../../platform/errors";
import {
  adminAccess,
  createRouter,
  errorResponses,
  IdParam,
  jsonBody,
  jsonResponse,
  LookupQuery,
  LookupResponse,
  SECURITY,
} from "../../platform/openapi";
import {
  EmailParam,
  Learner,
  LearnerCreate,
  LearnerList,
  LearnerListQuery,
  LearnerSelfUpdate,
  LearnerUpdate,
} from "./schemas";
import * as users from "./service";

const tags = ["Learners"];
export const learnersRouter = createRouter();

learnersRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/learners",
    operationId: "listLearners",
    tags,
    summary: "List learners",
    description: "Learners of the academy; filter by status, exact email or creation time; search name and email.",
    ...adminAccess("learners:read"),
    request: { query: LearnerListQuery },
    responses: { 200: jsonResponse(LearnerList, "A page of learners"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await users.listLearners(adminContext(c), c.req.valid("query")), 200),
);

learnersRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/learners/lookup",
    operationId: "lookupLearners",
    tags,
    summary: "Learner picker",
    description: "`[{value, label}]` pairs (label `Name <email>`) for a learner picker.",
    ...adminAccess("learners:read"),
    request: { query: LookupQuery },
    responses: { 200: jsonResponse(LookupResponse, "Matching learners"), ...errorResponses(401, 403) },
  }),
  async (c) => {
    const ctx = adminContext(c);
    const { q, limit } = c.req.valid("query");
    return c.json(await users.lookupUsers(ctx, "learner", q, limit), 200);
  },
);

learnersRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/learners/by-email/{email}",
    operationId: "getLearnerByEmail",
    tags,
    summary: "Find a learner by email",
    description: "Exact, case-insensitive match.",
    ...adminAccess("learners:read"),
    request: { params: EmailParam },
    responses: { 200: jsonResponse(Learner, "The learner"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const ctx = adminContext(c);
    const { email } = c.req.valid("param");
    const row = await users.findUserByEmail(ctx, "learner", email);
    if (!row) throw ApiError.notFound(`A learner with email ${email}`);
    return c.json(users.toLearner(row), 200);
  },
);

learnersRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/learners",
    operationId: "createLearner",
    tags,
    summary: "Create a learner",
    description:
      "Adds a learner. Without `password` the learner signs in after a password reset. Emails are unique per academy (409).",
    ...adminAccess("learners:write"),
    request: { body: jsonBody(LearnerCreate) },
    responses: { 201: jsonResponse(Learner, "The new learner"), ...errorResponses(401, 403, 409, 413, 415) },
  }),
  async (c) => {
    const row = await users.createLearner(adminContext(c), c.req.valid("json"));
    c.header("Location", `/v1/admin/learners/${row.id}`);
    return c.json(users.toLearner(row), 201);
  },
);

learnersRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/learners/{id}",
    operationId: "getLearner",
    tags,
    summary: "Get a learner",
    description: "One learner's profile.",
    ...adminAccess("learners:read"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(Learner, "The learner"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const ctx = adminContext(c);
    return c.json(users.toLearner(await users.findUser(ctx, "learner", c.req.valid("param").id)), 200);
  },
);

learnersRouter.openapi(
  createRoute({
    method: "patch",
    path: "/v1/admin/learners/{id}",
    operationId: "updateLearner",
    tags,
    summary: "Update a learner",
    description:
      "Profile, status, score or password. A new password or `status: suspended` ends the learner's sessions.",
    ...adminAccess("learners:write"),
    request: { params: IdParam, body: jsonBody(LearnerUpdate) },
    responses: { 200: jsonResponse(Learner, "The updated learner"), ...errorResponses(401, 403, 404, 409, 413, 415) },
  }),
  async (c) => {
    const ctx = adminContext(c);
    return c.json(await users.updateLearner(ctx, c.req.valid("param").id, c.req.valid("json")), 200);
  },
);

learnersRouter.openapi(
  createRoute({
    method: "delete",
    path: "/v1/admin/learners/{id}",
    operationId: "deleteLearner",
    tags,
    summary: "Delete a learner",
    description: "Deletes the learner and ends their sessions.",
    ...adminAccess("learners:write"),
    request: { params: IdParam },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    await users.deleteLearner(adminContext(c), c.req.valid("param").id);
    return c.body(null, 204);
  },
);

// ---- the signed-in learner -----------------------------------------------------------------------------------

const meTags = ["Learner profile"];

learnersRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/learner/me",
    operationId: "getLearnerMe",
    tags: meTags,
    summary: "The signed-in learner",
    description: "The learner of the access token.",
    security: SECURITY.learner,
    responses: { 200: jsonResponse(Learner, "The learner"), ...errorResponses(401, 403) },
  }),
  async (c) => {
    const ctx = learnerContext(c);
    return c.json(users.toLearner(await users.findUser(ctx, "learner", ctx.principal.userId)), 200);
  },
);

learnersRouter.openapi(
  createRoute({
    method: "patch",
    path: "/v1/learner/me",
    operationId: "updateLearnerMe",
    tags: meTags,
    summary: "Update my profile",
    description:
      "Name, picture, company, locale, time zone and email preferences. Email, score and status are managed by the academy.",
    security: SECURITY.learner,
    request: { body: jsonBody(LearnerSelfUpdate) },
    responses: { 200: jsonResponse(Learner, "The updated learner"), ...errorResponses(401, 403, 413, 415) },
  }),
  async (c) => {
    const ctx = learnerContext(c);
    return c.json(await users.updateLearner(ctx, ctx.principal.userId, c.req.valid("json")), 200);
  },
);
