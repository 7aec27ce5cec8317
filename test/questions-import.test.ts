/**
 * CSV bulk upload of questions: every type through the template, quoting (commas, line breaks, `""`), CRLF and
 * BOM, a row report with exact `Row #n : column: message` lines, all-or-nothing vs valid rows, refused headers,
 * content types and credentials, and large files through the JOBS queue with the job status endpoint.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import docs from "../docs/assessments.md?raw";
import worker from "../src/index";
import { jobs } from "../src/modules/jobs/tables";
import { IMPORT_COLUMNS, insertChunkStatements, progressGuard } from "../src/modules/questions/import";
import { QuestionCreate } from "../src/modules/questions/schemas";
import { createDb } from "../src/platform/db";
import { api, expectProblem, expectStatus } from "./helpers/api";
import { createTenant, keyWithout, type TestTenant, unique } from "./helpers/factories";
import { runQueue, until } from "./helpers/webhooks";

let t: TestTenant;
let other: TestTenant;
beforeAll(async () => {
  [t, other] = await Promise.all([createTenant(), createTenant()]);
});

const HEADER = "type,title,content,points,negative_points,categories,tags,options,correct_answers,tolerance";

const importCsv = (csv: string, options: { token?: string; mode?: string; type?: string; tenant?: TestTenant } = {}) =>
  api("POST", `/v1/admin/questions/import${options.mode ? `?mode=${options.mode}` : ""}`, {
    token: options.token ?? (options.tenant ?? t).key,
    rawBody: csv,
    headers: { "content-type": options.type ?? "text/csv" },
  });

/** The same upload as a browser form (`file` part). */
async function importForm(csv: string, token = t.key) {
  const form = new FormData();
  form.set("file", new File([csv], "questions.csv", { type: "text/csv" }));
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request("http://lectern.test/v1/admin/questions/import", {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
      body: form,
    }),
    env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: JSON.parse(text), text };
}

async function countQuestions(tenant: TestTenant) {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM questions WHERE tenant_id = ?")
    .bind(tenant.id)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

async function maxOutboxId() {
  return (await env.DB.prepare("SELECT max(id) AS id FROM outbox").first<{ id: number | null }>())?.id ?? 0;
}

async function getQuestion(id: number) {
  const res = await api("GET", `/v1/admin/questions/${id}`, { token: t.key });
  expectStatus(res, 200);
  return res.body;
}

describe("the template", () => {
  it("downloads as CSV with every column and imports as is: one question of each of the nine types", async () => {
    const tpl = await api("GET", "/v1/admin/questions/import/template", { token: t.key });
    expectStatus(tpl, 200);
    expect(tpl.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(tpl.headers.get("content-disposition")).toContain("questions-import-template.csv");
    expect(tpl.text.split("\r\n")[0]).toBe(IMPORT_COLUMNS.join(","));

    const before = await countQuestions(t);
    const res = await importCsv(tpl.text);
    expectStatus(res, 201);
    expect(res.body).toMatchObject({
      mode: "all_or_nothing",
      total_rows: 9,
      created: 9,
      failed_rows: 0,
      errors: [],
      errors_truncated: false,
    });
    expect(await countQuestions(t)).toBe(before + 9);
    const qs = await Promise.all((res.body.question_ids as number[]).map(getQuestion));
    expect(qs.map((q) => q.type)).toEqual([
      "multiple_choice",
      "multiple_correct",
      "true_false",
      "short_answers",
      "numeric",
      "fill_in_blanks",
      "matching",
      "ordering",
      "essay",
    ]);
    const [mc, mr, tf, sa, num, fib, match, order, essay] = qs;
    expect(mc).toMatchObject({
      title: "What is the capital of France?",
      content: "<p>Pick one.</p>",
      points: 2,
      negative_points: 1,
      hint: "It is on the Seine.",
      tags: ["geography", "europe"],
      options: [
        { id: 1, text: "Paris", correct: true, feedback: "Right!" },
        { id: 2, text: "Lyon", correct: false, feedback: null },
        { id: 3, text: "Marseille", correct: false, feedback: "Marseille is the second city." },
      ],
    });
    expect(mr.options.map((o: { correct: boolean }) => o.correct)).toEqual([true, true, false, true]);
    expect(mr.partial_credit).toBe(true);
    expect(tf.correct_answer).toBe(true);
    expect(sa).toMatchObject({ accepted_answers: ["Jupiter", "Planet Jupiter"], case_sensitive: false });
    expect(num).toMatchObject({ correct_value: 3.14, tolerance: 0.005 });
    expect(fib.blanks).toEqual([{ accepted_answers: ["Rome", "Roma"] }, { accepted_answers: ["Madrid"] }]);
    expect(match.pairs).toEqual([
      { left: "France", right: "Paris" },
      { left: "Italy", right: "Rome" },
      { left: "Spain", right: "Madrid" },
    ]);
    expect(order.items).toEqual(["one", "two", "three", "four"]);
    expect(essay).toMatchObject({ min_words: 50, max_words: 400, points: 10 });
    expect(essay.reference_answer).toMatch(/^Evaporation/);

    // One question.created per question, naming it.
    const events = await env.DB.prepare(
      "SELECT data FROM outbox WHERE tenant_id = ? AND type = 'question.created' ORDER BY id DESC LIMIT 9",
    )
      .bind(t.id)
      .all<{ data: string }>();
    const named = events.results.map((e) => JSON.parse(e.data).id).sort((a: number, b: number) => a - b);
    expect(named).toEqual([...res.body.question_ids].sort((a: number, b: number) => a - b));
    expect(JSON.parse(events.results[0].data)).toMatchObject({ type: "essay", title: "Describe the water cycle." });
  });

  it("needs a credential and assessments:read", async () => {
    expectProblem(await api("GET", "/v1/admin/questions/import/template"), 401);
    const narrow = await keyWithout(t, "assessments:read");
    expectProblem(await api("GET", "/v1/admin/questions/import/template", { token: narrow }), 403);
  });
});

describe("POST /v1/admin/questions/import", () => {
  it("reads quoted fields (commas, line breaks, doubled quotes), CRLF, a BOM, categories by name or id, as a form too", async () => {
    const catA = await api("POST", "/v1/admin/categories", {
      token: t.key,
      body: { type: "question", name: unique("Geo") },
    });
    const catB = await api("POST", "/v1/admin/categories", {
      token: t.key,
      body: { type: "question", name: unique("Hist") },
    });
    const title = unique("Quoted");
    const csv = [
      "\uFEFFType, Title ,Content,Points,Negative-Points,Categories,Tags,Options,Correct Answers,Tolerance",
      `multiple_choice,"${title}, with a comma","Line one\r\nLine ""two""",3,1,${catA.body.name}|${catB.body.id},a|b,"x, y|z \\| w",2,`,
      "",
      `numeric,${unique("Num")},,,,,,,-2.5,0.5`,
    ].join("\r\n");
    const res = await importCsv(csv);
    expectStatus(res, 201);
    expect(res.body).toMatchObject({ total_rows: 2, created: 2, failed_rows: 0 });
    const [mc, num] = await Promise.all((res.body.question_ids as number[]).map(getQuestion));
    expect(mc).toMatchObject({
      title: `${title}, with a comma`,
      content: 'Line one\r\nLine "two"',
      points: 3,
      negative_points: 1,
      category_ids: [catA.body.id, catB.body.id].sort((a, b) => a - b),
      tags: ["a", "b"],
      options: [
        { text: "x, y", correct: false },
        { text: "z | w", correct: true },
      ],
    });
    expect(num).toMatchObject({ correct_value: -2.5, tolerance: 0.5, points: 1, negative_points: 0 });

    const form = await importForm(`type,title,correct_answers\ntrue_false,${unique("Form")},false\n`);
    expectStatus(form, 201);
    expect(form.body.created).toBe(1);
    expect((await getQuestion(form.body.question_ids[0])).correct_answer).toBe(false);
  });

  it("reports every bad row as `Row #n : column: message` and writes nothing (all_or_nothing)", async () => {
    const catName = unique("NoSuchCat");
    const csv = [
      HEADER,
      "multiple_choice,Two answers,,,,,,a|b|c,1|2,", // Row #1
      "essai,Typo in type,,,,,,,x,", // Row #2
      "true_false,No answer,,,,,,,,", // Row #3
      "true_false,,,,,,,,true,", // Row #4
      "numeric,Bad tolerance,,,,,,,3,abc", // Row #5
      "ordering,Same items,,,,,,,a|b|a,", // Row #6
      `short_answers,Unknown category,,,,${catName},,,x,`, // Row #7
      '=HYPERLINK("http://evil"),Formula,,,,,,,x,', // Row #8
      "multiple_choice,Out of range,,1.5,,,,a|b,3,", // Row #9
      "true_false,Too many fields,,,,,,,true,,extra", // Row #10
      "matching,Uneven,,,,,,a|b|c,1|2,", // Row #11
      "true_false,Tolerance on a true/false,,,,,,,yes,0.1", // Row #12
      "short_answers,Fine,,,,,,,x,", // Row #13 (valid)
    ].join("\n");
    const before = await countQuestions(t);
    const res = await importCsv(csv);
    const problem = expectProblem(res, 422);
    expect(res.body.detail).toBe(
      "12 of 13 rows have errors; nothing was imported (fix them, or import with mode=valid_rows).",
    );
    const types =
      "multiple_choice, multiple_correct, true_false, short_answers, numeric, fill_in_blanks, matching, ordering, essay";
    const expected = [
      "Row #1 : correct_answers: Give exactly one option number for multiple_choice questions.",
      `Row #2 : type: Unknown question type "essai"; use one of ${types}.`,
      "Row #3 : correct_answers: Required for true_false questions.",
      "Row #4 : title: Required.",
      'Row #5 : tolerance: Must be a number such as 3.14 (got "abc").',
      "Row #6 : correct_answers: Items must differ.",
      `Row #7 : categories: "${catName}" is not a question category of this academy (give its name or id).`,
      `Row #8 : type: Unknown question type "'=HYPERLINK(""http://evil"")"; use one of ${types}.`.replace(/""/g, '"'),
      'Row #9 : points: Must be a whole number (got "1.5").',
      'Row #9 : correct_answers: "3" is not an option number: give the number of the correct option (1 to 2).',
      "Row #10 : (row): The row has 11 fields; the header has 10.",
      "Row #11 : correct_answers: Give one right item per left item in `options` (3 left, 2 right).",
      "Row #12 : tolerance: Not used by true_false questions; leave it empty.",
    ];
    expect(res.body.report.errors).toEqual(expected);
    expect(problem.errors?.map((e) => e.message)).toEqual(expected);
    expect(problem.errors?.[0].path).toBe("rows.1.correct_answers");
    expect(res.body.report).toMatchObject({ total_rows: 13, created: 0, failed_rows: 12, question_ids: [] });
    expect(res.body.report.error_details[1]).toEqual({
      row: 2,
      column: "type",
      message: `Unknown question type "essai"; use one of ${types}.`,
    });
    expect(await countQuestions(t)).toBe(before);
  });

  it("imports the valid rows and reports the bad ones with mode=valid_rows", async () => {
    const good = unique("Good");
    const csv = [
      HEADER,
      `true_false,${good} 1,,,,,,,true,`,
      "multiple_choice,No correct,,,,,,a|b,,",
      `fill_in_blanks,${good} 2,[[1]] [[2]],,,,,,a||b|B,`,
    ].join("\n");
    const before = await countQuestions(t);
    const res = await importCsv(csv, { mode: "valid_rows" });
    expectStatus(res, 201);
    expect(res.body).toMatchObject({
      mode: "valid_rows",
      total_rows: 3,
      created: 2,
      failed_rows: 1,
      errors: ["Row #2 : correct_answers: Required for multiple_choice questions."],
    });
    expect(await countQuestions(t)).toBe(before + 2);
    const fib = await getQuestion(res.body.question_ids[1]);
    expect(fib.blanks).toEqual([{ accepted_answers: ["a"] }, { accepted_answers: ["b", "B"] }]);

    // No valid row at all: 200, nothing created.
    const none = await importCsv(`${HEADER}\nessay,,,,,,,,,`, { mode: "valid_rows" });
    expectStatus(none, 200);
    expect(none.body).toMatchObject({ created: 0, failed_rows: 1, errors: ["Row #1 : title: Required."] });
  });

  it("refuses unknown, duplicate and missing columns as a whole, naming them", async () => {
    const before = await countQuestions(t);
    const res = await importCsv("type,title,answer,Colour,title\ntrue_false,X,true,red,Y\n");
    const problem = expectProblem(res, 422);
    expect(res.body.detail).toBe(
      'The CSV header is not valid (unknown columns: "answer", "colour"; duplicate columns: "title"; missing columns: correct_answers); nothing was imported.',
    );
    expect(res.body).toMatchObject({
      unknown_columns: ["answer", "colour"],
      duplicate_columns: ["title"],
      missing_columns: ["correct_answers"],
    });
    expect(problem.errors?.map((e) => e.message)).toEqual([
      'Unknown column "answer".',
      'Unknown column "colour".',
      'Column "title" appears more than once.',
      'Column "correct_answers" is required.',
    ]);
    const unclosed = await importCsv('type,title,correct_answers\ntrue_false,"Unclosed,true\ntrue_false,Fine,true\n');
    expectProblem(unclosed, 422);
    expect(unclosed.body.report.errors).toEqual([
      'Row #1 : (row): A quoted field is not closed (a `"` inside a quoted field is written `""`).',
    ]);
    expectProblem(await importCsv(""), 422);
    const empty = await importCsv("type,title,correct_answers\r\n");
    expectProblem(empty, 422);
    expect(empty.body.detail).toBe("The file has no question rows.");
    expect(await countQuestions(t)).toBe(before);
  });

  it("refuses bodies that are not CSV (415), text that is not UTF-8, and a bad mode", async () => {
    const csv = "type,title,correct_answers\ntrue_false,X,true\n";
    expectProblem(await importCsv(csv, { type: "application/json" }), 415);
    expectProblem(await importCsv(csv, { type: "text/plain" }), 415);
    const latin1 = await api("POST", "/v1/admin/questions/import", {
      token: t.key,
      rawBody: undefined,
      headers: { "content-type": "text/csv" },
    });
    expectProblem(latin1, 422); // an empty body: no header
    const ctx = createExecutionContext();
    const bad = await worker.fetch(
      new Request("http://lectern.test/v1/admin/questions/import", {
        method: "POST",
        headers: { authorization: `Bearer ${t.key}`, "content-type": "text/csv" },
        body: new Uint8Array([0x74, 0x79, 0x70, 0x65, 0xe9, 0x0a]),
      }),
      env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { detail: string }).detail).toBe("The file is not UTF-8 text.");
    expectProblem(await importCsv(csv, { mode: "some" }), 422);
    // Too large: over 10 MiB, or over 20,000 rows.
    expectProblem(await importCsv(`type,title,correct_answers\n${"x".repeat(10 * 1024 * 1024 + 1)}`), 413);
    const many = await importCsv(`type,title,correct_answers\n${"true_false,T,true\n".repeat(20_001)}`);
    expectProblem(many, 413);
    expect(many.body.detail).toBe("A file may hold at most 20000 questions (this one has 20001 rows).");
  });

  it("imports the example of docs/assessments.md as documented", async () => {
    const example = /## Question import \(CSV\)[\s\S]*?```csv\n([\s\S]*?)```/.exec(docs)?.[1];
    expect(example).toBeTruthy();
    await api("POST", "/v1/admin/categories", { token: t.key, body: { type: "question", name: "Geography" } });
    const res = await importCsv(example as string);
    expectStatus(res, 201);
    expect(res.body).toMatchObject({ total_rows: 9, created: 9, failed_rows: 0 });
    const mc = await getQuestion(res.body.question_ids[0]);
    expect(mc.category_ids).toHaveLength(1);
    expect(mc.options.map((o: { feedback: string | null }) => o.feedback)).toEqual(["Right!", null, null]);
  });

  it("needs a credential (401) and assessments:write (403)", async () => {
    const csv = "type,title,correct_answers\ntrue_false,X,true\n";
    expectProblem(
      await api("POST", "/v1/admin/questions/import", { rawBody: csv, headers: { "content-type": "text/csv" } }),
      401,
    );
    const narrow = await keyWithout(t, "assessments:write");
    const before = await countQuestions(t);
    expectProblem(await importCsv(csv, { token: narrow }), 403);
    expect(await countQuestions(t)).toBe(before);
  });
});

/** A file of `n` rows cycling through every type. */
function bigCsv(n: number, tag: string, bad?: number) {
  const rows = [HEADER];
  for (let i = 1; i <= n; i++) {
    const title = `${tag} ${i}`;
    if (i === bad) rows.push(`multiple_choice,${title},,,,,,a|b,9,`);
    else if (i % 3 === 0) rows.push(`true_false,${title},,,,,${tag},,${i % 2 === 0},`);
    else if (i % 3 === 1) rows.push(`multiple_choice,"${title}","<p>Q${i}</p>",2,,,${tag},a|b|c,2,`);
    else rows.push(`numeric,${title},,,,,${tag},,${i},0.5`);
  }
  return `${rows.join("\r\n")}\r\n`;
}

describe("large files go through the JOBS queue", () => {
  it("imports 10,000 rows in a job: 202 with Location, the job's result is the report", {
    timeout: 180_000,
  }, async () => {
    const tag = unique("bulk");
    const before = await countQuestions(t);
    const outboxBefore = await maxOutboxId();
    const res = await importCsv(bigCsv(10_000, tag));
    expectStatus(res, 202);
    expect(res.body).toMatchObject({ kind: "questions.import", status: "queued" });
    expect(res.headers.get("location")).toBe(`/v1/admin/jobs/${res.body.id}`);

    const job = await until(async () => {
      const r = await api("GET", `/v1/admin/jobs/${res.body.id}`, { token: t.key });
      return ["succeeded", "failed"].includes(r.body.status) ? r : undefined;
    }, 150_000);
    expect(job.body).toMatchObject({
      kind: "questions.import",
      status: "succeeded",
      error: null,
      progress: { done: 10_000, total: 10_000 },
      result: { mode: "all_or_nothing", total_rows: 10_000, created: 10_000, failed_rows: 0, errors: [] },
    });
    expect(job.body.result.question_ids).toHaveLength(10_000);
    expect(await countQuestions(t)).toBe(before + 10_000);
    const tagged = await api("GET", `/v1/admin/questions?tag=${tag}&per_page=1`, { token: t.key });
    expect(tagged.body.meta.total).toBe(10_000);
    const first = await getQuestion(job.body.result.question_ids[0]);
    expect(first).toMatchObject({ type: "multiple_choice", title: `${tag} 1`, points: 2 });
    expect(first.options[1]).toMatchObject({ text: "b", correct: true });
    const last = await getQuestion(job.body.result.question_ids[9_999]);
    expect(last).toMatchObject({ type: "multiple_choice", title: `${tag} 10000` });
    // One question.imported for the job (no 10,000 question.created).
    const events = await env.DB.prepare(
      "SELECT type, data FROM outbox WHERE tenant_id = ? AND type IN ('question.created', 'question.imported') AND id > ? ORDER BY id",
    )
      .bind(t.id, outboxBefore)
      .all<{ type: string; data: string }>();
    expect(events.results.map((e) => [e.type, JSON.parse(e.data)])).toEqual([
      [
        "question.imported",
        { job_id: res.body.id, mode: "all_or_nothing", total_rows: 10_000, created: 10_000, failed_rows: 0 },
      ],
    ]);
    // The stored file is gone once the job is done.
    expect((await env.MEDIA.list({ prefix: `t/${t.id}/imports/` })).objects).toEqual([]);

    // Another academy never sees the job.
    expectProblem(await api("GET", `/v1/admin/jobs/${res.body.id}`, { token: other.key }), 404);
  });

  it("fails the job with the row report and writes nothing when a row is bad (all_or_nothing)", {
    timeout: 60_000,
  }, async () => {
    const tag = unique("badbulk");
    const before = await countQuestions(t);
    const res = await importCsv(bigCsv(600, tag, 577));
    expectStatus(res, 202);
    const job = await until(async () => {
      const r = await api("GET", `/v1/admin/jobs/${res.body.id}`, { token: t.key });
      return ["succeeded", "failed"].includes(r.body.status) ? r : undefined;
    }, 50_000);
    expect(job.body).toMatchObject({
      status: "failed",
      error:
        "1 of 600 rows have errors; nothing was imported (see the result's `errors`, or import with mode=valid_rows).",
      result: {
        created: 0,
        failed_rows: 1,
        errors: [
          'Row #577 : correct_answers: "9" is not an option number: give the number of the correct option (1 to 2).',
        ],
      },
    });
    expect(await countQuestions(t)).toBe(before);

    const partial = await importCsv(bigCsv(600, `${tag}-v`, 577), { mode: "valid_rows" });
    expectStatus(partial, 202);
    const done = await until(async () => {
      const r = await api("GET", `/v1/admin/jobs/${partial.body.id}`, { token: t.key });
      return ["succeeded", "failed"].includes(r.body.status) ? r : undefined;
    }, 50_000);
    expect(done.body).toMatchObject({ status: "succeeded", result: { created: 599, failed_rows: 1 } });
    expect(await countQuestions(t)).toBe(before + 599);
  });

  it("never inserts a chunk twice: a redelivered job resumes after its committed chunks", {
    timeout: 60_000,
  }, async () => {
    const csv = bigCsv(600, unique("again"));
    const res = await importCsv(csv);
    expectStatus(res, 202);
    await until(async () => {
      const r = await api("GET", `/v1/admin/jobs/${res.body.id}`, { token: t.key });
      return r.body.status === "succeeded" ? r : undefined;
    }, 50_000);
    const count = await countQuestions(t);
    // As if the consumer died after the inserts but before recording the outcome: the message comes again.
    const db = createDb(env.DB);
    const [row] = await db
      .select()
      .from(jobs)
      .where(and(eq(jobs.tenantId, t.id), eq(jobs.id, res.body.id)));
    await env.MEDIA.put(String(row.input.r2_key), csv);
    await db.update(jobs).set({ status: "running" }).where(eq(jobs.id, res.body.id));
    const run = await runQueue("lectern-jobs", [{ body: { job_id: res.body.id, tenant_id: t.id } }]);
    expect(run.acked).toEqual([true]);
    const job = await api("GET", `/v1/admin/jobs/${res.body.id}`, { token: t.key });
    expect(job.body).toMatchObject({ status: "succeeded", result: { created: 600 }, progress: { done: 600 } });
    expect(await countQuestions(t)).toBe(count);
    // Again after the file was removed: every chunk is committed, so the job still succeeds.
    await db.update(jobs).set({ status: "running" }).where(eq(jobs.id, res.body.id));
    await runQueue("lectern-jobs", [{ body: { job_id: res.body.id, tenant_id: t.id } }]);
    const after = await api("GET", `/v1/admin/jobs/${res.body.id}`, { token: t.key });
    expect(after.body).toMatchObject({ status: "succeeded", result: { created: 600 } });
    expect(await countQuestions(t)).toBe(count);

    // Two runs at once: the chunk batch whose guard finds the progress moved fails as a whole.
    const input = QuestionCreate.parse({ type: "true_false", title: unique("Race"), correct_answer: true });
    const stale = progressGuard(db, t.id, res.body.id, 0, 1, new Date().toISOString());
    await expect(
      db.batch([stale, ...insertChunkStatements(db, t.id, [input], null, new Date().toISOString())] as never),
    ).rejects.toThrow(/NOT NULL/);
    expect(await countQuestions(t)).toBe(count);
  });

  it("checks the header in the request, before anything is stored or queued", async () => {
    const res = await importCsv(bigCsv(600, unique("h")).replace("tolerance", "tolerence"));
    expectProblem(res, 422);
    expect(res.body.unknown_columns).toEqual(["tolerence"]);
  });
});
