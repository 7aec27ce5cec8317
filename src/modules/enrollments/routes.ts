import { createRoute } from "@hono/zod-openapi";
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
  AutoEnrollList,
  AutoEnrollRequest,
  EnrollmentChangeResult,
  EnrollmentList,
  EnrollmentListQuery,
  EnrollRequest,
  EnrollResult,
  ExpiryRequest,
  LearnerEnrollmentList,
  LearnerEnrollmentQuery,
  LearnerIdsRequest,
  PathEnrollmentList,
  PathEnrollmentQuery,
  PathEnrollRequest,
  PathEnrollResult,
} from "./schemas";
import * as enrollments from "./service";

const tags = ["Enrollments"];
export const enrollmentsRouter = createRouter();

enrollmentsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/courses/{id}/enrollments",
    operationId: "listCourseEnrollments",
    tags,
    summary: "List a course's enrollments",
    description:
      "Enrolled learners of a course with status and progress. Filter by `status` (`active`, `revoked`, `expired`, `completed`, `in_progress`, `not_started`), `progress_min`/`progress_max` (percent), search the learner's name or email with `q`; sort by `enrolled_at`, `progress` or `name`.",
    ...adminAccess("enrollments:read"),
    request: { params: IdParam, query: EnrollmentListQuery },
    responses: { 200: jsonResponse(EnrollmentList, "A page of enrollments"), ...errorResponses(401, 403, 404) },
  }),
  async (c) =>
    c.json(
      await enrollments.listCourseEnrollments(adminContext(c), c.req.valid("param").id, c.req.valid("query")),
      200,
    ),
);

enrollmentsRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/courses/{id}/enrollments",
    operationId: "enrollInCourse",
    tags,
    summary: "Enroll learners in a course",
    description:
      "Enrolls up to 500 learners, by `learner_ids` and/or `emails`, in one atomic request, with an optional future `expires_at`. Learners already enrolled are reported in `already_enrolled` and left as they are (calling again is safe); emails of no learner are reported in `not_found_emails`; an id of no learner of this academy is a 422 naming it (`learner_ids.2`). Only published courses take enrollments: a draft or archived course is a 409. Answers 201 when it created enrollments, 200 when there was nothing to do. Each enrollment emits `enrollment.created`.",
    ...adminAccess("enrollments:write"),
    request: { params: IdParam, body: jsonBody(EnrollRequest) },
    responses: {
      200: jsonResponse(EnrollResult, "Nothing new: every learner was already enrolled (or unknown)"),
      201: jsonResponse(EnrollResult, "Learners enrolled"),
      ...errorResponses(401, 403, 404, 409, 413, 415),
    },
  }),
  async (c) => {
    const result = await enrollments.enrollInCourse(adminContext(c), c.req.valid("param").id, c.req.valid("json"));
    return result.enrolled.length > 0 ? c.json(result, 201) : c.json(result, 200);
  },
);

enrollmentsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/courses/{id}/enrollments/lookup",
    operationId: "lookupEnrolledLearners",
    tags,
    summary: "Look up enrolled learners",
    description: '`[{value: learner id, label: "Name <email>"}]` of the course\'s enrolled learners, by name or email.',
    ...adminAccess("enrollments:read"),
    request: { params: IdParam, query: LookupQuery },
    responses: { 200: jsonResponse(LookupResponse, "Matching learners"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const { q, limit } = c.req.valid("query");
    return c.json(await enrollments.lookupEnrolledLearners(adminContext(c), c.req.valid("param").id, q, limit), 200);
  },
);

const actions = [
  [
    "remove",
    "removeEnrollments",
    "Remove enrollments",
    "Unenrolls the learners: deletes their enrollments and progress in the course, atomically. Emits `enrollment.removed`.",
    LearnerIdsRequest,
  ],
  [
    "revoke",
    "revokeEnrollments",
    "Revoke access",
    "Blocks the learners' access to the course (status `revoked`, `revoked_at` set), keeping their progress. Emits `enrollment.revoked`.",
    LearnerIdsRequest,
  ],
  [
    "grant",
    "grantEnrollments",
    "Grant access back",
    "Gives revoked learners their access back (status `active`). Emits `enrollment.granted`.",
    LearnerIdsRequest,
  ],
  [
    "expiry",
    "setEnrollmentExpiry",
    "Set or clear the expiry",
    "Sets `expires_at` (a future time) or clears it (`null`) for the learners' enrollments. A time in the past is a 422. Emits `enrollment.expiry_changed`.",
    ExpiryRequest,
  ],
  [
    "reset-progress",
    "resetEnrollmentProgress",
    "Reset progress",
    "Deletes the learners' module progress in the course and zeroes their progress and completion, so they start again. Emits `enrollment.progress_reset`.",
    LearnerIdsRequest,
  ],
] as const;

for (const [action, operationId, summary, description, body] of actions) {
  enrollmentsRouter.openapi(
    createRoute({
      method: "post",
      path: `/v1/admin/courses/{id}/enrollments/${action}`,
      operationId,
      tags,
      summary,
      description: `${description} Up to 500 \`learner_ids\` in one atomic request; learners not enrolled are reported in \`not_enrolled\`, those already in the asked state in \`unchanged\` (calling again is safe). An id of no learner of this academy is a 422 naming it.`,
      ...adminAccess("enrollments:write"),
      request: { params: IdParam, body: jsonBody(body) },
      responses: {
        200: jsonResponse(EnrollmentChangeResult, "What changed"),
        ...errorResponses(401, 403, 404, 413, 415),
      },
    }),
    async (c) =>
      c.json(
        await enrollments.changeEnrollments(
          adminContext(c),
          c.req.valid("param").id,
          action,
          c.req.valid("json") as { learner_ids: number[]; expires_at?: string | null },
        ),
        200,
      ),
  );
}

enrollmentsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/learning-paths/{id}/enrollments",
    operationId: "listPathEnrollments",
    tags,
    summary: "List a learning path's enrollments",
    description: "Learners enrolled in a learning path; search the learner's name or email with `q`.",
    ...adminAccess("enrollments:read"),
    request: { params: IdParam, query: PathEnrollmentQuery },
    responses: {
      200: jsonResponse(PathEnrollmentList, "A page of path enrollments"),
      ...errorResponses(401, 403, 404),
    },
  }),
  async (c) =>
    c.json(await enrollments.listPathEnrollments(adminContext(c), c.req.valid("param").id, c.req.valid("query")), 200),
);

enrollmentsRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/learning-paths/{id}/enrollments",
    operationId: "enrollInPath",
    tags,
    summary: "Enroll learners in a learning path",
    description:
      "Enrolls up to 500 learners (by `learner_ids` and/or `emails`) in a published learning path and in every published course of it (`source: learning_path`), in one atomic request. Courses of the path that are not published are skipped and reported in `skipped_courses`. Learners already in the path are reported and still get the path's courses they lack, so calling again is safe. A draft or archived path is a 409.",
    ...adminAccess("enrollments:write"),
    request: { params: IdParam, body: jsonBody(PathEnrollRequest) },
    responses: {
      200: jsonResponse(PathEnrollResult, "Nothing new in the path (course enrollments may have been completed)"),
      201: jsonResponse(PathEnrollResult, "Learners enrolled"),
      ...errorResponses(401, 403, 404, 409, 413, 415),
    },
  }),
  async (c) => {
    const result = await enrollments.enrollInPath(adminContext(c), c.req.valid("param").id, c.req.valid("json"));
    return result.enrolled.length > 0 ? c.json(result, 201) : c.json(result, 200);
  },
);

enrollmentsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/learners/{id}/enrollments",
    operationId: "listLearnerEnrollments",
    tags,
    summary: "List a learner's enrollments",
    description:
      "The courses a learner is enrolled in, with status, progress and dates; sort by `enrolled_at` or `progress`.",
    ...adminAccess("enrollments:read"),
    request: { params: IdParam, query: LearnerEnrollmentQuery },
    responses: {
      200: jsonResponse(LearnerEnrollmentList, "A page of the learner's enrollments"),
      ...errorResponses(401, 403, 404),
    },
  }),
  async (c) =>
    c.json(
      await enrollments.listLearnerEnrollments(adminContext(c), c.req.valid("param").id, c.req.valid("query")),
      200,
    ),
);

enrollmentsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/auto-enroll",
    operationId: "listAutoEnrollCourses",
    tags,
    summary: "List auto-enroll courses",
    description: "The courses every new learner (created by staff or self-registered) is enrolled in (`source: auto`).",
    ...adminAccess("enrollments:read"),
    responses: { 200: jsonResponse(AutoEnrollList, "The auto-enroll courses"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await enrollments.listAutoEnroll(adminContext(c)), 200),
);

enrollmentsRouter.openapi(
  createRoute({
    method: "put",
    path: "/v1/admin/auto-enroll",
    operationId: "setAutoEnrollCourses",
    tags,
    summary: "Replace the auto-enroll courses",
    description:
      "Replaces the list with `course_ids` (up to 100 published courses; `[]` clears it). An id of no published course of this academy is a 422 naming it (`course_ids.1`). Applies to learners created from now on.",
    ...adminAccess("enrollments:write"),
    request: { body: jsonBody(AutoEnrollRequest) },
    responses: { 200: jsonResponse(AutoEnrollList, "The new list"), ...errorResponses(401, 403, 413, 415) },
  }),
  async (c) => c.json(await enrollments.setAutoEnroll(adminContext(c), c.req.valid("json").course_ids), 200),
);
