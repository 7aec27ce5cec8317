/**
 * The gradebook of a course: graded placements, per-learner results from module_progress, the course grade by
 * the grading rule, and the streamed CSV export. Enrollments and progress are seeded straight into D1.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { csvCell } from "../src/modules/gradebook/service";
import { api, expectProblem, expectStatus } from "./helpers/api";
import { createLearner, createTenant, keyWithout, type TestTenant, unique } from "./helpers/factories";

async function post(t: TestTenant, path: string, body: Record<string, unknown>) {
  const res = await api("POST", path, { token: t.key, body });
  expectStatus(res, 201);
  return res.body;
}

async function place(t: TestTenant, courseId: number, sectionId: number, type: string, name: string) {
  const module = await post(t, "/v1/admin/modules", { type, name });
  const placement = await post(t, `/v1/admin/courses/${courseId}/sections/${sectionId}/placements`, {
    module_id: module.id,
  });
  return { placementId: placement.id as number, moduleId: module.id as number, name };
}

async function enroll(t: TestTenant, courseId: number, userId: number, enrolledAt: string, extra = "") {
  const row = await env.DB.prepare(
    `INSERT INTO enrollments (tenant_id, course_id, user_id, status, source, enrolled_at, progress_percent, completed_at, updated_at)
     VALUES (?, ?, ?, 'active', 'admin', ?, ?, ?, ?) RETURNING id`,
  )
    .bind(t.id, courseId, userId, enrolledAt, extra ? 50 : 0, extra || null, enrolledAt)
    .first<{ id: number }>();
  return row?.id as number;
}

async function progress(
  t: TestTenant,
  courseId: number,
  userId: number,
  enrollmentId: number,
  placementId: number,
  values: { status: string; score?: number | null; max?: number | null; attempts?: number },
) {
  await env.DB.prepare(
    `INSERT INTO module_progress (tenant_id, enrollment_id, placement_id, course_id, user_id, status, score, max_score, attempts, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  )
    .bind(
      t.id,
      enrollmentId,
      placementId,
      courseId,
      userId,
      values.status,
      values.score ?? null,
      values.max ?? null,
      values.attempts ?? 0,
      new Date().toISOString(),
    )
    .run();
}

/** RFC 4180 parsing, enough for the test: quoted cells with doubled quotes, commas and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(cell);
      cell = "";
    } else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
      i++;
    } else cell += ch;
  }
  if (cell !== "" || row.length) rows.push([...row, cell]);
  return rows;
}

describe("course gradebook", () => {
  let t: TestTenant;
  let other: TestTenant;
  let courseId: number;
  let quiz: { placementId: number; moduleId: number; name: string };
  let assignment: { placementId: number; moduleId: number; name: string };
  let scorm: { placementId: number; moduleId: number; name: string };
  let discussion: { placementId: number; moduleId: number; name: string };
  const learners: { id: number; name: string; email: string; enrollmentId: number }[] = [];
  let gradebook: string;

  beforeAll(async () => {
    t = await createTenant();
    other = await createTenant();
    const course = await post(t, "/v1/admin/courses", {
      name: unique("Graded"),
      grading_rule: "avg_all_modules",
      passing_grade: 70,
    });
    courseId = course.id;
    gradebook = `/v1/admin/courses/${courseId}/gradebook`;
    const first = await post(t, `/v1/admin/courses/${courseId}/sections`, { name: "Week 1" });
    const second = await post(t, `/v1/admin/courses/${courseId}/sections`, { name: "Week 2" });
    quiz = await place(t, courseId, first.id, "quiz", "Quiz, part 1");
    await place(t, courseId, first.id, "text", "Reading");
    await place(t, courseId, first.id, "survey", "Feedback");
    assignment = await place(t, courseId, second.id, "assignment", 'Essay "final"');
    scorm = await place(t, courseId, second.id, "scorm", "Simulation");
    discussion = await place(t, courseId, second.id, "discussion", "Debate");

    const names = ["Ada Lovelace", 'Smith, "Jo"', "=HYPERLINK(1)"];
    for (const [i, name] of names.entries()) {
      const learner = await createLearner(t, { name });
      const enrollmentId = await enroll(
        t,
        courseId,
        learner.id,
        `2026-01-0${i + 1}T00:00:00.000Z`,
        i === 0 ? "2026-02-01T00:00:00.000Z" : "",
      );
      learners.push({ id: learner.id, name, email: learner.email, enrollmentId });
    }
    const [ada, jo] = learners;
    await progress(t, courseId, ada.id, ada.enrollmentId, quiz.placementId, {
      status: "passed",
      score: 8,
      max: 10,
      attempts: 2,
    });
    await progress(t, courseId, ada.id, ada.enrollmentId, assignment.placementId, {
      status: "passed",
      score: 45,
      max: 50,
      attempts: 1,
    });
    await progress(t, courseId, ada.id, ada.enrollmentId, scorm.placementId, { status: "in_progress", attempts: 1 });
    await progress(t, courseId, jo.id, jo.enrollmentId, quiz.placementId, {
      status: "failed",
      score: 1,
      max: 3,
      attempts: 3,
    });
    await progress(t, courseId, jo.id, jo.enrollmentId, assignment.placementId, { status: "submitted", attempts: 1 });
  });

  it("lists every graded placement and each learner's results with the course grade (avg_all_modules)", async () => {
    const res = await api("GET", gradebook, { token: t.key });
    expectStatus(res, 200);
    expect(res.body.course).toMatchObject({ id: courseId, grading_rule: "avg_all_modules", passing_grade: 70 });
    expect(res.body.placements).toEqual([
      { placement_id: quiz.placementId, module_id: quiz.moduleId, name: "Quiz, part 1", type: "quiz" },
      {
        placement_id: assignment.placementId,
        module_id: assignment.moduleId,
        name: 'Essay "final"',
        type: "assignment",
      },
      { placement_id: scorm.placementId, module_id: scorm.moduleId, name: "Simulation", type: "scorm" },
      { placement_id: discussion.placementId, module_id: discussion.moduleId, name: "Debate", type: "discussion" },
    ]);
    expect(res.body.meta).toEqual({ page: 1, per_page: 15, total: 3, last_page: 1 });
    const [ada, jo, third] = res.body.data;
    expect(ada).toMatchObject({
      enrollment_id: learners[0].enrollmentId,
      learner: { id: learners[0].id, name: "Ada Lovelace", email: learners[0].email },
      enrollment_status: "active",
      completed_at: "2026-02-01T00:00:00.000Z",
      progress_percent: 50,
      grade: 85,
      passed: true,
    });
    expect(ada.results).toEqual([
      { placement_id: quiz.placementId, status: "passed", score: 8, max_score: 10, percent: 80, attempts: 2 },
      { placement_id: assignment.placementId, status: "passed", score: 45, max_score: 50, percent: 90, attempts: 1 },
      {
        placement_id: scorm.placementId,
        status: "in_progress",
        score: null,
        max_score: null,
        percent: null,
        attempts: 1,
      },
      {
        placement_id: discussion.placementId,
        status: "not_started",
        score: null,
        max_score: null,
        percent: null,
        attempts: 0,
      },
    ]);
    expect(jo).toMatchObject({ grade: 33, passed: false });
    expect(jo.results[0]).toMatchObject({ status: "failed", percent: 33.33, attempts: 3 });
    expect(jo.results[1]).toMatchObject({ status: "submitted", score: null, percent: null });
    expect(third).toMatchObject({ learner: { name: "=HYPERLINK(1)" }, grade: null, passed: null });
    expect(third.results.every((r: { status: string }) => r.status === "not_started")).toBe(true);

    const page2 = await api("GET", `${gradebook}?per_page=2&page=2`, { token: t.key });
    expectStatus(page2, 200);
    expect(page2.body.data.map((r: { learner: { id: number } }) => r.learner.id)).toEqual([learners[2].id]);
    expect(page2.body.meta).toEqual({ page: 2, per_page: 2, total: 3, last_page: 2 });
  });

  it("follows the grading rule: avg_specific_modules averages graded_module_ids only; no_grading has no grade", async () => {
    const patch = await api("PATCH", `/v1/admin/courses/${courseId}`, {
      token: t.key,
      body: { grading_rule: "avg_specific_modules", graded_module_ids: [assignment.moduleId], passing_grade: 95 },
    });
    expectStatus(patch, 200);
    let res = await api("GET", gradebook, { token: t.key });
    expect(res.body.data.map((r: { grade: number | null; passed: boolean | null }) => [r.grade, r.passed])).toEqual([
      [90, false],
      [null, null],
      [null, null],
    ]);

    expectStatus(
      await api("PATCH", `/v1/admin/courses/${courseId}`, { token: t.key, body: { grading_rule: "no_grading" } }),
      200,
    );
    res = await api("GET", gradebook, { token: t.key });
    expect(res.body.data.map((r: { grade: number | null; passed: boolean | null }) => [r.grade, r.passed])).toEqual([
      [null, null],
      [null, null],
      [null, null],
    ]);
    // Scores are still shown without a grading rule.
    expect(res.body.data[0].results[0].percent).toBe(80);

    expectStatus(
      await api("PATCH", `/v1/admin/courses/${courseId}`, {
        token: t.key,
        body: { grading_rule: "avg_all_modules", passing_grade: 70 },
      }),
      200,
    );
  });

  it("exports the gradebook as CSV with a header of placement names and proper quoting", async () => {
    const res = await api("GET", `${gradebook}.csv`, { token: t.key });
    expectStatus(res, 200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toBe(`attachment; filename="gradebook-course-${courseId}.csv"`);
    expect(res.headers.get("x-request-id")).toBeTruthy();
    expect(res.text.split("\r\n")[0]).toBe(
      'learner_id,learner_name,learner_email,enrollment_status,enrolled_at,completed_at,progress_percent,"Quiz, part 1","Quiz, part 1 (status)","Essay ""final""","Essay ""final"" (status)",Simulation,Simulation (status),Debate,Debate (status),course_grade,passed',
    );
    const rows = parseCsv(res.text);
    expect(rows).toHaveLength(4);
    expect(rows[1]).toEqual([
      String(learners[0].id),
      "Ada Lovelace",
      learners[0].email,
      "active",
      "2026-01-01T00:00:00.000Z",
      "2026-02-01T00:00:00.000Z",
      "50",
      "80",
      "passed",
      "90",
      "passed",
      "",
      "in_progress",
      "",
      "not_started",
      "85",
      "true",
    ]);
    expect(rows[2].slice(1, 2)).toEqual(['Smith, "Jo"']);
    expect(rows[2].slice(-2)).toEqual(["33", "false"]);
    // A name a spreadsheet would run as a formula is defused.
    expect(rows[3][1]).toBe("'=HYPERLINK(1)");
    expect(rows[3].slice(-2)).toEqual(["", ""]);
  });

  it("streams large courses page by page, every learner once, in enrollment order", async () => {
    const u = await createTenant();
    const course = await post(u, "/v1/admin/courses", { name: unique("Big") });
    const section = await post(u, `/v1/admin/courses/${course.id}/sections`, { name: "Only" });
    const q = await place(u, course.id, section.id, "quiz", "Q");
    const now = new Date().toISOString();
    const count = 430;
    // Same enrollment time for all: the keyset must break ties by id.
    for (let i = 0; i < count; i += 20) {
      const values = Array.from({ length: Math.min(20, count - i) }, (_, j) => i + j);
      await env.DB.batch(
        values.map((n) =>
          env.DB.prepare(
            `INSERT INTO users (tenant_id, kind, email, name, created_at, updated_at) VALUES (?, 'learner', ?, ?, ?, ?)`,
          ).bind(u.id, `bulk-${n}@example.com`, `Learner ${n}`, now, now),
        ),
      );
    }
    await env.DB.prepare(
      `INSERT INTO enrollments (tenant_id, course_id, user_id, status, source, enrolled_at, updated_at)
       SELECT tenant_id, ?, id, 'active', 'admin', '2026-03-01T00:00:00.000Z', ? FROM users WHERE tenant_id = ? AND kind = 'learner'`,
    )
      .bind(course.id, now, u.id)
      .run();
    await env.DB.prepare(
      `INSERT INTO module_progress (tenant_id, enrollment_id, placement_id, course_id, user_id, status, score, max_score, attempts, updated_at)
       SELECT tenant_id, id, ?, course_id, user_id, 'passed', 7, 10, 1, ? FROM enrollments WHERE tenant_id = ? AND course_id = ?`,
    )
      .bind(q.placementId, now, u.id, course.id)
      .run();
    const res = await api("GET", `/v1/admin/courses/${course.id}/gradebook.csv`, { token: u.key });
    expectStatus(res, 200);
    const rows = parseCsv(res.text).slice(1);
    expect(rows).toHaveLength(count);
    const ids = rows.map((r) => Number(r[0]));
    expect(new Set(ids).size).toBe(count);
    const order = await env.DB.prepare(
      "SELECT user_id FROM enrollments WHERE tenant_id = ? AND course_id = ? ORDER BY id",
    )
      .bind(u.id, course.id)
      .all<{ user_id: number }>();
    expect(ids).toEqual(order.results.map((r) => r.user_id));
    expect(rows.every((r) => r[7] === "70" && r[8] === "passed")).toBe(true);
  });

  it("quotes CSV cells per RFC 4180", () => {
    expect(csvCell("plain")).toBe("plain");
    expect(csvCell("a,b")).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell("two\nlines")).toBe('"two\nlines"');
    expect(csvCell("-1+1")).toBe("'-1+1");
    expect(csvCell("@SUM(A1)")).toBe("'@SUM(A1)");
    expect(csvCell(null)).toBe("");
    expect(csvCell(12.5)).toBe("12.5");
    expect(csvCell(false)).toBe("false");
  });

  it("refuses other academies (404), missing or lacking credentials (401/403) and bad queries (422)", async () => {
    for (const path of [gradebook, `${gradebook}.csv`]) {
      expectProblem(await api("GET", path, { token: other.key }), 404);
      expectProblem(await api("GET", path), 401);
    }
    const noReports = await keyWithout(t, "reports:read");
    for (const path of [gradebook, `${gradebook}.csv`]) {
      expect(expectProblem(await api("GET", path, { token: noReports }), 403).required_permission).toBe("reports:read");
    }
    expectProblem(await api("GET", "/v1/admin/courses/999999999/gradebook", { token: t.key }), 404);
    expectProblem(await api("GET", "/v1/admin/courses/abc/gradebook.csv", { token: t.key }), 422);
    expect(expectProblem(await api("GET", `${gradebook}?per_page=0`, { token: t.key }), 422).errors?.[0].path).toBe(
      "query.per_page",
    );
  });
});
