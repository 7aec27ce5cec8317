import type { TenantContext } from "../../platform/auth";
import { findCourse } from "../courses/service";

/** Module types whose placements carry a score and appear in the gradebook. */
export const GRADED_TYPES = ["quiz", "assignment", "discussion", "scorm"] as const;

type CourseRow = Awaited<ReturnType<typeof findCourse>>;

export interface GradebookPlacement {
  placement_id: number;
  module_id: number;
  name: string;
  type: string;
}

interface EnrollmentRow {
  id: number;
  user_id: number;
  status: string;
  enrolled_at: string;
  completed_at: string | null;
  progress_percent: number;
  name: string;
  email: string;
}

interface ProgressRow {
  enrollment_id: number;
  placement_id: number;
  status: string;
  score: number | null;
  max_score: number | null;
  attempts: number;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

const percentOf = (score: number | null, max: number | null) =>
  score !== null && max !== null && max > 0 ? round2((score / max) * 100) : null;

/**
 * The graded placements of a course in curriculum order: modules of a graded type, and any module the course
 * averages by `graded_module_ids`.
 */
function placementsStatement(ctx: TenantContext, courseId: number) {
  return ctx.env.DB.prepare(
    `SELECT p.id AS placement_id, p.module_id, m.name, m.type
     FROM course_placements p
     JOIN modules m ON m.id = p.module_id AND m.tenant_id = p.tenant_id
     JOIN course_sections s ON s.id = p.section_id AND s.tenant_id = p.tenant_id
     WHERE p.tenant_id = ?1 AND p.course_id = ?2
       AND (m.type IN (${GRADED_TYPES.map((t) => `'${t}'`).join(", ")})
            OR p.module_id IN (SELECT value FROM json_each((SELECT graded_module_ids FROM courses WHERE tenant_id = ?1 AND id = ?2))))
     ORDER BY s.position, s.id, p.position, p.id`,
  ).bind(ctx.tenantId, courseId);
}

/** Enrollments of the course with their learner, in enrollment order: `(tenant_id, course_id, enrolled_at)`. */
const ENROLLMENT_COLUMNS = `e.id, e.user_id, e.status, e.enrolled_at, e.completed_at, e.progress_percent, u.name, u.email
  FROM enrollments e JOIN users u ON u.id = e.user_id AND u.tenant_id = e.tenant_id`;

/** Module progress rows of the enrollments a subquery selects (the unique (tenant, enrollment, placement) index). */
const progressSql = (enrollmentIds: string) =>
  `SELECT enrollment_id, placement_id, status, score, max_score, attempts FROM module_progress
   WHERE tenant_id = ?1 AND enrollment_id IN (${enrollmentIds})`;

const AVERAGED = new Set<string>(GRADED_TYPES);

/**
 * The course grade by its grading rule, as the progress service computes `enrollments.grade` for completion
 * (the same placements, the unrounded percentages averaged, then rounded to a whole percent), so the gradebook's
 * `passed` agrees with completion by passing grade. Null when the course is not graded or nothing is scored yet.
 */
export function courseGrade(course: CourseRow, placements: GradebookPlacement[], results: Map<number, ProgressRow>) {
  if (course.gradingRule === "no_grading") return null;
  const specific = new Set(course.gradedModuleIds);
  const counted =
    course.gradingRule === "avg_specific_modules"
      ? placements.filter((p) => specific.has(p.module_id))
      : placements.filter((p) => AVERAGED.has(p.type));
  const percents = counted
    .map((p) => results.get(p.placement_id))
    .filter((r): r is ProgressRow => r !== undefined && r.score !== null && r.max_score !== null && r.max_score > 0)
    .map((r) => ((r.score as number) * 100) / (r.max_score as number));
  if (percents.length === 0) return null;
  return Math.round(percents.reduce((a, b) => a + b, 0) / percents.length);
}

function gradebookRows(
  course: CourseRow,
  placements: GradebookPlacement[],
  enrollments: EnrollmentRow[],
  progress: ProgressRow[],
) {
  const byEnrollment = new Map<number, Map<number, ProgressRow>>();
  for (const row of progress) {
    const map = byEnrollment.get(row.enrollment_id) ?? new Map<number, ProgressRow>();
    map.set(row.placement_id, row);
    byEnrollment.set(row.enrollment_id, map);
  }
  return enrollments.map((e) => {
    const results = byEnrollment.get(e.id) ?? new Map<number, ProgressRow>();
    const grade = courseGrade(course, placements, results);
    return {
      enrollment_id: e.id,
      learner: { id: e.user_id, name: e.name, email: e.email },
      enrollment_status: e.status,
      enrolled_at: e.enrolled_at,
      completed_at: e.completed_at,
      progress_percent: e.progress_percent,
      grade,
      passed: grade !== null && course.passingGrade !== null ? grade >= course.passingGrade : null,
      results: placements.map((p) => {
        const r = results.get(p.placement_id);
        return {
          placement_id: p.placement_id,
          status: r?.status ?? "not_started",
          score: r?.score ?? null,
          max_score: r?.max_score ?? null,
          percent: r ? percentOf(r.score, r.max_score) : null,
          attempts: r?.attempts ?? 0,
        };
      }),
    };
  });
}

export type GradebookRow = ReturnType<typeof gradebookRows>[number];

function courseSummary(course: CourseRow) {
  return {
    id: course.id,
    name: course.name,
    grading_rule: course.gradingRule,
    graded_module_ids: course.gradedModuleIds,
    passing_grade: course.passingGrade,
  };
}

/**
 * One page of a course's gradebook: per enrolled learner (in enrollment order), every graded placement's
 * result and the course grade. One D1 batch of four reads after the course, whatever the course's size.
 */
export async function gradebookPage(ctx: TenantContext, courseId: number, query: { page: number; per_page: number }) {
  const course = await findCourse(ctx, courseId);
  const offset = (query.page - 1) * query.per_page;
  const pageIds = `SELECT id FROM enrollments WHERE tenant_id = ?1 AND course_id = ?2 ORDER BY enrolled_at, id LIMIT ?3 OFFSET ?4`;
  const [placements, enrollments, totals, progress] = await ctx.env.DB.batch([
    placementsStatement(ctx, courseId),
    ctx.env.DB.prepare(
      `SELECT ${ENROLLMENT_COLUMNS} WHERE e.tenant_id = ?1 AND e.course_id = ?2 ORDER BY e.enrolled_at, e.id LIMIT ?3 OFFSET ?4`,
    ).bind(ctx.tenantId, courseId, query.per_page, offset),
    ctx.env.DB.prepare("SELECT COUNT(*) AS total FROM enrollments WHERE tenant_id = ?1 AND course_id = ?2").bind(
      ctx.tenantId,
      courseId,
    ),
    ctx.env.DB.prepare(progressSql(pageIds)).bind(ctx.tenantId, courseId, query.per_page, offset),
  ]);
  const columns = placements.results as unknown as GradebookPlacement[];
  const total = (totals.results[0] as { total: number } | undefined)?.total ?? 0;
  return {
    course: courseSummary(course),
    placements: columns,
    data: gradebookRows(
      course,
      columns,
      enrollments.results as unknown as EnrollmentRow[],
      progress.results as unknown as ProgressRow[],
    ),
    meta: {
      page: query.page,
      per_page: query.per_page,
      total,
      last_page: Math.max(1, Math.ceil(total / query.per_page)),
    },
  };
}

// ---- CSV -----------------------------------------------------------------------------------------------------

/** Enrollments per CSV chunk: each chunk is one D1 batch of two reads. */
const CSV_PAGE = 200;

/**
 * One CSV cell (RFC 4180): quoted when it holds a comma, quote or line break, quotes doubled. Text that a
 * spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) gets a leading `'`.
 */
export function csvCell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return "";
  if (typeof value !== "string") return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const csvLine = (cells: (string | number | boolean | null | undefined)[]) => `${cells.map(csvCell).join(",")}\r\n`;

/**
 * The whole gradebook as CSV, streamed: the header (one score and one status column per graded placement),
 * then the learners in enrollment order, read in keyset pages of CSV_PAGE enrollments ((enrolled_at, id) after
 * the last row), so the export never holds the course's enrollments in memory and each page costs the same.
 */
export async function gradebookCsv(ctx: TenantContext, courseId: number) {
  const course = await findCourse(ctx, courseId);
  const { results } = await placementsStatement(ctx, courseId).all<GradebookPlacement>();
  const placements = results;
  const header = csvLine([
    "learner_id",
    "learner_name",
    "learner_email",
    "enrollment_status",
    "enrolled_at",
    "completed_at",
    "progress_percent",
    ...placements.flatMap((p) => [p.name, `${p.name} (status)`]),
    "course_grade",
    "passed",
  ]);
  const encoder = new TextEncoder();
  let cursor = { enrolledAt: "", id: 0 };
  let headerSent = false;
  // Keyset: rows after (enrolled_at, id) of the previous chunk; `enrolled_at >= ?3` keeps the index range.
  const after = "tenant_id = ?1 AND course_id = ?2 AND enrolled_at >= ?3 AND (enrolled_at > ?3 OR id > ?4)";
  const afterE = "e.tenant_id = ?1 AND e.course_id = ?2 AND e.enrolled_at >= ?3 AND (e.enrolled_at > ?3 OR e.id > ?4)";

  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!headerSent) {
        headerSent = true;
        controller.enqueue(encoder.encode(header));
        return;
      }
      try {
        const [enrollments, progress] = await ctx.env.DB.batch([
          ctx.env.DB.prepare(`SELECT ${ENROLLMENT_COLUMNS} WHERE ${afterE} ORDER BY e.enrolled_at, e.id LIMIT ?5`).bind(
            ctx.tenantId,
            courseId,
            cursor.enrolledAt,
            cursor.id,
            CSV_PAGE,
          ),
          ctx.env.DB.prepare(
            progressSql(`SELECT id FROM enrollments WHERE ${after} ORDER BY enrolled_at, id LIMIT ?5`),
          ).bind(ctx.tenantId, courseId, cursor.enrolledAt, cursor.id, CSV_PAGE),
        ]);
        const rows = enrollments.results as unknown as EnrollmentRow[];
        if (rows.length === 0) {
          controller.close();
          return;
        }
        const lines = gradebookRows(course, placements, rows, progress.results as unknown as ProgressRow[]).map((r) =>
          csvLine([
            r.learner.id,
            r.learner.name,
            r.learner.email,
            r.enrollment_status,
            r.enrolled_at,
            r.completed_at,
            r.progress_percent,
            ...r.results.flatMap((x) => [x.percent, x.status]),
            r.grade,
            r.passed,
          ]),
        );
        controller.enqueue(encoder.encode(lines.join("")));
        const last = rows[rows.length - 1];
        cursor = { enrolledAt: last.enrolled_at, id: last.id };
        if (rows.length < CSV_PAGE) controller.close();
      } catch (err) {
        console.error(JSON.stringify({ level: "error", message: "gradebook CSV export failed", error: String(err) }));
        controller.error(err);
      }
    },
  });
  return { course, stream };
}
