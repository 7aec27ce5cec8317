import { index, integer, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { coursePlacements } from "../courses/tables";
import { enrollments } from "../enrollments/tables";
import { tenants } from "../tenants/tables";

/** processing: a version is being unpacked; ready: learners can launch it; failed: see `failure_reason`. */
export const PACKAGE_STATUSES = ["processing", "ready", "failed"] as const;
/** The e-learning standard a package follows, detected from its manifest. */
export const PACKAGE_STANDARDS = ["scorm12", "scorm2004", "xapi", "cmi5"] as const;

export type PackageStatus = (typeof PACKAGE_STATUSES)[number];
export type PackageStandard = (typeof PACKAGE_STANDARDS)[number];

/**
 * An e-learning package (SCORM 1.2 / 2004, xAPI, cmi5). Its content lives in versions: `current_version` is the
 * ready version learners launch; `latest_version` the last one uploaded (`status` is that version's status).
 */
export const packages = sqliteTable(
  "packages",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    title: text("title").notNull(),
    description: text("description"),
    status: text("status", { enum: PACKAGE_STATUSES }).notNull().default("processing"),
    failureReason: text("failure_reason"),
    standard: text("standard", { enum: PACKAGE_STANDARDS }),
    currentVersion: integer("current_version"),
    latestVersion: integer("latest_version").notNull().default(1),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    index("packages_tenant_created_idx").on(t.tenantId, t.createdAt),
    index("packages_tenant_status_created_idx").on(t.tenantId, t.status, t.createdAt),
  ],
);

/** What an import found in a package's manifest (imsmanifest.xml, tincan.xml or cmi5.xml). */
export interface PackageStructure {
  /** SCORM: the SCOs and assets reachable from the default organization, in order. */
  scos?: {
    identifier: string;
    title: string;
    launch: string;
    scorm_type: "sco" | "asset";
    parameters: string | null;
    mastery_score: number | null;
    launch_data: string | null;
    max_time_allowed: string | null;
    time_limit_action: string | null;
    completion_threshold: number | null;
    /** item isvisible (false: hidden from the table of contents); absent in structures imported before it */
    visible?: boolean;
    /**
     * SCORM 2004 imsss:controlMode of the item's parent (the organization or the enclosing item): flow
     * (continue/previous), choice (choice requests), forward_only. Absent in structures imported before it.
     */
    parent_controls?: { flow: boolean; choice: boolean; forward_only: boolean };
  }[];
  organizations?: { identifier: string; title: string; default: boolean }[];
  /** xAPI (tincan.xml): the activities, the one with `launch` first. */
  activities?: { id: string; type: string | null; name: string | null; launch: string | null }[];
  /** cmi5: the course id and its assignable units, in order. */
  course_id?: string;
  aus?: {
    id: string;
    title: string;
    url: string;
    move_on: string;
    mastery_score: number | null;
    launch_method: string;
    launch_parameters: string | null;
    activity_type: string | null;
    /** cmi5 13.1.4 entitlementKey (goes to LMS.LaunchData as entitlementKey.courseStructure) */
    entitlement_key?: string | null;
  }[];
  /** cmi5: the blocks (nested ones too), each with the ids of every AU inside it, for their "satisfied". */
  blocks?: { id: string; title: string; au_ids: string[] }[];
}

export const packageVersions = sqliteTable(
  "package_versions",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    packageId: integer("package_id")
      .notNull()
      .references(() => packages.id, { onDelete: "cascade" }),
    version: integer("version").notNull(),
    status: text("status", { enum: PACKAGE_STATUSES }).notNull().default("processing"),
    failureReason: text("failure_reason"),
    jobId: integer("job_id"),
    zipKey: text("zip_key").notNull(),
    zipBytes: integer("zip_bytes").notNull(),
    standard: text("standard", { enum: PACKAGE_STANDARDS }),
    /** "1.2", "2004 2nd Edition" .. "2004 4th Edition", "1.0.3" (xAPI), "1.0" (cmi5) */
    standardVersion: text("standard_version"),
    title: text("title"),
    /** The first launchable file, relative to the version's root (SCORM parameters included). */
    launchPath: text("launch_path"),
    structure: text("structure", { mode: "json" }).$type<PackageStructure>(),
    fileCount: integer("file_count").notNull().default(0),
    uncompressedBytes: integer("uncompressed_bytes").notNull().default(0),
    createdAt: text("created_at").notNull(),
    processedAt: text("processed_at"),
  },
  (t) => [
    uniqueIndex("package_versions_tenant_package_version_uq").on(t.tenantId, t.packageId, t.version),
    index("package_versions_package_fk_idx").on(t.packageId),
  ],
);

/**
 * One learner's attempt at one SCO of a package placed in a course (the SCORM runtime's "session"): the full CMI
 * state as the player last committed it, plus the fields reports and progress read. `launch_count` numbers the
 * launches of this attempt; `commit_sequence` is the highest scorm-again `commitSequence` stored for that launch.
 */
export const scormSessions = sqliteTable(
  "scorm_sessions",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    packageId: integer("package_id")
      .notNull()
      .references(() => packages.id, { onDelete: "cascade" }),
    packageVersion: integer("package_version").notNull(),
    enrollmentId: integer("enrollment_id")
      .notNull()
      .references(() => enrollments.id, { onDelete: "cascade" }),
    placementId: integer("placement_id")
      .notNull()
      .references(() => coursePlacements.id, { onDelete: "cascade" }),
    courseId: integer("course_id").notNull(),
    userId: integer("user_id").notNull(),
    scoIdentifier: text("sco_identifier").notNull(),
    standard: text("standard", { enum: ["scorm12", "scorm2004"] }).notNull(),
    attempt: integer("attempt").notNull().default(1),
    launchCount: integer("launch_count").notNull().default(1),
    commitSequence: integer("commit_sequence").notNull().default(0),
    commitCount: integer("commit_count").notNull().default(0),
    cmi: text("cmi", { mode: "json" }).$type<Record<string, unknown>>(),
    /** SCORM 1.2 cmi.core.lesson_status */
    lessonStatus: text("lesson_status"),
    completionStatus: text("completion_status"),
    successStatus: text("success_status"),
    scoreRaw: real("score_raw"),
    scoreMin: real("score_min"),
    scoreMax: real("score_max"),
    scoreScaled: real("score_scaled"),
    /** Time of every finished launch (session times added up), in seconds. */
    totalSeconds: real("total_seconds").notNull().default(0),
    /** The current launch's `session_time` so far, in seconds (added to total at terminate). */
    sessionSeconds: real("session_seconds").notNull().default(0),
    exitMode: text("exit_mode"),
    /**
     * SCORM 2004: the SCO's last `adl.nav.request` (continue, previous, {target=ID}choice, {target=ID}jump, exit,
     * exitAll, abandon, abandonAll, suspendAll); once the launch terminated, the next launch without a chosen SCO
     * follows it (navigation.ts).
     */
    navRequest: text("nav_request"),
    /** The result last handed to progress (status, score), so repeated commits do not count as new attempts. */
    reported: text("reported"),
    terminatedAt: text("terminated_at"),
    lastCommitAt: text("last_commit_at"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("scorm_sessions_tenant_attempt_uq").on(
      t.tenantId,
      t.enrollmentId,
      t.placementId,
      t.scoIdentifier,
      t.attempt,
    ),
    index("scorm_sessions_tenant_package_user_idx").on(t.tenantId, t.packageId, t.userId),
    index("scorm_sessions_enrollment_fk_idx").on(t.enrollmentId),
    index("scorm_sessions_placement_fk_idx").on(t.placementId),
    index("scorm_sessions_package_fk_idx").on(t.packageId),
  ],
);

export type PackageRow = typeof packages.$inferSelect;
export type PackageVersionRow = typeof packageVersions.$inferSelect;
export type ScormSessionRow = typeof scormSessions.$inferSelect;
