import { createRoute } from "@hono/zod-openapi";
import { adminContext } from "../../platform/auth";
import { adminAccess, createRouter, errorResponses, IdParam, jsonResponse } from "../../platform/openapi";
import { ActivityList, ActivityQuery, CourseActivityQuery } from "./schemas";
import * as activities from "./service";

const tags = ["Activity log"];
export const activitiesRouter = createRouter();

activitiesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/activities",
    operationId: "listActivities",
    tags,
    summary: "List activity",
    description:
      "The academy's activity log, newest first: launches, completions, module status changes, enrollment changes, certificates. Filter by `course_id`, `learner_id`, `type` and the `from`/`to` time range. Keyset pagination: pass `meta.next_cursor` as `cursor` for the next page (null on the last one).",
    ...adminAccess("reports:read"),
    request: { query: ActivityQuery },
    responses: { 200: jsonResponse(ActivityList, "A page of activity"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await activities.listActivities(adminContext(c), c.req.valid("query")), 200),
);

activitiesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/courses/{id}/activities",
    operationId: "listCourseActivities",
    tags,
    summary: "List a course's activity",
    description:
      "The activity log of one course, newest first, with the same filters and keyset pagination as `GET /v1/admin/activities`.",
    ...adminAccess("reports:read"),
    request: { params: IdParam, query: CourseActivityQuery },
    responses: { 200: jsonResponse(ActivityList, "A page of the course's activity"), ...errorResponses(401, 403, 404) },
  }),
  async (c) =>
    c.json(await activities.listCourseActivities(adminContext(c), c.req.valid("param").id, c.req.valid("query")), 200),
);
