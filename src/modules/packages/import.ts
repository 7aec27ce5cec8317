/**
 * Importing an uploaded package version (run by the JOBS consumer, kind `package.import`): check the zip's
 * central directory against the limits, find and parse the manifest, check that every file it points at exists,
 * then unpack every entry into the version's prefix in R2 and flip the version (and the package) to ready in one
 * batch. Any refusal marks the version failed with its reason and removes what was written, so nothing
 * half-unpacked is ever served (launch only uses ready versions).
 */
import { and, eq, sql } from "drizzle-orm";
import { createDb } from "../../platform/db";
import type { Db, Env } from "../../platform/env";
import { outboxInsert } from "../../platform/events";
import { nowIso } from "../../platform/time";
import { onlyIf } from "../progress/service";
import { MANIFEST_FILES, type ParsedManifest, parseCmi5, parseScormManifest, parseTincan } from "./manifest";
import { contentTypeOf, deletePrefix, versionPrefix, zipSource } from "./storage";
import { type PackageVersionRow, packages, packageVersions } from "./tables";
import {
  DEFAULT_ZIP_LIMITS,
  extractEntries,
  readCentralDirectory,
  readEntry,
  type ZipEntry,
  ZipError,
  type ZipLimits,
} from "./zip";

/** The title of a package uploaded without one, until its manifest's title replaces it. */
export const UNTITLED = "Untitled package";
const MAX_MANIFEST_BYTES = 5 * 1024 * 1024;
/** Entries up to this size are written with one `put`; larger ones stream through a FixedLengthStream. */
const BUFFERED_ENTRY_BYTES = 4 * 1024 * 1024;
const PARALLEL_PUTS = 6;

export interface ImportOptions {
  /** The version to import (default: the package's latest). */
  version?: number;
  /** Give the package the manifest's title (set when it was uploaded without one). */
  setTitle?: boolean;
  limits?: ZipLimits;
}

export type ImportResult =
  | { status: "ready"; version: number; standard: string; files: number; bytes: number }
  | { status: "failed"; version: number; reason: string }
  | { status: "skipped"; version: number | null; reason: string };

/** The folder holding the manifest: the zip's root, or its one top-level folder. */
function findRoot(paths: Set<string>): { root: string; manifest: string; kind: keyof typeof MANIFEST_FILES } | null {
  const tops = new Set([...paths].map((p) => (p.includes("/") ? p.slice(0, p.indexOf("/") + 1) : "")));
  const roots = [""];
  if (tops.size === 1 && !tops.has("")) roots.push([...tops][0]);
  for (const root of roots) {
    for (const kind of ["scorm", "cmi5", "xapi"] as const) {
      const manifest = root + MANIFEST_FILES[kind];
      if (paths.has(manifest)) return { root, manifest, kind };
    }
  }
  return null;
}

async function parseManifest(env: Env, version: PackageVersionRow, entries: ZipEntry[], limits: ZipLimits) {
  const paths = new Set(entries.map((e) => e.path));
  const found = findRoot(paths);
  if (!found) {
    throw new ZipError(
      "The zip has no manifest: put imsmanifest.xml (SCORM), cmi5.xml (cmi5) or tincan.xml (xAPI) at its root.",
    );
  }
  const entry = entries.find((e) => e.path === found.manifest) as ZipEntry;
  void limits;
  const zip = zipSource(env, version.zipKey);
  const bytes = await readEntry(zip.bucket, zip.key, entry, MAX_MANIFEST_BYTES);
  const text = new TextDecoder().decode(bytes);
  const parsed: ParsedManifest =
    found.kind === "scorm" ? parseScormManifest(text) : found.kind === "cmi5" ? parseCmi5(text) : parseTincan(text);
  const missing = parsed.referencedFiles.filter((f) => !paths.has(found.root + f));
  if (missing.length) {
    const list = missing.slice(0, 5).join(", ") + (missing.length > 5 ? ` and ${missing.length - 5} more` : "");
    throw new ZipError(`${MANIFEST_FILES[found.kind]} points at files missing from the zip: ${list}.`);
  }
  return { root: found.root, parsed };
}

async function unpack(env: Env, version: PackageVersionRow, entries: ZipEntry[], root: string, limits: ZipLimits) {
  const prefix = versionPrefix(version.tenantId, version.packageId, version.version);
  const inFlight = new Set<Promise<unknown>>();
  const aborts: (() => void)[] = [];
  const track = async (work: Promise<unknown>) => {
    const p = work.finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= PARALLEL_PUTS) await Promise.race(inFlight);
  };
  try {
    const zip = zipSource(env, version.zipKey);
    const result = await extractEntries(zip.bucket, zip.key, entries, limits, {
      async open(entry) {
        const key = prefix + entry.path.slice(root.length);
        const httpMetadata = { contentType: contentTypeOf(entry.path) };
        if (entry.size <= BUFFERED_ENTRY_BYTES) {
          const parts: Uint8Array[] = [];
          return {
            async write(chunk) {
              parts.push(chunk.slice());
            },
            async close() {
              const body = new Uint8Array(entry.size);
              let at = 0;
              for (const part of parts) {
                body.set(part, at);
                at += part.length;
              }
              await track(env.PACKAGES.put(key, body, { httpMetadata }));
            },
          };
        }
        const { readable, writable } = new FixedLengthStream(entry.size);
        const writer = writable.getWriter();
        const put = env.PACKAGES.put(key, readable, { httpMetadata });
        put.catch(() => {});
        aborts.push(() => writer.abort().catch(() => {}));
        return {
          write: (chunk) => writer.write(chunk),
          async close() {
            await writer.close();
            await put;
          },
        };
      },
    });
    await Promise.all(inFlight);
    return result;
  } catch (err) {
    for (const abort of aborts) abort();
    await Promise.allSettled(inFlight);
    throw err;
  }
}

async function loadVersion(db: Db, tenantId: number, packageId: number, version?: number) {
  const [row] = await db
    .select()
    .from(packageVersions)
    .where(
      and(
        eq(packageVersions.tenantId, tenantId),
        eq(packageVersions.packageId, packageId),
        version === undefined
          ? eq(
              packageVersions.version,
              sql`(SELECT latest_version FROM packages WHERE tenant_id = ${tenantId} AND id = ${packageId})`,
            )
          : eq(packageVersions.version, version),
      ),
    )
    .limit(1);
  return row;
}

/**
 * Imports one version of a package. Idempotent: a version that is no longer processing is left as it is, and a
 * re-run after a crash rewrites the same keys. Refusals (bad zip, bad manifest, limits) answer `failed` with the
 * reason; storage or database errors are thrown (the job is retried).
 */
export async function importPackage(
  env: Env,
  tenantId: number,
  packageId: number,
  options: ImportOptions = {},
): Promise<ImportResult> {
  const db = createDb(env.DB);
  const limits = options.limits ?? DEFAULT_ZIP_LIMITS;
  const version = await loadVersion(db, tenantId, packageId, options.version);
  if (!version)
    return { status: "skipped", version: options.version ?? null, reason: "The package or version no longer exists." };
  if (version.status !== "processing") {
    return { status: "skipped", version: version.version, reason: `The version is already ${version.status}.` };
  }
  const prefix = versionPrefix(tenantId, packageId, version.version);
  let parsed: ParsedManifest;
  let files: { files: number; bytes: number };
  try {
    const zip = zipSource(env, version.zipKey);
    const head = await zip.bucket.head(zip.key);
    if (!head)
      throw new ZipError("The uploaded zip is missing from storage (was the media file deleted?); upload it again.");
    const entries = await readCentralDirectory(zip.bucket, zip.key, head.size, limits);
    const manifest = await parseManifest(env, version, entries, limits);
    parsed = manifest.parsed;
    files = await unpack(env, version, entries, manifest.root, limits);
  } catch (err) {
    if (!(err instanceof ZipError)) throw err;
    await deletePrefix(env.PACKAGES, prefix);
    await markFailed(db, version, err.message);
    return { status: "failed", version: version.version, reason: err.message };
  }
  const now = nowIso();
  const isLatest = sql`${packages.latestVersion} = ${version.version}`;
  const pending = stillProcessing(version);
  await db.batch([
    onlyIf(
      db,
      outboxInsert(db, tenantId, "package.ready", {
        package_id: packageId,
        version: version.version,
        standard: parsed.standard,
        title: parsed.title,
      }),
      pending,
    ),
    db
      .update(packages)
      .set({
        status: sql`CASE WHEN ${isLatest} THEN 'ready' ELSE ${packages.status} END`,
        failureReason: sql`CASE WHEN ${isLatest} THEN NULL ELSE ${packages.failureReason} END`,
        standard: sql`CASE WHEN coalesce(${packages.currentVersion}, 0) < ${version.version} THEN ${parsed.standard} ELSE ${packages.standard} END`,
        currentVersion: sql`max(coalesce(${packages.currentVersion}, 0), ${version.version})`,
        // Uploaded without a title: the manifest's (the job says so; a direct call decides by the placeholder).
        ...(options.setTitle === true || (options.setTitle === undefined && version.version === 1)
          ? {
              title:
                options.setTitle === true
                  ? parsed.title.slice(0, 200)
                  : sql`CASE WHEN ${packages.title} = ${UNTITLED} THEN ${parsed.title.slice(0, 200)} ELSE ${packages.title} END`,
            }
          : {}),
        updatedAt: now,
      })
      .where(and(eq(packages.tenantId, tenantId), eq(packages.id, packageId), pending)),
    // Last: the guards above read the version's status before this statement changes it.
    db
      .update(packageVersions)
      .set({
        status: "ready",
        failureReason: null,
        standard: parsed.standard,
        standardVersion: parsed.standardVersion,
        title: parsed.title,
        launchPath: parsed.launchPath,
        structure: parsed.structure,
        fileCount: files.files,
        uncompressedBytes: files.bytes,
        processedAt: now,
      })
      .where(and(eq(packageVersions.tenantId, tenantId), eq(packageVersions.id, version.id), pending)),
  ]);
  return { status: "ready", version: version.version, standard: parsed.standard, ...files };
}

/** True while the version is still being imported (two runs of one job finish it once). */
function stillProcessing(version: PackageVersionRow) {
  return sql`EXISTS (SELECT 1 FROM package_versions WHERE tenant_id = ${version.tenantId} AND id = ${version.id} AND status = 'processing')`;
}

async function markFailed(db: Db, version: PackageVersionRow, reason: string) {
  const now = nowIso();
  const isLatest = sql`${packages.latestVersion} = ${version.version}`;
  const pending = stillProcessing(version);
  await db.batch([
    onlyIf(
      db,
      outboxInsert(db, version.tenantId, "package.failed", {
        package_id: version.packageId,
        version: version.version,
        reason,
      }),
      pending,
    ),
    db
      .update(packages)
      .set({
        status: sql`CASE WHEN ${isLatest} THEN 'failed' ELSE ${packages.status} END`,
        failureReason: sql`CASE WHEN ${isLatest} THEN ${reason} ELSE ${packages.failureReason} END`,
        updatedAt: now,
      })
      .where(and(eq(packages.tenantId, version.tenantId), eq(packages.id, version.packageId), pending)),
    db
      .update(packageVersions)
      .set({ status: "failed", failureReason: reason, processedAt: now })
      .where(and(eq(packageVersions.tenantId, version.tenantId), eq(packageVersions.id, version.id), pending)),
  ]);
}

/** Called when the job gives up on transient errors: the version must not stay `processing` forever. */
export async function failImport(env: Env, tenantId: number, packageId: number, version: number, reason: string) {
  const db = createDb(env.DB);
  const row = await loadVersion(db, tenantId, packageId, version);
  if (row?.status === "processing") {
    await deletePrefix(env.PACKAGES, versionPrefix(tenantId, packageId, version));
    await markFailed(db, row, reason);
  }
}
