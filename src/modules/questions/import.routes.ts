import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { adminContext } from "../../platform/auth";
import type { AppEnv } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { flushOutbox } from "../../platform/events";
import { adminAccess, createRouter, errorResponses, jsonResponse } from "../../platform/openapi";
import { nowIso } from "../../platform/time";
import { Job } from "../jobs/schemas";
import { createJob } from "../jobs/service";
import {
  chunkRows,
  decodeCsv,
  IMPORT_COLUMNS,
  IMPORT_MODES,
  idsOf,
  importTemplateCsv,
  insertChunkStatements,
  loadCategoryIndex,
  MAX_IMPORT_BYTES,
  MAX_IMPORT_ROWS,
  MAX_REPORTED_ERRORS,
  parseCsv,
  reportOf,
  rowMessage,
  SYNC_ROW_LIMIT,
  validateRows,
} from "./import";
import { authorOf } from "./service";

const tags = ["Questions"];
export const questionImportRouter = createRouter();

const IMPORT_PATH = "/v1/admin/questions/import";

/** The import takes a larger body than JSON requests (the app's JSON limit skips it; this route has its own). */
export function isQuestionImport(method: string, path: string): boolean {
  return method === "POST" && path === IMPORT_PATH;
}

const tooLarge = () => new ApiError(413, `An import file may be at most ${MAX_IMPORT_BYTES} bytes.`);
const importBodyLimit = bodyLimit({
  maxSize: MAX_IMPORT_BYTES + 64 * 1024, // the multipart envelope around the file
  onError: () => {
    throw tooLarge();
  },
});

export const ImportReport = z
  .object({
    mode: z.enum(IMPORT_MODES),
    total_rows: z.number().int().openapi({ description: "Question rows in the file (blank rows not counted)" }),
    created: z.number().int().openapi({ description: "Questions created" }),
    failed_rows: z.number().int().openapi({ description: "Rows with errors, not imported" }),
    question_ids: z.array(z.number().int()).openapi({ description: "The new questions, in row order" }),
    errors: z.array(z.string()).openapi({
      description: `One message per problem, in row order (at most ${MAX_REPORTED_ERRORS}). Row #1 is the first row under the header (line 2 of a spreadsheet).`,
      example: ["Row #3 : correct_answers: Give exactly one option number for multiple_choice questions."],
    }),
    error_details: z
      .array(
        z.object({
          row: z.number().int(),
          column: z.string().openapi({ description: "The column, or `(row)` for a row that cannot be read" }),
          message: z.string(),
        }),
      )
      .openapi({ description: "The same problems as `errors`, as fields" }),
    errors_truncated: z.boolean().openapi({ description: `More than ${MAX_REPORTED_ERRORS} problems were found` }),
  })
  .openapi("QuestionImportReport");

export const ImportQuery = z.object({
  mode: z.enum(IMPORT_MODES).default("all_or_nothing").openapi({
    description:
      "`all_or_nothing` (default): any bad row refuses the whole file and nothing is written. `valid_rows`: the valid rows are imported and the bad ones reported.",
  }),
});

const CSV_BODY_DESCRIPTION = `The CSV (UTF-8, comma-separated, first line the header; columns: ${IMPORT_COLUMNS.join(", ")}). See docs/assessments.md and \`GET /v1/admin/questions/import/template\`.`;

async function readCsvBody(c: Context<AppEnv>): Promise<ArrayBuffer> {
  const type = (c.req.header("content-type") ?? "").toLowerCase();
  const length = Number(c.req.header("content-length") ?? "0");
  const isCsv = /^(text\/csv|application\/csv)\s*(;|$)/.test(type);
  const isForm = /^multipart\/form-data\s*;/.test(type);
  if (!isCsv && !isForm) {
    throw new ApiError(
      415,
      "Send the CSV as the body with `Content-Type: text/csv`, or as the `file` part of a `multipart/form-data` form.",
    );
  }
  if (length > MAX_IMPORT_BYTES + 64 * 1024) throw tooLarge();
  if (isCsv) {
    const bytes = await c.req.arrayBuffer();
    if (bytes.byteLength > MAX_IMPORT_BYTES) throw tooLarge();
    return bytes;
  }
  let form: FormData;
  try {
    form = await c.req.raw.formData();
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw ApiError.badRequest("The body is not valid multipart/form-data.");
  }
  const file = form.get("file");
  if (!file || typeof file === "string") {
    throw ApiError.validation([{ path: "file", message: "Send the CSV file as the `file` part of the form." }]);
  }
  if (file.size > MAX_IMPORT_BYTES) throw tooLarge();
  return file.arrayBuffer();
}

questionImportRouter.openapi(
  createRoute({
    method: "post",
    path: IMPORT_PATH,
    operationId: "importQuestions",
    tags,
    summary: "Import questions from a CSV file",
    description: `Bulk upload of questions of every type, one per row, checked row by row against the same rules as \`POST /v1/admin/questions\`. Send the file as the body (\`Content-Type: text/csv\`) or as the \`file\` part of a \`multipart/form-data\` form (anything else is a 415); at most ${MAX_IMPORT_BYTES} bytes (413) and ${MAX_IMPORT_ROWS} rows. An unknown, duplicate or missing column refuses the file as a whole (422 naming them, nothing read further). Files of up to ${SYNC_ROW_LIMIT} rows are imported in the request: 201 with the report (200 if \`mode=valid_rows\` and no row was valid); with \`mode=all_or_nothing\` (default) a bad row is a 422 whose \`errors\` give one \`Row #3 : column: message\` per problem and \`report\` the whole report, and nothing is written. Larger files are stored and imported by a background job: 202 with the job and \`Location: /v1/admin/jobs/{id}\`; the job's \`result\` is the same report (a failed job in \`all_or_nothing\` mode has the report of its bad rows). Emits \`question.created\` per question (with \`job_id\` when imported by a job).`,
    ...adminAccess("assessments:write"),
    middleware: [...adminAccess("assessments:write").middleware, importBodyLimit],
    request: {
      query: ImportQuery,
      body: {
        required: true,
        description: CSV_BODY_DESCRIPTION,
        // Plain schemas, not zod: the handler reads the body itself (the validator would parse the form first).
        content: {
          "text/csv": { schema: { type: "string" as const, example: importTemplateCsv().split("\r\n")[0] } },
          "multipart/form-data": {
            schema: {
              type: "object" as const,
              required: ["file"],
              properties: { file: { type: "string" as const, format: "binary", description: "The CSV file" } },
            },
          },
        },
      },
    },
    responses: {
      200: jsonResponse(ImportReport, "No row was valid (`mode=valid_rows`): nothing created"),
      201: jsonResponse(ImportReport, "Imported: the row report"),
      202: jsonResponse(Job, "A large file: the import job (poll `Location`)"),
      ...errorResponses(401, 403, 413, 415),
    },
  }),
  async (c) => {
    const ctx = adminContext(c);
    const { mode } = c.req.valid("query");
    const bytes = await readCsvBody(c);
    const file = parseCsv(decodeCsv(bytes));
    if (file.rowCount === 0) {
      throw ApiError.validation(
        [{ path: "file", message: "The file has a header but no question rows." }],
        "The file has no question rows.",
      );
    }
    if (file.rowCount > SYNC_ROW_LIMIT) {
      const key = `t/${ctx.tenantId}/imports/questions/${crypto.randomUUID()}.csv`;
      await ctx.env.MEDIA.put(key, bytes, { httpMetadata: { contentType: "text/csv; charset=utf-8" } });
      const job = await createJob(ctx, "questions.import", {
        r2_key: key,
        mode,
        author_id: authorOf(ctx),
        rows: file.rowCount,
      });
      c.header("Location", `/v1/admin/jobs/${job.id}`);
      return c.json(job, 202);
    }
    const validated = validateRows(file, await loadCategoryIndex(ctx.db, ctx.tenantId));
    if (validated.errors.length && mode === "all_or_nothing") {
      const report = reportOf(mode, validated, []);
      throw new ApiError(
        422,
        `${validated.failedRows} of ${validated.total} rows have errors; nothing was imported (fix them, or import with mode=valid_rows).`,
        {
          errors: report.error_details.map((e) => ({ path: `rows.${e.row}.${e.column}`, message: rowMessage(e) })),
          extra: { report },
        },
      );
    }
    const ids: number[] = [];
    if (validated.valid.length) {
      const now = nowIso();
      const statements = [];
      const idStatements: number[] = [];
      for (const part of chunkRows(validated.valid)) {
        statements.push(
          ...insertChunkStatements(
            ctx.db,
            ctx.tenantId,
            part.map((r) => r.input),
            authorOf(ctx),
            now,
          ),
        );
        idStatements.push(statements.length - 1);
      }
      const results = await ctx.db.batch(statements as [(typeof statements)[0], ...typeof statements]);
      for (const i of idStatements) ids.push(...idsOf(results[i]));
      // More events than the after-write flush sends (100): the rest go now rather than with the cron sweep.
      if (ids.length > 100) ctx.defer(flushOutbox(ctx.env, ctx.db, ctx.tenantId, ids.length));
    }
    return c.json(reportOf(mode, validated, ids), ids.length ? 201 : 200);
  },
);

questionImportRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/questions/import/template",
    operationId: "getQuestionImportTemplate",
    tags,
    summary: "Download the question import template",
    description:
      "A CSV with every column of the import and one example row per question type (it imports as is). Lists use `|` between values (`||` between the blanks of fill_in_blanks; `\\|` for a literal bar).",
    ...adminAccess("assessments:read"),
    responses: {
      200: {
        description: "The template (`Content-Disposition: attachment`)",
        content: { "text/csv": { schema: z.string() } },
      },
      ...errorResponses(401, 403),
    },
  }),
  (c) => {
    adminContext(c);
    return c.body(importTemplateCsv(), 200, {
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": 'attachment; filename="questions-import-template.csv"',
    });
  },
);
