import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { adminContext, learnerContext, tenantContextFor } from "../../platform/auth";
import type { AppEnv } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import {
  adminAccess,
  createRouter,
  errorResponses,
  IdParam,
  jsonBody,
  jsonResponse,
  ProblemSchema,
  SECURITY,
} from "../../platform/openapi";
import { assertPlacementOpen } from "../progress/service";
import { serveContent, verifyPlayerToken } from "./player";
import { learnerReport, packageInteractionsCsv, packageReport, packageReportCsv } from "./report";
import { commitSession, getSession, openPlayer } from "./runtime";
import {
  CommitQuery,
  CommitResult,
  LearnerReport,
  LearnerReportParams,
  MediaImportInput,
  MediaVersionInput,
  Package,
  PackageList,
  PackageListQuery,
  PackageUpdate,
  PackageVersion,
  PackageVersionList,
  Player,
  PlayerLaunchInput,
  RegistrationDetail,
  RegistrationList,
  RegistrationParams,
  RegistrationQuery,
  Registration as RegistrationSchema,
  Report,
  ReportCsvQuery,
  ReportQuery,
  ScormSession,
  UploadQuery,
  WaiveInput,
  zipBody,
} from "./schemas";
import * as service from "./service";
import {
  fetchAuthToken,
  findRegistration,
  listRegistrations,
  registrationInteractions,
  registrationView,
  waiveAu,
} from "./xapi-launch";

const tags = ["Packages"];
const LENGTH_REQUIRED = {
  411: {
    description: "The upload has no `Content-Length`",
    content: { "application/problem+json": { schema: ProblemSchema } },
  },
};
const COMMIT_BODY_SCHEMA = {
  description:
    'scorm-again\'s commit: `{cmi: {...}, commitSequence}` (json), `{"cmi.core.lesson_status": ..., commitSequence}` (flattened), `["cmi.x=y", ...]` (params), or `{runtimeData, completionStatus, ...}` (renderCommonCommitFields).',
  oneOf: [
    { type: "object" as const, additionalProperties: true },
    { type: "array" as const, items: { type: "string" as const } },
  ],
};
const playerTags = ["SCORM player"];
export const packagesRouter = createRouter();

function upload(c: Context<AppEnv>) {
  const length = c.req.header("content-length");
  return {
    body: c.req.raw.body,
    length: length !== undefined && /^\d+$/.test(length) ? Number(length) : null,
    contentType: c.req.header("content-type"),
  };
}

const IMPORT_NOTE =
  "The zip is streamed to storage (never held in memory) and imported by a background job: poll the package (`status`: processing -> ready | failed with `failure_reason`) or the job (`job_id`). " +
  "The import refuses zip slip (`..`), absolute paths, symbolic links, encrypted entries, more than 10,000 files, more than 2 GiB unpacked and entries inflating over 100 times their compressed size, " +
  "and needs a manifest at the zip's root (or its single top folder): imsmanifest.xml (SCORM 1.2, SCORM 2004 2nd-4th edition), cmi5.xml or tincan.xml, whose files must all be in the zip. " +
  "Send the zip as the raw body (`Content-Type: application/zip`) with `Content-Length`; one request carries at most 100 MB (a 413 past it): larger zips go through the media library's multipart upload and `POST /v1/admin/packages/from-media`.";

packagesRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/packages",
    operationId: "uploadPackage",
    tags,
    summary: "Upload an e-learning package",
    description: `Creates a package from a SCORM, xAPI or cmi5 zip. ${IMPORT_NOTE}`,
    ...adminAccess("media:write"),
    request: { query: UploadQuery, body: zipBody },
    responses: {
      201: jsonResponse(Package, "The package, processing"),
      ...errorResponses(401, 403, 413, 415),
      ...LENGTH_REQUIRED,
    },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const created = await service.uploadPackage(adminContext(c), query, { ...query, ...upload(c) });
    c.header("Location", `/v1/admin/packages/${created.id}`);
    return c.json(created, 201);
  },
);

packagesRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/packages/from-media",
    operationId: "importPackageFromMedia",
    tags,
    summary: "Create a package from a zip in the media library",
    description:
      "For packages over 100 MB: upload the zip through the media library's multipart upload (`POST /v1/admin/media/uploads`, parts, complete), then create the package from it. The zip is read where it is (not copied) and stays in the library. The import and its checks are those of `POST /v1/admin/packages`.",
    ...adminAccess("media:write"),
    request: { body: jsonBody(MediaImportInput) },
    responses: { 201: jsonResponse(Package, "The package, processing"), ...errorResponses(401, 403, 404, 413, 415) },
  }),
  async (c) => {
    const input = c.req.valid("json");
    const created = await service.uploadPackage(adminContext(c), input, { mediaId: input.media_id });
    c.header("Location", `/v1/admin/packages/${created.id}`);
    return c.json(created, 201);
  },
);

packagesRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/packages/{id}/versions/from-media",
    operationId: "uploadPackageVersionFromMedia",
    tags,
    summary: "Replace a package's content from a zip in the media library",
    description:
      "`POST .../versions` for a zip uploaded through the media library's multipart upload (packages over 100 MB).",
    ...adminAccess("media:write"),
    request: { params: IdParam, body: jsonBody(MediaVersionInput) },
    responses: {
      201: jsonResponse(PackageVersion, "The new version, processing"),
      ...errorResponses(401, 403, 404, 413, 415),
    },
  }),
  async (c) => {
    const id = c.req.valid("param").id;
    const version = await service.uploadVersion(adminContext(c), id, { mediaId: c.req.valid("json").media_id });
    c.header("Location", `/v1/admin/packages/${id}/versions`);
    return c.json(version, 201);
  },
);

packagesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/packages",
    operationId: "listPackages",
    tags,
    summary: "List packages",
    description: "The academy's packages, newest first; filter by `status` and `standard`, search titles with `q`.",
    ...adminAccess("media:read"),
    request: { query: PackageListQuery },
    responses: { 200: jsonResponse(PackageList, "A page of packages"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await service.listPackages(adminContext(c), c.req.valid("query")), 200),
);

packagesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/packages/{id}",
    operationId: "getPackage",
    tags,
    summary: "Get a package",
    description:
      "A package with its status, standard, launch file and structure (SCOs, xAPI activities or cmi5 AUs) of the current version.",
    ...adminAccess("media:read"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(Package, "The package"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await service.getPackage(adminContext(c), c.req.valid("param").id), 200),
);

packagesRouter.openapi(
  createRoute({
    method: "patch",
    path: "/v1/admin/packages/{id}",
    operationId: "updatePackage",
    tags,
    summary: "Edit a package",
    description: "Changes the title or description. Content changes go through a new version (`POST .../versions`).",
    ...adminAccess("media:write"),
    request: { params: IdParam, body: jsonBody(PackageUpdate) },
    responses: { 200: jsonResponse(Package, "The package"), ...errorResponses(401, 403, 404, 413, 415) },
  }),
  async (c) => c.json(await service.updatePackage(adminContext(c), c.req.valid("param").id, c.req.valid("json")), 200),
);

packagesRouter.openapi(
  createRoute({
    method: "delete",
    path: "/v1/admin/packages/{id}",
    operationId: "deletePackage",
    tags,
    summary: "Delete a package",
    description:
      "Deletes the package, its versions, its learners' SCORM sessions and its files. A package used by a module is a 409 naming them (`modules: [{id, name}]`): point those modules elsewhere first.",
    ...adminAccess("media:write"),
    request: { params: IdParam },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404, 409) },
  }),
  async (c) => {
    await service.deletePackage(adminContext(c), c.req.valid("param").id);
    return c.body(null, 204);
  },
);

packagesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/packages/{id}/versions",
    operationId: "listPackageVersions",
    tags,
    summary: "List a package's versions",
    description: "Every uploaded version, newest first, with its import status and failure reason.",
    ...adminAccess("media:read"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(PackageVersionList, "The versions"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await service.listVersions(adminContext(c), c.req.valid("param").id), 200),
);

packagesRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/packages/{id}/versions",
    operationId: "uploadPackageVersion",
    tags,
    summary: "Replace a package's content with a new version",
    description: `Uploads a new zip for the package. Learners keep launching the current version until the new one is ready; then new attempts use it (open attempts finish on the version they started). A failed version leaves the current one in place. ${IMPORT_NOTE}`,
    ...adminAccess("media:write"),
    request: { params: IdParam, body: zipBody },
    responses: {
      201: jsonResponse(PackageVersion, "The new version, processing"),
      ...errorResponses(401, 403, 404, 413, 415),
      ...LENGTH_REQUIRED,
    },
  }),
  async (c) => {
    const id = c.req.valid("param").id;
    const version = await service.uploadVersion(adminContext(c), id, upload(c));
    c.header("Location", `/v1/admin/packages/${id}/versions`);
    return c.json(version, 201);
  },
);

const csvResponse = (description: string, filename: string) => ({
  description,
  headers: {
    "Content-Disposition": { description: `\`attachment; filename=${filename}\``, schema: { type: "string" as const } },
  },
  content: { "text/csv": { schema: z.string() } },
});

const csvDownload = (stream: ReadableStream<Uint8Array>, filename: string) =>
  new Response(stream, {
    status: 200,
    headers: {
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": `attachment; filename="${filename}"`,
      "Cache-Control": "no-store",
    },
  }) as never;

packagesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/packages/{id}/report",
    operationId: "getPackageReport",
    tags,
    summary: "Package report (per learner and attempt)",
    description:
      "Every standard in one list: per learner and attempt (a SCORM 1.2 / 2004 session of one SCO, or an xAPI / cmi5 registration) the status, score, time, launches and interactions (SCORM cmi.interactions; xAPI / cmi5 `answered` statements of the registration), with a summary of every attempt the filters keep. Filters: `user_id`, `status`. Pages: `page` / `per_page`, or keyset with `cursor` = `meta.next_cursor`. `format=csv` (or `Accept: text/csv`) answers the whole filtered report as a streamed CSV download (one row per learner and attempt; the interactions as a JSON column; see `.../report/interactions.csv` for one row per interaction).",
    ...adminAccess("reports:read"),
    request: { params: IdParam, query: ReportQuery },
    responses: {
      200: {
        description: "The report",
        content: { "application/json": { schema: Report }, "text/csv": { schema: z.string() } },
      },
      ...errorResponses(401, 403, 404),
    },
  }),
  async (c) => {
    const id = c.req.valid("param").id;
    const query = c.req.valid("query");
    const ctx = adminContext(c);
    if (query.format === "csv" || (c.req.header("accept") ?? "").includes("text/csv")) {
      const { stream, filename } = await packageReportCsv(ctx, id, { user_id: query.user_id, status: query.status });
      return csvDownload(stream, filename);
    }
    return c.json(await packageReport(ctx, id, query), 200);
  },
);

packagesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/packages/{id}/report/interactions.csv",
    operationId: "exportPackageInteractions",
    tags,
    summary: "Export a package's interactions as CSV",
    description:
      "Streamed CSV (RFC 4180, UTF-8): one row per learner, attempt and interaction, for every standard: `attempt_id`, the learner, `standard`, `session_id` / `registration`, `sco_identifier`, `attempt`, then the interaction (`interaction_index`, `interaction_id`, `type`, `description`, `response`, `result`, `success`, `correct_responses` joined with ` | `, `weighting`, `score_scaled`, `latency_seconds`, `timestamp`). Filters as the report (`user_id`, `status`). Text a spreadsheet would take for a formula is prefixed with `'`.",
    ...adminAccess("reports:read"),
    request: { params: IdParam, query: ReportCsvQuery },
    responses: {
      200: csvResponse("The interactions as CSV", "package-<id>-interactions-<date>.csv"),
      ...errorResponses(401, 403, 404),
    },
  }),
  async (c) => {
    const { stream, filename } = await packageInteractionsCsv(
      adminContext(c),
      c.req.valid("param").id,
      c.req.valid("query"),
    );
    return csvDownload(stream, filename);
  },
);

packagesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/packages/{id}/report/learners/{user_id}",
    operationId: "getPackageLearnerReport",
    tags,
    summary: "One learner's attempts at a package",
    description:
      "Every attempt of one learner at the package (SCORM sessions, xAPI / cmi5 registrations; at most 200), each with all its interactions, and the learner's summary. A learner without attempts answers an empty list; an unknown learner or package (or another academy's) is a 404.",
    ...adminAccess("reports:read"),
    request: { params: LearnerReportParams },
    responses: {
      200: jsonResponse(LearnerReport, "The learner's attempts"),
      ...errorResponses(401, 403, 404),
    },
  }),
  async (c) => {
    const { id, user_id } = c.req.valid("param");
    return c.json(await learnerReport(adminContext(c), id, user_id), 200);
  },
);

// ---- xAPI / cmi5 registrations ----------------------------------------------------------------------------------------

packagesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/packages/{id}/registrations",
    operationId: "listPackageRegistrations",
    tags,
    summary: "xAPI / cmi5 registrations of a package",
    description:
      "The learners' xAPI registrations on this xAPI or cmi5 package (one per enrollment and placement, created at the first launch): what their statements said per activity / AU (completed, success, scaled score, cmi5 satisfied or waived) and the module result handed to progress. `user_id` narrows it to one learner.",
    ...adminAccess("reports:read"),
    request: { params: IdParam, query: RegistrationQuery },
    responses: { 200: jsonResponse(RegistrationList, "A page of registrations"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const ctx = adminContext(c);
    const id = c.req.valid("param").id;
    await service.findPackage(ctx, id);
    return c.json(await listRegistrations(ctx, id, c.req.valid("query")), 200);
  },
);

packagesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/packages/{id}/registrations/{registration}",
    operationId: "getPackageRegistration",
    tags,
    summary: "Get an xAPI / cmi5 registration",
    description:
      "One registration of the package (see the list), with the learner's `interactions`: the `answered` statements of the registration (not voided, oldest first, at most 500) with their response, success and score. Another package's or academy's is a 404.",
    ...adminAccess("reports:read"),
    request: { params: RegistrationParams },
    responses: {
      200: jsonResponse(RegistrationDetail, "The registration and its interactions"),
      ...errorResponses(401, 403, 404),
    },
  }),
  async (c) => {
    const { id, registration } = c.req.valid("param");
    const ctx = adminContext(c);
    const row = await findRegistration(ctx, id, registration);
    return c.json({ ...registrationView(row), interactions: await registrationInteractions(ctx, row) }, 200);
  },
);

packagesRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/packages/{id}/registrations/{registration}/waive",
    operationId: "waiveCmi5Au",
    tags,
    summary: "Waive a cmi5 AU for a learner",
    description:
      "cmi5 waive: the AU counts as meeting its moveOn for this registration. Lectern writes the LMS `waived` statement (with `result.extensions` reason), then, when every AU is satisfied, the course `satisfied` statement and the module's completion, as statements would. An xAPI package's registration, or an AU already waived or satisfied, is a 409; an AU the package lacks a 422.",
    ...adminAccess("grading:write"),
    request: { params: RegistrationParams, body: jsonBody(WaiveInput) },
    responses: {
      200: jsonResponse(RegistrationSchema, "The registration after the waive"),
      ...errorResponses(401, 403, 404, 409, 413, 415, 422),
    },
  }),
  async (c) => {
    const { id, registration } = c.req.valid("param");
    return c.json(await waiveAu(adminContext(c), id, registration, c.req.valid("json"), baseUrl(c)), 200);
  },
);

// ---- learner: player ------------------------------------------------------------------------------------------------

const baseUrl = (c: Context<AppEnv>) => new URL(c.req.url).origin;

packagesRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/learner/courses/{id}/modules/{placement_id}/player",
    operationId: "openScormPlayer",
    tags: playerTags,
    summary: "Open the player on a SCO or cmi5 AU",
    description:
      "Like the `player` of a launch, for a chosen SCO of a multi-SCO package (`sco`, an identifier from `player.scos`) or a chosen AU of a cmi5 package (`sco`, an AU id from `player.aus`: a new cmi5 session with its LaunchData, launched statement and fetch URL). The placement must be open to the learner (the launch's access rules) and launched once. A module without a ready package is a 409.",
    security: SECURITY.learner,
    request: {
      params: z.object({
        id: IdParam.shape.id,
        placement_id: IdParam.shape.id.openapi({ param: { name: "placement_id", in: "path" } }),
      }),
      body: jsonBody(PlayerLaunchInput),
    },
    responses: { 200: jsonResponse(Player, "The player"), ...errorResponses(401, 403, 404, 409, 413, 415) },
  }),
  async (c) => {
    const ctx = learnerContext(c);
    const { id, placement_id } = c.req.valid("param");
    const open = await assertPlacementOpen(ctx, id, placement_id);
    const player = await openPlayer(
      ctx,
      {
        course_id: id,
        placement_id,
        enrollment: { id: open.enrollmentId },
        module: {
          id: open.placement.module_id,
          type: open.placement.module.type,
          settings: open.placement.module.settings as Record<string, unknown>,
        },
      },
      baseUrl(c),
      c.req.valid("json").sco,
      c.req.valid("json").launch_mode,
    );
    if (!player) throw ApiError.conflict("This module has no ready package to play.");
    return c.json(player, 200);
  },
);

packagesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/learner/scorm/sessions/{id}",
    operationId: "getScormSession",
    tags: playerTags,
    summary: "Get a SCORM session's state",
    description:
      "The stored CMI state of one of the learner's SCORM sessions (for resume: `cmi` has `entry` and `total_time` set for the next launch), its statuses, score and time. Another learner's session is a 404.",
    security: SECURITY.learner,
    request: { params: IdParam },
    responses: { 200: jsonResponse(ScormSession, "The session"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await getSession(learnerContext(c), c.req.valid("param").id), 200),
);

packagesRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/learner/scorm/sessions/{id}/commit",
    operationId: "commitScormSession",
    tags: playerTags,
    summary: "Commit CMI data (scorm-again lmsCommitUrl)",
    description:
      "scorm-again's commit: `json`, `flattened` or `params` format (also with `renderCommonCommitFields`), sent with the learner's bearer token or instead with the launch token in the URL (`?token=`, as in the player's `commit_url`; sendBeacon commits carry no headers). " +
      "`text/plain` bodies (the sendBeacon commit on page unload) are taken as JSON and end the launch, as does `?terminate=true` (scorm-again's `terminateCommitParam`) or a `terminate: true` field. " +
      "With `includeCommitSequence`, a commit whose `commitSequence` is not above the stored one is stale or replayed: it answers `result: true` and changes nothing. A commit of an older launch, after the terminate, or whose body is not a commit answers `result: false` (HTTP 200, nothing stored). " +
      'Answers `{"result":true,"errorCode":0}` or `{"result":false,"errorCode":N}`. When the SCO\'s statuses finish the module the result goes to progress (module status, score, course completion).',
    security: SECURITY.learner,
    request: {
      params: IdParam,
      query: CommitQuery,
      body: {
        required: true,
        content: {
          // A plain schema (not zod): the handler reads the body itself, so a malformed commit answers
          // scorm-again's `{result: false, errorCode}` instead of a validation problem.
          "application/json": { schema: COMMIT_BODY_SCHEMA },
          "text/plain": { schema: z.string().openapi({ description: "The same JSON, as sendBeacon sends it" }) },
          // Plain schema too: read by the handler, not validated as a form.
          "application/x-www-form-urlencoded": {
            schema: {
              type: "object" as const,
              additionalProperties: { type: "string" as const },
              description:
                'scorm-again\'s `params` format (what it sends for `dataCommitFormat: "params"`): `cmi.completion_status=completed&adl.nav.request=continue&commitSequence=3`',
            },
          },
        },
      },
    },
    responses: {
      200: jsonResponse(
        CommitResult,
        "`result: true` when stored (or already stored); `result: false` with the SCORM error code when refused",
      ),
      ...errorResponses(401, 403, 404, 413, 415),
    },
  }),
  async (c) => {
    const id = c.req.valid("param").id;
    const query = c.req.valid("query");
    const contentType = (c.req.header("content-type") ?? "").toLowerCase();
    // scorm-again sends its `params` format as `application/x-www-form-urlencoded` (`key=value&...`).
    if (
      !contentType.startsWith("application/json") &&
      !contentType.startsWith("text/plain") &&
      !contentType.startsWith("application/x-www-form-urlencoded")
    ) {
      throw new ApiError(
        415,
        "Send the commit as `application/json` (`text/plain` from sendBeacon, `application/x-www-form-urlencoded` for scorm-again's params format).",
      );
    }
    let ctx: ReturnType<typeof tenantContextFor>;
    let committer: Parameters<typeof commitSession>[2];
    if (query.token && !c.get("principal")) {
      const claims = await verifyPlayerToken(c.env.JWT_SECRET, query.token);
      ctx = tenantContextFor(c, claims.tid);
      committer = { kind: "token", token: query.token };
    } else {
      const learner = learnerContext(c);
      ctx = learner;
      committer = query.token
        ? { kind: "token", token: query.token }
        : { kind: "learner", userId: learner.principal.userId };
    }
    const text = await c.req.text();
    const answer = await commitSession(ctx, id, committer, {
      text,
      contentType,
      terminateParam: query.terminate === "true",
    });
    return c.json(answer.body, answer.status);
  },
);

// ---- content ---------------------------------------------------------------------------------------------------------

packagesRouter.openAPIRegistry.registerPath({
  method: "get",
  path: "/content/{token}/{path}",
  operationId: "getPackageContent",
  tags: playerTags,
  summary: "Package content for the player",
  description:
    "A file of the package version the launch token names, from storage, with its content type, `ETag`/`If-None-Match` (304) and `Range` (206). Served sandboxed (`Content-Security-Policy: sandbox ...`), `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, never with cookies. `path` may contain slashes (the package's own folders). An expired or invalid token is a 401.",
  // Public: the launch token in the path is the credential (a player's files cannot send headers).
  security: [],
  request: {
    params: z.object({
      token: z.string().openapi({ param: { name: "token", in: "path" }, description: "The launch token" }),
      path: z.string().openapi({ param: { name: "path", in: "path" }, example: "index.html" }),
    }),
  },
  responses: {
    200: { description: "The file", content: { "*/*": { schema: z.string().openapi({ format: "binary" }) } } },
    206: {
      description: "Part of the file (Range)",
      content: { "*/*": { schema: z.string().openapi({ format: "binary" }) } },
    },
    304: { description: "Not modified" },
    ...errorResponses(401, 404),
  },
});

const content = async (c: Context<AppEnv>) => {
  const url = new URL(c.req.url);
  const match = /^\/content\/([^/]+)\/(.+)$/.exec(url.pathname);
  if (!match) throw ApiError.notFound(`File ${url.pathname}`);
  return serveContent(c.env, c.req.raw, match[1], match[2]);
};
packagesRouter.get("/content/:token/*", content);
packagesRouter.on("HEAD", "/content/:token/*", content);

// ---- cmi5 fetch URL ----------------------------------------------------------------------------------------------

packagesRouter.openAPIRegistry.registerPath({
  method: "post",
  path: "/cmi5/fetch/{token}",
  operationId: "fetchCmi5AuthToken",
  tags: playerTags,
  summary: "cmi5 fetch URL: the AU's auth-token",
  description:
    'The `fetch` launch parameter of a cmi5 AU launch (cmi5 section 8.2). The first POST answers `{"auth-token": "..."}`: the value of an `Authorization: Basic ...` header the LRS at `/xapi/` accepts for this learner and registration. As cmi5 8.2.2 requires, errors are answered with status 200 too, as `{"error-code": "...", "error-text": "..."}`: `1` already used, or its session ended or expired; `2` an invalid token; `3` the launch no longer exists.',
  // Public: the token in the path is the credential (the AU has no other).
  security: [],
  request: {
    params: z.object({
      token: z.string().openapi({ param: { name: "token", in: "path" }, description: "The fetch token of one launch" }),
    }),
  },
  responses: {
    200: {
      description: "The auth-token (once), or the cmi5 error (error-code 1, 2 or 3)",
      content: {
        "application/json": {
          schema: z.union([
            z.object({ "auth-token": z.string() }),
            z.object({ "error-code": z.enum(["1", "2", "3"]), "error-text": z.string() }),
          ]),
        },
      },
    },
    // Anything else (rate limit, an unexpected failure) is an ordinary problem.
    ...errorResponses(),
  },
});

packagesRouter.post("/cmi5/fetch/:token", async (c) => {
  const answer = await fetchAuthToken(c.get("db"), c.env, c.req.param("token"));
  c.header("Cache-Control", "no-store");
  return c.json(answer.body, answer.status);
});

/** Package uploads stream their zip to R2 under their own limit (app.ts skips the JSON body limit for them). */
export function isPackageUpload(method: string, path: string): boolean {
  return method === "POST" && /^\/v1\/admin\/packages(\/\d+\/versions)?$/.test(path);
}
