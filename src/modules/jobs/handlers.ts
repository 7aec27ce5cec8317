import type { Db, Env } from "../../platform/env";
import type { Permission } from "../../platform/permissions";
import { packageImportJob } from "../packages/jobs";
import { questionsImportJob } from "../questions/import-job";

/** What a job handler gets: its tenant, its input as given to `createJob`, and a way to report progress. */
export interface JobRun {
  jobId: number;
  tenantId: number;
  kind: string;
  input: Record<string, unknown>;
  /** 1 on the first run; a handler that is retried must be idempotent (re-running finishes the same work). */
  attempt: number;
  env: Env;
  db: Db;
  setProgress(done: number, total?: number): Promise<void>;
}

export interface JobKind {
  /** The permission that lets a caller see jobs of this kind (`GET /v1/admin/jobs`). */
  permission: Permission;
  description: string;
  /** Returns the job's result (stored as JSON). Throw `JobFailure` for a final failure with a reason. */
  run(job: JobRun): Promise<unknown>;
}

/**
 * Every kind of background job. A module registers its kind here (`kind -> handler`); the JOBS consumer runs
 * them (src/modules/jobs/runner.ts).
 */
export const JOB_HANDLERS: Record<string, JobKind> = {
  "package.import": packageImportJob,
  "questions.import": questionsImportJob,
};
