import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { tenants } from "../tenants/tables";

export const MEDIA_KINDS = ["image", "audio", "video", "document", "archive", "caption"] as const;
export const MEDIA_VISIBILITIES = ["private", "public"] as const;
/** `uploading`: bytes are on their way (the row reserves quota until `expires_at`); `ready`: listed and served. */
export const MEDIA_STATUSES = ["uploading", "ready"] as const;

/**
 * A file of an academy's media library, stored in R2 MEDIA at `r2_key` (`t/<tenant>/media/<id>/<name>`).
 * The row exists from the start of an upload (status `uploading`) so the R2 key can carry its id and the
 * quota can count bytes on their way; lists, downloads and usage checks only see `ready` rows.
 */
export const media = sqliteTable(
  "media",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    status: text("status", { enum: MEDIA_STATUSES }).notNull(),
    name: text("name").notNull(),
    title: text("title").notNull(),
    alt: text("alt"),
    contentType: text("content_type").notNull(),
    kind: text("kind", { enum: MEDIA_KINDS }).notNull(),
    size: integer("size").notNull(),
    visibility: text("visibility", { enum: MEDIA_VISIBILITIES }).notNull().default("private"),
    durationSeconds: integer("duration_seconds"),
    r2Key: text("r2_key").notNull(),
    /** R2's ETag of the stored object (quoted), set when the upload is complete. */
    etag: text("etag"),
    /** Until when an `uploading` row reserves quota (a dead upload stops counting after this). */
    expiresAt: text("expires_at"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    index("media_tenant_status_created_idx").on(t.tenantId, t.status, t.createdAt),
    index("media_tenant_status_kind_created_idx").on(t.tenantId, t.status, t.kind, t.createdAt),
    index("media_tenant_status_name_idx").on(t.tenantId, t.status, t.name),
    index("media_tenant_status_size_idx").on(t.tenantId, t.status, t.size),
    // The scheduled sweep of reservations past their expiry, across academies (only `uploading` rows: tiny).
    index("media_uploading_expiry_idx").on(t.expiresAt).where(sql`status = 'uploading'`),
  ],
);

/**
 * A resumable multipart upload in progress (R2 multipart): the file is cut into `part_count` parts of
 * `part_size` bytes (the last one smaller), each sent in its own request. After `expires_at` the Worker's
 * scheduled sweep aborts the R2 upload and deletes the reserved file row (the upload and parts cascade); the
 * row of a completed upload is dropped then too (its file stays).
 */
export const mediaUploads = sqliteTable(
  "media_uploads",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    mediaId: integer("media_id")
      .notNull()
      .references(() => media.id, { onDelete: "cascade" }),
    r2UploadId: text("r2_upload_id").notNull(),
    partSize: integer("part_size").notNull(),
    partCount: integer("part_count").notNull(),
    /** Part 1 passed content sniffing against the declared type (complete requires it). */
    sniffed: integer("sniffed", { mode: "boolean" }).notNull().default(false),
    createdAt: text("created_at").notNull(),
    expiresAt: text("expires_at").notNull(),
  },
  (t) => [
    uniqueIndex("media_uploads_media_uq").on(t.mediaId),
    index("media_uploads_tenant_created_idx").on(t.tenantId, t.createdAt),
    // The scheduled sweep of expired uploads reads across academies in expiry order (like the cmi5 session sweep).
    index("media_uploads_expiry_idx").on(t.expiresAt),
  ],
);

/** The parts of a multipart upload that R2 accepted, with the etags `complete` hands back to R2. */
export const mediaUploadParts = sqliteTable(
  "media_upload_parts",
  {
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    uploadId: integer("upload_id")
      .notNull()
      .references(() => mediaUploads.id, { onDelete: "cascade" }),
    partNumber: integer("part_number").notNull(),
    etag: text("etag").notNull(),
    size: integer("size").notNull(),
    uploadedAt: text("uploaded_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.uploadId, t.partNumber] }),
    index("media_upload_parts_upload_fk_idx").on(t.uploadId),
  ],
);
