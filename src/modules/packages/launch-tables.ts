import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { coursePlacements } from "../courses/tables";
import { enrollments } from "../enrollments/tables";
import { tenants } from "../tenants/tables";
import { packages } from "./tables";

/** What the statements of a registration said about one activity (the xAPI root activity or one cmi5 AU). */
export interface ActivityResult {
  completed: boolean;
  /** result.success / passed (true) / failed (false); null while neither was said */
  success: boolean | null;
  /** result.score.scaled of the statement that said it (or raw/max), 0..1 */
  scaled: number | null;
  /** cmi5: the LMS decided the AU satisfied its moveOn (and wrote "satisfied") */
  satisfied?: boolean;
  /** cmi5: an administrator waived the AU */
  waived?: boolean;
}

/**
 * The xAPI registration of a learner on an xAPI or cmi5 package placed in a course: one per enrollment and
 * placement, created at the first launch and reused by later ones. Statements whose `context.registration` is
 * this registration and whose actor is `actor_key` drive the placement's progress; `results` accumulates what
 * they said per activity, `reported` is the result last handed to progress (so a statement saying the same thing
 * again changes nothing).
 */
export const packageRegistrations = sqliteTable(
  "package_registrations",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    registration: text("registration").notNull(),
    enrollmentId: integer("enrollment_id")
      .notNull()
      .references(() => enrollments.id, { onDelete: "cascade" }),
    placementId: integer("placement_id")
      .notNull()
      .references(() => coursePlacements.id, { onDelete: "cascade" }),
    courseId: integer("course_id").notNull(),
    moduleId: integer("module_id").notNull(),
    userId: integer("user_id").notNull(),
    packageId: integer("package_id")
      .notNull()
      .references(() => packages.id, { onDelete: "cascade" }),
    packageVersion: integer("package_version").notNull(),
    standard: text("standard", { enum: ["xapi", "cmi5"] }).notNull(),
    /** xAPI: the package's root activity id; cmi5: the course id of cmi5.xml. */
    activityId: text("activity_id").notNull(),
    /** The learner's Agent as sent to the content (account: this deployment + user id). */
    actor: text("actor", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    /** The actor's inverse functional identifier as the LRS keys it (`actorKey`). */
    actorKey: text("actor_key").notNull(),
    results: text("results", { mode: "json" }).$type<Record<string, ActivityResult>>().notNull(),
    reported: text("reported"),
    satisfiedAt: text("satisfied_at"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("package_registrations_tenant_registration_uq").on(t.tenantId, t.registration),
    uniqueIndex("package_registrations_tenant_enrollment_placement_uq").on(t.tenantId, t.enrollmentId, t.placementId),
    index("package_registrations_tenant_package_user_idx").on(t.tenantId, t.packageId, t.userId),
    index("package_registrations_enrollment_fk_idx").on(t.enrollmentId),
    index("package_registrations_placement_fk_idx").on(t.placementId),
    index("package_registrations_package_fk_idx").on(t.packageId),
  ],
);

/**
 * One launch of a cmi5 AU (a cmi5 "session"): its session id (the `sessionid` context extension), the one-time
 * fetch URL's use, and how it ended (terminated by the AU, abandoned by the LMS).
 */
export const cmi5Sessions = sqliteTable(
  "cmi5_sessions",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    registrationId: integer("registration_id")
      .notNull()
      .references(() => packageRegistrations.id, { onDelete: "cascade" }),
    auId: text("au_id").notNull(),
    sessionId: text("session_id").notNull(),
    launchMode: text("launch_mode").notNull().default("Normal"),
    fetchedAt: text("fetched_at"),
    /** when the AU's "initialized" statement was stored (its first statement of the session) */
    initializedAt: text("initialized_at"),
    /** the cmi5 defined verbs the AU used in this session (each at most once, cmi5 section 9.3) */
    verbs: text("verbs", { mode: "json" }).$type<string[]>().notNull().default([]),
    /** when the AU's last statement of the session was stored (the abandoned statement's duration ends there) */
    lastStatementAt: text("last_statement_at"),
    /** bumped by every change of the session's statement state: concurrent requests compare-and-set on it */
    seq: integer("seq").notNull().default(0),
    /** after this the session can send nothing (its fetch URL and auth-token expired): the sweep abandons it */
    expiresAt: text("expires_at"),
    terminatedAt: text("terminated_at"),
    abandonedAt: text("abandoned_at"),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("cmi5_sessions_tenant_session_uq").on(t.tenantId, t.sessionId),
    index("cmi5_sessions_tenant_registration_created_idx").on(t.tenantId, t.registrationId, t.createdAt),
    index("cmi5_sessions_registration_fk_idx").on(t.registrationId),
    // The scheduled sweep (all academies): open sessions past their expiry.
    index("cmi5_sessions_open_expiry_idx").on(t.expiresAt).where(sql`terminated_at IS NULL AND abandoned_at IS NULL`),
  ],
);

export type PackageRegistrationRow = typeof packageRegistrations.$inferSelect;
export type Cmi5SessionRow = typeof cmi5Sessions.$inferSelect;
