import { createRoute } from "@hono/zod-openapi";
import { learnerContext } from "../../platform/auth";
import { createRouter, errorResponses, IdParam, jsonBody, jsonResponse, SECURITY } from "../../platform/openapi";
import { openPlayer } from "../packages/runtime";
import {
  CoursePlacementParams,
  LearnerOutline,
  MediaProgressInput,
  MediaProgressResult,
  ModuleLaunch,
  ModuleState,
  MyCourseList,
  MyCoursesQuery,
} from "./schemas";
import * as progress from "./service";

const tags = ["Learning"];
export const progressRouter = createRouter();

const ACCESS_PROBLEM =
  "A learner who is not enrolled, whose access was revoked or expired, or whose course is not published gets a 403 " +
  "problem with `rule` (`enrollment` or `course`) saying why. Another academy's course ids answer 404.";

progressRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/learner/courses",
    operationId: "listMyCourses",
    tags,
    summary: "My courses",
    description:
      "The signed-in learner's enrolled courses with their enrollment and progress (`progress_percent`, `completed_at`, " +
      "`last_accessed_at`) and where to resume. Filter by progress with `status` (not_started, in_progress, completed); " +
      "newest enrollment first by default. Includes revoked and expired enrollments (`enrollment.access` says so).",
    security: SECURITY.learner,
    request: { query: MyCoursesQuery },
    responses: { 200: jsonResponse(MyCourseList, "A page of my courses"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await progress.listMyCourses(learnerContext(c), c.req.valid("query")), 200),
);

progressRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/learner/courses/{id}/outline",
    operationId: "getMyCourseOutline",
    tags,
    summary: "My course outline with progress and locks",
    description:
      "The course outline for the signed-in learner: per placement its `status`, whether it is `locked` and why " +
      "(`lock.rule`: section_release, drip, prerequisite or sequential, with `opens_at` for date rules), the " +
      `enrollment's progress and where to resume. Module content is not part of it (launch a module to get it). ${ACCESS_PROBLEM}`,
    security: SECURITY.learner,
    request: { params: IdParam },
    responses: { 200: jsonResponse(LearnerOutline, "The outline"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await progress.learnerOutline(learnerContext(c), c.req.valid("param").id), 200),
);

progressRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/learner/courses/{id}/modules/{placement_id}/launch",
    operationId: "launchModule",
    tags,
    summary: "Launch a module",
    description:
      "Opens a placement of the course. Every access rule is checked: the course is published, the enrollment is active " +
      "(not revoked, not expired), the section is released, the drip date has come (when the course drips), the prerequisites " +
      "are complete, and with sequential navigation every earlier placement is complete. A denied launch is a 403 problem " +
      'with `rule` and, for date rules, `opens_at` (`{"rule":"drip","opens_at":"2026-12-01T00:00:00.000Z"}`). ' +
      "An allowed launch records the access (the first one moves the placement to in_progress and starts the enrollment), " +
      "moves the resume point here and answers the module with its content settings. A package module also answers `player`: " +
      "for SCORM its session (resumed or new), the `/content/` launch URL and scorm-again's settings; for xAPI and cmi5 the " +
      "learner's registration and the launch URL with the TinCan / cmi5 launch parameters (docs/packages.md).",
    security: SECURITY.learner,
    request: { params: CoursePlacementParams },
    responses: { 200: jsonResponse(ModuleLaunch, "The opened module"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const { id, placement_id } = c.req.valid("param");
    const ctx = learnerContext(c);
    const launched = await progress.launchModule(ctx, id, placement_id);
    // Package modules: the SCORM player (src/modules/packages/runtime.ts).
    if (launched.module.type !== "scorm") return c.json(launched, 200);
    const player = await openPlayer(ctx, launched, new URL(c.req.url).origin);
    return c.json({ ...launched, player }, 200);
  },
);

progressRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/learner/courses/{id}/modules/{placement_id}/complete",
    operationId: "completeModule",
    tags,
    summary: "Mark a module complete",
    description:
      "Marks a launched placement complete, for modules whose completion the learner reports (text, video, audio, pdf, " +
      "powerpoint, embed, flashcards, webinar). Quiz, assignment, survey, SCORM and discussion modules are completed by a " +
      "graded attempt or submission: 409. A placement never launched is a 409; a locked one a 403 as for launch. " +
      "Recomputes the course progress and, when the course's completion criteria are met, completes the enrollment " +
      "(once: `enrollment.completed`, and the certificates of the course). Completing it again changes nothing.",
    security: SECURITY.learner,
    request: { params: CoursePlacementParams },
    responses: {
      200: jsonResponse(ModuleState, "The placement and the enrollment"),
      ...errorResponses(401, 403, 404, 409),
    },
  }),
  async (c) => {
    const { id, placement_id } = c.req.valid("param");
    return c.json(await progress.completeModule(learnerContext(c), id, placement_id), 200);
  },
);

progressRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/learner/courses/{id}/modules/{placement_id}/progress",
    operationId: "reportModuleProgress",
    tags,
    summary: "Report video or audio progress",
    description:
      "For a launched video or audio placement: how far the learner has watched. The furthest point is kept; when it " +
      "reaches the module's `completion_threshold_percent` (default 90) of its `duration_seconds` (when the module knows " +
      "its duration) the placement completes as with `.../complete`. Other module types answer 409; access rules as for launch.",
    security: SECURITY.learner,
    request: { params: CoursePlacementParams, body: jsonBody(MediaProgressInput) },
    responses: {
      200: jsonResponse(MediaProgressResult, "The placement and the enrollment"),
      ...errorResponses(401, 403, 404, 409, 413, 415),
    },
  }),
  async (c) => {
    const { id, placement_id } = c.req.valid("param");
    return c.json(await progress.reportMediaProgress(learnerContext(c), id, placement_id, c.req.valid("json")), 200);
  },
);
