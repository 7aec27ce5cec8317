/**
 * `questions.import`: imports a large CSV of questions stored in R2 by `POST /v1/admin/questions/import` (input
 * `{r2_key, mode, author_id, file_name}`). The file is validated as a whole first: in `all_or_nothing` mode any bad
 * row fails the job with the row report as its result, and nothing is written. Then the valid rows go in, one D1
 * batch per chunk; each batch moves the job's `progress_done` under a guard, so a retried or redelivered run
 * resumes after the last committed chunk and never inserts a chunk twice. The last chunk's batch records one
 * `question.imported` event (no per-question `question.created`: a 10k-row import would send 10k webhooks).
 */
import { and, eq } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { flushOutbox, outboxInsert } from "../../platform/events";
import { nowIso } from "../../platform/time";
import { JobFailure } from "../jobs/errors";
import type { JobKind } from "../jobs/handlers";
import { jobs } from "../jobs/tables";
import {
  chunkRows,
  decodeCsv,
  type ImportMode,
  idsOf,
  insertChunkStatements,
  loadCategoryIndex,
  parseCsv,
  progressGuard,
  reportOf,
  validateRows,
} from "./import";

type Batch = [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]];

export const questionsImportJob: JobKind = {
  permission: "assessments:read",
  description:
    "Imports a CSV of questions into the question bank (files above 500 rows); the result is the row report (`created`, `question_ids`, `errors` as `Row #3 : column: message`).",
  async run(job) {
    const key = String(job.input.r2_key ?? "");
    const mode = (job.input.mode === "valid_rows" ? "valid_rows" : "all_or_nothing") as ImportMode;
    const authorId = typeof job.input.author_id === "number" ? job.input.author_id : null;
    const [row] = await job.db
      .select({ done: jobs.progressDone, total: jobs.progressTotal })
      .from(jobs)
      .where(and(eq(jobs.tenantId, job.tenantId), eq(jobs.id, job.jobId)))
      .limit(1);
    const object = await job.env.MEDIA.get(key);
    if (!object) {
      // A run that committed every chunk and removed the file, then died before the job was marked done.
      if (row && row.total !== null && row.done === row.total) {
        return { mode, total_rows: null, created: row.total, failed_rows: null, question_ids: [], errors: [] };
      }
      throw new JobFailure("The uploaded file is no longer stored; upload it again.");
    }
    const text = decodeCsv(await object.arrayBuffer());
    let file: ReturnType<typeof parseCsv>;
    try {
      file = parseCsv(text);
    } catch (err) {
      // The request checked the header already; a file that fails now cannot succeed on a retry.
      await job.env.MEDIA.delete(key);
      throw new JobFailure((err as Error).message);
    }
    const validated = validateRows(file, await loadCategoryIndex(job.db, job.tenantId));
    if (validated.errors.length && mode === "all_or_nothing") {
      await job.env.MEDIA.delete(key);
      const report = reportOf(mode, validated, []);
      throw new JobFailure(
        `${validated.failedRows} of ${validated.total} rows have errors; nothing was imported (see the result's \`errors\`, or import with mode=valid_rows).`,
        report,
      );
    }

    let done = row?.done ?? 0;
    const total = validated.valid.length;
    await job.setProgress(done, total);

    const ids: number[] = [];
    let position = 0;
    const parts = chunkRows(validated.valid);
    for (const [index, part] of parts.entries()) {
      const end = position + part.length;
      if (end <= done) {
        // Committed by an earlier run: its ids are the questions this job's events name.
        position = end;
        continue;
      }
      const now = nowIso();
      const results = await job.db.batch([
        progressGuard(job.db, job.tenantId, job.jobId, done, end, now),
        ...insertChunkStatements(
          job.db,
          job.tenantId,
          part.map((r) => r.input),
          authorId,
          now,
          false,
        ),
        // The import's one event, with its last rows (the job's result lists the question ids).
        ...(index === parts.length - 1
          ? [
              outboxInsert(job.db, job.tenantId, "question.imported", {
                job_id: job.jobId,
                mode,
                total_rows: validated.total,
                created: total,
                failed_rows: validated.failedRows,
              }),
            ]
          : []),
      ] as Batch);
      ids.push(...idsOf(results[results.length - (index === parts.length - 1 ? 2 : 1)]));
      done = end;
      position = end;
    }
    await flushOutbox(job.env, job.db, job.tenantId, 10).catch((err) =>
      console.error("outbox flush failed; the cron sends it", err),
    );
    await job.env.MEDIA.delete(key);
    const report = reportOf(mode, validated, ids);
    if (ids.length < total) {
      // A retry after a crash between chunks: the earlier run's questions were committed but their ids are not
      // known to this run.
      report.created = total;
    }
    return report;
  },
};
