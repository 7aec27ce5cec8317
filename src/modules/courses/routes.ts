import { createRoute } from "@hono/zod-openapi";
import { adminContext } from "../../platform/auth";
import { adminAccess, createRouter, errorResponses, IdParam, jsonBody, jsonResponse } from "../../platform/openapi";
import { Course, CourseCreate, CourseList, CourseListQuery } from "./schemas";
import * as courses from "./service";

const tags = ["Courses"];
export const coursesRouter = createRouter();

coursesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/courses",
    operationId: "listCourses",
    tags,
    summary: "List courses",
    description: "Courses of the academy (deleted ones excluded); filter by status or category, search by name.",
    ...adminAccess("courses:read"),
    request: { query: CourseListQuery },
    responses: { 200: jsonResponse(CourseList, "A page of courses"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await courses.listCourses(adminContext(c), c.req.valid("query")), 200),
);

coursesRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/courses",
    operationId: "createCourse",
    tags,
    summary: "Create a course",
    description:
      "A draft course; only `name` is required. Slugs are unique per academy: an explicit `slug` already in use is a 409; a slug made from the name gets the first free suffix (`algebra-2`).",
    ...adminAccess("courses:write"),
    request: { body: jsonBody(CourseCreate) },
    responses: { 201: jsonResponse(Course, "The new course"), ...errorResponses(401, 403, 409, 413, 415) },
  }),
  async (c) => {
    const course = await courses.createCourse(adminContext(c), c.req.valid("json"));
    c.header("Location", `/v1/admin/courses/${course.id}`);
    return c.json(course, 201);
  },
);

coursesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/courses/{id}",
    operationId: "getCourse",
    tags,
    summary: "Get a course",
    description: "One course.",
    ...adminAccess("courses:read"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(Course, "The course"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await courses.getCourse(adminContext(c), c.req.valid("param").id), 200),
);
