import { z } from "@hono/zod-openapi";
import { listQuery, paginated, Timestamp } from "../../platform/openapi";
import { MAX_URL_TTL_SECONDS } from "./signing";
import { MEDIA_KINDS, MEDIA_VISIBILITIES } from "./tables";

const Title = z.string().trim().min(1, "Required.").max(200).openapi({ example: "Welcome video" });
const Alt = z.string().max(1000).openapi({ example: "The instructor waving at the camera" });
const Duration = z
  .number()
  .int()
  .min(0)
  .max(7 * 86_400)
  .openapi({ description: "Length in seconds (audio and video), as the client measured it", example: 312 });
const Visibility = z
  .enum(MEDIA_VISIBILITIES)
  .openapi({ description: "`public` files download without a signature; `private` ones need a signed URL" });

export const Media = z
  .object({
    id: z.number().int().openapi({ example: 12 }),
    name: z.string().openapi({ example: "welcome.mp4", description: "File name (used in Content-Disposition)" }),
    title: z.string().openapi({ example: "Welcome video" }),
    alt: z.string().nullable().openapi({ description: "Alternative text for images" }),
    content_type: z.string().openapi({ example: "video/mp4" }),
    kind: z.enum(MEDIA_KINDS),
    size: z.number().int().openapi({ example: 52_428_800, description: "Bytes" }),
    visibility: Visibility,
    duration_seconds: z.number().int().nullable(),
    etag: z.string().openapi({ example: '"9a0364b9e99bb480dd25e1f0284c8555"' }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Media");

export const MediaList = paginated(Media, "MediaList");

export const MediaListQuery = listQuery(["created_at", "name", "size", "title"] as const, "-created_at").extend({
  kind: z.enum(MEDIA_KINDS).optional().openapi({ description: "Only files of this kind" }),
  content_type: z.string().max(200).optional().openapi({ description: "Only files of this media type" }),
  visibility: z.enum(MEDIA_VISIBILITIES).optional(),
});

/** Query parameters of the single-request upload (the body is the file itself). */
export const SingleUploadQuery = z.object({
  name: z
    .string()
    .min(1)
    .max(255)
    .openapi({ description: "File name; its extension must fit the Content-Type", example: "diagram.png" }),
  title: Title.optional(),
  alt: Alt.optional(),
  visibility: Visibility.optional(),
  duration_seconds: z.coerce
    .number()
    .int()
    .min(0)
    .max(7 * 86_400)
    .optional(),
});

export const UploadCreate = z
  .strictObject({
    name: z.string().min(1).max(255).openapi({ example: "lecture-01.mp4" }),
    content_type: z.string().min(1).max(200).openapi({ example: "video/mp4" }),
    size: z
      .number()
      .int()
      .positive()
      .max(Number.MAX_SAFE_INTEGER)
      .openapi({ example: 209_715_200, description: "Total bytes of the file" }),
    part_size: z.number().int().positive().optional().openapi({
      description:
        "Bytes per part (every part but the last): 5 MiB to 95 MiB and at least size/10,000. Default 8 MiB (raised for very large files).",
      example: 8_388_608,
    }),
    title: Title.optional(),
    alt: Alt.nullable().optional(),
    visibility: Visibility.optional(),
    duration_seconds: Duration.nullable().optional(),
  })
  .openapi("MediaUploadCreate");

export const UploadPart = z
  .object({ part_number: z.number().int(), size: z.number().int(), etag: z.string() })
  .openapi("MediaUploadPart");

export const Upload = z
  .object({
    upload_id: z.number().int().openapi({ example: 7 }),
    media_id: z.number().int().openapi({ description: "The file's id once complete" }),
    name: z.string(),
    content_type: z.string(),
    size: z.number().int(),
    part_size: z.number().int(),
    part_count: z.number().int(),
    last_part_size: z.number().int(),
    parts: z.array(UploadPart).openapi({ description: "Parts received so far" }),
    missing_parts: z.array(z.number().int()).openapi({ description: "Part numbers still to send (first 1,000)" }),
    created_at: Timestamp,
    expires_at: Timestamp.openapi({ description: "An upload not completed by then is dropped" }),
  })
  .openapi("MediaUpload");

export const PartReceipt = z
  .object({ upload_id: z.number().int(), part_number: z.number().int(), size: z.number().int(), etag: z.string() })
  .openapi("MediaUploadPartReceipt");

export const UploadIdParam = z.object({
  upload_id: z.coerce
    .number()
    .int()
    .positive()
    .max(Number.MAX_SAFE_INTEGER)
    .openapi({ param: { name: "upload_id", in: "path" }, example: 7 }),
});

export const PartParams = UploadIdParam.extend({
  n: z.coerce
    .number()
    .int()
    .min(1)
    .max(Number.MAX_SAFE_INTEGER)
    .openapi({ param: { name: "n", in: "path" }, example: 1, description: "Part number, from 1 to `part_count`" }),
});

export const MediaUpdate = z
  .strictObject({
    title: Title,
    alt: Alt.nullable(),
    duration_seconds: Duration.nullable(),
    visibility: Visibility,
  })
  .partial()
  .openapi("MediaUpdate");

export const DeleteQuery = z.object({
  force: z.enum(["true", "false"]).optional().openapi({
    description: "Delete even when modules, certificate templates, questions or discussion posts use the file",
  }),
});

export const MediaUsageList = z
  .object({
    data: z.array(
      z.object({
        type: z.enum(["module", "certificate_template", "question", "discussion_post"]).openapi({
          description: "discussion_post: a post whose attachments show the file (`name` is its thread's title)",
        }),
        id: z.number().int(),
        name: z.string(),
      }),
    ),
  })
  .openapi("MediaUsageList");

export const Usage = z
  .object({
    used_bytes: z.number().int().openapi({ description: "Bytes of ready files" }),
    reserved_bytes: z.number().int().openapi({ description: "Bytes of uploads in progress (they count too)" }),
    quota_bytes: z.number().int(),
    available_bytes: z.number().int(),
    file_count: z.number().int(),
    max_upload_bytes: z.number().int().openapi({ description: "Largest single-request upload" }),
    max_file_bytes: z.number().int().openapi({ description: "Largest file (multipart upload)" }),
    min_part_size: z.number().int(),
    max_part_size: z.number().int(),
  })
  .openapi("MediaUsage");

export const DownloadUrlRequest = z
  .strictObject({
    expires_in: z
      .number()
      .int()
      .min(10)
      .max(MAX_URL_TTL_SECONDS)
      .optional()
      .openapi({ description: "Seconds the URL stays valid (default 900)", example: 900 }),
  })
  .openapi("MediaDownloadUrlRequest");

export const DownloadUrl = z
  .object({
    url: z.string().openapi({
      example: "https://api.example.com/media/3/12/welcome.mp4?expires=1795000000&signature=Qm9...",
    }),
    expires_at: Timestamp,
    media: Media,
  })
  .openapi("MediaDownloadUrl");

export const MediaTypes = z
  .object({
    data: z.array(z.object({ content_type: z.string(), kind: z.enum(MEDIA_KINDS), extensions: z.array(z.string()) })),
  })
  .openapi("MediaTypes");

export const PublicFileParams = z.object({
  tenant_id: z.coerce
    .number()
    .int()
    .positive()
    .max(Number.MAX_SAFE_INTEGER)
    .openapi({ param: { name: "tenant_id", in: "path" }, example: 3 }),
  id: z.coerce
    .number()
    .int()
    .positive()
    .max(Number.MAX_SAFE_INTEGER)
    .openapi({ param: { name: "id", in: "path" }, example: 12 }),
  name: z
    .string()
    .max(1024)
    .openapi({ param: { name: "name", in: "path" }, example: "welcome.mp4" }),
});

export const PublicFileQuery = z.object({
  expires: z.string().max(20).optional().openapi({ description: "Unix time the signature expires (signed URLs)" }),
  signature: z.string().max(200).optional().openapi({ description: "HMAC of the signed URL" }),
  download: z
    .enum(["0", "1"])
    .optional()
    .openapi({ description: "`1`: Content-Disposition attachment instead of inline" }),
});

export const LearnerMediaParams = z.object({
  id: z.coerce
    .number()
    .int()
    .positive()
    .max(Number.MAX_SAFE_INTEGER)
    .openapi({ param: { name: "id", in: "path" }, example: 4, description: "The course id" }),
  placement_id: z.coerce
    .number()
    .int()
    .positive()
    .max(Number.MAX_SAFE_INTEGER)
    .openapi({ param: { name: "placement_id", in: "path" }, example: 31 }),
});
