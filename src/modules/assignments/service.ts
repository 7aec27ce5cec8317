import { and, asc, count, eq, inArray, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { AdminPrincipal, LearnerPrincipal, TenantContext } from "../../platform/auth";
import { batchableRaw } from "../../platform/db";
import { ApiError } from "../../platform/errors";
import { outboxInsert } from "../../platform/events";
import { type ListParams, orderBy, paginate } from "../../platform/pagination";
import { nowIso } from "../../platform/time";
import { activityInsert } from "../activities/service";
import { AssignmentModuleSettings, SUBMISSION_FILE_EXTENSIONS } from "../content-modules/schemas";
import { assertPlacementOpen, recordGradedResult } from "../progress/service";
import { extensionOf, FILE_TYPES, SNIFF_BYTES, type SubmissionExtension } from "./sniff";
import { assignmentSubmissions, submissionFiles } from "./tables";

type LearnerCtx = TenantContext<LearnerPrincipal>;
type SubmissionRow = typeof assignmentSubmissions.$inferSelect;
type FileRow = typeof submissionFiles.$inferSelect;

/** A multipart submission request carries at most this many bytes in all (larger files: a later media upload). */
export const MAX_SUBMISSION_REQUEST_BYTES = 25 * 1024 * 1024;
const MIB = 1024 * 1024;

export interface SubmissionInput {
  course_id: number;
  placement_id: number;
  text?: string;
  files: File[];
}

function toSubmission(row: SubmissionRow, files: FileRow[]) {
  return {
    id: row.id,
    module_id: row.moduleId,
    course_id: row.courseId,
    placement_id: row.placementId,
    enrollment_id: row.enrollmentId,
    user_id: row.userId,
    attempt: row.attempt,
    text: row.text,
    status: row.status,
    late: row.late,
    score: row.score,
    max_score: row.maxScore,
    feedback: row.feedback,
    evaluated_by: row.evaluatedBy,
    evaluated_at: row.evaluatedAt,
    files: files
      .filter((f) => f.submissionId === row.id)
      .map((f) => ({ id: f.id, name: f.name, content_type: f.contentType, size: f.size, created_at: f.createdAt })),
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

async function filesOf(ctx: TenantContext, submissionIds: number[]) {
  if (submissionIds.length === 0) return [];
  return ctx.db
    .select()
    .from(submissionFiles)
    .where(and(eq(submissionFiles.tenantId, ctx.tenantId), inArray(submissionFiles.submissionId, submissionIds)))
    .orderBy(asc(submissionFiles.id));
}

async function openAssignment(ctx: LearnerCtx, moduleId: number, courseId: number, placementId: number) {
  const access = await assertPlacementOpen(ctx, courseId, placementId);
  if (access.placement.module_id !== moduleId || access.placement.module.type !== "assignment") {
    throw ApiError.notFound(`Assignment module ${moduleId} in placement ${placementId} of course ${courseId}`);
  }
  return { ...access, settings: AssignmentModuleSettings.parse(access.placement.module.settings) };
}

function mySubmissionRows(ctx: LearnerCtx, enrollmentId: number, placementId: number) {
  return ctx.db
    .select()
    .from(assignmentSubmissions)
    .where(
      and(
        eq(assignmentSubmissions.tenantId, ctx.tenantId),
        eq(assignmentSubmissions.enrollmentId, enrollmentId),
        eq(assignmentSubmissions.placementId, placementId),
      ),
    )
    .orderBy(asc(assignmentSubmissions.attempt));
}

/** The learner's submissions on a placement, oldest first, with files and evaluations. */
export async function mySubmissions(ctx: LearnerCtx, moduleId: number, courseId: number, placementId: number) {
  const { enrollmentId } = await openAssignment(ctx, moduleId, courseId, placementId);
  const rows = await mySubmissionRows(ctx, enrollmentId, placementId);
  const files = await filesOf(
    ctx,
    rows.map((r) => r.id),
  );
  return { data: rows.map((r) => toSubmission(r, files)) };
}

/** Reads the files' first bytes and checks count, size, extension and content; nothing is stored yet. */
async function checkFiles(files: File[], settings: ReturnType<typeof AssignmentModuleSettings.parse>) {
  if (files.length > settings.max_files) {
    throw ApiError.validation([{ path: "files", message: `At most ${settings.max_files} files.` }]);
  }
  const allowed: readonly string[] =
    settings.allowed_file_types.length > 0 ? settings.allowed_file_types : SUBMISSION_FILE_EXTENSIONS;
  const checked: { file: File; ext: SubmissionExtension; contentType: string }[] = [];
  for (const [i, file] of files.entries()) {
    const name = file.name || "file";
    if (file.size > settings.max_file_mb * MIB) {
      throw new ApiError(
        413,
        `File ${i} (\`${name}\`) is ${file.size} bytes; this assignment takes files up to ${settings.max_file_mb} MiB.`,
        {
          extra: { file_index: i, max_bytes: settings.max_file_mb * MIB },
        },
      );
    }
    if (file.size === 0) throw ApiError.validation([{ path: `files.${i}`, message: "The file is empty." }]);
    const ext = extensionOf(name);
    if (!allowed.includes(ext)) {
      throw new ApiError(415, `File ${i} (\`${name}\`): this assignment accepts ${allowed.join(", ")} files.`, {
        extra: { file_index: i, allowed_file_types: allowed },
      });
    }
    const type = FILE_TYPES[ext as SubmissionExtension];
    const head = new Uint8Array(await file.slice(0, SNIFF_BYTES).arrayBuffer());
    if (!type.sniff(head)) {
      throw new ApiError(415, `File ${i} (\`${name}\`) is not a ${ext} file: its content does not match its name.`, {
        slug: "content-type-mismatch",
        title: "Content does not match the file type",
        extra: { file_index: i },
      });
    }
    checked.push({ file, ext: ext as SubmissionExtension, contentType: type.contentType });
  }
  return checked;
}

/**
 * A learner's submission: checked against the assignment (submission type, files, due date, resubmission policy),
 * the files put in R2 under `t/<tenant>/submissions/`, then the submission, its files, the event and the placement's
 * `submitted` status in one batch (the files are removed again if that batch fails).
 */
export async function submit(ctx: LearnerCtx, moduleId: number, input: SubmissionInput) {
  const { enrollmentId, settings } = await openAssignment(ctx, moduleId, input.course_id, input.placement_id);
  const text = input.text?.trim() ? input.text.trim() : null;
  const type = settings.submission_type;
  if (type === "text" && input.files.length > 0) {
    throw ApiError.validation([{ path: "files", message: "This assignment takes a text answer only." }]);
  }
  if (type === "file" && text !== null) {
    throw ApiError.validation([{ path: "text", message: "This assignment takes files only." }]);
  }
  if (type === "text" && text === null) throw ApiError.validation([{ path: "text", message: "Required." }]);
  if (type === "file" && input.files.length === 0) {
    throw ApiError.validation([{ path: "files", message: "Attach at least one file." }]);
  }
  if (type === "both" && text === null && input.files.length === 0) {
    throw ApiError.validation([{ path: "text", message: "Give a text answer, files, or both." }]);
  }
  const checked = await checkFiles(input.files, settings);

  const previous = await mySubmissionRows(ctx, enrollmentId, input.placement_id);
  const latest = previous[previous.length - 1];
  const requested = latest?.status === "resubmission_requested";
  if (latest?.status === "passed") {
    throw ApiError.conflict("This assignment is already passed; no more submissions.", { code: "already_passed" });
  }
  if (latest && !requested) {
    if (!settings.allow_resubmission) {
      throw ApiError.conflict("This assignment takes one submission unless an instructor requests another.", {
        code: "resubmission_not_allowed",
      });
    }
    if (settings.max_submissions > 0 && previous.length >= settings.max_submissions) {
      throw ApiError.conflict(`This assignment takes at most ${settings.max_submissions} submissions.`, {
        code: "submission_limit_reached",
      });
    }
  }
  const now = nowIso();
  const late = settings.due_at !== null && Date.parse(now) > Date.parse(settings.due_at);
  if (late && !requested && !settings.allow_late_submissions) {
    throw ApiError.conflict(
      `The due date (${settings.due_at}) has passed and this assignment refuses late submissions.`,
      {
        code: "past_due",
        due_at: settings.due_at,
      },
    );
  }

  const t = ctx.tenantId;
  const userId = ctx.principal.userId;
  const attempt = previous.length + 1;
  const folder = `t/${t}/submissions/${crypto.randomUUID()}`;
  const keys: string[] = [];
  try {
    for (const [i, c] of checked.entries()) {
      const key = `${folder}/${i + 1}`;
      await ctx.env.MEDIA.put(key, c.file.stream(), {
        httpMetadata: {
          contentType: c.contentType,
          contentDisposition: `attachment; filename="${encodeURIComponent(c.file.name)}"`,
        },
      });
      keys.push(key);
    }
    const submissionId = sql`(SELECT id FROM assignment_submissions WHERE tenant_id = ${t} AND enrollment_id = ${enrollmentId} AND placement_id = ${input.placement_id} AND attempt = ${attempt})`;
    const statements: BatchItem<"sqlite">[] = [
      ctx.db
        .update(assignmentSubmissions)
        .set({ status: "superseded", updatedAt: now })
        .where(
          and(
            eq(assignmentSubmissions.tenantId, t),
            eq(assignmentSubmissions.enrollmentId, enrollmentId),
            eq(assignmentSubmissions.placementId, input.placement_id),
            eq(assignmentSubmissions.status, "submitted"),
          ),
        ),
      ctx.db.insert(assignmentSubmissions).values({
        tenantId: t,
        moduleId,
        courseId: input.course_id,
        placementId: input.placement_id,
        enrollmentId,
        userId,
        attempt,
        text,
        status: "submitted",
        late,
        maxScore: settings.total_points,
        createdAt: now,
        updatedAt: now,
      }),
      ...checked.map((c, i) =>
        batchableRaw(
          ctx.db,
          sql`INSERT INTO submission_files (tenant_id, submission_id, name, content_type, size, r2_key, created_at)
              VALUES (${t}, ${submissionId}, ${c.file.name || "file"}, ${c.contentType}, ${c.file.size}, ${keys[i]}, ${now})`,
        ),
      ),
      batchableRaw(
        ctx.db,
        sql`INSERT INTO outbox (tenant_id, type, data, occurred_at) SELECT ${t}, 'submission.created',
            json_object('id', ${submissionId}, 'module_id', ${moduleId}, 'course_id', ${input.course_id},
              'placement_id', ${input.placement_id}, 'enrollment_id', ${enrollmentId}, 'user_id', ${userId},
              'attempt', ${attempt}, 'late', json(${late ? "true" : "false"}), 'file_count', ${checked.length}), ${now}`,
      ),
      activityInsert(ctx.db, t, {
        type: "submission.created",
        userId,
        courseId: input.course_id,
        placementId: input.placement_id,
        data: { module_id: moduleId, attempt, late, file_count: checked.length },
      }),
    ];
    await recordGradedResult(
      ctx,
      { enrollmentId, placementId: input.placement_id, score: 0, maxScore: settings.total_points, passed: null },
      statements,
    );
  } catch (err) {
    if (keys.length > 0) await ctx.env.MEDIA.delete(keys);
    if (
      err instanceof Error &&
      /UNIQUE constraint failed: assignment_submissions/i.test(
        `${err.message} ${(err as { cause?: Error }).cause?.message ?? ""}`,
      )
    ) {
      throw ApiError.conflict("Another submission of yours arrived at the same time; reload and try again.");
    }
    throw err;
  }
  const rows = await mySubmissionRows(ctx, enrollmentId, input.placement_id);
  const row = rows.find((r) => r.attempt === attempt) as SubmissionRow;
  return toSubmission(row, await filesOf(ctx, [row.id]));
}

// ---- admin --------------------------------------------------------------------------------------------------------

export async function findSubmission(ctx: TenantContext, id: number) {
  const [row] = await ctx.db
    .select()
    .from(assignmentSubmissions)
    .where(and(eq(assignmentSubmissions.tenantId, ctx.tenantId), eq(assignmentSubmissions.id, id)))
    .limit(1);
  if (!row) throw ApiError.notFound(`Submission ${id}`);
  return row;
}

export async function getSubmission(ctx: TenantContext, id: number) {
  const row = await findSubmission(ctx, id);
  return toSubmission(row, await filesOf(ctx, [row.id]));
}

export async function listSubmissions(
  ctx: TenantContext,
  q: ListParams & { status?: SubmissionRow["status"]; course_id?: number; module_id?: number; learner_id?: number },
) {
  const s = assignmentSubmissions;
  const where = and(
    eq(s.tenantId, ctx.tenantId),
    q.status ? eq(s.status, q.status) : undefined,
    q.course_id ? eq(s.courseId, q.course_id) : undefined,
    q.module_id ? eq(s.moduleId, q.module_id) : undefined,
    q.learner_id ? eq(s.userId, q.learner_id) : undefined,
  ) as SQL;
  const page = await paginate(
    ctx.db,
    s,
    where,
    orderBy(q.sort, { created_at: s.createdAt, updated_at: s.updatedAt }, s.id),
    q,
    (row: SubmissionRow) => row,
  );
  const files = await filesOf(
    ctx,
    page.data.map((r) => r.id),
  );
  return { data: page.data.map((r) => toSubmission(r, files)), meta: page.meta };
}

/** Submissions waiting for an instructor, per course (one grouped statement on the status index). */
export async function pendingCounts(ctx: TenantContext, courseId?: number) {
  const s = assignmentSubmissions;
  const rows = await ctx.db
    .select({ courseId: s.courseId, pending: count() })
    .from(s)
    .where(
      and(eq(s.tenantId, ctx.tenantId), eq(s.status, "submitted"), courseId ? eq(s.courseId, courseId) : undefined),
    )
    .groupBy(s.courseId)
    .orderBy(asc(s.courseId));
  const courses = rows.map((r) => ({ course_id: r.courseId, pending: Number(r.pending) }));
  return { total: courses.reduce((n, c) => n + c.pending, 0), courses };
}

/** A submission's file, streamed from R2. */
export async function submissionFile(ctx: TenantContext, id: number, fileId: number) {
  await findSubmission(ctx, id);
  const [file] = await ctx.db
    .select()
    .from(submissionFiles)
    .where(
      and(
        eq(submissionFiles.tenantId, ctx.tenantId),
        eq(submissionFiles.submissionId, id),
        eq(submissionFiles.id, fileId),
      ),
    )
    .limit(1);
  if (!file) throw ApiError.notFound(`File ${fileId} of submission ${id}`);
  const object = await ctx.env.MEDIA.get(file.r2Key);
  if (!object) throw ApiError.notFound(`File ${fileId} of submission ${id}`);
  return { file, object };
}

/**
 * An instructor's evaluation of the learner's latest submission: a score with pass/fail (the placement passes or
 * fails, progress and grade follow) or a request to submit again (the placement waits for the new submission).
 * One batch; emits `submission.evaluated` or `submission.resubmission_requested`.
 */
export async function evaluate(
  ctx: TenantContext<AdminPrincipal>,
  id: number,
  input: { score?: number; passed?: boolean; feedback?: string; request_resubmission: boolean },
) {
  const row = await findSubmission(ctx, id);
  if (row.status === "superseded") {
    throw ApiError.conflict(`Submission ${id} was replaced by a newer one; evaluate that one.`);
  }
  if (row.status === "resubmission_requested") {
    throw ApiError.conflict(`Submission ${id} waits for the learner to submit again.`);
  }
  const evaluatedBy = ctx.principal.kind === "api_client" ? null : ctx.principal.userId;
  const now = nowIso();
  const feedback = input.feedback?.trim() ? input.feedback.trim() : null;
  const key = and(eq(assignmentSubmissions.tenantId, ctx.tenantId), eq(assignmentSubmissions.id, id));
  const base = { id, module_id: row.moduleId, course_id: row.courseId, user_id: row.userId, evaluated_by: evaluatedBy };
  if (input.request_resubmission) {
    await ctx.db.batch([
      ctx.db
        .update(assignmentSubmissions)
        .set({ status: "resubmission_requested", feedback, score: null, evaluatedBy, evaluatedAt: now, updatedAt: now })
        .where(key),
      outboxInsert(ctx.db, ctx.tenantId, "submission.resubmission_requested", base),
      activityInsert(ctx.db, ctx.tenantId, {
        type: "submission.resubmission_requested",
        userId: row.userId,
        courseId: row.courseId,
        placementId: row.placementId,
        actor: "staff",
        data: { submission_id: id },
      }),
    ]);
    return getSubmission(ctx, id);
  }
  const score = input.score as number;
  if (score > row.maxScore) {
    throw ApiError.validation([{ path: "score", message: `At most the assignment's ${row.maxScore} points.` }]);
  }
  // The pass mark lives in the module's current settings; a missing module leaves half the points.
  const passPoints = await passPointsOf(ctx, row);
  const passed = input.passed ?? score >= passPoints;
  const status = passed ? "passed" : "failed";
  await recordGradedResult(
    ctx,
    { enrollmentId: row.enrollmentId, placementId: row.placementId, score, maxScore: row.maxScore, passed },
    [
      ctx.db
        .update(assignmentSubmissions)
        .set({ status, score, feedback, evaluatedBy, evaluatedAt: now, updatedAt: now })
        .where(key),
      outboxInsert(ctx.db, ctx.tenantId, "submission.evaluated", {
        ...base,
        status,
        score,
        max_score: row.maxScore,
      }),
    ],
  );
  return getSubmission(ctx, id);
}

async function passPointsOf(ctx: TenantContext, row: SubmissionRow) {
  const half = Math.ceil(row.maxScore / 2);
  const result = await ctx.env.DB.prepare("SELECT settings FROM modules WHERE tenant_id = ?1 AND id = ?2")
    .bind(ctx.tenantId, row.moduleId)
    .first<{ settings: string }>();
  if (!result) return half;
  const parsed = AssignmentModuleSettings.safeParse(JSON.parse(result.settings));
  return parsed.success && parsed.data.pass_points !== null ? parsed.data.pass_points : half;
}
