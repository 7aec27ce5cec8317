/**
 * Reports of a package, whatever its standard: one row per learner and attempt, where an attempt is
 * - SCORM 1.2 / 2004: one `scorm_sessions` row (one SCO, one attempt: launches, commits, the CMI state);
 * - xAPI / cmi5: one `package_registrations` row (the learner's registration on a placement; cmi5 launches are its
 *   `cmi5_sessions`), what its statements said, and its `answered` statements as interactions.
 * Both tables are read through one UNION ALL ordered by (user_id, source, row id), so pages are a keyset range
 * (`cursor`) or an offset (`page`) of the same order, and filters (learner, status) apply to both. A page costs a
 * fixed number of D1 statements: the keys and the summary, then the rows, the learners and the cmi5 session counts
 * in one batch, then the registrations' statements in one read. CSV exports walk the same keyset in pages.
 */
import { and, eq, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { TenantContext } from "../../platform/auth";
import { inList } from "../../platform/db";
import { ApiError } from "../../platform/errors";
import { nowIso } from "../../platform/time";
import { csvCell } from "../gradebook/service";
import { findUser } from "../users/service";
import { users } from "../users/tables";
import { usToIso } from "../xapi/statements";
import { actorKey, isJson } from "../xapi/validate";
import { interactionsOf, parseDuration } from "./cmi";
import { cmi5Sessions, type PackageRegistrationRow, packageRegistrations } from "./launch-tables";
import { findPackage } from "./service";
import { type ScormSessionRow, scormSessions } from "./tables";

type Json = Record<string, unknown>;

export const REPORT_STATUSES = ["passed", "failed", "completed", "incomplete", "not attempted"] as const;
export type ReportStatus = (typeof REPORT_STATUSES)[number];

export interface ReportFilter {
  user_id?: number;
  /** A ReportStatus; `not_attempted` is read as `not attempted`. */
  status?: ReportStatus | "not_attempted";
}

const statusOf = (status: ReportFilter["status"]) => (status === "not_attempted" ? "not attempted" : status);

const SOURCE_SCORM = 0;
const SOURCE_REGISTRATION = 1;
/** Attempts per CSV page (a registration brings up to 500 interactions and 100 statements of each other verb). */
const CSV_PAGE = 50;
/** Answered statements (interactions) read per registration. */
export const MAX_STATEMENTS_PER_VERB = 500;
/** Statements of each other verb read per registration (their durations make its time). */
const MAX_OTHER_STATEMENTS = 100;
/** Attempts in the per-learner view. */
export const MAX_LEARNER_ATTEMPTS = 200;

const VERB = {
  answered: "http://adlnet.gov/expapi/verbs/answered",
  completed: "http://adlnet.gov/expapi/verbs/completed",
  passed: "http://adlnet.gov/expapi/verbs/passed",
  failed: "http://adlnet.gov/expapi/verbs/failed",
  terminated: "http://adlnet.gov/expapi/verbs/terminated",
  abandoned: "https://w3id.org/xapi/adl/verbs/abandoned",
};
const TIMED_VERBS = [VERB.terminated, VERB.abandoned];
const READ_VERBS = Object.values(VERB);

// ---- the attempts, as SQL ------------------------------------------------------------------------------------------

/** The report status of a SCORM session, in SQL (the same rules as `scormStatus`). */
const SCORM_STATUS_SQL = sql.raw(`CASE
  WHEN s.lesson_status = 'passed' OR s.success_status = 'passed' THEN 'passed'
  WHEN s.lesson_status = 'failed' OR s.success_status = 'failed' THEN 'failed'
  WHEN s.lesson_status = 'completed' OR s.completion_status = 'completed' THEN 'completed'
  WHEN s.lesson_status IN ('incomplete', 'browsed') OR s.completion_status = 'incomplete' THEN 'incomplete'
  ELSE 'not attempted' END`);

/** The report status of a registration, in SQL (the same rules as `registrationStatus`). */
const REGISTRATION_STATUS_SQL = sql.raw(`CASE
  WHEN r.reported IS NOT NULL AND json_extract(r.reported, '$.status') IN ('passed', 'failed', 'completed')
    THEN json_extract(r.reported, '$.status')
  WHEN r.results <> '{}' THEN 'incomplete'
  ELSE 'not attempted' END`);

function scormStatus(s: ScormSessionRow): ReportStatus {
  if (s.lessonStatus === "passed" || s.successStatus === "passed") return "passed";
  if (s.lessonStatus === "failed" || s.successStatus === "failed") return "failed";
  if (s.lessonStatus === "completed" || s.completionStatus === "completed") return "completed";
  if (s.lessonStatus === "incomplete" || s.lessonStatus === "browsed" || s.completionStatus === "incomplete")
    return "incomplete";
  return "not attempted";
}

type Outcome = { status: "passed" | "failed" | "completed"; score: number | null };

function outcomeOf(r: PackageRegistrationRow): Outcome | null {
  if (!r.reported) return null;
  try {
    return JSON.parse(r.reported) as Outcome;
  } catch {
    return null;
  }
}

function registrationStatus(r: PackageRegistrationRow): ReportStatus {
  const outcome = outcomeOf(r);
  if (outcome && ["passed", "failed", "completed"].includes(outcome.status)) return outcome.status;
  return Object.keys(r.results ?? {}).length ? "incomplete" : "not attempted";
}

/**
 * Every attempt of the package as (src, rid, user_id, status, scaled, seconds), filtered. `seconds` is null for
 * registrations (their time is in their statements, read per page).
 */
function attemptsCte(ctx: TenantContext, packageId: number, filter: ReportFilter) {
  const scormUser = filter.user_id === undefined ? sql`` : sql` AND s.user_id = ${filter.user_id}`;
  const regUser = filter.user_id === undefined ? sql`` : sql` AND r.user_id = ${filter.user_id}`;
  const wanted = statusOf(filter.status);
  const status = wanted === undefined ? sql`` : sql` WHERE status = ${wanted}`;
  return sql`WITH attempts AS (SELECT * FROM (
      SELECT ${SOURCE_SCORM} AS src, s.id AS rid, s.user_id AS user_id, ${SCORM_STATUS_SQL} AS status,
             s.score_scaled AS scaled, s.total_seconds + s.session_seconds AS seconds
      FROM scorm_sessions s WHERE s.tenant_id = ${ctx.tenantId} AND s.package_id = ${packageId}${scormUser}
      UNION ALL
      SELECT ${SOURCE_REGISTRATION}, r.id, r.user_id, ${REGISTRATION_STATUS_SQL},
             json_extract(r.reported, '$.score') / 100.0, NULL
      FROM package_registrations r WHERE r.tenant_id = ${ctx.tenantId} AND r.package_id = ${packageId}${regUser}
    )${status})`;
}

interface Key {
  src: number;
  rid: number;
  user_id: number;
}

const CURSOR = /^(\d{1,15})-([01])-(\d{1,15})$/;

export function parseCursor(cursor: string): Key {
  const m = CURSOR.exec(cursor);
  if (!m) throw ApiError.validation([{ path: "cursor", message: "Use the `meta.next_cursor` of the previous page." }]);
  return { user_id: Number(m[1]), src: Number(m[2]), rid: Number(m[3]) };
}

const cursorOf = (k: Key) => `${k.user_id}-${k.src}-${k.rid}`;

/**
 * The keys of a page: each table is read in (user_id, id) order through its (tenant_id, package_id, user_id)
 * index (SQLite keeps the rowid at the end of every index), after the cursor and at most offset + limit rows, then
 * the two are merged. The status filter is the same CASE the summary uses.
 */
function keysQuery(
  ctx: TenantContext,
  packageId: number,
  filter: ReportFilter,
  after: Key | undefined,
  limit: number,
  offset: number,
) {
  const branchLimit = offset + limit;
  const keyset = (src: number, alias: "s" | "r") => {
    if (!after) return sql``;
    const user = sql.raw(`${alias}.user_id`);
    const id = sql.raw(`${alias}.id`);
    // `user_id >= ?` first, so the index is entered at the cursor's learner rather than walked from the start.
    if (after.src === src)
      return sql` AND ${user} >= ${after.user_id} AND (${user} > ${after.user_id} OR ${id} > ${after.rid})`;
    return src > after.src ? sql` AND ${user} >= ${after.user_id}` : sql` AND ${user} > ${after.user_id}`;
  };
  const scormUser = filter.user_id === undefined ? sql`` : sql` AND s.user_id = ${filter.user_id}`;
  const regUser = filter.user_id === undefined ? sql`` : sql` AND r.user_id = ${filter.user_id}`;
  const status = statusOf(filter.status);
  const scormStatus = status === undefined ? sql`` : sql` AND (${SCORM_STATUS_SQL}) = ${status}`;
  const regStatus = status === undefined ? sql`` : sql` AND (${REGISTRATION_STATUS_SQL}) = ${status}`;
  return sql`SELECT src, rid, user_id FROM (
      SELECT * FROM (
        SELECT ${SOURCE_SCORM} AS src, s.id AS rid, s.user_id AS user_id FROM scorm_sessions s
        WHERE s.tenant_id = ${ctx.tenantId} AND s.package_id = ${packageId}${scormUser}${scormStatus}${keyset(SOURCE_SCORM, "s")}
        ORDER BY s.user_id, s.id LIMIT ${branchLimit})
      UNION ALL
      SELECT * FROM (
        SELECT ${SOURCE_REGISTRATION} AS src, r.id AS rid, r.user_id AS user_id FROM package_registrations r
        WHERE r.tenant_id = ${ctx.tenantId} AND r.package_id = ${packageId}${regUser}${regStatus}${keyset(SOURCE_REGISTRATION, "r")}
        ORDER BY r.user_id, r.id LIMIT ${branchLimit})
    ) ORDER BY user_id, src, rid LIMIT ${limit} OFFSET ${offset}`;
}

function summaryQuery(ctx: TenantContext, packageId: number, filter: ReportFilter) {
  return sql`${attemptsCte(ctx, packageId, filter)}
    SELECT count(*) AS attempts, count(DISTINCT user_id) AS learners,
      coalesce(sum(status IN ('completed', 'passed')), 0) AS completed,
      coalesce(sum(status = 'passed'), 0) AS passed,
      coalesce(sum(status = 'failed'), 0) AS failed,
      coalesce(sum(status = 'incomplete'), 0) AS incomplete,
      coalesce(sum(status = 'not attempted'), 0) AS not_attempted,
      avg(scaled) AS average, coalesce(sum(seconds), 0) AS seconds
    FROM attempts`;
}

// ---- rows ------------------------------------------------------------------------------------------------------------

/** An interaction as the report shows it, whatever the standard (SCORM cmi.interactions.n or an answered statement). */
export interface ReportInteraction {
  index: number;
  id: string;
  type: string | null;
  description: string | null;
  response: string | null;
  result: string | null;
  success: boolean | null;
  correct_responses: string[];
  weighting: number | null;
  score_scaled: number | null;
  latency_seconds: number | null;
  timestamp: string | null;
}

const str = (v: unknown): string | null =>
  typeof v === "string" && v !== "" ? v : typeof v === "number" ? String(v) : null;
const num = (v: unknown): number | null => {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : Number.NaN;
  return Number.isFinite(n) ? n : null;
};

function scormInteraction(raw: Record<string, unknown>, index: number): ReportInteraction {
  const result = str(raw.result);
  const patterns = isJson(raw.correct_responses)
    ? Object.keys(raw.correct_responses)
        .filter((k) => /^\d+$/.test(k))
        .sort((a, b) => Number(a) - Number(b))
        .map((k) => {
          const entry = (raw.correct_responses as Json)[k];
          return isJson(entry) ? str(entry.pattern) : null;
        })
        .filter((p): p is string => p !== null)
    : [];
  return {
    index,
    id: str(raw.id) ?? "",
    type: str(raw.type),
    description: str(raw.description),
    response: str(raw.learner_response) ?? str(raw.student_response),
    result,
    success: result === "correct" ? true : result === "incorrect" || result === "wrong" ? false : null,
    correct_responses: patterns,
    weighting: num(raw.weighting),
    score_scaled: null,
    latency_seconds: raw.latency === undefined || raw.latency === "" ? null : parseDuration(raw.latency),
    timestamp: str(raw.timestamp) ?? str(raw.time),
  };
}

function scaledOf(result: Json): number | null {
  const score = isJson(result.score) ? result.score : null;
  if (!score) return null;
  if (typeof score.scaled === "number") return score.scaled;
  if (typeof score.raw === "number" && typeof score.max === "number") {
    const min = typeof score.min === "number" ? score.min : 0;
    if (score.max > min) return Math.max(0, Math.min(1, (score.raw - min) / (score.max - min)));
  }
  return null;
}

function langString(v: unknown): string | null {
  if (!isJson(v)) return null;
  const first = v["en-US"] ?? v.en ?? Object.values(v)[0];
  return typeof first === "string" ? first : null;
}

function statementInteraction(s: Json, index: number): ReportInteraction {
  const object = isJson(s.object) ? s.object : {};
  const definition = isJson(object.definition) ? object.definition : {};
  const result = isJson(s.result) ? s.result : {};
  const success = typeof result.success === "boolean" ? result.success : null;
  return {
    index,
    id: String(object.id ?? ""),
    type: str(definition.interactionType),
    description: langString(definition.description) ?? langString(definition.name),
    response: typeof result.response === "string" ? result.response : null,
    result: success === null ? null : success ? "correct" : "incorrect",
    success,
    correct_responses: Array.isArray(definition.correctResponsesPattern)
      ? definition.correctResponsesPattern.filter((p): p is string => typeof p === "string")
      : [],
    weighting: null,
    score_scaled: scaledOf(result),
    latency_seconds: typeof result.duration === "string" ? parseDuration(result.duration) : null,
    timestamp: typeof s.timestamp === "string" ? s.timestamp : str(s.stored),
  };
}

type UserCols = { name: string | null; email: string | null };

function scormRow(s: ScormSessionRow, user: UserCols | undefined) {
  return {
    attempt_id: `scorm-${s.id}`,
    standard: s.standard as "scorm12" | "scorm2004" | "xapi" | "cmi5",
    session_id: s.id as number | null,
    registration: null as string | null,
    user: { id: s.userId, name: user?.name ?? null, email: user?.email ?? null },
    course_id: s.courseId,
    placement_id: s.placementId,
    sco_identifier: s.scoIdentifier as string | null,
    package_version: s.packageVersion,
    attempt: s.attempt,
    status: scormStatus(s),
    lesson_status: s.lessonStatus,
    completion_status: s.completionStatus,
    success_status: s.successStatus,
    score: { raw: s.scoreRaw, min: s.scoreMin, max: s.scoreMax, scaled: s.scoreScaled },
    total_seconds: s.totalSeconds + s.sessionSeconds,
    launches: s.launchCount as number | null,
    commits: s.commitCount as number | null,
    activities: [] as { id: string; completed: boolean; success: boolean | null; score_scaled: number | null }[],
    interactions: interactionsOf(s.cmi).map(scormInteraction),
    started_at: s.createdAt,
    last_activity_at: s.lastCommitAt ?? s.updatedAt,
  };
}

export type ReportRow = ReturnType<typeof scormRow>;

interface RegistrationExtras {
  statements: Json[];
  launches: number;
}

/**
 * A registration's time: the durations of its `terminated` and `abandoned` statements (cmi5 requires one per
 * session) added up; without any, the longest `result.duration` its other statements carry (TinCan content reports
 * the attempt's time on completed / passed / failed).
 */
function registrationSeconds(statements: Json[]): number {
  let sessions = 0;
  let sessionCount = 0;
  let longest = 0;
  for (const s of statements) {
    const result = isJson(s.result) ? s.result : {};
    if (typeof result.duration !== "string") continue;
    const seconds = parseDuration(result.duration);
    const verb = isJson(s.verb) ? String(s.verb.id) : "";
    if (TIMED_VERBS.includes(verb)) {
      sessions += seconds;
      sessionCount++;
    } else if (verb !== VERB.answered) longest = Math.max(longest, seconds);
  }
  return sessionCount ? sessions : longest;
}

function registrationRow(r: PackageRegistrationRow, user: UserCols | undefined, extras: RegistrationExtras) {
  const outcome = outcomeOf(r);
  const results = r.results ?? {};
  const status = registrationStatus(r);
  // What the statements said about the package as a whole: the xAPI root activity, or every cmi5 AU.
  const activities = Object.entries(results).map(([id, v]) => ({
    id,
    completed: !!v.completed,
    success: v.success ?? null,
    score_scaled: v.scaled ?? null,
  }));
  const root = r.standard === "xapi" ? results[r.activityId] : undefined;
  const everyCompleted = r.standard === "cmi5" && activities.length > 0 && activities.every((a) => a.completed);
  const hasScore = typeof outcome?.score === "number";
  const scaled = hasScore ? (outcome?.score as number) / 100 : (root?.scaled ?? null);
  const answered = extras.statements.filter(
    (s) => isJson(s.verb) && s.verb.id === VERB.answered && actorKey(s.actor) === r.actorKey,
  );
  const timed = extras.statements.filter((s) => actorKey(s.actor) === r.actorKey);
  return {
    attempt_id: `registration-${r.registration}`,
    standard: r.standard as "scorm12" | "scorm2004" | "xapi" | "cmi5",
    session_id: null as number | null,
    registration: r.registration as string | null,
    user: { id: r.userId, name: user?.name ?? null, email: user?.email ?? null },
    course_id: r.courseId,
    placement_id: r.placementId,
    sco_identifier: null as string | null,
    package_version: r.packageVersion,
    attempt: 1,
    status,
    lesson_status: null as string | null,
    completion_status:
      status === "not attempted"
        ? null
        : root?.completed || everyCompleted || status === "completed" || status === "passed"
          ? "completed"
          : "incomplete",
    success_status:
      status === "passed" || status === "failed"
        ? status
        : root?.success === true
          ? "passed"
          : root?.success === false
            ? "failed"
            : null,
    score: { raw: outcome?.score ?? null, min: hasScore ? 0 : null, max: hasScore ? 100 : null, scaled },
    total_seconds: registrationSeconds(timed),
    launches: r.standard === "cmi5" ? extras.launches : null,
    commits: null as number | null,
    activities,
    interactions: answered.map(statementInteraction),
    started_at: r.createdAt,
    last_activity_at: r.updatedAt,
  };
}

const tenantFilter = (column: SQLiteColumn, ctx: TenantContext) => sql`+${column} = ${ctx.tenantId}`;

/** The full rows of a page of keys, in the keys' order: one D1 batch whatever the page size. */
async function rowsOf(ctx: TenantContext, keys: Key[]): Promise<ReportRow[]> {
  if (!keys.length) return [];
  const sessionIds = keys.filter((k) => k.src === SOURCE_SCORM).map((k) => k.rid);
  const registrationIds = keys.filter((k) => k.src === SOURCE_REGISTRATION).map((k) => k.rid);
  const userIds = [...new Set(keys.map((k) => k.user_id))];
  const none = [0];
  // By primary key, the academy checked on each row found (`+tenant_id`: a filter, so SQLite does not walk the
  // academy's rows through a tenant-led index instead).
  const [sessions, registrations, people, launches] = await ctx.db.batch([
    ctx.db
      .select()
      .from(scormSessions)
      .where(
        and(inList(scormSessions.id, sessionIds.length ? sessionIds : none), tenantFilter(scormSessions.tenantId, ctx)),
      ),
    ctx.db
      .select()
      .from(packageRegistrations)
      .where(
        and(
          inList(packageRegistrations.id, registrationIds.length ? registrationIds : none),
          tenantFilter(packageRegistrations.tenantId, ctx),
        ),
      ),
    ctx.db
      .select({ id: users.id, name: users.name, email: users.email })
      .from(users)
      .where(and(inList(users.id, userIds), tenantFilter(users.tenantId, ctx))),
    ctx.db
      .select({ registrationId: cmi5Sessions.registrationId, count: sql<number>`count(*)` })
      .from(cmi5Sessions)
      .where(
        and(
          eq(cmi5Sessions.tenantId, ctx.tenantId),
          inList(cmi5Sessions.registrationId, registrationIds.length ? registrationIds : none),
        ),
      )
      .groupBy(cmi5Sessions.registrationId),
  ]);
  const statements = await statementsOf(
    ctx,
    registrations.map((r) => r.registration),
  );
  const byUser = new Map(people.map((u) => [u.id, u]));
  const bySession = new Map(sessions.map((s) => [s.id, s]));
  const byRegistration = new Map(registrations.map((r) => [r.id, r]));
  const launchCount = new Map(launches.map((l) => [l.registrationId, Number(l.count)]));
  const out: ReportRow[] = [];
  for (const k of keys) {
    if (k.src === SOURCE_SCORM) {
      const s = bySession.get(k.rid);
      if (s) out.push(scormRow(s, byUser.get(s.userId)));
    } else {
      const r = byRegistration.get(k.rid);
      if (r)
        out.push(
          registrationRow(r, byUser.get(r.userId), {
            statements: statements.get(r.registration) ?? [],
            launches: launchCount.get(r.id) ?? 0,
          }),
        );
    }
  }
  return out;
}

/**
 * The statements of these registrations that the report reads (answered, completed, passed, failed, terminated,
 * abandoned; not voided), oldest first, at most MAX_STATEMENTS_PER_VERB answered and MAX_OTHER_STATEMENTS of each
 * other verb per registration: one statement through the LRS's (tenant_id, kind, value, stored_us) registration
 * index. Only the parts the report shows leave D1 (actor, verb, object id and interaction definition, result,
 * timestamp), so a page of registrations stays small in memory whatever the content stored in its statements.
 */
async function statementsOf(ctx: TenantContext, registrations: string[]): Promise<Map<string, Json[]>> {
  const out = new Map<string, Json[]>();
  if (!registrations.length) return out;
  const rows = await ctx.db.all<{ registration: string; statement: string; stored_us: number }>(
    sql`SELECT registration, statement, stored_us FROM (
          SELECT p.value AS registration, s.stored_us AS stored_us,
                 json_object(
                   'actor', s.statement -> '$.actor',
                   'verb', json_object('id', s.verb_id),
                   'object', json_object(
                     'id', s.statement ->> '$.object.id',
                     'definition', json_object(
                       'interactionType', s.statement ->> '$.object.definition.interactionType',
                       'name', s.statement -> '$.object.definition.name',
                       'description', s.statement -> '$.object.definition.description',
                       'correctResponsesPattern', s.statement -> '$.object.definition.correctResponsesPattern')),
                   'result', s.statement -> '$.result',
                   'timestamp', s.statement ->> '$.timestamp') AS statement,
                 s.verb_id AS verb_id,
                 row_number() OVER (PARTITION BY p.value, s.verb_id ORDER BY p.stored_us) AS n
          FROM xapi_statement_terms p
          CROSS JOIN xapi_statements s ON s.tenant_id = ${ctx.tenantId} AND s.stored_us = p.stored_us
          WHERE p.tenant_id = ${ctx.tenantId} AND p.kind = 'registration' AND ${inList(sql`p.value`, registrations)}
            AND s.voided = 0 AND ${inList(sql`s.verb_id`, READ_VERBS)}
        ) WHERE n <= CASE WHEN verb_id = ${VERB.answered} THEN ${MAX_STATEMENTS_PER_VERB} ELSE ${MAX_OTHER_STATEMENTS} END
        ORDER BY registration, stored_us`,
  );
  for (const r of rows) {
    const list = out.get(r.registration) ?? [];
    if (!list.length) out.set(r.registration, list);
    list.push({ ...(JSON.parse(r.statement) as Json), stored: usToIso(r.stored_us) });
  }
  return out;
}

// ---- the report ------------------------------------------------------------------------------------------------------

function summaryView(s: Record<string, unknown> | undefined) {
  const average = s?.average;
  return {
    learners: Number(s?.learners ?? 0),
    attempts: Number(s?.attempts ?? 0),
    completed: Number(s?.completed ?? 0),
    passed: Number(s?.passed ?? 0),
    failed: Number(s?.failed ?? 0),
    incomplete: Number(s?.incomplete ?? 0),
    not_attempted: Number(s?.not_attempted ?? 0),
    average_scaled_score:
      average === null || average === undefined ? null : Math.round(Number(average) * 10_000) / 10_000,
    total_seconds: Number(s?.seconds ?? 0),
  };
}

export interface ReportQuery extends ReportFilter {
  page: number;
  per_page: number;
  cursor?: string;
}

/**
 * A page of the report: `cursor` (keyset, from `meta.next_cursor`) or `page` (offset) over the attempts ordered
 * by learner, then SCORM sessions before registrations, then id; with the summary of every attempt the filters keep.
 */
export async function packageReport(ctx: TenantContext, packageId: number, query: ReportQuery) {
  const after = query.cursor ? parseCursor(query.cursor) : undefined;
  const pkg = await findPackage(ctx, packageId);
  const filter = { user_id: query.user_id, status: query.status };
  const offset = after ? 0 : (query.page - 1) * query.per_page;
  // A keyset page skips the summary (it reads every attempt the filters keep): deep pages cost what page 1 does.
  const [keys, summary] = await Promise.all([
    ctx.db.all<Key>(keysQuery(ctx, packageId, filter, after, query.per_page + 1, offset)),
    after ? Promise.resolve(null) : ctx.db.all<Record<string, unknown>>(summaryQuery(ctx, packageId, filter)),
  ]);
  const more = keys.length > query.per_page;
  const pageKeys = keys.slice(0, query.per_page);
  const totals = summary ? summaryView(summary[0]) : null;
  return {
    package_id: packageId,
    standard: pkg.standard ?? null,
    summary: totals,
    data: await rowsOf(ctx, pageKeys),
    meta: {
      page: after ? null : query.page,
      per_page: query.per_page,
      total: totals ? totals.attempts : null,
      last_page: totals ? Math.max(1, Math.ceil(totals.attempts / query.per_page)) : null,
      next_cursor: more ? cursorOf(pageKeys[pageKeys.length - 1]) : null,
    },
  };
}

/** One learner's attempts at the package (at most MAX_LEARNER_ATTEMPTS), each with all its interactions. */
export async function learnerReport(ctx: TenantContext, packageId: number, userId: number) {
  const pkg = await findPackage(ctx, packageId);
  const user = await findUser(ctx, "learner", userId);
  const filter = { user_id: userId };
  const [keys, summary] = await Promise.all([
    ctx.db.all<Key>(keysQuery(ctx, packageId, filter, undefined, MAX_LEARNER_ATTEMPTS, 0)),
    ctx.db.all<Record<string, unknown>>(summaryQuery(ctx, packageId, filter)),
  ]);
  const { learners: _learners, ...totals } = summaryView(summary[0]);
  return {
    package_id: packageId,
    standard: pkg.standard ?? null,
    user: { id: user.id, name: user.name, email: user.email },
    summary: totals,
    attempts: await rowsOf(ctx, keys),
  };
}

// ---- CSV -------------------------------------------------------------------------------------------------------------

type Cell = string | number | boolean | null | undefined;
const line = (cells: Cell[]) => `${cells.map(csvCell).join(",")}\r\n`;

const ATTEMPT_COLUMNS: [string, (r: ReportRow) => Cell][] = [
  ["session_id", (r) => r.session_id],
  ["learner_id", (r) => r.user.id],
  ["learner_name", (r) => r.user.name],
  ["learner_email", (r) => r.user.email],
  ["standard", (r) => r.standard],
  ["registration", (r) => r.registration],
  ["course_id", (r) => r.course_id],
  ["placement_id", (r) => r.placement_id],
  ["sco_identifier", (r) => r.sco_identifier],
  ["package_version", (r) => r.package_version],
  ["attempt", (r) => r.attempt],
  ["status", (r) => r.status],
  ["lesson_status", (r) => r.lesson_status],
  ["completion_status", (r) => r.completion_status],
  ["success_status", (r) => r.success_status],
  ["score_raw", (r) => r.score.raw],
  ["score_min", (r) => r.score.min],
  ["score_max", (r) => r.score.max],
  ["score_scaled", (r) => r.score.scaled],
  ["total_seconds", (r) => r.total_seconds],
  ["launches", (r) => r.launches],
  ["commits", (r) => r.commits],
  ["interaction_count", (r) => r.interactions.length],
  ["interactions", (r) => JSON.stringify(r.interactions)],
  ["started_at", (r) => r.started_at],
  ["last_activity_at", (r) => r.last_activity_at],
];

const INTERACTION_COLUMNS: [string, (r: ReportRow, i: ReportInteraction) => Cell][] = [
  ["attempt_id", (r) => r.attempt_id],
  ["learner_id", (r) => r.user.id],
  ["learner_name", (r) => r.user.name],
  ["learner_email", (r) => r.user.email],
  ["standard", (r) => r.standard],
  ["session_id", (r) => r.session_id],
  ["registration", (r) => r.registration],
  ["sco_identifier", (r) => r.sco_identifier],
  ["attempt", (r) => r.attempt],
  ["interaction_index", (_r, i) => i.index],
  ["interaction_id", (_r, i) => i.id],
  ["type", (_r, i) => i.type],
  ["description", (_r, i) => i.description],
  ["response", (_r, i) => i.response],
  ["result", (_r, i) => i.result],
  ["success", (_r, i) => i.success],
  ["correct_responses", (_r, i) => i.correct_responses.join(" | ")],
  ["weighting", (_r, i) => i.weighting],
  ["score_scaled", (_r, i) => i.score_scaled],
  ["latency_seconds", (_r, i) => i.latency_seconds],
  ["timestamp", (_r, i) => i.timestamp],
];

export const ATTEMPT_CSV_HEADER = ATTEMPT_COLUMNS.map(([name]) => name);
export const INTERACTION_CSV_HEADER = INTERACTION_COLUMNS.map(([name]) => name);

/**
 * A CSV (RFC 4180, UTF-8) streamed in keyset pages of CSV_PAGE attempts, so memory stays bounded by one page
 * whatever the package's size. `rows` turns one attempt into its CSV lines.
 */
function csvStream(
  ctx: TenantContext,
  packageId: number,
  filter: ReportFilter,
  header: string[],
  rows: (r: ReportRow) => string,
) {
  const encoder = new TextEncoder();
  let after: Key | undefined;
  let headerSent = false;
  let done = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!headerSent) {
        headerSent = true;
        controller.enqueue(encoder.encode(line(header)));
        return;
      }
      if (done) {
        controller.close();
        return;
      }
      const keys = await ctx.db.all<Key>(keysQuery(ctx, packageId, filter, after, CSV_PAGE, 0));
      if (keys.length < CSV_PAGE) done = true;
      if (keys.length) after = keys[keys.length - 1];
      const text = (await rowsOf(ctx, keys)).map(rows).join("");
      if (text) controller.enqueue(encoder.encode(text));
      if (done) controller.close();
    },
  });
}

/** The report as CSV: one row per learner and attempt (ATTEMPT_CSV_HEADER), interactions as a JSON column. */
export async function packageReportCsv(ctx: TenantContext, packageId: number, filter: ReportFilter = {}) {
  await findPackage(ctx, packageId);
  const stream = csvStream(ctx, packageId, filter, ATTEMPT_CSV_HEADER, (r) =>
    line(ATTEMPT_COLUMNS.map(([, get]) => get(r))),
  );
  return { stream, filename: `package-${packageId}-report-${nowIso().slice(0, 10)}.csv` };
}

/** The interactions as CSV: one row per learner, attempt and interaction (INTERACTION_CSV_HEADER). */
export async function packageInteractionsCsv(ctx: TenantContext, packageId: number, filter: ReportFilter = {}) {
  await findPackage(ctx, packageId);
  const stream = csvStream(ctx, packageId, filter, INTERACTION_CSV_HEADER, (r) =>
    r.interactions.map((i) => line(INTERACTION_COLUMNS.map(([, get]) => get(r, i)))).join(""),
  );
  return { stream, filename: `package-${packageId}-interactions-${nowIso().slice(0, 10)}.csv` };
}
