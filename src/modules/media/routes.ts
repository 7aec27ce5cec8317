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
import { serveFile } from "./download";
import {
  DeleteQuery,
  DownloadUrl,
  DownloadUrlRequest,
  LearnerMediaParams,
  Media,
  MediaList,
  MediaListQuery,
  MediaTypes,
  MediaUpdate,
  MediaUsageList,
  PartParams,
  PartReceipt,
  PublicFileParams,
  PublicFileQuery,
  SingleUploadQuery,
  Upload,
  UploadCreate,
  UploadIdParam,
  Usage,
} from "./schemas";
import * as service from "./service";
import { checkSignature } from "./signing";
import { ALLOWED_TYPES } from "./sniff";

const tags = ["Media"];
export const mediaRouter = createRouter();

const originOf = (c: Context<AppEnv>) => new URL(c.req.url).origin;

/** Requests whose body is a file (or a part of one): exempt from the 1 MiB JSON body limit of /v1. */
export function isMediaUpload(method: string, path: string): boolean {
  return (
    (method === "POST" && path === "/v1/admin/media") ||
    (method === "PUT" && /^\/v1\/admin\/media\/uploads\/[^/]+\/parts\/[^/]+$/.test(path))
  );
}

const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ProblemSchema } },
});
const binaryBody = (description: string) => ({
  description,
  content: { "*/*": { schema: z.string().openapi({ format: "binary" }) } },
});
const FileHeaders = {
  ETag: { schema: { type: "string" as const }, description: "The file's entity tag" },
  "Content-Range": { schema: { type: "string" as const }, description: "206 only: `bytes start-end/size`" },
  "Accept-Ranges": { schema: { type: "string" as const }, description: "`bytes`" },
  "Content-Disposition": { schema: { type: "string" as const }, description: "inline or attachment, with the name" },
};

// ---- library ---------------------------------------------------------------------------------------------------

mediaRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/media/types",
    operationId: "listMediaTypes",
    tags,
    summary: "List accepted media types",
    description:
      "The allow list: each accepted `content_type`, its `kind` and the file name extensions that fit it. Uploads of other types answer 415; a file whose first bytes do not match its declared type answers 415 `content-type-mismatch`.",
    ...adminAccess("media:read"),
    responses: { 200: jsonResponse(MediaTypes, "The accepted types"), ...errorResponses(401, 403) },
  }),
  async (c) => {
    adminContext(c);
    return c.json(
      {
        data: Object.entries(ALLOWED_TYPES).map(([content_type, info]) => ({
          content_type,
          kind: info.kind,
          extensions: info.extensions,
        })),
      },
      200,
    );
  },
);

mediaRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/media/usage",
    operationId: "getMediaUsage",
    tags,
    summary: "Storage used and the academy's limits",
    description:
      "Bytes of ready files (`used_bytes`), bytes reserved by uploads in progress (`reserved_bytes`, they count against the quota until completed, aborted or expired), the quota, what is left, and the size limits of both upload styles. The operator sets the limits in the academy's `settings.media` (`quota_bytes`, `max_upload_bytes`, `max_file_bytes`).",
    ...adminAccess("media:read"),
    responses: { 200: jsonResponse(Usage, "Usage and limits"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await service.usage(adminContext(c)), 200),
);

mediaRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/media",
    operationId: "listMedia",
    tags,
    summary: "List media files",
    description:
      "The academy's media library, newest first by default. Filter by `kind` (image, audio, video, document, archive, caption), `content_type` or `visibility`; `q` searches the name and title; sort by `created_at`, `name`, `size` or `title`. Uploads still in progress are not listed.",
    ...adminAccess("media:read"),
    request: { query: MediaListQuery },
    responses: { 200: jsonResponse(MediaList, "A page of files"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await service.listMedia(adminContext(c), c.req.valid("query")), 200),
);

mediaRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/media",
    operationId: "uploadMedia",
    tags,
    summary: "Upload a file in one request",
    description:
      "The request body is the file itself (not JSON, not multipart/form-data), streamed to R2 without being held in memory. `Content-Type` is the file's media type (one of `GET /v1/admin/media/types`), `Content-Length` its size (required: 411 without it), `name` the file name, whose extension must fit the type. The first bytes must match the declared type (415 `content-type-mismatch` otherwise). Up to the academy's `max_upload_bytes` (95 MiB by default; 413 above: use the multipart upload); a file that does not fit the quota is a 409 `quota-exceeded`. Emits `media.created`.",
    ...adminAccess("media:write"),
    request: { query: SingleUploadQuery, body: binaryBody("The file's bytes") },
    responses: {
      201: jsonResponse(Media, "The stored file"),
      ...errorResponses(401, 403, 409, 413, 415),
      411: problem("`Content-Length` is missing"),
    },
  }),
  async (c) => {
    const ctx = adminContext(c);
    const query = c.req.valid("query");
    const file = await service.uploadSingle(ctx, {
      ...query,
      contentType: c.req.header("content-type"),
      contentLength: c.req.header("content-length"),
      body: c.req.raw.body,
    });
    c.header("Location", `/v1/admin/media/${file.id}`);
    return c.json(file, 201);
  },
);

// ---- multipart uploads ----------------------------------------------------------------------------------------

mediaRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/media/uploads",
    operationId: "createMediaUpload",
    tags,
    summary: "Start a multipart upload",
    description:
      "For large files (up to the academy's `max_file_bytes`, 5 GiB by default) and resumable uploads. Give the file's `name`, `content_type` and total `size`; the answer says the `part_size` and `part_count`: send part `n` (1 to part_count) with `PUT /v1/admin/media/uploads/{upload_id}/parts/{n}`, every part exactly `part_size` bytes except the last (`last_part_size`), in any order, retrying any that fails; then `POST .../complete`. `GET .../{upload_id}` tells which parts arrived (to resume after a crash). The file's size is reserved against the quota from now on (409 `quota-exceeded` if it does not fit) until it is completed, aborted, or 7 days pass.",
    ...adminAccess("media:write"),
    request: { body: jsonBody(UploadCreate) },
    responses: {
      201: jsonResponse(Upload, "The upload, with its part layout"),
      ...errorResponses(401, 403, 409, 413, 415),
    },
  }),
  async (c) => {
    const upload = await service.createUpload(adminContext(c), c.req.valid("json"));
    c.header("Location", `/v1/admin/media/uploads/${upload.upload_id}`);
    return c.json(upload, 201);
  },
);

mediaRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/media/uploads/{upload_id}",
    operationId: "getMediaUpload",
    tags,
    summary: "Get a multipart upload's state",
    description:
      "The part layout, the parts received (with their sizes and etags) and `missing_parts`: what a client resuming an interrupted upload still has to send. Completed, aborted and expired uploads answer 404.",
    ...adminAccess("media:write"),
    request: { params: UploadIdParam },
    responses: { 200: jsonResponse(Upload, "The upload"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await service.getUpload(adminContext(c), c.req.valid("param").upload_id), 200),
);

mediaRouter.openapi(
  createRoute({
    method: "put",
    path: "/v1/admin/media/uploads/{upload_id}/parts/{n}",
    operationId: "uploadMediaPart",
    tags,
    summary: "Upload one part",
    description:
      "The body is the part's bytes (any Content-Type), streamed to R2's multipart uploadPart: exactly `part_size` bytes, or `last_part_size` for the last part (422 otherwise), with `Content-Length`. Sending a part again replaces it, so a failed part is simply retried. Part 1's first bytes must match the upload's declared type (415 `content-type-mismatch`).",
    ...adminAccess("media:write"),
    request: { params: PartParams, body: binaryBody("The part's bytes") },
    responses: {
      200: jsonResponse(PartReceipt, "The part was stored"),
      ...errorResponses(401, 403, 404, 409, 413, 415),
      411: problem("`Content-Length` is missing"),
    },
  }),
  async (c) => {
    const { upload_id, n } = c.req.valid("param");
    return c.json(
      await service.uploadPart(adminContext(c), upload_id, n, {
        contentLength: c.req.header("content-length"),
        body: c.req.raw.body,
      }),
      200,
    );
  },
);

mediaRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/media/uploads/{upload_id}/complete",
    operationId: "completeMediaUpload",
    tags,
    summary: "Complete a multipart upload",
    description:
      "Assembles the parts into the file (R2 multipart complete) and adds it to the library. Every part must have arrived (409 listing `missing_parts` otherwise). Safe to retry: calling it again, or twice at once, answers the same file and records one `media.created`. After completion the upload takes no more parts and cannot be aborted (409).",
    ...adminAccess("media:write"),
    request: { params: UploadIdParam },
    responses: { 201: jsonResponse(Media, "The stored file"), ...errorResponses(401, 403, 404, 409) },
  }),
  async (c) => {
    const file = await service.completeUpload(adminContext(c), c.req.valid("param").upload_id);
    c.header("Location", `/v1/admin/media/${file.id}`);
    return c.json(file, 201);
  },
);

mediaRouter.openapi(
  createRoute({
    method: "delete",
    path: "/v1/admin/media/uploads/{upload_id}",
    operationId: "abortMediaUpload",
    tags,
    summary: "Abort a multipart upload",
    description:
      "Drops the parts sent so far (R2 multipart abort) and releases the reserved quota. A completed upload cannot be aborted (409): delete the file instead. An upload neither completed nor aborted within 7 days stops reserving quota and is aborted by Lectern (its parts, row and R2 multipart upload go).",
    ...adminAccess("media:write"),
    request: { params: UploadIdParam },
    responses: { 204: { description: "Aborted" }, ...errorResponses(401, 403, 404, 409) },
  }),
  async (c) => {
    await service.abortUpload(adminContext(c), c.req.valid("param").upload_id);
    return c.body(null, 204);
  },
);

// ---- one file ----------------------------------------------------------------------------------------------------

mediaRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/media/{id}",
    operationId: "getMedia",
    tags,
    summary: "Get a media file",
    description: "The file's metadata. Download it through `POST /v1/admin/media/{id}/download-url`.",
    ...adminAccess("media:read"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(Media, "The file"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await service.getMedia(adminContext(c), c.req.valid("param").id), 200),
);

mediaRouter.openapi(
  createRoute({
    method: "patch",
    path: "/v1/admin/media/{id}",
    operationId: "updateMedia",
    tags,
    summary: "Update a file's metadata",
    description:
      "Changes `title`, `alt`, `visibility` or `duration_seconds` (audio and video only, as the client measured it). The bytes never change: upload a new file instead. Emits `media.updated`.",
    ...adminAccess("media:write"),
    request: { params: IdParam, body: jsonBody(MediaUpdate) },
    responses: { 200: jsonResponse(Media, "The updated file"), ...errorResponses(401, 403, 404, 413, 415) },
  }),
  async (c) => c.json(await service.updateMedia(adminContext(c), c.req.valid("param").id, c.req.valid("json")), 200),
);

mediaRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/media/{id}/usages",
    operationId: "listMediaUsages",
    tags,
    summary: "What uses a file",
    description:
      "Modules whose settings point at the file (`media_id`), certificate templates with it as background, questions of the bank that show it, and discussion posts that attach it (not deleted ones; `name` is the thread's title); at most 100 of each.",
    ...adminAccess("media:read"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(MediaUsageList, "The users of the file"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await service.mediaUsages(adminContext(c), c.req.valid("param").id), 200),
);

mediaRouter.openapi(
  createRoute({
    method: "delete",
    path: "/v1/admin/media/{id}",
    operationId: "deleteMedia",
    tags,
    summary: "Delete a file",
    description:
      "Deletes the file and its bytes. A file used by a module, a certificate template, a question or a discussion post (an attachment) is a 409 naming them in `used_by`, unless `force=true` (the modules then point at a missing file: their players answer 404 for it). Emits `media.deleted`.",
    ...adminAccess("media:write"),
    request: { params: IdParam, query: DeleteQuery },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404, 409) },
  }),
  async (c) => {
    await service.deleteMedia(adminContext(c), c.req.valid("param").id, c.req.valid("query").force === "true");
    return c.body(null, 204);
  },
);

mediaRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/media/{id}/download-url",
    operationId: "createMediaDownloadUrl",
    tags,
    summary: "Issue a signed download URL",
    description:
      "A short-lived URL (`expires_in` seconds, default 900, at most 7 days) that downloads the file without a credential, for a browser, a `<video>` or `<img>` tag. Works for private and public files; the URL is refused (403 `url-expired`) once it expires.",
    ...adminAccess("media:read"),
    request: { params: IdParam, body: { ...jsonBody(DownloadUrlRequest), required: false } },
    responses: { 200: jsonResponse(DownloadUrl, "The signed URL"), ...errorResponses(401, 403, 404, 413, 415) },
  }),
  async (c) => {
    const { expires_in } = c.req.valid("json");
    return c.json(
      await service.adminDownloadUrl(adminContext(c), c.req.valid("param").id, originOf(c), expires_in),
      200,
    );
  },
);

// ---- learners ------------------------------------------------------------------------------------------------------

mediaRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/learner/courses/{id}/modules/{placement_id}/media-url",
    operationId: "createLearnerMediaUrl",
    tags,
    summary: "Signed URL for a module's file",
    description:
      "For the signed-in learner: a short-lived URL (15 minutes) of the media file a video, audio, PDF or slides module plays (`settings.media_id`). The placement must be open to the learner: the same enrollment, drip and prerequisite rules as launch (403 problems), recording nothing. A module without a library file is a 404.",
    security: SECURITY.learner,
    request: { params: LearnerMediaParams },
    responses: { 200: jsonResponse(DownloadUrl, "The signed URL"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const { id, placement_id } = c.req.valid("param");
    return c.json(await service.learnerMediaUrl(learnerContext(c), id, placement_id, originOf(c)), 200);
  },
);

// ---- downloads ------------------------------------------------------------------------------------------------------

mediaRouter.openapi(
  createRoute({
    method: "get",
    path: "/media/{tenant_id}/{id}/{name}",
    operationId: "downloadMedia",
    security: [],
    tags,
    summary: "Download a file",
    description:
      "Streams the file from R2. Public files need nothing more; private ones need the `expires` and `signature` of a signed URL (a private or unknown file without them is a 404; an expired URL is a 403 `url-expired`, a forged one a 403 `invalid-signature`). Honours a single byte `Range` (206 with `Content-Range`; `bytes=500-`, `bytes=-500`; a range past the end is a 416; several ranges get the whole file), `If-Range`, and `If-None-Match` (304). `Content-Type` is the stored type, `Content-Disposition` names the file (`download=1` makes it an attachment).",
    request: { params: PublicFileParams, query: PublicFileQuery },
    responses: {
      200: {
        description: "The whole file",
        headers: FileHeaders,
        content: { "*/*": { schema: z.string().openapi({ format: "binary" }) } },
      },
      206: {
        description: "The requested byte range",
        headers: FileHeaders,
        content: { "*/*": { schema: z.string().openapi({ format: "binary" }) } },
      },
      304: { description: "Not modified: `If-None-Match` names the current ETag" },
      ...errorResponses(403, 404),
      416: problem("The range starts past the end of the file (`Content-Range: bytes */size`)"),
    },
  }),
  async (c) => {
    const { tenant_id, id } = c.req.valid("param");
    const query = c.req.valid("query");
    const check = await checkSignature(c.env, tenant_id, id, query.expires, query.signature);
    if (check === "invalid") {
      throw new ApiError(403, "The URL's signature is not valid.", { slug: "invalid-signature" });
    }
    if (check === "expired") {
      throw new ApiError(403, "This signed URL has expired; ask the API for a new one.", {
        slug: "url-expired",
        title: "URL expired",
      });
    }
    const ctx = tenantContextFor(c, tenant_id);
    const row = await service.servedFile(ctx.db, tenant_id, id);
    if (!row || (check !== "valid" && row.visibility !== "public")) throw ApiError.notFound("The file");
    const ttl = Number(query.expires ?? 0) - Math.floor(Date.now() / 1000);
    return serveFile(c.env.MEDIA, row, {
      range: c.req.header("range"),
      ifNoneMatch: c.req.header("if-none-match"),
      ifRange: c.req.header("if-range"),
      download: query.download === "1",
      cacheControl: check === "valid" ? `private, max-age=${Math.max(0, Math.min(ttl, 3600))}` : "public, max-age=300",
      head: c.req.method === "HEAD",
    }) as never;
  },
);
