/**
 * The package library: upload (the body streams to R2, the import runs in a job), list, read, edit, new versions,
 * delete (refused while a module uses the package).
 */
import { and, desc, eq, type SQL, sql } from "drizzle-orm";
import type { AdminPrincipal, TenantContext } from "../../platform/auth";
import { batchableRaw, inList } from "../../platform/db";
import { ApiError } from "../../platform/errors";
import { outboxInsert } from "../../platform/events";
import { orderBy, type Page } from "../../platform/pagination";
import { nowIso } from "../../platform/time";
import { contentModules } from "../content-modules/tables";
import { createJob } from "../jobs/service";
import { findMedia } from "../media/service";
import { onlyIf } from "../progress/service";
import { UNTITLED } from "./import";
import { deletePrefix, MEDIA_ZIP_PREFIX, packagePrefix, uploadKey } from "./storage";
import {
  type PackageRow,
  type PackageStandard,
  type PackageStatus,
  type PackageVersionRow,
  packages,
  packageVersions,
} from "./tables";

type AdminCtx = TenantContext<AdminPrincipal>;

/** One request carries at most this much (a Worker request body is capped at 100 MB on Free/Pro zones). */
export const MAX_UPLOAD_BYTES = 100 * 1024 * 1024;
export const ZIP_TYPES = ["application/zip", "application/x-zip-compressed", "application/octet-stream"];
export const IMPORT_JOB = "package.import";

export function versionView(v: PackageVersionRow) {
  return {
    version: v.version,
    status: v.status,
    failure_reason: v.failureReason,
    job_id: v.jobId,
    standard: v.standard,
    standard_version: v.standardVersion,
    title: v.title,
    launch_path: v.launchPath,
    file_count: v.fileCount,
    uncompressed_bytes: v.uncompressedBytes,
    zip_bytes: v.zipBytes,
    created_at: v.createdAt,
    processed_at: v.processedAt,
  };
}

export function packageView(p: PackageRow, current?: PackageVersionRow, latest?: PackageVersionRow) {
  return {
    id: p.id,
    title: p.title,
    description: p.description,
    status: p.status,
    failure_reason: p.failureReason,
    standard: p.standard,
    standard_version: current?.standardVersion ?? null,
    current_version: p.currentVersion,
    latest_version: p.latestVersion,
    launch_path: current?.launchPath ?? null,
    structure: current?.structure ?? null,
    job_id: latest?.jobId ?? null,
    created_at: p.createdAt,
    updated_at: p.updatedAt,
  };
}

export interface UploadInput {
  title?: string;
  description?: string;
  body: ReadableStream<Uint8Array> | null;
  length: number | null;
  contentType: string | undefined;
}

/** Streams an upload into R2 (never buffered), refusing what the endpoint does not take. */
async function storeUpload(ctx: TenantContext, input: UploadInput): Promise<{ key: string; size: number }> {
  const type = (input.contentType ?? "").split(";")[0].trim().toLowerCase();
  if (!ZIP_TYPES.includes(type)) {
    throw new ApiError(
      415,
      `Send the zip as the request body with \`Content-Type: application/zip\` (got "${type || "none"}").`,
    );
  }
  if (input.length === null) {
    throw new ApiError(411, "Send `Content-Length` with the zip (chunked uploads are not accepted).", {
      slug: "length-required",
      title: "Length required",
    });
  }
  if (input.length === 0 || !input.body) throw ApiError.validation([{ path: "body", message: "The zip is empty." }]);
  if (input.length > MAX_UPLOAD_BYTES) {
    throw new ApiError(
      413,
      `A package uploaded in one request may be at most ${MAX_UPLOAD_BYTES} bytes; this one is ${input.length}.`,
    );
  }
  const key = uploadKey(ctx.tenantId);
  const { readable, writable } = new FixedLengthStream(input.length);
  const piping = input.body.pipeTo(writable);
  try {
    await Promise.all([
      ctx.env.PACKAGES.put(key, readable, { httpMetadata: { contentType: "application/zip" } }),
      piping,
    ]);
  } catch {
    await ctx.env.PACKAGES.delete(key).catch(() => {});
    throw ApiError.badRequest(`The upload ended before its Content-Length (${input.length} bytes) arrived.`);
  }
  return { key, size: input.length };
}

/** A zip already in the media library (a multipart upload, for packages over 100 MB): read in place. */
export async function mediaZip(ctx: TenantContext, mediaId: number): Promise<{ key: string; size: number }> {
  const file = await findMedia(ctx, mediaId);
  if (file.contentType !== "application/zip") {
    throw ApiError.validation([{ path: "media_id", message: `Media ${mediaId} is ${file.contentType}, not a zip.` }]);
  }
  return { key: MEDIA_ZIP_PREFIX + file.r2Key, size: file.size };
}

async function startImport(ctx: TenantContext, packageId: number, version: number, setTitle: boolean) {
  const job = await createJob(ctx, IMPORT_JOB, { package_id: packageId, version, set_title: setTitle });
  await ctx.db
    .update(packageVersions)
    .set({ jobId: job.id })
    .where(
      and(
        eq(packageVersions.tenantId, ctx.tenantId),
        eq(packageVersions.packageId, packageId),
        eq(packageVersions.version, version),
      ),
    );
  return job.id;
}

/** Upload: the zip goes to R2, the package and its version 1 are recorded in one batch, the import is queued. */
export async function uploadPackage(
  ctx: AdminCtx,
  input: Pick<UploadInput, "title" | "description">,
  source: UploadInput | { mediaId: number },
) {
  const upload = "mediaId" in source ? await mediaZip(ctx, source.mediaId) : await storeUpload(ctx, source);
  const now = nowIso();
  const title = input.title?.trim() || UNTITLED;
  const [inserted] = await ctx.db.batch([
    ctx.db
      .insert(packages)
      .values({
        tenantId: ctx.tenantId,
        title,
        description: input.description ?? null,
        status: "processing",
        latestVersion: 1,
        createdAt: now,
        updatedAt: now,
      })
      .returning(),
    batchableRaw(
      ctx.db,
      sql`INSERT INTO package_versions (tenant_id, package_id, version, status, zip_key, zip_bytes, created_at)
          VALUES (${ctx.tenantId}, last_insert_rowid(), 1, 'processing', ${upload.key}, ${upload.size}, ${now})`,
    ),
  ]);
  const pkg = (inserted as PackageRow[])[0];
  await startImport(ctx, pkg.id, 1, !input.title?.trim());
  return getPackage(ctx, pkg.id);
}

/** A new version replaces the content once it imports; learners keep the current version until then. */
export async function uploadVersion(ctx: AdminCtx, packageId: number, source: UploadInput | { mediaId: number }) {
  await findPackage(ctx, packageId);
  const upload = "mediaId" in source ? await mediaZip(ctx, source.mediaId) : await storeUpload(ctx, source);
  const now = nowIso();
  const where = and(eq(packages.tenantId, ctx.tenantId), eq(packages.id, packageId));
  try {
    await ctx.db.batch([
      ctx.db
        .update(packages)
        .set({
          latestVersion: sql`${packages.latestVersion} + 1`,
          status: "processing",
          failureReason: null,
          updatedAt: now,
        })
        .where(where),
      batchableRaw(
        ctx.db,
        sql`INSERT INTO package_versions (tenant_id, package_id, version, status, zip_key, zip_bytes, created_at)
            SELECT tenant_id, id, latest_version, 'processing', ${upload.key}, ${upload.size}, ${now}
            FROM packages WHERE tenant_id = ${ctx.tenantId} AND id = ${packageId}`,
      ),
    ]);
  } catch (err) {
    if (!upload.key.startsWith(MEDIA_ZIP_PREFIX)) await ctx.env.PACKAGES.delete(upload.key).catch(() => {});
    throw err;
  }
  const pkg = await findPackage(ctx, packageId);
  await startImport(ctx, packageId, pkg.latestVersion, false);
  const [version] = await ctx.db
    .select()
    .from(packageVersions)
    .where(
      and(
        eq(packageVersions.tenantId, ctx.tenantId),
        eq(packageVersions.packageId, packageId),
        eq(packageVersions.version, pkg.latestVersion),
      ),
    )
    .limit(1);
  return versionView(version);
}

export async function findPackage(ctx: TenantContext, id: number): Promise<PackageRow> {
  const [row] = await ctx.db
    .select()
    .from(packages)
    .where(and(eq(packages.tenantId, ctx.tenantId), eq(packages.id, id)))
    .limit(1);
  if (!row) throw ApiError.notFound(`Package ${id}`);
  return row;
}

export async function getPackage(ctx: TenantContext, id: number) {
  const [rows, versions] = await ctx.db.batch([
    ctx.db
      .select()
      .from(packages)
      .where(and(eq(packages.tenantId, ctx.tenantId), eq(packages.id, id)))
      .limit(1),
    ctx.db
      .select()
      .from(packageVersions)
      .where(
        and(
          eq(packageVersions.tenantId, ctx.tenantId),
          eq(packageVersions.packageId, id),
          sql`${packageVersions.version} IN (SELECT coalesce(current_version, 0) FROM packages WHERE tenant_id = ${ctx.tenantId} AND id = ${id}
               UNION SELECT latest_version FROM packages WHERE tenant_id = ${ctx.tenantId} AND id = ${id})`,
        ),
      ),
  ]);
  const pkg = rows[0];
  if (!pkg) throw ApiError.notFound(`Package ${id}`);
  const current = versions.find((v) => v.version === pkg.currentVersion);
  const latest = versions.find((v) => v.version === pkg.latestVersion);
  return packageView(pkg, current, latest);
}

export interface PackageListQuery {
  page: number;
  per_page: number;
  sort: string;
  q?: string;
  status?: PackageStatus;
  standard?: PackageStandard;
}

export async function listPackages(
  ctx: TenantContext,
  query: PackageListQuery,
): Promise<Page<ReturnType<typeof packageView>>> {
  const conditions: (SQL | undefined)[] = [
    eq(packages.tenantId, ctx.tenantId),
    query.status ? eq(packages.status, query.status) : undefined,
    query.standard ? eq(packages.standard, query.standard) : undefined,
    query.q ? sql`instr(lower(${packages.title}), lower(${query.q})) > 0` : undefined,
  ];
  const where = and(...conditions);
  const offset = (query.page - 1) * query.per_page;
  const order = orderBy(
    query.sort,
    { created_at: packages.createdAt, title: packages.title, updated_at: packages.updatedAt },
    packages.id,
  );
  const [rows, totals] = await ctx.db.batch([
    ctx.db
      .select()
      .from(packages)
      .where(where)
      .orderBy(...order)
      .limit(query.per_page)
      .offset(offset),
    ctx.db.select({ total: sql<number>`count(*)` }).from(packages).where(where),
  ]);
  const wanted = rows.flatMap((p) => [p.currentVersion ?? 0, p.latestVersion].map((v) => `${p.id}:${v}`));
  const versions = rows.length
    ? await ctx.db
        .select()
        .from(packageVersions)
        .where(
          and(
            eq(packageVersions.tenantId, ctx.tenantId),
            inList(sql`${packageVersions.packageId} || ':' || ${packageVersions.version}`, wanted),
          ),
        )
    : [];
  const byKey = new Map(versions.map((v) => [`${v.packageId}:${v.version}`, v]));
  const total = totals[0]?.total ?? 0;
  return {
    data: rows.map((p) =>
      packageView(p, byKey.get(`${p.id}:${p.currentVersion}`), byKey.get(`${p.id}:${p.latestVersion}`)),
    ),
    meta: {
      page: query.page,
      per_page: query.per_page,
      total,
      last_page: Math.max(1, Math.ceil(total / query.per_page)),
    },
  };
}

export async function listVersions(ctx: TenantContext, packageId: number) {
  const [pkgs, versions] = await ctx.db.batch([
    ctx.db
      .select({ id: packages.id })
      .from(packages)
      .where(and(eq(packages.tenantId, ctx.tenantId), eq(packages.id, packageId)))
      .limit(1),
    ctx.db
      .select()
      .from(packageVersions)
      .where(and(eq(packageVersions.tenantId, ctx.tenantId), eq(packageVersions.packageId, packageId)))
      .orderBy(desc(packageVersions.version))
      .limit(100),
  ]);
  if (!pkgs[0]) throw ApiError.notFound(`Package ${packageId}`);
  return { data: versions.map(versionView) };
}

export async function updatePackage(ctx: AdminCtx, id: number, input: { title?: string; description?: string | null }) {
  await findPackage(ctx, id);
  await ctx.db
    .update(packages)
    .set({
      ...(input.title !== undefined ? { title: input.title } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
      updatedAt: nowIso(),
    })
    .where(and(eq(packages.tenantId, ctx.tenantId), eq(packages.id, id)));
  return getPackage(ctx, id);
}

/** SCORM modules whose settings point at the package. */
export function modulesUsing(ctx: TenantContext, packageId: number) {
  return ctx.db
    .select({ id: contentModules.id, name: contentModules.name })
    .from(contentModules)
    .where(
      and(
        eq(contentModules.tenantId, ctx.tenantId),
        eq(contentModules.type, "scorm"),
        sql`json_extract(${contentModules.settings}, '$.package_id') = ${packageId}`,
      ),
    )
    .limit(50);
}

/** Refused (409 naming the modules) while a module uses it; else the rows go in one batch and the files after. */
export async function deletePackage(ctx: AdminCtx, id: number) {
  const pkg = await findPackage(ctx, id);
  const users = await modulesUsing(ctx, id);
  if (users.length) {
    throw ApiError.conflict(
      `Package ${id} is used by ${users.length === 50 ? "50 or more" : users.length} module(s): ${users
        .map((m) => `${m.name} (${m.id})`)
        .join(", ")}. Point them at another package first.`,
      { modules: users },
    );
  }
  const versions = await ctx.db
    .select({ zipKey: packageVersions.zipKey })
    .from(packageVersions)
    .where(and(eq(packageVersions.tenantId, ctx.tenantId), eq(packageVersions.packageId, id)));
  // A module may have been pointed at it since the check: then nothing is deleted (checked below).
  const unused = sql`NOT EXISTS (SELECT 1 FROM modules WHERE tenant_id = ${ctx.tenantId} AND type = 'scorm' AND json_extract(settings, '$.package_id') = ${id})`;
  await ctx.db.batch([
    onlyIf(ctx.db, outboxInsert(ctx.db, ctx.tenantId, "package.deleted", { package_id: id, title: pkg.title }), unused),
    ctx.db.delete(packages).where(and(eq(packages.tenantId, ctx.tenantId), eq(packages.id, id), unused)),
  ]);
  const still = await ctx.db
    .select({ id: packages.id })
    .from(packages)
    .where(and(eq(packages.tenantId, ctx.tenantId), eq(packages.id, id)))
    .limit(1);
  if (still.length) throw ApiError.conflict(`Package ${id} was just put into a module; it was not deleted.`);
  ctx.defer(
    Promise.all([
      deletePrefix(ctx.env.PACKAGES, packagePrefix(ctx.tenantId, id)),
      // Zips uploaded here go with the package; media-library zips stay in the library.
      ctx.env.PACKAGES.delete(versions.map((v) => v.zipKey).filter((k) => !k.startsWith(MEDIA_ZIP_PREFIX))),
    ]),
  );
}
