/**
 * Reports of a package: per learner and attempt (one SCORM session per SCO and attempt) the status, score, time and
 * interactions, with a summary; as JSON pages or a streamed CSV.
 */
import { and, asc, eq, gt, sql } from "drizzle-orm";
import type { TenantContext } from "../../platform/auth";
import { nowIso } from "../../platform/time";
import { csvCell } from "../gradebook/service";
// Learners' names and emails are joined in the same statement (one read per page, whatever the page size).
import { users } from "../users/tables";
import { interactionsOf } from "./cmi";
import { findPackage } from "./service";
import { type ScormSessionRow, scormSessions } from "./tables";

const CSV_PAGE = 500;

function statusOf(s: ScormSessionRow): string {
  if (s.lessonStatus === "passed" || s.successStatus === "passed") return "passed";
  if (s.lessonStatus === "failed" || s.successStatus === "failed") return "failed";
  if (s.lessonStatus === "completed" || s.completionStatus === "completed") return "completed";
  if (s.lessonStatus === "incomplete" || s.lessonStatus === "browsed" || s.completionStatus === "incomplete")
    return "incomplete";
  return "not attempted";
}

function rowView(s: ScormSessionRow, user: { name: string | null; email: string | null }) {
  return {
    session_id: s.id,
    user: { id: s.userId, name: user.name, email: user.email },
    course_id: s.courseId,
    placement_id: s.placementId,
    sco_identifier: s.scoIdentifier,
    package_version: s.packageVersion,
    attempt: s.attempt,
    status: statusOf(s),
    lesson_status: s.lessonStatus,
    completion_status: s.completionStatus,
    success_status: s.successStatus,
    score: { raw: s.scoreRaw, min: s.scoreMin, max: s.scoreMax, scaled: s.scoreScaled },
    total_seconds: s.totalSeconds + s.sessionSeconds,
    launches: s.launchCount,
    commits: s.commitCount,
    interactions: interactionsOf(s.cmi),
    started_at: s.createdAt,
    last_commit_at: s.lastCommitAt,
  };
}

function where(ctx: TenantContext, packageId: number, userId?: number) {
  return and(
    eq(scormSessions.tenantId, ctx.tenantId),
    eq(scormSessions.packageId, packageId),
    userId === undefined ? undefined : eq(scormSessions.userId, userId),
  );
}

function selectRows(ctx: TenantContext) {
  return ctx.db
    .select({ session: scormSessions, name: users.name, email: users.email })
    .from(scormSessions)
    .leftJoin(users, and(eq(users.tenantId, scormSessions.tenantId), eq(users.id, scormSessions.userId)));
}

export async function packageReport(
  ctx: TenantContext,
  packageId: number,
  query: { page: number; per_page: number; user_id?: number },
) {
  await findPackage(ctx, packageId);
  const filter = where(ctx, packageId, query.user_id);
  const [rows, summary] = await ctx.db.batch([
    selectRows(ctx)
      .where(filter)
      .orderBy(
        asc(scormSessions.userId),
        asc(scormSessions.placementId),
        asc(scormSessions.scoIdentifier),
        asc(scormSessions.attempt),
      )
      .limit(query.per_page)
      .offset((query.page - 1) * query.per_page),
    ctx.db
      .select({
        attempts: sql<number>`count(*)`,
        learners: sql<number>`count(DISTINCT ${scormSessions.userId})`,
        completed: sql<number>`coalesce(sum(CASE WHEN ${scormSessions.lessonStatus} IN ('completed', 'passed') OR ${scormSessions.completionStatus} = 'completed' OR ${scormSessions.successStatus} = 'passed' THEN 1 ELSE 0 END), 0)`,
        passed: sql<number>`coalesce(sum(CASE WHEN ${scormSessions.lessonStatus} = 'passed' OR ${scormSessions.successStatus} = 'passed' THEN 1 ELSE 0 END), 0)`,
        failed: sql<number>`coalesce(sum(CASE WHEN ${scormSessions.lessonStatus} = 'failed' OR ${scormSessions.successStatus} = 'failed' THEN 1 ELSE 0 END), 0)`,
        average: sql<number | null>`avg(${scormSessions.scoreScaled})`,
        seconds: sql<number>`coalesce(sum(${scormSessions.totalSeconds} + ${scormSessions.sessionSeconds}), 0)`,
      })
      .from(scormSessions)
      .where(filter),
  ]);
  const s = summary[0];
  const total = Number(s?.attempts ?? 0);
  return {
    package_id: packageId,
    summary: {
      learners: Number(s?.learners ?? 0),
      attempts: total,
      completed: Number(s?.completed ?? 0),
      passed: Number(s?.passed ?? 0),
      failed: Number(s?.failed ?? 0),
      average_scaled_score:
        s?.average === null || s?.average === undefined ? null : Math.round(Number(s.average) * 10_000) / 10_000,
      total_seconds: Number(s?.seconds ?? 0),
    },
    data: rows.map((r) => rowView(r.session, r)),
    meta: {
      page: query.page,
      per_page: query.per_page,
      total,
      last_page: Math.max(1, Math.ceil(total / query.per_page)),
    },
  };
}

const HEADER = [
  "session_id",
  "learner_id",
  "learner_name",
  "learner_email",
  "course_id",
  "placement_id",
  "sco_identifier",
  "package_version",
  "attempt",
  "status",
  "lesson_status",
  "completion_status",
  "success_status",
  "score_raw",
  "score_min",
  "score_max",
  "score_scaled",
  "total_seconds",
  "launches",
  "commits",
  "interaction_count",
  "interactions",
  "started_at",
  "last_commit_at",
];

const line = (cells: (string | number | boolean | null | undefined)[]) => `${cells.map(csvCell).join(",")}\r\n`;

/** The whole report as CSV (RFC 4180), streamed in keyset pages of sessions (by id). */
export async function packageReportCsv(ctx: TenantContext, packageId: number, userId?: number) {
  await findPackage(ctx, packageId);
  const encoder = new TextEncoder();
  let lastId = 0;
  let headerSent = false;
  let done = false;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!headerSent) {
        headerSent = true;
        controller.enqueue(encoder.encode(line(HEADER)));
        return;
      }
      if (done) {
        controller.close();
        return;
      }
      const rows = await selectRows(ctx)
        .where(and(where(ctx, packageId, userId), gt(scormSessions.id, lastId)))
        .orderBy(asc(scormSessions.id))
        .limit(CSV_PAGE);
      if (rows.length < CSV_PAGE) done = true;
      if (rows.length) lastId = rows[rows.length - 1].session.id;
      const text = rows
        .map((r) => {
          const v = rowView(r.session, r);
          return line([
            v.session_id,
            v.user.id,
            v.user.name,
            v.user.email,
            v.course_id,
            v.placement_id,
            v.sco_identifier,
            v.package_version,
            v.attempt,
            v.status,
            v.lesson_status,
            v.completion_status,
            v.success_status,
            v.score.raw,
            v.score.min,
            v.score.max,
            v.score.scaled,
            v.total_seconds,
            v.launches,
            v.commits,
            v.interactions.length,
            JSON.stringify(v.interactions),
            v.started_at,
            v.last_commit_at,
          ]);
        })
        .join("");
      if (text) controller.enqueue(encoder.encode(text));
      if (done) controller.close();
    },
  });
  return { stream, filename: `package-${packageId}-report-${nowIso().slice(0, 10)}.csv` };
}
