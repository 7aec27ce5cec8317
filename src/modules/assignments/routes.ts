import { createRoute } from "@hono/zod-openapi";
import { adminContext, learnerContext } from "../../platform/auth";
import { ApiError, zodFieldErrors } from "../../platform/errors";
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
  EvaluateInput,
  FileParams,
  ModuleIdParam,
  MySubmissions,
  MySubmissionsQuery,
  PendingCountQuery,
  PendingCounts,
  Submission,
  SubmissionJsonInput,
  SubmissionList,
  SubmissionListQuery,
} from "./schemas";
import * as assignments from "./service";

export const assignmentsRouter = createRouter();

const SUBMISSION_FORM_SCHEMA = {
  type: "object" as const,
  required: ["course_id", "placement_id"],
  properties: {
    course_id: { type: "integer" as const, example: 3 },
    placement_id: { type: "integer" as const, example: 17 },
    text: { type: "string" as const, description: "The text answer" },
    files: {
      type: "array" as const,
      items: { type: "string" as const, format: "binary" },
      description: "The files (repeat the `files` part); 25 MiB per request in all",
    },
  },
};

const SUBMIT_PATH = /^\/v1\/learner\/assignments\/[^/]+\/submissions$/;

/** The multipart submission takes a larger body than JSON requests (the app's JSON limit skips it). */
export function isSubmissionUpload(method: string, path: string): boolean {
  return method === "POST" && SUBMIT_PATH.test(path);
}

const positiveInt = (value: string | File | null, path: string) => {
  const n = typeof value === "string" && /^\d{1,15}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw ApiError.validation([{ path, message: "A positive integer id." }]);
  return n;
};

assignmentsRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/learner/assignments/{module_id}/submissions",
    operationId: "submitAssignment",
    tags: ["Learner assessments"],
    summary: "Hand in an assignment",
    description:
      "Submits a text answer (`application/json`) or text and files (`multipart/form-data` with `course_id`, `placement_id`, " +
      "`text` and repeated `files`; 25 MiB per request in all, 413 above) for an assignment placed in one of the learner's " +
      "courses. Checked against the assignment: `submission_type`, `max_files`, each file's size (`max_file_mb`: 413), its " +
      "extension (`allowed_file_types`: 415) and its first bytes matching that extension (415 `content-type-mismatch`). A " +
      "second submission needs `allow_resubmission` (up to `max_submissions`) or an instructor's resubmission request (409 " +
      "`resubmission_not_allowed`, `submission_limit_reached`, `already_passed` otherwise); after `due_at`, " +
      "`allow_late_submissions: false` refuses it (409 `past_due`). Files go to R2 under `t/<tenant>/submissions/`; the " +
      "submission, its files and the placement's `submitted` status are written in one batch (nothing partly applied). " +
      "Emits `submission.created` and `module.graded`.",
    security: SECURITY.learner,
    request: {
      params: ModuleIdParam,
      body: {
        // Not `required` for the validator: the JSON body is validated only for JSON requests, and the handler
        // reads multipart bodies itself (zod cannot describe File parts).
        required: false,
        content: {
          "application/json": { schema: SubmissionJsonInput },
          "multipart/form-data": { schema: SUBMISSION_FORM_SCHEMA },
        },
      },
    },
    responses: {
      201: jsonResponse(Submission, "The submission"),
      ...errorResponses(401, 403, 404, 409, 413, 415),
    },
  }),
  async (c) => {
    const ctx = learnerContext(c);
    const moduleId = c.req.valid("param").module_id;
    const type = c.req.header("content-type") ?? "";
    let input: assignments.SubmissionInput;
    if (/^multipart\/form-data/i.test(type)) {
      const length = Number(c.req.header("content-length") ?? "0");
      if (length > assignments.MAX_SUBMISSION_REQUEST_BYTES) {
        throw new ApiError(
          413,
          `A submission request carries at most ${assignments.MAX_SUBMISSION_REQUEST_BYTES} bytes.`,
        );
      }
      let form: FormData;
      try {
        form = await c.req.raw.formData();
      } catch {
        throw ApiError.badRequest("The body is not valid multipart/form-data.");
      }
      const files = form.getAll("files").filter((f): f is File => typeof f !== "string");
      const total = files.reduce((n, f) => n + f.size, 0);
      if (total > assignments.MAX_SUBMISSION_REQUEST_BYTES) {
        throw new ApiError(
          413,
          `A submission request carries at most ${assignments.MAX_SUBMISSION_REQUEST_BYTES} bytes.`,
        );
      }
      const text = form.get("text");
      input = {
        course_id: positiveInt(form.get("course_id"), "course_id"),
        placement_id: positiveInt(form.get("placement_id"), "placement_id"),
        text: typeof text === "string" ? text : undefined,
        files,
      };
    } else {
      if (!type) throw new ApiError(415, "Send the submission as `application/json` or `multipart/form-data`.");
      const parsed = SubmissionJsonInput.safeParse(
        await c.req.json().catch(() => {
          throw new ApiError(400, "The request body is not valid JSON.", {
            slug: "malformed-json",
            title: "Malformed JSON",
          });
        }),
      );
      if (!parsed.success) throw ApiError.validation(zodFieldErrors(parsed.error));
      const body = parsed.data;
      input = { ...body, files: [] };
    }
    return c.json(await assignments.submit(ctx, moduleId, input), 201);
  },
);

assignmentsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/learner/assignments/{module_id}/submissions",
    operationId: "listMyAssignmentSubmissions",
    tags: ["Learner assessments"],
    summary: "My submissions of an assignment",
    description: "The learner's submissions on one placement, oldest first, with files, scores and feedback.",
    security: SECURITY.learner,
    request: { params: ModuleIdParam, query: MySubmissionsQuery },
    responses: { 200: jsonResponse(MySubmissions, "My submissions"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const { course_id, placement_id } = c.req.valid("query");
    return c.json(
      await assignments.mySubmissions(learnerContext(c), c.req.valid("param").module_id, course_id, placement_id),
      200,
    );
  },
);

assignmentsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/submissions/pending-count",
    operationId: "countPendingSubmissions",
    tags: ["Assignments"],
    summary: "Submissions waiting for evaluation, per course",
    description: "How many submissions wait for an instructor (`status: submitted`), per course and in all.",
    ...adminAccess("assessments:read"),
    request: { query: PendingCountQuery },
    responses: { 200: jsonResponse(PendingCounts, "The counts"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await assignments.pendingCounts(adminContext(c), c.req.valid("query").course_id), 200),
);

assignmentsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/submissions",
    operationId: "listSubmissions",
    tags: ["Assignments"],
    summary: "List assignment submissions",
    description: "Filter by `status`, `course_id`, `module_id` and `learner_id`; newest first by default.",
    ...adminAccess("assessments:read"),
    request: { query: SubmissionListQuery },
    responses: { 200: jsonResponse(SubmissionList, "A page of submissions"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await assignments.listSubmissions(adminContext(c), c.req.valid("query")), 200),
);

assignmentsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/submissions/{id}",
    operationId: "getSubmission",
    tags: ["Assignments"],
    summary: "Get a submission",
    description: "The submission with its text, files (download each with `GET .../files/{file_id}`) and evaluation.",
    ...adminAccess("assessments:read"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(Submission, "The submission"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await assignments.getSubmission(adminContext(c), c.req.valid("param").id), 200),
);

assignmentsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/submissions/{id}/files/{file_id}",
    operationId: "downloadSubmissionFile",
    tags: ["Assignments"],
    summary: "Download a submitted file",
    description: "The file's bytes from R2, as an attachment with its sniffed content type.",
    ...adminAccess("assessments:read"),
    request: { params: FileParams },
    responses: {
      200: {
        description: "The file",
        content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } },
      },
      ...errorResponses(401, 403, 404),
    },
  }),
  async (c) => {
    const { id, file_id } = c.req.valid("param");
    const { file, object } = await assignments.submissionFile(adminContext(c), id, file_id);
    return new Response(object.body, {
      status: 200,
      headers: {
        "Content-Type": file.contentType,
        "Content-Length": String(file.size),
        "Content-Disposition": `attachment; filename*=UTF-8''${encodeURIComponent(file.name)}`,
        "X-Content-Type-Options": "nosniff",
        ETag: object.httpEtag,
      },
    }) as never;
  },
);

assignmentsRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/submissions/{id}/evaluate",
    operationId: "evaluateSubmission",
    tags: ["Assignments"],
    summary: "Evaluate a submission",
    description:
      "Grades the submission (`score` up to its `max_score`, `passed` or derived from the module's `pass_points`, " +
      "`feedback`): the placement passes or fails and the course progress, grade and completion follow (a passed placement " +
      "stays passed). Or `request_resubmission: true`: the learner may submit again (even after the due date). A replaced " +
      "(`superseded`) submission, or one waiting for its resubmission, is a 409. Emits `submission.evaluated` (and " +
      "`module.graded`) or `submission.resubmission_requested`.",
    ...adminAccess("grading:write"),
    request: { params: IdParam, body: jsonBody(EvaluateInput) },
    responses: {
      200: jsonResponse(Submission, "The evaluated submission"),
      ...errorResponses(401, 403, 404, 409, 413, 415),
    },
  }),
  async (c) => c.json(await assignments.evaluate(adminContext(c), c.req.valid("param").id, c.req.valid("json")), 200),
);
