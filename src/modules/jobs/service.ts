import { and, desc, eq, isNull, lt, type SQL } from "drizzle-orm";
import type { AdminPrincipal, TenantContext } from "../../platform/auth";
import { inList } from "../../platform/db";
import type { Db, Env } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import type { ListParams } from "../../platform/pagination";
import { paginate } from "../../platform/pagination";
import { hasPermission } from "../../platform/permissions";
import { addSeconds, nowIso } from "../../platform/time";
import { JOB_HANDLERS } from "./handlers";
import { type JobRow, jobs } from "./tables";

/** A JOBS queue message: the job row holds everything else. */
export interface JobMessage {
  job_id: number;
  tenant_id: number;
}

export const JOB_STATUSES = ["queued", "running", "succeeded", "failed"] as const;

export function toJob(row: JobRow) {
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    progress: { done: row.progressDone, total: row.progressTotal },
    result: row.result ?? null,
    error: row.error,
    attempts: row.attempts,
    created_by: row.createdBy,
    created_at: row.createdAt,
    started_at: row.startedAt,
    finished_at: row.finishedAt,
  };
}

function principalRef(p: TenantContext["principal"]): string | null {
  switch (p.kind) {
    case "staff":
      return `staff:${p.userId}`;
    case "api_key":
      return `api_key:${p.keyId}`;
    case "api_client":
      return `api_client:${p.clientId}`;
    case "learner":
      return `learner:${p.userId}`;
    default:
      return null;
  }
}

/**
 * Records a job and queues it. The row is written first, so a failed queue send loses nothing: the cron re-sends
 * jobs that were never queued (`requeueUnsentJobs`).
 */
export async function createJob(ctx: TenantContext, kind: string, input: Record<string, unknown>) {
  if (!JOB_HANDLERS[kind]) throw new Error(`No job handler is registered for kind "${kind}"`);
  const now = nowIso();
  const [row] = await ctx.db
    .insert(jobs)
    .values({
      tenantId: ctx.tenantId,
      kind,
      input,
      createdBy: principalRef(ctx.principal),
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  await enqueueJobs(ctx.env, ctx.db, [row]).catch((err) => console.error("job send failed; the cron retries", err));
  return toJob(row);
}

async function enqueueJobs(env: Env, db: Db, rows: Pick<JobRow, "id" | "tenantId">[]) {
  if (rows.length === 0) return;
  await (env.JOBS as Queue<JobMessage>).sendBatch(rows.map((r) => ({ body: { job_id: r.id, tenant_id: r.tenantId } })));
  await db
    .update(jobs)
    .set({ queuedAt: nowIso() })
    .where(
      inList(
        jobs.id,
        rows.map((r) => r.id),
      ),
    );
}

/** Cron: jobs older than a minute whose queue message was never sent. */
export async function requeueUnsentJobs(env: Env, db: Db) {
  const rows = await db
    .select({ id: jobs.id, tenantId: jobs.tenantId })
    .from(jobs)
    .where(and(isNull(jobs.queuedAt), eq(jobs.status, "queued"), lt(jobs.createdAt, addSeconds(nowIso(), -60))))
    .limit(100);
  await enqueueJobs(env, db, rows);
  return rows.length;
}

/** The kinds whose jobs this caller may see: each kind names the permission that covers it. */
function visibleKinds(principal: AdminPrincipal): string[] {
  return Object.entries(JOB_HANDLERS)
    .filter(([, handler]) => hasPermission(principal.permissions, handler.permission))
    .map(([kind]) => kind);
}

export async function getJob(ctx: TenantContext<AdminPrincipal>, id: number) {
  const [row] = await ctx.db
    .select()
    .from(jobs)
    .where(and(eq(jobs.tenantId, ctx.tenantId), eq(jobs.id, id)))
    .limit(1);
  if (!row) throw ApiError.notFound(`Job ${id}`);
  const permission = JOB_HANDLERS[row.kind]?.permission ?? "settings:read";
  if (!hasPermission(ctx.principal.permissions, permission)) {
    throw new ApiError(403, `Jobs of kind \`${row.kind}\` need the \`${permission}\` permission.`, {
      extra: { required_permission: permission },
    });
  }
  return toJob(row);
}

export interface JobListQuery extends ListParams {
  kind?: string;
  status?: (typeof JOB_STATUSES)[number];
}

/** Newest first, limited to the kinds the caller's permissions cover. */
export async function listJobs(ctx: TenantContext<AdminPrincipal>, query: JobListQuery) {
  const kinds = visibleKinds(ctx.principal).filter((k) => !query.kind || k === query.kind);
  const conditions: (SQL | undefined)[] = [
    eq(jobs.tenantId, ctx.tenantId),
    inList(jobs.kind, kinds),
    query.status ? eq(jobs.status, query.status) : undefined,
  ];
  return paginate(ctx.db, jobs, and(...conditions), [desc(jobs.createdAt), desc(jobs.id)], query, toJob);
}

export function jobKinds() {
  return Object.entries(JOB_HANDLERS).map(([kind, h]) => ({
    kind,
    permission: h.permission,
    description: h.description,
  }));
}
