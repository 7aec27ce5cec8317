import { createRoute } from "@hono/zod-openapi";
import { adminContext, learnerContext } from "../../platform/auth";
import {
  adminAccess,
  createRouter,
  errorResponses,
  IdParam,
  jsonBody,
  jsonResponse,
  SECURITY,
} from "../../platform/openapi";
import {
  AdminRating,
  AdminRatingList,
  CourseRatingParams,
  MyRating,
  PublicRatingList,
  RatingListQuery,
  RatingUpsert,
} from "./schemas";
import * as ratings from "./service";

const tags = ["Ratings"];
export const ratingsRouter = createRouter();

// ---- the signed-in learner -----------------------------------------------------------------------------------

ratingsRouter.openapi(
  createRoute({
    method: "put",
    path: "/v1/learner/courses/{id}/ratings",
    operationId: "rateCourse",
    tags,
    summary: "Rate a course",
    description:
      "Creates or replaces the signed-in learner's one rating (1-5 stars, optional review) of a published course. " +
      "Answers 201 with `Location` when the rating is new, 200 when it replaced the learner's earlier rating. " +
      "Only learners enrolled in the course (in any state: active, completed, expired or revoked) may rate it: 403 otherwise. " +
      "A course whose ratings are turned off answers 409.",
    security: SECURITY.learner,
    request: { params: IdParam, body: jsonBody(RatingUpsert) },
    responses: {
      200: jsonResponse(MyRating, "The rating, replaced"),
      201: jsonResponse(MyRating, "The rating, created"),
      ...errorResponses(401, 403, 404, 409, 413, 415),
    },
  }),
  async (c) => {
    const ctx = learnerContext(c);
    const { id } = c.req.valid("param");
    const { rating, created } = await ratings.upsertMyRating(ctx, id, c.req.valid("json"));
    if (created) {
      c.header("Location", `/v1/learner/courses/${id}/ratings/mine`);
      return c.json(rating, 201);
    }
    return c.json(rating, 200);
  },
);

ratingsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/learner/courses/{id}/ratings",
    operationId: "listCourseRatings",
    tags,
    summary: "A course's ratings",
    description:
      "The ratings of a published course, newest first by default, with the reviewer's name only, and the summary " +
      "(average, count, distribution of stars). `q` searches the reviews. A course whose ratings are turned off answers 409.",
    security: SECURITY.learner,
    request: { params: IdParam, query: RatingListQuery },
    responses: {
      200: jsonResponse(PublicRatingList, "A page of ratings and the summary"),
      ...errorResponses(401, 403, 404, 409),
    },
  }),
  async (c) =>
    c.json(await ratings.listRatingsForLearner(learnerContext(c), c.req.valid("param").id, c.req.valid("query")), 200),
);

ratingsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/learner/courses/{id}/ratings/mine",
    operationId: "getMyCourseRating",
    tags,
    summary: "My rating of a course",
    description: "The signed-in learner's rating of the course; 404 when they have not rated it.",
    security: SECURITY.learner,
    request: { params: IdParam },
    responses: { 200: jsonResponse(MyRating, "The learner's rating"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await ratings.getMyRating(learnerContext(c), c.req.valid("param").id), 200),
);

ratingsRouter.openapi(
  createRoute({
    method: "delete",
    path: "/v1/learner/courses/{id}/ratings/mine",
    operationId: "deleteMyCourseRating",
    tags,
    summary: "Withdraw my rating",
    description:
      "Deletes the signed-in learner's rating of the course (also while ratings are turned off); the course's average follows.",
    security: SECURITY.learner,
    request: { params: IdParam },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    await ratings.deleteMyRating(learnerContext(c), c.req.valid("param").id);
    return c.body(null, 204);
  },
);

// ---- staff -----------------------------------------------------------------------------------------------------

ratingsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/courses/{id}/ratings",
    operationId: "listCourseRatingsAdmin",
    tags,
    summary: "List a course's ratings",
    description:
      "Every rating of the course with the learner who gave it, and the summary. Filter by `rating`, search reviews with `q`, sort by `created_at` or `rating`. " +
      "Turn ratings on or off with the course's `ratings_enabled`.",
    ...adminAccess("courses:read"),
    request: { params: IdParam, query: RatingListQuery },
    responses: {
      200: jsonResponse(AdminRatingList, "A page of ratings and the summary"),
      ...errorResponses(401, 403, 404),
    },
  }),
  async (c) =>
    c.json(await ratings.listRatingsForAdmin(adminContext(c), c.req.valid("param").id, c.req.valid("query")), 200),
);

ratingsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/courses/{id}/ratings/{ratingId}",
    operationId: "getCourseRatingAdmin",
    tags,
    summary: "Get a rating",
    description: "One rating of the course with the learner who gave it.",
    ...adminAccess("courses:read"),
    request: { params: CourseRatingParams },
    responses: { 200: jsonResponse(AdminRating, "The rating"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const { id, ratingId } = c.req.valid("param");
    return c.json(await ratings.getRatingForAdmin(adminContext(c), id, ratingId), 200);
  },
);

ratingsRouter.openapi(
  createRoute({
    method: "delete",
    path: "/v1/admin/courses/{id}/ratings/{ratingId}",
    operationId: "deleteCourseRatingAdmin",
    tags,
    summary: "Delete a rating",
    description: "Removes a learner's rating (moderation); the course's average and count follow at once.",
    ...adminAccess("courses:write"),
    request: { params: CourseRatingParams },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const { id, ratingId } = c.req.valid("param");
    await ratings.deleteRatingForAdmin(adminContext(c), id, ratingId);
    return c.body(null, 204);
  },
);
