/**
 * CSV bulk upload of questions (issue 8 item 1): one question per row, every type of the bank. Rows are turned
 * into the create body of `POST /v1/admin/questions` and validated by the same `QuestionCreate` schema (its
 * per-type answer-key rules included), so an imported question is exactly what the API would have created.
 *
 * Small files are imported in the request; larger ones are stored in R2 (MEDIA, `t/<tenant>/imports/questions/`)
 * and imported by the JOBS consumer (kind `questions.import`, src/modules/questions/import-job.ts). Inserts are
 * multi-row `INSERT ... SELECT FROM json_each(?)` statements (one JSON parameter per chunk of rows, so D1's 100
 * bound parameters per statement never matter), with the categories written in the same batch. Events: an import in
 * the request emits `question.created` per question (as that many creates would); a job emits one
 * `question.imported` with the last chunk (thousands of per-question events would flood webhook receivers).
 */
import { and, eq, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import Papa from "papaparse/papaparse.min.js";
import { batchableRaw } from "../../platform/db";
import type { Db } from "../../platform/env";
import { ApiError, type FieldError } from "../../platform/errors";
import { categories } from "../categories/tables";
import { jobs } from "../jobs/tables";
import { QuestionCreate, type QuestionCreateInput, type QuestionType } from "./schemas";
import { keyOf } from "./service";
import { QUESTION_TYPES, questions } from "./tables";

// ---- limits -------------------------------------------------------------------------------------------------------

/** Files with up to this many rows are imported in the request; larger ones go through the JOBS queue. */
export const SYNC_ROW_LIMIT = 500;
/** Rows per file (blank rows not counted). */
export const MAX_IMPORT_ROWS = 20_000;
/** Bytes per file (the request body). */
export const MAX_IMPORT_BYTES = 10 * 1024 * 1024;
/** Error messages kept in a report (`errors_truncated` says when more were found). */
export const MAX_REPORTED_ERRORS = 1000;
/** Rows per insert statement, and the most JSON text one statement's parameter carries (D1 caps values at 2 MB). */
const ROWS_PER_CHUNK = 500;
const CHUNK_JSON_BYTES = 1_000_000;

export const IMPORT_MODES = ["all_or_nothing", "valid_rows"] as const;
export type ImportMode = (typeof IMPORT_MODES)[number];

// ---- the columns ------------------------------------------------------------------------------------------------

/** Every column a file may have (header names are matched ignoring case, spaces and hyphens count as `_`). */
export const IMPORT_COLUMNS = [
  "type",
  "title",
  "content",
  "points",
  "negative_points",
  "hint",
  "explanation",
  "categories",
  "tags",
  "options",
  "option_feedback",
  "correct_answers",
  "partial_credit",
  "tolerance",
  "case_sensitive",
  "min_words",
  "max_words",
] as const;
export type ImportColumn = (typeof IMPORT_COLUMNS)[number];
const REQUIRED_COLUMNS: ImportColumn[] = ["type", "title", "correct_answers"];

/** The answer-key columns each type uses; a value in another answer-key column is a row error (never ignored). */
const KEY_COLUMNS: Record<QuestionType, ImportColumn[]> = {
  multiple_choice: ["options", "option_feedback", "correct_answers"],
  multiple_correct: ["options", "option_feedback", "correct_answers", "partial_credit"],
  true_false: ["correct_answers"],
  short_answers: ["correct_answers", "case_sensitive"],
  numeric: ["correct_answers", "tolerance"],
  fill_in_blanks: ["correct_answers", "case_sensitive"],
  matching: ["options", "correct_answers"],
  ordering: ["correct_answers"],
  essay: ["correct_answers", "min_words", "max_words"],
};
const ANSWER_KEY_COLUMNS: ImportColumn[] = [
  "options",
  "option_feedback",
  "correct_answers",
  "partial_credit",
  "tolerance",
  "case_sensitive",
  "min_words",
  "max_words",
];

/** The template: the header and one example row per type (each imports as is). */
export const TEMPLATE_ROWS: Record<ImportColumn, string>[] = [
  {
    type: "multiple_choice",
    title: "What is the capital of France?",
    content: "<p>Pick one.</p>",
    points: "2",
    negative_points: "1",
    hint: "It is on the Seine.",
    explanation: "Paris has been the capital since 987.",
    categories: "",
    tags: "geography|europe",
    options: "Paris|Lyon|Marseille",
    option_feedback: "Right!||Marseille is the second city.",
    correct_answers: "1",
    partial_credit: "",
    tolerance: "",
    case_sensitive: "",
    min_words: "",
    max_words: "",
  },
  {
    type: "multiple_correct",
    title: "Which of these are prime numbers?",
    content: "",
    points: "3",
    negative_points: "",
    hint: "",
    explanation: "2, 3 and 5 have no divisors but 1 and themselves.",
    categories: "",
    tags: "maths",
    options: "2|3|4|5",
    option_feedback: "",
    correct_answers: "1|2|4",
    partial_credit: "true",
    tolerance: "",
    case_sensitive: "",
    min_words: "",
    max_words: "",
  },
  {
    type: "true_false",
    title: "Water boils at 100 °C at sea level.",
    content: "",
    points: "1",
    negative_points: "",
    hint: "",
    explanation: "",
    categories: "",
    tags: "science",
    options: "",
    option_feedback: "",
    correct_answers: "true",
    partial_credit: "",
    tolerance: "",
    case_sensitive: "",
    min_words: "",
    max_words: "",
  },
  {
    type: "short_answers",
    title: "Name the largest planet of the solar system.",
    content: "",
    points: "1",
    negative_points: "",
    hint: "",
    explanation: "",
    categories: "",
    tags: "science",
    options: "",
    option_feedback: "",
    correct_answers: "Jupiter|Planet Jupiter",
    partial_credit: "",
    tolerance: "",
    case_sensitive: "false",
    min_words: "",
    max_words: "",
  },
  {
    type: "numeric",
    title: "What is pi to two decimals?",
    content: "",
    points: "1",
    negative_points: "",
    hint: "",
    explanation: "",
    categories: "",
    tags: "maths",
    options: "",
    option_feedback: "",
    correct_answers: "3.14",
    partial_credit: "",
    tolerance: "0.005",
    case_sensitive: "",
    min_words: "",
    max_words: "",
  },
  {
    type: "fill_in_blanks",
    title: "Complete the sentence.",
    content: "The capital of Italy is [[1]] and of Spain is [[2]].",
    points: "2",
    negative_points: "",
    hint: "",
    explanation: "",
    categories: "",
    tags: "geography",
    options: "",
    option_feedback: "",
    correct_answers: "Rome|Roma||Madrid",
    partial_credit: "",
    tolerance: "",
    case_sensitive: "",
    min_words: "",
    max_words: "",
  },
  {
    type: "matching",
    title: "Match each country with its capital.",
    content: "",
    points: "3",
    negative_points: "",
    hint: "",
    explanation: "",
    categories: "",
    tags: "geography",
    options: "France|Italy|Spain",
    option_feedback: "",
    correct_answers: "Paris|Rome|Madrid",
    partial_credit: "",
    tolerance: "",
    case_sensitive: "",
    min_words: "",
    max_words: "",
  },
  {
    type: "ordering",
    title: "Order these numbers from smallest to largest.",
    content: "",
    points: "1",
    negative_points: "",
    hint: "",
    explanation: "",
    categories: "",
    tags: "maths",
    options: "",
    option_feedback: "",
    correct_answers: "one|two|three|four",
    partial_credit: "",
    tolerance: "",
    case_sensitive: "",
    min_words: "",
    max_words: "",
  },
  {
    type: "essay",
    title: "Describe the water cycle.",
    content: "<p>Use your own words, with an example.</p>",
    points: "10",
    negative_points: "",
    hint: "",
    explanation: "",
    categories: "",
    tags: "science",
    options: "",
    option_feedback: "",
    correct_answers: "Evaporation, condensation, precipitation, collection.",
    partial_credit: "",
    tolerance: "",
    case_sensitive: "",
    min_words: "50",
    max_words: "400",
  },
];

export function importTemplateCsv(): string {
  return `${Papa.unparse({ fields: [...IMPORT_COLUMNS], data: TEMPLATE_ROWS.map((r) => IMPORT_COLUMNS.map((c) => r[c])) }, { newline: "\r\n" })}\r\n`;
}

// ---- report -----------------------------------------------------------------------------------------------------

export interface RowError {
  row: number;
  column: string;
  message: string;
}

export interface ImportReport {
  mode: ImportMode;
  /** Data rows in the file (blank rows not counted). */
  total_rows: number;
  created: number;
  /** Rows with errors (not imported). */
  failed_rows: number;
  question_ids: number[];
  /** `Row #3 : correct_answers: ...`, one per problem, in row order. */
  errors: string[];
  error_details: RowError[];
  errors_truncated: boolean;
}

export const rowMessage = (e: RowError) => `Row #${e.row} : ${e.column}: ${e.message}`;

/**
 * A value of the file quoted in a message, made harmless for spreadsheets (a leading `=`, `+`, `-`, `@`, tab or
 * carriage return would make a cell a formula when the report is pasted or exported) and kept short.
 */
export function echo(value: string): string {
  let v = value.length > 60 ? `${value.slice(0, 57)}...` : value;
  if (/^[=+\-@\t\r]/.test(v)) v = `'${v}`;
  return `"${v.replace(/[\r\n]+/g, " ")}"`;
}

// ---- parsing ----------------------------------------------------------------------------------------------------

export interface ParsedFile {
  columns: ImportColumn[];
  /** Data records (index 0 = Row #1), blank ones as `null` (skipped, but counted so row numbers match the file). */
  records: (string[] | null)[];
  /** Structural problems of a record (an unclosed quote, too many fields), by row number. */
  broken: Map<number, string>;
  /** Rows that are not blank. */
  rowCount: number;
}

const normalizeHeader = (h: string) =>
  h
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, "_");

/** Decodes the body as UTF-8 (a leading BOM is dropped); anything else is a 422. */
export function decodeCsv(bytes: ArrayBuffer): string {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw ApiError.validation(
      [{ path: "file", message: "The file is not UTF-8 text: save it as “CSV UTF-8”." }],
      "The file is not UTF-8 text.",
    );
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Parses the file (RFC 4180: comma-separated, `"` quoting with `""` escapes, fields may span lines, CRLF / LF / CR
 * line ends) and checks the header as a whole: unknown, duplicate or missing columns refuse the file (422 naming
 * them).
 */
export function parseCsv(text: string): ParsedFile {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const parsed = Papa.parse<string[]>(body, { delimiter: ",", quoteChar: '"', escapeChar: '"', skipEmptyLines: false });
  const [header, ...rows] = parsed.data;
  if (!header || header.every((h) => h.trim() === "")) {
    throw ApiError.validation(
      [{ path: "header", message: `The first line must name the columns: ${IMPORT_COLUMNS.join(", ")}.` }],
      "The file has no header line.",
    );
  }
  const names = header.map(normalizeHeader);
  const unknown = names.filter((n) => !(IMPORT_COLUMNS as readonly string[]).includes(n));
  const duplicate = [...new Set(names.filter((n, i) => names.indexOf(n) !== i))];
  const missing = REQUIRED_COLUMNS.filter((c) => !names.includes(c));
  if (unknown.length || duplicate.length || missing.length) {
    const errors: FieldError[] = [
      ...unknown.map((n) => ({
        path: "header",
        message: n ? `Unknown column ${echo(n)}.` : "A column has no name.",
      })),
      ...duplicate.map((n) => ({ path: "header", message: `Column ${echo(n)} appears more than once.` })),
      ...missing.map((n) => ({ path: "header", message: `Column "${n}" is required.` })),
    ];
    const parts = [
      unknown.length ? `unknown columns: ${unknown.map((n) => echo(n)).join(", ")}` : "",
      duplicate.length ? `duplicate columns: ${duplicate.map((n) => echo(n)).join(", ")}` : "",
      missing.length ? `missing columns: ${missing.join(", ")}` : "",
    ].filter(Boolean);
    throw new ApiError(422, `The CSV header is not valid (${parts.join("; ")}); nothing was imported.`, {
      errors,
      extra: {
        unknown_columns: unknown,
        duplicate_columns: duplicate,
        missing_columns: missing,
        columns: IMPORT_COLUMNS,
      },
    });
  }
  const broken = new Map<number, string>();
  for (const e of parsed.errors) {
    if (e.row === undefined || e.row < 1) continue;
    const message =
      e.code === "MissingQuotes"
        ? 'A quoted field is not closed (a `"` inside a quoted field is written `""`).'
        : e.code === "InvalidQuotes"
          ? 'A field has a stray `"` (quote the whole field and write inner quotes as `""`).'
          : e.message;
    if (!broken.has(e.row)) broken.set(e.row, message);
  }
  const records: (string[] | null)[] = rows.map((r) => (r.every((v) => v.trim() === "") ? null : r));
  // A trailing line end leaves one empty record: not a row.
  while (records.length && records[records.length - 1] === null) records.pop();
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    if (r && r.length > names.length && r.slice(names.length).some((v) => v.trim() !== "") && !broken.has(i + 1)) {
      broken.set(i + 1, `The row has ${r.length} fields; the header has ${names.length}.`);
    }
  }
  const rowCount = records.filter(Boolean).length;
  if (rowCount > MAX_IMPORT_ROWS) {
    throw new ApiError(413, `A file may hold at most ${MAX_IMPORT_ROWS} questions (this one has ${rowCount} rows).`);
  }
  return { columns: names as ImportColumn[], records, broken, rowCount };
}

// ---- rows -> create bodies ----------------------------------------------------------------------------------

/** Values of a list cell: `|` between values (`a||b` has an empty value between); `\|` is a `|`. */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let current = "";
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === "\\" && (value[i + 1] === "|" || value[i + 1] === "\\")) {
      current += value[i + 1];
      i++;
    } else if (ch === "|") {
      out.push(current.trim());
      current = "";
    } else current += ch;
  }
  out.push(current.trim());
  return out;
}

/** The blanks of fill_in_blanks: `||` between blanks, `|` between the accepted answers of one blank. */
export function splitGroups(value: string): string[][] {
  const groups: string[][] = [[]];
  let current = "";
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === "\\" && (value[i + 1] === "|" || value[i + 1] === "\\")) {
      current += value[i + 1];
      i++;
    } else if (ch === "|") {
      groups[groups.length - 1].push(current.trim());
      current = "";
      if (value[i + 1] === "|") {
        groups.push([]);
        i++;
      }
    } else current += ch;
  }
  groups[groups.length - 1].push(current.trim());
  return groups;
}

/** Question categories of the academy, by id and by lower-cased name (one query per import). */
export interface CategoryIndex {
  ids: Set<number>;
  byName: Map<string, number[]>;
}

export async function loadCategoryIndex(db: Db, tenantId: number): Promise<CategoryIndex> {
  const rows = await db
    .select({ id: categories.id, name: categories.name })
    .from(categories)
    .where(and(eq(categories.tenantId, tenantId), eq(categories.type, "question")));
  const byName = new Map<string, number[]>();
  for (const r of rows) {
    const key = r.name.trim().toLowerCase();
    byName.set(key, [...(byName.get(key) ?? []), r.id]);
  }
  return { ids: new Set(rows.map((r) => r.id)), byName };
}

const TRUE = new Set(["true", "yes", "1", "y"]);
const FALSE = new Set(["false", "no", "0", "n"]);

/** The schema field of an issue -> the CSV column it came from. */
function columnOf(path: PropertyKey[]): string {
  const [field, , sub] = path;
  switch (field) {
    case "options":
      return sub === "feedback" ? "option_feedback" : "options";
    case "pairs":
      return sub === "right" ? "correct_answers" : "options";
    case "category_ids":
      return "categories";
    case "correct_answer":
    case "accepted_answers":
    case "correct_value":
    case "blanks":
    case "items":
    case "reference_answer":
      return "correct_answers";
    case undefined:
      return "type";
    default:
      return String(field);
  }
}

/** The position in a list an issue points at (`Value 2: ...`), for list columns. */
function positionOf(path: PropertyKey[]): string {
  const [field, index, sub] = path;
  if (typeof index !== "number") return "";
  if (field === "blanks") {
    const answer = path[3];
    return `Blank ${index + 1}${typeof answer === "number" ? `, answer ${answer + 1}` : ""}: `;
  }
  if (field === "options" && sub === "feedback") return `Feedback ${index + 1}: `;
  return `Value ${index + 1}: `;
}

/**
 * One row -> a validated create body, or its errors. The row becomes the JSON body `POST /v1/admin/questions`
 * takes, and `QuestionCreate` (every type's answer-key rules) decides; only what a cell's text cannot say in JSON
 * (numbers, booleans, option numbers, lists) is checked here.
 */
export function rowToQuestion(
  cells: Partial<Record<ImportColumn, string>>,
  row: number,
  cats: CategoryIndex,
): { input?: QuestionCreateInput; errors: RowError[] } {
  const errors: RowError[] = [];
  const fail = (column: string, message: string) => errors.push({ row, column, message });
  const cell = (c: ImportColumn) => cells[c] ?? "";
  const given = (c: ImportColumn) => cell(c).trim() !== "";

  const typeText = cell("type")
    .trim()
    .toLowerCase()
    .replace(/[\s/-]+/g, "_");
  if (!typeText) {
    fail("type", `Required; one of ${QUESTION_TYPES.join(", ")}.`);
    return { errors };
  }
  if (!(QUESTION_TYPES as readonly string[]).includes(typeText)) {
    fail("type", `Unknown question type ${echo(cell("type").trim())}; use one of ${QUESTION_TYPES.join(", ")}.`);
    return { errors };
  }
  const type = typeText as QuestionType;
  const body: Record<string, unknown> = { type, title: cell("title") };

  const list = (c: ImportColumn): string[] | undefined => (given(c) ? splitList(cell(c)) : undefined);
  const int = (c: ImportColumn): number | undefined => {
    if (!given(c)) return undefined;
    const v = cell(c).trim();
    if (!/^[+-]?\d{1,9}$/.test(v)) {
      fail(c, `Must be a whole number (got ${echo(v)}).`);
      return undefined;
    }
    return Number(v);
  };
  const num = (c: ImportColumn): number | undefined => {
    if (!given(c)) return undefined;
    const v = cell(c).trim();
    if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(v) || !Number.isFinite(Number(v))) {
      fail(c, `Must be a number such as 3.14 (got ${echo(v)}).`);
      return undefined;
    }
    return Number(v);
  };
  const bool = (c: ImportColumn): boolean | undefined => {
    if (!given(c)) return undefined;
    const v = cell(c).trim().toLowerCase();
    if (TRUE.has(v)) return true;
    if (FALSE.has(v)) return false;
    fail(c, `Must be true or false (got ${echo(cell(c).trim())}).`);
    return undefined;
  };
  const text = (c: ImportColumn) => (given(c) ? cell(c) : undefined);

  // Common fields (left out when empty: the create schema's defaults apply).
  for (const c of ["content", "hint", "explanation"] as const) if (given(c)) body[c] = text(c);
  const points = int("points");
  if (points !== undefined) body.points = points;
  const negative = int("negative_points");
  if (negative !== undefined) body.negative_points = negative;
  const tags = list("tags");
  if (tags) body.tags = tags;
  const catNames = list("categories");
  if (catNames) {
    const ids: number[] = [];
    for (const name of catNames) {
      if (/^\d{1,15}$/.test(name) && cats.ids.has(Number(name))) {
        ids.push(Number(name));
        continue;
      }
      const found = cats.byName.get(name.toLowerCase()) ?? [];
      if (found.length === 1) ids.push(found[0]);
      else if (found.length > 1)
        fail(
          "categories",
          `${echo(name)} names ${found.length} question categories; use its id (${found.join(", ")}).`,
        );
      else fail("categories", `${echo(name)} is not a question category of this academy (give its name or id).`);
    }
    body.category_ids = [...new Set(ids)];
  }

  // Answer-key columns another type uses must stay empty.
  for (const c of ANSWER_KEY_COLUMNS) {
    if (given(c) && !KEY_COLUMNS[type].includes(c)) fail(c, `Not used by ${type} questions; leave it empty.`);
  }
  if (type !== "essay" && !given("correct_answers")) fail("correct_answers", `Required for ${type} questions.`);

  switch (type) {
    case "multiple_choice":
    case "multiple_correct": {
      const options = list("options");
      if (!options) {
        fail("options", `Required for ${type} questions: the option texts separated by \`|\`.`);
        break;
      }
      const feedback = list("option_feedback");
      if (feedback && feedback.length !== options.length) {
        fail(
          "option_feedback",
          `Give one feedback per option, empty ones included (${options.length} options, ${feedback.length} feedbacks).`,
        );
      }
      const picks = list("correct_answers") ?? [];
      const correct = new Set<number>();
      for (const p of picks) {
        if (/^\d{1,3}$/.test(p) && Number(p) >= 1 && Number(p) <= options.length) correct.add(Number(p));
        else
          fail(
            "correct_answers",
            `${echo(p)} is not an option number: give the number of the correct option (1 to ${options.length}).`,
          );
      }
      if (type === "multiple_choice" && picks.length > 1) {
        fail("correct_answers", "Give exactly one option number for multiple_choice questions.");
      }
      body.options = options.map((text, i) => ({
        text,
        correct: correct.has(i + 1),
        feedback: feedback?.[i] ? feedback[i] : null,
      }));
      const partial = bool("partial_credit");
      if (partial !== undefined) body.partial_credit = partial;
      break;
    }
    case "true_false": {
      const v = cell("correct_answers").trim().toLowerCase();
      if (v && !TRUE.has(v) && !FALSE.has(v)) {
        fail("correct_answers", `Must be true or false (got ${echo(cell("correct_answers").trim())}).`);
      } else if (v) body.correct_answer = TRUE.has(v);
      break;
    }
    case "short_answers": {
      const accepted = list("correct_answers");
      if (accepted) body.accepted_answers = accepted;
      const cs = bool("case_sensitive");
      if (cs !== undefined) body.case_sensitive = cs;
      break;
    }
    case "numeric": {
      const value = num("correct_answers");
      if (value !== undefined) body.correct_value = value;
      const tolerance = num("tolerance");
      if (tolerance !== undefined) body.tolerance = tolerance;
      break;
    }
    case "fill_in_blanks": {
      if (given("correct_answers")) {
        body.blanks = splitGroups(cell("correct_answers")).map((accepted) => ({ accepted_answers: accepted }));
      }
      const cs = bool("case_sensitive");
      if (cs !== undefined) body.case_sensitive = cs;
      break;
    }
    case "matching": {
      const left = list("options");
      const right = list("correct_answers");
      if (!left) {
        fail("options", "Required for matching questions: the left items separated by `|`.");
        break;
      }
      if (right && right.length !== left.length) {
        fail(
          "correct_answers",
          `Give one right item per left item in \`options\` (${left.length} left, ${right.length} right).`,
        );
        break;
      }
      if (right) body.pairs = left.map((l, i) => ({ left: l, right: right[i] }));
      break;
    }
    case "ordering": {
      const items = list("correct_answers");
      if (items) body.items = items;
      break;
    }
    case "essay": {
      if (given("correct_answers")) body.reference_answer = cell("correct_answers");
      const min = int("min_words");
      if (min !== undefined) body.min_words = min;
      const max = int("max_words");
      if (max !== undefined) body.max_words = max;
      break;
    }
  }
  if (errors.length) return { errors };

  const parsed = QuestionCreate.safeParse(body);
  if (!parsed.success) {
    const seen = new Set<string>();
    for (const issue of parsed.error.issues) {
      const column = columnOf(issue.path);
      const message = `${positionOf(issue.path)}${issue.message}`;
      const key = `${column}\u0000${message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      fail(column, message);
    }
    return { errors };
  }
  return { input: parsed.data, errors };
}

export interface ValidatedFile {
  total: number;
  /** Valid rows in file order. */
  valid: { row: number; input: QuestionCreateInput }[];
  failedRows: number;
  errors: RowError[];
}

/** Every row of a parsed file, validated. */
export function validateRows(file: ParsedFile, cats: CategoryIndex): ValidatedFile {
  const valid: ValidatedFile["valid"] = [];
  const errors: RowError[] = [];
  let failedRows = 0;
  file.records.forEach((record, i) => {
    const row = i + 1;
    if (!record) return;
    const broken = file.broken.get(row);
    if (broken) {
      errors.push({ row, column: "(row)", message: broken });
      failedRows++;
      return;
    }
    const cells: Partial<Record<ImportColumn, string>> = {};
    file.columns.forEach((c, j) => {
      cells[c] = record[j] ?? "";
    });
    const out = rowToQuestion(cells, row, cats);
    if (out.input) valid.push({ row, input: out.input });
    else {
      failedRows++;
      errors.push(...out.errors);
    }
  });
  return { total: file.rowCount, valid, failedRows, errors };
}

export function reportOf(mode: ImportMode, v: ValidatedFile, questionIds: number[]): ImportReport {
  const kept = v.errors.slice(0, MAX_REPORTED_ERRORS);
  return {
    mode,
    total_rows: v.total,
    created: questionIds.length,
    failed_rows: v.failedRows,
    question_ids: questionIds,
    errors: kept.map(rowMessage),
    error_details: kept,
    errors_truncated: v.errors.length > kept.length,
  };
}

// ---- writing ----------------------------------------------------------------------------------------------------

/** Valid rows in chunks that one statement's JSON parameter can carry. */
export function chunkRows<T extends { input: QuestionCreateInput }>(rows: T[]): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const r of rows) {
    const size = JSON.stringify(r.input).length * 3; // UTF-8 worst case
    if (current.length && (current.length >= ROWS_PER_CHUNK || bytes + size > CHUNK_JSON_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += size;
  }
  if (current.length) out.push(current);
  return out;
}

/**
 * The statements that insert one chunk of questions with their categories and (unless a job imports them: one
 * `question.imported` for the whole job) their `question.created` events. The
 * questions go in with one `INSERT ... SELECT FROM json_each(?)` in row order, so inside the batch (one
 * transaction) their ids are consecutive and end at `max(id)`: categories and events find them by position. The
 * last statement reads the new ids back.
 */
export function insertChunkStatements(
  db: Db,
  tenantId: number,
  inputs: QuestionCreateInput[],
  authorId: number | null,
  now: string,
  perQuestionEvents = true,
): BatchItem<"sqlite">[] {
  const n = inputs.length;
  const payload = JSON.stringify(
    inputs.map((q) => ({
      type: q.type,
      title: q.title,
      content: q.content,
      media_ids: q.media_ids,
      hint: q.hint,
      explanation: q.explanation,
      points: q.points,
      negative_points: q.negative_points,
      tags: [...new Set(q.tags)],
      answer_key: keyOf(q as unknown as Record<string, unknown>),
    })),
  );
  const cats = inputs.map((q) => [...new Set(q.category_ids)]);
  const firstId = sql`((SELECT max(id) FROM questions) - ${n} + 1)`;
  const statements: BatchItem<"sqlite">[] = [
    batchableRaw(
      db,
      sql`INSERT INTO questions (tenant_id, type, title, content, media_ids, hint, explanation, points, negative_points, tags, answer_key, author_id, created_at, updated_at)
          SELECT ${tenantId}, json_extract(value, '$.type'), json_extract(value, '$.title'), json_extract(value, '$.content'),
                 json_extract(value, '$.media_ids'), json_extract(value, '$.hint'), json_extract(value, '$.explanation'),
                 json_extract(value, '$.points'), json_extract(value, '$.negative_points'), json_extract(value, '$.tags'),
                 json_extract(value, '$.answer_key'), ${authorId}, ${now}, ${now}
          FROM json_each(${payload}) ORDER BY key`,
    ),
  ];
  if (cats.some((c) => c.length)) {
    statements.push(
      batchableRaw(
        db,
        sql`INSERT INTO question_categories (tenant_id, question_id, category_id)
            SELECT ${tenantId}, ${firstId} + j.key, c.value FROM json_each(${JSON.stringify(cats)}) j, json_each(j.value) c`,
      ),
    );
  }
  if (perQuestionEvents) {
    statements.push(
      batchableRaw(
        db,
        sql`INSERT INTO outbox (tenant_id, type, data, occurred_at)
            SELECT ${tenantId}, 'question.created',
                   json_object('id', ${firstId} + key, 'type', json_extract(value, '$.type'), 'title', json_extract(value, '$.title')),
                   ${now}
            FROM json_each(${payload}) ORDER BY key`,
      ),
    );
  }
  statements.push(
    db
      .select({ id: questions.id })
      .from(questions)
      .where(sql`+${questions.tenantId} = ${tenantId} AND ${questions.id} >= ${firstId}`)
      .orderBy(questions.id),
  );
  return statements;
}

/**
 * A guard for a job's chunk batch: moves the job's `progress_done` from `from` to `to`, or fails the whole batch
 * (NULL into a NOT NULL column) when another run already moved it, so a redelivered or concurrent run never
 * inserts a chunk twice.
 */
export function progressGuard(db: Db, tenantId: number, jobId: number, from: number, to: number, now: string) {
  return db
    .update(jobs)
    .set({
      progressDone: sql`CASE WHEN ${jobs.progressDone} = ${from} THEN ${to} ELSE NULL END` as unknown as number,
      updatedAt: now,
    })
    .where(and(eq(jobs.tenantId, tenantId), eq(jobs.id, jobId)));
}

/** The ids returned by the last statement of `insertChunkStatements`, from a batch's results. */
export function idsOf(result: unknown): number[] {
  return (result as { id: number }[]).map((r) => Number(r.id));
}
