import { and, asc, eq, gt, inArray, lt, or, type SQL, sql } from "drizzle-orm";
import type { AdminPrincipal, LearnerPrincipal, TenantContext } from "../../platform/auth";
import { batchableRaw } from "../../platform/db";
import type { Db, Env } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { outboxInsert } from "../../platform/events";
import { contains, type ListParams, orderBy, paginate } from "../../platform/pagination";
import { addSeconds, nowIso } from "../../platform/time";
import { assertPlacementOpen } from "../progress/service";
import { findTenant } from "../tenants/service";
import { DEFAULT_URL_TTL_SECONDS, signedMediaPath } from "./signing";
import { extensionOf, normalizeType, SNIFF_BYTES, sniffMatches, typeInfo } from "./sniff";
import { media, mediaUploadParts, mediaUploads } from "./tables";

type AdminCtx = TenantContext<AdminPrincipal>;
type MediaRow = typeof media.$inferSelect;
type UploadRow = typeof mediaUploads.$inferSelect;

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** R2 multipart rules (DESIGN.md section 8): parts >= 5 MiB but the last, equal sizes, at most 10,000 parts. */
export const MIN_PART_SIZE = 5 * MiB;
/** One part is one request through the Worker: under the 100 MB request-body cap of Free/Pro zones. */
export const MAX_PART_SIZE = 95 * MiB;
export const MAX_PARTS = 10_000;
const DEFAULT_PART_SIZE = 8 * MiB;

/** A single-request upload that never finished stops reserving quota after this. */
const SINGLE_RESERVATION_SECONDS = 3600;
/** R2 aborts incomplete multipart uploads after 7 days; so do we. */
const MULTIPART_RESERVATION_SECONDS = 7 * 86_400;

/** Per-academy limits, from `settings.media` of the tenant (set by the operator), with safe defaults. */
export interface MediaLimits {
  quota_bytes: number;
  max_upload_bytes: number;
  max_file_bytes: number;
}
export const DEFAULT_LIMITS: MediaLimits = {
  quota_bytes: 10 * GiB,
  max_upload_bytes: 95 * MiB,
  max_file_bytes: 5 * GiB,
};

function positiveInt(value: unknown, fallback: number) {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0 ? value : fallback;
}

export async function limitsOf(ctx: TenantContext): Promise<MediaLimits> {
  const tenant = await findTenant(ctx.db, ctx.tenantId);
  const settings = (tenant.settings?.media ?? {}) as Record<string, unknown>;
  const quota = positiveInt(settings.quota_bytes, DEFAULT_LIMITS.quota_bytes);
  return {
    quota_bytes: quota,
    // A single request is capped by the platform's request-body limit whatever the setting says.
    max_upload_bytes: Math.min(positiveInt(settings.max_upload_bytes, DEFAULT_LIMITS.max_upload_bytes), MAX_PART_SIZE),
    max_file_bytes: positiveInt(settings.max_file_bytes, DEFAULT_LIMITS.max_file_bytes),
  };
}

// ---- views ----------------------------------------------------------------------------------------------------

export function toMedia(row: MediaRow) {
  return {
    id: row.id,
    name: row.name,
    title: row.title,
    alt: row.alt,
    content_type: row.contentType,
    kind: row.kind,
    size: row.size,
    visibility: row.visibility,
    duration_seconds: row.durationSeconds,
    etag: row.etag ?? "",
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

function toUpload(upload: UploadRow, file: MediaRow, parts: { partNumber: number; size: number; etag: string }[]) {
  const received = new Set(parts.map((p) => p.partNumber));
  const missing: number[] = [];
  for (let n = 1; n <= upload.partCount && missing.length < 1000; n++) if (!received.has(n)) missing.push(n);
  return {
    upload_id: upload.id,
    media_id: file.id,
    name: file.name,
    content_type: file.contentType,
    size: file.size,
    part_size: upload.partSize,
    part_count: upload.partCount,
    last_part_size: file.size - (upload.partCount - 1) * upload.partSize,
    parts: parts
      .sort((a, b) => a.partNumber - b.partNumber)
      .map((p) => ({ part_number: p.partNumber, size: p.size, etag: p.etag })),
    missing_parts: missing,
    created_at: upload.createdAt,
    expires_at: upload.expiresAt,
  };
}

// ---- names, types and the R2 key -------------------------------------------------------------------------------

export function r2KeyOf(tenantId: number, mediaId: number, name: string) {
  return `t/${tenantId}/media/${mediaId}/${name}`;
}

/**
 * A file name as stored: the last path segment, no control characters, at most 255 characters; its extension
 * must be one of the declared type's (so the name a browser saves agrees with the content).
 */
function checkName(name: string, type: string, path = "name"): string {
  const base = name.replace(/^.*[\\/]/, "").trim();
  if (!base || base === "." || base === "..") throw ApiError.validation([{ path, message: "Give a file name." }]);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
  if (/[\u0000-\u001f\u007f]/.test(base) || base.length > 255) {
    throw ApiError.validation([{ path, message: "Use at most 255 characters and no control characters." }]);
  }
  const extensions = typeInfo(type).extensions;
  if (!extensions.includes(extensionOf(base))) {
    throw ApiError.validation([
      { path, message: `A ${type} file name ends in ${extensions.map((e) => `.${e}`).join(", ")}.` },
    ]);
  }
  return base;
}

/** The declared type, normalised, or a 415 naming the allow list. */
export function allowedType(declared: string | undefined | null): string {
  const type = normalizeType(declared);
  if (!type) {
    throw new ApiError(
      415,
      `\`${declared ?? "(none)"}\` is not an accepted media type. See GET /v1/admin/media/types for the allow list.`,
    );
  }
  return type;
}

function mismatch(type: string): ApiError {
  return new ApiError(415, `The file's content is not ${type}: its first bytes do not match the declared type.`, {
    slug: "content-type-mismatch",
    title: "Content does not match its declared type",
  });
}

// ---- quota -----------------------------------------------------------------------------------------------------

/** Bytes counted against the quota: ready files plus uploads whose reservation has not expired. */
function usedBytesSql(tenantId: number, now: string): SQL {
  return sql`(SELECT coalesce(sum(${media.size}), 0) FROM ${media} WHERE ${media.tenantId} = ${tenantId} AND (${media.status} = 'ready' OR (${media.status} = 'uploading' AND ${media.expiresAt} > ${now})))`;
}

export async function usage(ctx: AdminCtx) {
  const now = nowIso();
  const [limits, [row]] = await Promise.all([
    limitsOf(ctx),
    ctx.db
      .select({
        used: sql<number>`coalesce(sum(CASE WHEN ${media.status} = 'ready' THEN ${media.size} ELSE 0 END), 0)`,
        reserved: sql<number>`coalesce(sum(CASE WHEN ${media.status} = 'uploading' AND ${media.expiresAt} > ${now} THEN ${media.size} ELSE 0 END), 0)`,
        files: sql<number>`coalesce(sum(CASE WHEN ${media.status} = 'ready' THEN 1 ELSE 0 END), 0)`,
      })
      .from(media)
      .where(eq(media.tenantId, ctx.tenantId)),
  ]);
  const used = Number(row?.used ?? 0);
  const reserved = Number(row?.reserved ?? 0);
  return {
    used_bytes: used,
    reserved_bytes: reserved,
    quota_bytes: limits.quota_bytes,
    available_bytes: Math.max(0, limits.quota_bytes - used - reserved),
    file_count: Number(row?.files ?? 0),
    max_upload_bytes: limits.max_upload_bytes,
    max_file_bytes: limits.max_file_bytes,
    min_part_size: MIN_PART_SIZE,
    max_part_size: MAX_PART_SIZE,
  };
}

interface NewFile {
  name: string;
  type: string;
  size: number;
  title?: string | null;
  alt?: string | null;
  visibility?: "private" | "public";
  duration_seconds?: number | null;
}

/**
 * Inserts the `uploading` row of a new file if the academy's quota has room for its size, in ONE statement
 * (the check and the insert cannot interleave with another upload's). Returns the new id.
 */
async function reserve(ctx: TenantContext, file: NewFile, limits: MediaLimits, seconds: number): Promise<number> {
  const now = nowIso();
  const info = typeInfo(file.type);
  const rows = await ctx.db.all<{ id: number }>(sql`
    INSERT INTO ${media} (tenant_id, status, name, title, alt, content_type, kind, size, visibility, duration_seconds, r2_key, expires_at, created_at, updated_at)
    SELECT ${ctx.tenantId}, 'uploading', ${file.name}, ${file.title?.trim() || file.name}, ${file.alt ?? null}, ${file.type}, ${info.kind}, ${file.size}, ${file.visibility ?? "private"}, ${file.duration_seconds ?? null}, '', ${addSeconds(now, seconds)}, ${now}, ${now}
    WHERE ${usedBytesSql(ctx.tenantId, now)} + ${file.size} <= ${limits.quota_bytes}
    RETURNING id`);
  const id = rows[0]?.id;
  if (id === undefined) {
    throw new ApiError(
      409,
      `This file (${file.size} bytes) does not fit in the academy's media quota of ${limits.quota_bytes} bytes. Delete files or ask for a larger quota.`,
      { slug: "quota-exceeded", title: "Media quota exceeded", extra: { quota_bytes: limits.quota_bytes } },
    );
  }
  return id;
}

async function release(ctx: TenantContext, mediaId: number) {
  await ctx.db.delete(media).where(and(eq(media.tenantId, ctx.tenantId), eq(media.id, mediaId)));
}

// ---- streaming ------------------------------------------------------------------------------------------------

/** Reads the first bytes of a body (up to SNIFF_BYTES, fewer if the body is shorter) without losing any. */
async function readHead(reader: ReadableStreamDefaultReader<Uint8Array>, length: number) {
  const want = Math.min(SNIFF_BYTES, length);
  const chunks: Uint8Array[] = [];
  let got = 0;
  while (got < want) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    got += value.byteLength;
  }
  const head = new Uint8Array(got);
  let at = 0;
  for (const chunk of chunks) {
    head.set(chunk, at);
    at += chunk.byteLength;
  }
  return head;
}

/**
 * A body of exactly `length` bytes as a stream R2 accepts (it needs the length up front), made of the bytes
 * already read (`head`) and the rest of the reader. A body shorter or longer than `length` errors the stream.
 */
function fixedLength(head: Uint8Array, reader: ReadableStreamDefaultReader<Uint8Array>, length: number) {
  const { readable, writable } = new FixedLengthStream(length);
  const pump = (async () => {
    const writer = writable.getWriter();
    try {
      await writer.write(head);
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        await writer.write(value);
      }
      await writer.close();
    } catch (err) {
      await writer.abort(err).catch(() => {});
      await reader.cancel().catch(() => {});
      throw err;
    }
  })();
  return { readable, pump };
}

function sizeMismatch(expected: number): ApiError {
  return new ApiError(400, `The body did not have the ${expected} bytes its Content-Length announced.`);
}

// ---- single-request upload --------------------------------------------------------------------------------------

export interface SingleUpload {
  name: string;
  title?: string;
  alt?: string;
  visibility?: "private" | "public";
  duration_seconds?: number;
  contentType: string | undefined;
  contentLength: string | undefined;
  body: ReadableStream<Uint8Array> | null;
}

export async function uploadSingle(ctx: AdminCtx, input: SingleUpload) {
  const type = allowedType(input.contentType);
  const name = checkName(input.name, type);
  if (input.contentLength === undefined || !/^\d+$/.test(input.contentLength)) {
    throw new ApiError(411, "Send the file's size in `Content-Length` (chunked bodies are not accepted).", {
      slug: "length-required",
      title: "Length required",
    });
  }
  const size = Number(input.contentLength);
  if (size === 0 || !input.body) throw ApiError.validation([{ path: "(body)", message: "The file is empty." }]);
  const limits = await limitsOf(ctx);
  if (size > limits.max_upload_bytes) {
    throw new ApiError(
      413,
      `A single-request upload takes at most ${limits.max_upload_bytes} bytes; send larger files through POST /v1/admin/media/uploads (multipart).`,
      { extra: { max_upload_bytes: limits.max_upload_bytes } },
    );
  }
  const reader = input.body.getReader();
  const head = await readHead(reader, size);
  if (!sniffMatches(type, head)) {
    await reader.cancel().catch(() => {});
    throw mismatch(type);
  }
  const id = await reserve(ctx, { ...input, name, type, size }, limits, SINGLE_RESERVATION_SECONDS);
  const key = r2KeyOf(ctx.tenantId, id, name);
  let object: R2Object | null;
  try {
    const { readable, pump } = fixedLength(head, reader, size);
    [object] = await Promise.all([
      ctx.env.MEDIA.put(key, readable, { httpMetadata: { contentType: type }, customMetadata: { name } }),
      pump,
    ]);
  } catch (err) {
    await release(ctx, id);
    if (err instanceof ApiError) throw err;
    console.error(JSON.stringify({ level: "warn", message: "media upload failed", error: String(err) }));
    throw sizeMismatch(size);
  }
  if (!object || object.size !== size) {
    await Promise.all([ctx.env.MEDIA.delete(key), release(ctx, id)]);
    throw sizeMismatch(size);
  }
  return finishFile(ctx, id, key, object.httpEtag);
}

/**
 * Flips a reserved file to ready with its R2 etag and records `media.created`, in one batch. Only an `uploading`
 * row flips, and the event is written only when it did (`changes()`), so a second, concurrent completion of the
 * same upload answers the file and records nothing. A multipart upload's part rows go in the same batch; its
 * upload row stays (until it expires) so a retried `complete` answers the file again.
 */
async function finishFile(ctx: TenantContext, id: number, key: string, etag: string, uploadId?: number) {
  const now = nowIso();
  const data = {
    id,
    name: key.slice(key.lastIndexOf("/") + 1),
    source: uploadId !== undefined ? "multipart" : "single",
  };
  let rows: MediaRow[];
  try {
    [rows] = await ctx.db.batch([
      ctx.db
        .update(media)
        .set({ status: "ready", r2Key: key, etag, expiresAt: null, updatedAt: now })
        .where(and(eq(media.tenantId, ctx.tenantId), eq(media.id, id), eq(media.status, "uploading")))
        .returning(),
      batchableRaw(
        ctx.db,
        sql`INSERT INTO outbox (tenant_id, type, data, occurred_at)
            SELECT ${ctx.tenantId}, 'media.created', ${JSON.stringify(data)}, ${now} WHERE changes() > 0`,
      ),
      ...(uploadId !== undefined
        ? [
            ctx.db
              .delete(mediaUploadParts)
              .where(and(eq(mediaUploadParts.tenantId, ctx.tenantId), eq(mediaUploadParts.uploadId, uploadId))),
          ]
        : []),
    ]);
  } catch (err) {
    await dropUnlistedBytes(ctx, id, key);
    throw err;
  }
  if (rows[0]) return toMedia(rows[0]);
  // Not flipped: another completion did it first (answer the file), or the upload was aborted meanwhile.
  const [current] = await ctx.db
    .select()
    .from(media)
    .where(and(eq(media.tenantId, ctx.tenantId), eq(media.id, id)))
    .limit(1);
  if (current?.status === "ready") return toMedia(current);
  await dropUnlistedBytes(ctx, id, key);
  throw ApiError.notFound(`Media ${id}`);
}

/** Deletes the bytes of a file unless its row is ready (the bytes must not stay behind unlisted). */
async function dropUnlistedBytes(ctx: TenantContext, id: number, key: string) {
  const [row] = await ctx.db
    .select({ status: media.status })
    .from(media)
    .where(and(eq(media.tenantId, ctx.tenantId), eq(media.id, id)))
    .limit(1)
    .catch(() => [undefined]);
  if (row?.status !== "ready") await ctx.env.MEDIA.delete(key).catch(() => {});
}

// ---- multipart upload --------------------------------------------------------------------------------------------

export interface CreateUpload {
  name: string;
  content_type: string;
  size: number;
  part_size?: number;
  title?: string;
  alt?: string | null;
  visibility?: "private" | "public";
  duration_seconds?: number | null;
}

/** The part size: the client's if it fits R2's rules, else 8 MiB, raised so the file needs at most 10,000 parts. */
function partSizeFor(size: number, requested: number | undefined): number {
  const floor = Math.max(MIN_PART_SIZE, Math.ceil(size / MAX_PARTS / MiB) * MiB);
  if (requested !== undefined) {
    if (requested < floor || requested > MAX_PART_SIZE) {
      throw ApiError.validation([
        {
          path: "part_size",
          message: `For ${size} bytes use a part size between ${floor} and ${MAX_PART_SIZE} bytes.`,
        },
      ]);
    }
    return requested;
  }
  return Math.max(floor, DEFAULT_PART_SIZE);
}

export async function createUpload(ctx: AdminCtx, input: CreateUpload) {
  const type = normalizeType(input.content_type);
  if (!type) {
    throw ApiError.validation([
      { path: "content_type", message: `\`${input.content_type}\` is not an accepted media type.` },
    ]);
  }
  const name = checkName(input.name, type);
  const limits = await limitsOf(ctx);
  if (input.size > limits.max_file_bytes) {
    throw new ApiError(413, `Files are limited to ${limits.max_file_bytes} bytes in this academy.`, {
      extra: { max_file_bytes: limits.max_file_bytes },
    });
  }
  const partSize = partSizeFor(input.size, input.part_size);
  const partCount = Math.max(1, Math.ceil(input.size / partSize));
  if (partCount > MAX_PARTS) {
    throw ApiError.validation([{ path: "size", message: `At most ${MAX_PARTS} parts: raise part_size.` }]);
  }
  const id = await reserve(
    ctx,
    {
      name,
      type,
      size: input.size,
      title: input.title,
      alt: input.alt,
      visibility: input.visibility,
      duration_seconds: input.duration_seconds,
    },
    limits,
    MULTIPART_RESERVATION_SECONDS,
  );
  const key = r2KeyOf(ctx.tenantId, id, name);
  let r2UploadId: string;
  try {
    const upload = await ctx.env.MEDIA.createMultipartUpload(key, {
      httpMetadata: { contentType: type },
      customMetadata: { name },
    });
    r2UploadId = upload.uploadId;
  } catch (err) {
    await release(ctx, id);
    throw err;
  }
  const now = nowIso();
  const [, inserted] = await ctx.db.batch([
    ctx.db
      .update(media)
      .set({ r2Key: key })
      .where(and(eq(media.tenantId, ctx.tenantId), eq(media.id, id))),
    ctx.db
      .insert(mediaUploads)
      .values({
        tenantId: ctx.tenantId,
        mediaId: id,
        r2UploadId,
        partSize,
        partCount,
        createdAt: now,
        expiresAt: addSeconds(now, MULTIPART_RESERVATION_SECONDS),
      })
      .returning(),
  ]);
  const upload = inserted[0] as UploadRow;
  const [file] = await ctx.db.select().from(media).where(eq(media.id, id));
  return toUpload(upload, file as MediaRow, []);
}

async function loadUpload(ctx: TenantContext, uploadId: number) {
  const [row] = await ctx.db
    .select({ upload: mediaUploads, file: media })
    .from(mediaUploads)
    .innerJoin(media, eq(media.id, mediaUploads.mediaId))
    .where(
      and(eq(mediaUploads.tenantId, ctx.tenantId), eq(mediaUploads.id, uploadId), gt(mediaUploads.expiresAt, nowIso())),
    )
    .limit(1);
  if (!row) throw ApiError.notFound(`Upload ${uploadId}`);
  return row;
}

async function partsOf(ctx: TenantContext, uploadId: number) {
  return ctx.db
    .select({ partNumber: mediaUploadParts.partNumber, size: mediaUploadParts.size, etag: mediaUploadParts.etag })
    .from(mediaUploadParts)
    .where(and(eq(mediaUploadParts.tenantId, ctx.tenantId), eq(mediaUploadParts.uploadId, uploadId)));
}

/** A completed upload is no longer an upload (its file is in the library); only `complete` still answers it. */
function completed(file: MediaRow, uploadId: number): ApiError {
  return ApiError.conflict(`Upload ${uploadId} is complete: it is media ${file.id}.`, { media_id: file.id });
}

export async function getUpload(ctx: AdminCtx, uploadId: number) {
  const { upload, file } = await loadUpload(ctx, uploadId);
  if (file.status === "ready") throw ApiError.notFound(`Upload ${uploadId}`);
  return toUpload(upload, file, await partsOf(ctx, uploadId));
}

export interface PartInput {
  contentLength: string | undefined;
  body: ReadableStream<Uint8Array> | null;
}

/**
 * One part: exactly `part_size` bytes (the last part: the rest), streamed to R2's uploadPart. Sending a part
 * again replaces it (retry after a network failure). Part 1's first bytes must match the declared type.
 */
export async function uploadPart(ctx: AdminCtx, uploadId: number, partNumber: number, input: PartInput) {
  const { upload, file } = await loadUpload(ctx, uploadId);
  if (file.status === "ready") throw completed(file, uploadId);
  if (partNumber > upload.partCount) {
    throw ApiError.validation([
      { path: "part_number", message: `This upload has ${upload.partCount} parts (1 to ${upload.partCount}).` },
    ]);
  }
  const expected =
    partNumber < upload.partCount ? upload.partSize : file.size - (upload.partCount - 1) * upload.partSize;
  if (input.contentLength === undefined || !/^\d+$/.test(input.contentLength)) {
    throw new ApiError(411, "Send the part's size in `Content-Length`.", {
      slug: "length-required",
      title: "Length required",
    });
  }
  if (Number(input.contentLength) !== expected || !input.body) {
    throw ApiError.validation([
      { path: "Content-Length", message: `Part ${partNumber} of this upload is exactly ${expected} bytes.` },
    ]);
  }
  const reader = input.body.getReader();
  const head = partNumber === 1 ? await readHead(reader, expected) : new Uint8Array(0);
  if (partNumber === 1 && !sniffMatches(file.contentType, head)) {
    await reader.cancel().catch(() => {});
    throw mismatch(file.contentType);
  }
  const r2 = ctx.env.MEDIA.resumeMultipartUpload(file.r2Key, upload.r2UploadId);
  let part: R2UploadedPart;
  try {
    const { readable, pump } = fixedLength(head, reader, expected);
    [part] = await Promise.all([r2.uploadPart(partNumber, readable), pump]);
  } catch (err) {
    console.error(JSON.stringify({ level: "warn", message: "media part upload failed", error: String(err) }));
    throw sizeMismatch(expected);
  }
  const now = nowIso();
  await ctx.db.batch([
    ctx.db
      .insert(mediaUploadParts)
      .values({ tenantId: ctx.tenantId, uploadId, partNumber, etag: part.etag, size: expected, uploadedAt: now })
      .onConflictDoUpdate({
        target: [mediaUploadParts.tenantId, mediaUploadParts.uploadId, mediaUploadParts.partNumber],
        set: { etag: part.etag, size: expected, uploadedAt: now },
      }),
    ...(partNumber === 1
      ? [
          ctx.db
            .update(mediaUploads)
            .set({ sniffed: true })
            .where(and(eq(mediaUploads.tenantId, ctx.tenantId), eq(mediaUploads.id, uploadId))),
        ]
      : []),
  ]);
  return { upload_id: uploadId, part_number: partNumber, size: expected, etag: part.etag };
}

export async function completeUpload(ctx: AdminCtx, uploadId: number) {
  const { upload, file } = await loadUpload(ctx, uploadId);
  if (file.status === "ready") return toMedia(file);
  const parts = await partsOf(ctx, uploadId);
  if (parts.length !== upload.partCount || !upload.sniffed) {
    const have = new Set(parts.map((p) => p.partNumber));
    const missing: number[] = [];
    for (let n = 1; n <= upload.partCount && missing.length < 100; n++) if (!have.has(n)) missing.push(n);
    throw ApiError.conflict(`The upload is missing parts: ${missing.join(", ")}.`, { missing_parts: missing });
  }
  const r2 = ctx.env.MEDIA.resumeMultipartUpload(file.r2Key, upload.r2UploadId);
  let etag: string;
  try {
    const object = await r2.complete(
      parts.sort((a, b) => a.partNumber - b.partNumber).map((p) => ({ partNumber: p.partNumber, etag: p.etag })),
    );
    etag = object.httpEtag;
  } catch (err) {
    // A retried complete whose first call reached R2 but not D1: the object is already there.
    const head = await ctx.env.MEDIA.head(file.r2Key);
    if (!head || head.size !== file.size) {
      console.error(JSON.stringify({ level: "warn", message: "media complete failed", error: String(err) }));
      throw ApiError.conflict("R2 refused to assemble the parts; send them again or abort the upload.");
    }
    etag = head.httpEtag;
  }
  const head = await ctx.env.MEDIA.head(file.r2Key);
  if (!head || head.size !== file.size) {
    await ctx.env.MEDIA.delete(file.r2Key);
    throw ApiError.conflict(`The assembled file has ${head?.size ?? 0} bytes, not ${file.size}; upload it again.`);
  }
  return finishFile(ctx, file.id, file.r2Key, etag, uploadId);
}

export async function abortUpload(ctx: AdminCtx, uploadId: number) {
  const { upload, file } = await loadUpload(ctx, uploadId);
  if (file.status === "ready") throw completed(file, uploadId);
  try {
    await ctx.env.MEDIA.resumeMultipartUpload(file.r2Key, upload.r2UploadId).abort();
  } catch {
    // Already aborted or completed on R2's side: the rows below still go.
  }
  // Deleting the reserved file cascades to the upload and its parts; nothing was ever listed, so no event.
  await ctx.db
    .delete(media)
    .where(and(eq(media.tenantId, ctx.tenantId), eq(media.id, file.id), eq(media.status, "uploading")));
}

/**
 * The scheduled sweep (every minute, at most `limit` uploads a run, oldest expiry first, across academies through
 * the expiry index): a multipart upload past its `expires_at` that was never completed nor aborted has its R2
 * multipart upload aborted and its reserved file row deleted (the upload and its parts cascade), so the
 * reservation is given back for good and no row is left behind. A completed upload's row only goes (its file
 * stays). Nothing of it was ever listed, so no event. An R2 abort that fails is logged and the rows still go: R2
 * itself drops incomplete multipart uploads after 7 days. Then the same for single-request uploads that died
 * (their reservation lasts an hour): the row, then any bytes stored under its key.
 */
export async function sweepExpiredUploads(env: Env, db: Db, limit = 100, now = nowIso()) {
  const rows = await db
    .select({
      uploadId: mediaUploads.id,
      tenantId: mediaUploads.tenantId,
      r2UploadId: mediaUploads.r2UploadId,
      mediaId: media.id,
      r2Key: media.r2Key,
      status: media.status,
    })
    .from(mediaUploads)
    .innerJoin(media, and(eq(media.tenantId, mediaUploads.tenantId), eq(media.id, mediaUploads.mediaId)))
    .where(lt(mediaUploads.expiresAt, now))
    .orderBy(asc(mediaUploads.expiresAt))
    .limit(limit);
  let aborted = 0;
  let dropped = 0;
  for (const row of rows) {
    if (row.status === "ready") {
      await db
        .delete(mediaUploads)
        .where(and(eq(mediaUploads.tenantId, row.tenantId), eq(mediaUploads.id, row.uploadId)));
      dropped++;
      continue;
    }
    if (row.r2Key) {
      try {
        await env.MEDIA.resumeMultipartUpload(row.r2Key, row.r2UploadId).abort();
      } catch (err) {
        console.error(
          JSON.stringify({ level: "warn", message: "expired media upload: R2 abort failed", error: String(err) }),
        );
      }
    }
    // Only while still uploading: an expired upload cannot be completed (the API answers 404 past expires_at).
    await db
      .delete(media)
      .where(and(eq(media.tenantId, row.tenantId), eq(media.id, row.mediaId), eq(media.status, "uploading")));
    aborted++;
  }
  // Single-request uploads whose request died before the file was stored (or its row flipped): their `uploading`
  // row goes first, and its bytes only if that row did (a finish that got there first keeps both).
  const stale = await db
    .select({ id: media.id, tenantId: media.tenantId, name: media.name })
    .from(media)
    .where(
      and(
        // A literal, as the partial index's condition is written (a bound value could not select it).
        sql`${media.status} = 'uploading'`,
        lt(media.expiresAt, now),
        sql`NOT EXISTS (SELECT 1 FROM ${mediaUploads} u WHERE u.media_id = ${media.id})`,
      ),
    )
    .orderBy(asc(media.expiresAt))
    .limit(limit);
  let released = 0;
  for (const row of stale) {
    const gone = await db
      .delete(media)
      .where(and(eq(media.tenantId, row.tenantId), eq(media.id, row.id), eq(media.status, "uploading")))
      .returning({ id: media.id });
    if (!gone.length) continue;
    released++;
    await env.MEDIA.delete(r2KeyOf(row.tenantId, row.id, row.name)).catch((err) =>
      console.error(
        JSON.stringify({ level: "warn", message: "expired media upload: R2 delete failed", error: String(err) }),
      ),
    );
  }
  return { aborted, dropped, released };
}

// ---- library ---------------------------------------------------------------------------------------------------

export async function findMedia(ctx: TenantContext, id: number): Promise<MediaRow> {
  const [row] = await ctx.db
    .select()
    .from(media)
    .where(and(eq(media.tenantId, ctx.tenantId), eq(media.id, id), eq(media.status, "ready")))
    .limit(1);
  if (!row) throw ApiError.notFound(`Media ${id}`);
  return row;
}

export async function getMedia(ctx: AdminCtx, id: number) {
  return toMedia(await findMedia(ctx, id));
}

export interface MediaListQuery extends ListParams {
  q?: string;
  kind?: MediaRow["kind"];
  content_type?: string;
  visibility?: MediaRow["visibility"];
}

export async function listMedia(ctx: AdminCtx, query: MediaListQuery) {
  const where = and(
    eq(media.tenantId, ctx.tenantId),
    eq(media.status, "ready"),
    query.kind ? eq(media.kind, query.kind) : undefined,
    query.content_type ? eq(media.contentType, normalizeType(query.content_type) ?? query.content_type) : undefined,
    query.visibility ? eq(media.visibility, query.visibility) : undefined,
    query.q ? or(contains(media.name, query.q), contains(media.title, query.q)) : undefined,
  );
  const order = orderBy(
    query.sort,
    { created_at: media.createdAt, name: media.name, size: media.size, title: media.title },
    media.id,
  );
  return paginate(ctx.db, media, where, order, query, toMedia);
}

export interface MediaUpdate {
  title?: string;
  alt?: string | null;
  duration_seconds?: number | null;
  visibility?: "private" | "public";
}

export async function updateMedia(ctx: AdminCtx, id: number, input: MediaUpdate) {
  const current = await findMedia(ctx, id);
  const values: Partial<typeof media.$inferInsert> = {};
  if (input.title !== undefined) values.title = input.title;
  if (input.alt !== undefined) values.alt = input.alt;
  if (input.visibility !== undefined) values.visibility = input.visibility;
  if (input.duration_seconds !== undefined) {
    if (input.duration_seconds !== null && current.kind !== "audio" && current.kind !== "video") {
      throw ApiError.validation([{ path: "duration_seconds", message: "Only audio and video files have a duration." }]);
    }
    values.durationSeconds = input.duration_seconds;
  }
  const changed = Object.keys(input).filter((k) => input[k as keyof MediaUpdate] !== undefined);
  if (changed.length === 0) return toMedia(current);
  const [rows] = await ctx.db.batch([
    ctx.db
      .update(media)
      .set({ ...values, updatedAt: nowIso() })
      .where(and(eq(media.tenantId, ctx.tenantId), eq(media.id, id), eq(media.status, "ready")))
      .returning(),
    outboxInsert(ctx.db, ctx.tenantId, "media.updated", { id, changed }),
  ]);
  if (!rows[0]) throw ApiError.notFound(`Media ${id}`);
  return toMedia(rows[0]);
}

// ---- usages and delete -------------------------------------------------------------------------------------------

export interface MediaUsage {
  type: "module" | "certificate_template" | "question" | "discussion_post";
  id: number;
  name: string;
}

/**
 * What uses a file: modules whose settings name it (any key `media_id` or `*_media_id`, or an array
 * `*_media_ids`, at any depth: the convention every module type follows), certificate templates whose
 * background it is, questions of the bank that show it (`media_ids`) and discussion posts that attach it
 * (`attachment_media_ids`, deleted posts excepted). Read-only SQL over those modules' tables by name (this module
 * imports none of their code); every statement is tenant-scoped through a tenant-led index. Usage never counts
 * toward the quota: a file's bytes count once (its row), however many things use it.
 */
export async function usagesOf(ctx: TenantContext, id: number): Promise<MediaUsage[]> {
  const [modules, templates, questions, posts] = await Promise.all([
    ctx.db.all<{ id: number; name: string }>(sql`
      SELECT m.id, m.name FROM modules m
      WHERE m.tenant_id = ${ctx.tenantId}
        AND EXISTS (
          SELECT 1 FROM json_tree(m.settings) j
          WHERE j.type = 'integer' AND j.value = ${id}
            AND (j.key = 'media_id' OR j.key LIKE '%\\_media\\_id' ESCAPE '\\' OR j.path LIKE '%media\\_ids' ESCAPE '\\'))
      ORDER BY m.id LIMIT 100`),
    ctx.db.all<{ id: number; name: string }>(sql`
      SELECT id, name FROM certificate_templates
      WHERE tenant_id = ${ctx.tenantId} AND background_media_id = ${id}
      ORDER BY id LIMIT 100`),
    ctx.db.all<{ id: number; name: string }>(sql`
      SELECT q.id, q.title AS name FROM questions q
      WHERE q.tenant_id = ${ctx.tenantId} AND EXISTS (SELECT 1 FROM json_each(q.media_ids) j WHERE j.value = ${id})
      ORDER BY q.id LIMIT 100`),
    // Posts whose attachments show it (a deleted post's attachments are cleared; a hidden one keeps them).
    ctx.db.all<{ id: number; name: string }>(sql`
      SELECT p.id, t.title AS name FROM discussion_posts p
      JOIN discussion_threads t ON t.tenant_id = p.tenant_id AND t.id = p.thread_id
      WHERE p.tenant_id = ${ctx.tenantId} AND p.status <> 'deleted'
        AND EXISTS (SELECT 1 FROM json_each(p.attachment_media_ids) j WHERE j.value = ${id})
      ORDER BY p.id LIMIT 100`),
  ]);
  return [
    ...modules.map((m) => ({ type: "module" as const, id: m.id, name: m.name })),
    ...templates.map((t) => ({
      type: "certificate_template" as const,
      id: t.id,
      name: t.name,
    })),
    ...questions.map((q) => ({ type: "question" as const, id: q.id, name: q.name })),
    ...posts.map((p) => ({ type: "discussion_post" as const, id: p.id, name: p.name })),
  ];
}

export async function mediaUsages(ctx: AdminCtx, id: number) {
  await findMedia(ctx, id);
  return { data: await usagesOf(ctx, id) };
}

/** Deletes a file (R2 object and row). In use -> 409 naming the users, unless `force`. */
export async function deleteMedia(ctx: AdminCtx, id: number, force: boolean) {
  const row = await findMedia(ctx, id);
  const usages = await usagesOf(ctx, id);
  if (usages.length > 0 && !force) {
    throw ApiError.conflict(
      `Media ${id} is used by ${usages.map((u) => `${u.type.replace("_", " ")} ${u.id} (${u.name})`).join(", ")}; detach it first or delete with ?force=true.`,
      { used_by: usages },
    );
  }
  await ctx.db.batch([
    ctx.db.delete(media).where(and(eq(media.tenantId, ctx.tenantId), eq(media.id, id))),
    outboxInsert(ctx.db, ctx.tenantId, "media.deleted", {
      id,
      name: row.name,
      forced: usages.length > 0,
      used_by: usages.map(({ type, id: usedId }) => ({ type, id: usedId })),
    }),
  ]);
  // After the row: a failed R2 delete leaves an unreachable object, never a listed file without bytes.
  ctx.defer(ctx.env.MEDIA.delete(row.r2Key));
}

// ---- signed URLs --------------------------------------------------------------------------------------------------

export async function downloadUrl(ctx: TenantContext, row: MediaRow, origin: string, ttlSeconds?: number) {
  const signed = await signedMediaPath(ctx.env, ctx.tenantId, row.id, row.name, ttlSeconds ?? DEFAULT_URL_TTL_SECONDS);
  return { url: origin + signed.path, expires_at: signed.expiresAt, media: toMedia(row) };
}

export async function adminDownloadUrl(ctx: AdminCtx, id: number, origin: string, ttlSeconds?: number) {
  return downloadUrl(ctx, await findMedia(ctx, id), origin, ttlSeconds);
}

/**
 * A learner's signed URL for the file of a module in their course: the placement must be open to them (the
 * same access rules as launch) and the module's settings must name the file (`media_id`).
 */
export async function learnerMediaUrl(
  ctx: TenantContext<LearnerPrincipal>,
  courseId: number,
  placementId: number,
  origin: string,
  ttlSeconds?: number,
) {
  const { placement } = await assertPlacementOpen(ctx, courseId, placementId);
  const mediaId = placement.module.settings.media_id;
  if (typeof mediaId !== "number") {
    throw ApiError.notFound(`A media file of placement ${placementId}`);
  }
  return downloadUrl(ctx, await findMedia(ctx, mediaId), origin, ttlSeconds);
}

/** The file for the public download route (ready rows only), by tenant and id. */
export async function servedFile(db: TenantContext["db"], tenantId: number, id: number) {
  const [row] = await db
    .select()
    .from(media)
    .where(and(eq(media.tenantId, tenantId), eq(media.id, id), inArray(media.status, ["ready"])))
    .limit(1);
  return row;
}
