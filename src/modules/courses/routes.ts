import { createRoute, type z } from "@hono/zod-openapi";
import { adminContext } from "../../platform/auth";
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
  BulkDeleted,
  BulkIds,
  Course,
  CourseBatch,
  CourseClone,
  CourseCreate,
  CourseList,
  CourseListQuery,
  CourseQuickEdit,
  CourseUpdate,
  ForceQuery,
  OptionList,
} from "./schemas";
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
    description:
      "Courses of the academy. Filter by `status`, `category_id`, `instructor_id`, search the name with `q`; `deleted=only` lists soft-deleted courses.",
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
      "A draft course; only `name` is required, everything else can follow (publishing checks the whole course). Slugs are unique per academy: an explicit `slug` already in use is a 409; a slug made from the name gets the first free suffix (`algebra-2`).",
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
    method: "patch",
    path: "/v1/admin/courses",
    operationId: "quickEditCourses",
    tags,
    summary: "Quick-edit many courses",
    description:
      "Changes a few fields of up to 100 courses in one atomic request: either every item is applied or none. Unknown ids, duplicate ids and taken slugs are a 422 naming the item (`items.2.slug`). Publishing is not a quick edit (use `POST /v1/admin/courses/{id}/publish`).",
    ...adminAccess("courses:write"),
    request: { body: jsonBody(CourseQuickEdit) },
    responses: {
      200: jsonResponse(CourseBatch, "The edited courses, in request order"),
      ...errorResponses(401, 403, 413, 415),
    },
  }),
  async (c) => c.json(await courses.quickEditCourses(adminContext(c), c.req.valid("json").items), 200),
);

coursesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/courses/lookup",
    operationId: "lookupCourses",
    tags,
    summary: "Look up courses",
    description: "`[{value, label}]` of courses (not deleted) for pickers, by name.",
    ...adminAccess("courses:read"),
    request: { query: LookupQuery },
    responses: { 200: jsonResponse(LookupResponse, "Matching courses"), ...errorResponses(401, 403) },
  }),
  async (c) => {
    const { q, limit } = c.req.valid("query");
    return c.json(await courses.lookupCourses(adminContext(c), q, limit), 200);
  },
);

const options = [
  ["statuses", "listCourseStatuses", "Course statuses", "The statuses a course can have.", courses.STATUS_OPTIONS],
  [
    "grading-rules",
    "listGradingRules",
    "Grading rules",
    "How a course grade is computed (`grading_rule`).",
    courses.GRADING_RULE_OPTIONS,
  ],
  [
    "duration-rules",
    "listDurationRules",
    "Duration rules",
    "How long learners keep access (`duration_rule`, with `access_days` or `access_until`).",
    courses.DURATION_RULE_OPTIONS,
  ],
] as const;
for (const [path, operationId, summary, description, values] of options) {
  coursesRouter.openapi(
    createRoute({
      method: "get",
      path: `/v1/admin/courses/${path}`,
      operationId,
      tags,
      summary,
      description: `${description} \`[{value, label}]\` for pickers.`,
      ...adminAccess("courses:read"),
      responses: { 200: jsonResponse(OptionList, "The options"), ...errorResponses(401, 403) },
    }),
    (c) => c.json(values as unknown as z.infer<typeof OptionList>, 200),
  );
}

coursesRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/courses/bulk-delete",
    operationId: "bulkDeleteCourses",
    tags,
    summary: "Delete many courses",
    description:
      "Soft-deletes up to 100 courses in one atomic request (restore each with `POST /v1/admin/courses/{id}/restore`). Unknown ids are a 422 naming them; courses that learning paths contain are a 409 listing the paths (`used_by`) unless `force: true`, which also removes them from the paths.",
    ...adminAccess("courses:write"),
    request: { body: jsonBody(BulkIds) },
    responses: { 200: jsonResponse(BulkDeleted, "The deleted ids"), ...errorResponses(401, 403, 409, 413, 415) },
  }),
  async (c) => {
    const { ids, force } = c.req.valid("json");
    return c.json(await courses.deleteCourses(adminContext(c), ids, force), 200);
  },
);

coursesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/courses/{id}",
    operationId: "getCourse",
    tags,
    summary: "Get a course",
    description: "One course with all its settings (the curriculum is `GET /v1/admin/courses/{id}/curriculum`).",
    ...adminAccess("courses:read"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(Course, "The course"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await courses.getCourse(adminContext(c), c.req.valid("param").id), 200),
);

coursesRouter.openapi(
  createRoute({
    method: "patch",
    path: "/v1/admin/courses/{id}",
    operationId: "updateCourse",
    tags,
    summary: "Update a course",
    description:
      "Changes any subset of the settings; `category_ids` and `instructor_ids` replace the lists. `status: published` runs the publish checks, and so does any change to a published course: a change that would leave it incomplete is a 422 listing what is missing. Turning `ratings_enabled` off hides ratings and refuses new ones.",
    ...adminAccess("courses:write"),
    request: { params: IdParam, body: jsonBody(CourseUpdate) },
    responses: { 200: jsonResponse(Course, "The updated course"), ...errorResponses(401, 403, 404, 409, 413, 415) },
  }),
  async (c) => c.json(await courses.updateCourse(adminContext(c), c.req.valid("param").id, c.req.valid("json")), 200),
);

coursesRouter.openapi(
  createRoute({
    method: "delete",
    path: "/v1/admin/courses/{id}",
    operationId: "deleteCourse",
    tags,
    summary: "Delete a course",
    description:
      "Soft delete: the course leaves every list and the catalog and can be restored. A course that learning paths contain is a 409 listing them unless `?force=true`.",
    ...adminAccess("courses:write"),
    request: { params: IdParam, query: ForceQuery },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404, 409) },
  }),
  async (c) => {
    await courses.deleteCourse(adminContext(c), c.req.valid("param").id, c.req.valid("query").force);
    return c.body(null, 204);
  },
);

coursesRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/courses/{id}/restore",
    operationId: "restoreCourse",
    tags,
    summary: "Restore a deleted course",
    description: "Brings back a soft-deleted course with its curriculum, in the status it had.",
    ...adminAccess("courses:write"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(Course, "The restored course"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await courses.restoreCourse(adminContext(c), c.req.valid("param").id), 200),
);

coursesRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/courses/{id}/publish",
    operationId: "publishCourse",
    tags,
    summary: "Publish a course",
    description:
      "Checks the whole course and publishes it. A course that is not ready answers 422 with one `errors` item per missing thing: `curriculum` (no modules), `access_days`/`access_until` (duration rule), `graded_module_ids`, `completion_percentage`, `passing_grade`, ... Publishing a published course changes nothing.",
    ...adminAccess("courses:write"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(Course, "The published course"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await courses.publishCourse(adminContext(c), c.req.valid("param").id), 200),
);

coursesRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/courses/{id}/clone",
    operationId: "cloneCourse",
    tags,
    summary: "Clone a course",
    description:
      "A deep copy as a new draft named `<name> (copy)` (or `name`) with a new slug: settings, categories, instructors, sections, placements and prerequisites. `modules: share` places the same modules; `modules: copy` places new copies of them. One atomic request; ratings are not copied.",
    ...adminAccess("courses:write"),
    request: { params: IdParam, body: jsonBody(CourseClone) },
    responses: { 201: jsonResponse(Course, "The copy"), ...errorResponses(401, 403, 404, 409, 413, 415) },
  }),
  async (c) => {
    const course = await courses.cloneCourse(adminContext(c), c.req.valid("param").id, c.req.valid("json"));
    c.header("Location", `/v1/admin/courses/${course.id}`);
    return c.json(course, 201);
  },
);
