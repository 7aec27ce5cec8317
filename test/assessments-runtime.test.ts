/**
 * Surveys, assignments and flashcards (issue 8 items 5-7): each completes its module through the documented
 * endpoints, and bad input is a precise problem with nothing written.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../src/index";
import { api, expectProblem, expectStatus } from "./helpers/api";
import { createTenant, keyWithout, lastEvent, learnerSession, type TestTenant, unique } from "./helpers/factories";

type Learner = Awaited<ReturnType<typeof learnerSession>>;

async function post(t: TestTenant, path: string, body: unknown) {
  const res = await api("POST", path, { token: t.key, body });
  expect(res.status, res.text).toBeLessThan(300);
  return res.body;
}

/** A published course with the given modules, one placement each, and an enrolled learner. */
async function courseWith(t: TestTenant, modules: { type: string; settings: Record<string, unknown> }[]) {
  const course = await post(t, "/v1/admin/courses", { name: unique("Course") });
  const section = await post(t, `/v1/admin/courses/${course.id}/sections`, { name: "Week 1" });
  const placed: { moduleId: number; placementId: number }[] = [];
  for (const m of modules) {
    const module = await post(t, "/v1/admin/modules", { type: m.type, name: unique(m.type), settings: m.settings });
    const placement = await post(t, `/v1/admin/courses/${course.id}/sections/${section.id}/placements`, {
      module_id: module.id,
      required: true,
    });
    placed.push({ moduleId: module.id, placementId: placement.id });
  }
  expectStatus(await api("POST", `/v1/admin/courses/${course.id}/publish`, { token: t.key }), 200);
  const learner = await learnerSession(t);
  await post(t, `/v1/admin/courses/${course.id}/enrollments`, { learner_ids: [learner.id] });
  return { courseId: course.id as number, placed, learner };
}

async function progressOf(l: Learner, courseId: number) {
  const res = await api("GET", `/v1/learner/courses/${courseId}/outline`, { token: l.token });
  expectStatus(res, 200);
  return res.body.enrollment.progress_percent as number;
}

async function multipart(path: string, token: string, form: FormData) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`http://lectern.test${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
      body: form,
    }),
    env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, text };
}

const count = async (sql: string, ...params: unknown[]) =>
  (
    await env.DB.prepare(sql)
      .bind(...params)
      .first<{ n: number }>()
  )?.n ?? 0;

const PDF = new TextEncoder().encode("%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n%%EOF\n");

const SURVEY = {
  questions: [
    { id: "q1", type: "rating", prompt: "How clear was it?" },
    { id: "q2", type: "single_choice", prompt: "Pace?", options: ["Slow", "Right", "Fast"] },
    { id: "q3", type: "multiple_choice", prompt: "Liked?", options: ["Videos", "Quizzes", "Forum"], required: false },
    { id: "q4", type: "text", prompt: "Anything else?", required: false },
  ],
};

describe("surveys", () => {
  let t: TestTenant;
  beforeAll(async () => {
    t = await createTenant();
  });

  it("a response completes the module, is aggregated and exported; a second one is a 409", async () => {
    const { courseId, placed, learner } = await courseWith(t, [
      { type: "survey", settings: SURVEY },
      { type: "text", settings: {} },
    ]);
    const [{ moduleId, placementId }] = placed;
    const path = `/v1/learner/surveys/${moduleId}/responses`;
    const body = {
      course_id: courseId,
      placement_id: placementId,
      answers: [
        { question_id: "q1", value: 4 },
        { question_id: "q2", value: 1 },
        { question_id: "q3", value: [0, 2] },
        { question_id: "q4", value: "=cmd more examples, please" },
      ],
    };
    expect(await progressOf(learner, courseId)).toBe(0);
    const res = await api("POST", path, { token: learner.token, body });
    expectStatus(res, 201);
    expect(res.body).toMatchObject({ module_status: "passed", progress_percent: 50, anonymous: false });
    expect(await progressOf(learner, courseId)).toBe(50);
    expect(await lastEvent(t.id, "survey_response.created")).toMatchObject({
      response_id: res.body.id,
      module_id: moduleId,
      user_id: learner.id,
      anonymous: false,
    });

    const again = await api("POST", path, { token: learner.token, body });
    expectProblem(again, 409);
    expect(await count("SELECT count(*) AS n FROM survey_responses WHERE tenant_id = ?", t.id)).toBe(1);

    const results = await api("GET", `/v1/admin/surveys/${moduleId}/results`, { token: t.key });
    expectStatus(results, 200);
    expect(results.body.responses).toBe(1);
    const [q1, q2, q3, q4] = results.body.questions;
    expect(q1).toMatchObject({ answered: 1, average: 4 });
    expect(q1.distribution.find((b: { value: number }) => b.value === 4).count).toBe(1);
    expect(q2.distribution.map((b: { count: number }) => b.count)).toEqual([0, 1, 0]);
    expect(q3.distribution.map((b: { count: number }) => b.count)).toEqual([1, 0, 1]);
    expect(q4.recent_texts).toEqual(["=cmd more examples, please"]);

    const csv = await api("GET", `/v1/admin/surveys/${moduleId}/results.csv`, { token: t.key });
    expectStatus(csv, 200);
    const lines = csv.text.trim().split("\r\n");
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(learner.email);
    expect(lines[1]).toContain("Videos; Forum");
    expect(lines[1]).toContain("'=cmd more examples");
  });

  it("anonymous responses store no learner; bad answers are 422s naming each, with nothing written", async () => {
    const { courseId, placed, learner } = await courseWith(t, [
      { type: "survey", settings: { ...SURVEY, anonymous: true, allow_multiple_responses: true } },
    ]);
    const [{ moduleId, placementId }] = placed;
    const path = `/v1/learner/surveys/${moduleId}/responses`;
    const bad = await api("POST", path, {
      token: learner.token,
      body: {
        course_id: courseId,
        placement_id: placementId,
        answers: [
          { question_id: "nope", value: 1 },
          { question_id: "q1", value: 9 },
        ],
      },
    });
    expectProblem(bad, 422);
    const paths = bad.body.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(expect.arrayContaining(["answers.0.question_id", "answers.1.value", "answers"]));
    expect(await count("SELECT count(*) AS n FROM survey_responses WHERE module_id = ?", moduleId)).toBe(0);

    const ok = {
      course_id: courseId,
      placement_id: placementId,
      answers: [
        { question_id: "q1", value: 5 },
        { question_id: "q2", value: 0 },
      ],
    };
    expectStatus(await api("POST", path, { token: learner.token, body: ok }), 201);
    expectStatus(await api("POST", path, { token: learner.token, body: ok }), 201);
    expect(
      await count("SELECT count(*) AS n FROM survey_responses WHERE module_id = ? AND user_id IS NULL", moduleId),
    ).toBe(2);
    const results = await api("GET", `/v1/admin/surveys/${moduleId}/results?course_id=${courseId}`, { token: t.key });
    expect(results.body).toMatchObject({ responses: 2, anonymous: true });
  });

  it("auth: 401 without a token, 403 for a learner on admin results or a key without assessments:read; another tenant's survey 404", async () => {
    const { placed, learner } = await courseWith(t, [{ type: "survey", settings: SURVEY }]);
    const moduleId = placed[0].moduleId;
    expectProblem(await api("GET", `/v1/admin/surveys/${moduleId}/results`), 401);
    expectProblem(await api("GET", `/v1/admin/surveys/${moduleId}/results`, { token: learner.token }), 403);
    const key = await keyWithout(t, "assessments:read");
    expectProblem(await api("GET", `/v1/admin/surveys/${moduleId}/results`, { token: key }), 403);
    const other = await createTenant();
    expectProblem(await api("GET", `/v1/admin/surveys/${moduleId}/results`, { token: other.key }), 404);
    expectProblem(await api("POST", `/v1/learner/surveys/${moduleId}/responses`, { body: {} }), 401);
  });
});

describe("assignments", () => {
  let t: TestTenant;
  beforeAll(async () => {
    t = await createTenant();
  });

  it("a file submission moves the module to submitted; the evaluation passes it and course progress moves", async () => {
    const { courseId, placed, learner } = await courseWith(t, [
      {
        type: "assignment",
        settings: { submission_type: "both", allowed_file_types: ["pdf"], max_file_mb: 1, total_points: 40 },
      },
      { type: "text", settings: {} },
    ]);
    const [{ moduleId, placementId }] = placed;
    const path = `/v1/learner/assignments/${moduleId}/submissions`;
    const form = new FormData();
    form.set("course_id", String(courseId));
    form.set("placement_id", String(placementId));
    form.set("text", "My essay is attached.");
    form.append("files", new File([PDF], "essay.pdf", { type: "application/pdf" }));
    const res = await multipart(path, learner.token, form);
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ status: "submitted", attempt: 1, late: false, text: "My essay is attached." });
    expect(res.body.files).toHaveLength(1);
    const key = await env.DB.prepare("SELECT r2_key FROM submission_files WHERE submission_id = ?")
      .bind(res.body.id)
      .first<{ r2_key: string }>();
    expect(key?.r2_key.startsWith(`t/${t.id}/submissions/`)).toBe(true);
    expect(await lastEvent(t.id, "submission.created")).toMatchObject({ id: res.body.id, file_count: 1 });

    const pending = await api("GET", `/v1/admin/submissions/pending-count?course_id=${courseId}`, { token: t.key });
    expect(pending.body).toEqual({ total: 1, courses: [{ course_id: courseId, pending: 1 }] });
    const list = await api("GET", `/v1/admin/submissions?status=submitted&course_id=${courseId}`, { token: t.key });
    expect(list.body.data.map((s: { id: number }) => s.id)).toEqual([res.body.id]);

    const file = await api("GET", `/v1/admin/submissions/${res.body.id}/files/${res.body.files[0].id}`, {
      token: t.key,
    });
    expectStatus(file, 200);
    expect(file.text.startsWith("%PDF-")).toBe(true);

    const tooHigh = await api("POST", `/v1/admin/submissions/${res.body.id}/evaluate`, {
      token: t.key,
      body: { score: 41 },
    });
    expectProblem(tooHigh, 422);
    const graded = await api("POST", `/v1/admin/submissions/${res.body.id}/evaluate`, {
      token: t.key,
      body: { score: 32, feedback: "Well argued." },
    });
    expectStatus(graded, 200);
    expect(graded.body).toMatchObject({ status: "passed", score: 32, feedback: "Well argued." });
    expect(await lastEvent(t.id, "submission.evaluated")).toMatchObject({
      id: res.body.id,
      status: "passed",
      score: 32,
    });
    expect(await progressOf(learner, courseId)).toBe(50);
    const after = await api("GET", `/v1/admin/submissions/pending-count?course_id=${courseId}`, { token: t.key });
    expect(after.body.total).toBe(0);
  });

  it("refuses disallowed, disguised and oversized files, late and repeated submissions, with nothing written", async () => {
    const { courseId, placed, learner } = await courseWith(t, [
      { type: "assignment", settings: { submission_type: "file", allowed_file_types: ["pdf"], max_file_mb: 1 } },
      {
        type: "assignment",
        settings: { submission_type: "text", due_at: "2020-01-01T00:00:00Z", allow_late_submissions: false },
      },
    ]);
    const [a, late] = placed;
    const send = (file: File) => {
      const form = new FormData();
      form.set("course_id", String(courseId));
      form.set("placement_id", String(a.placementId));
      form.append("files", file);
      return multipart(`/v1/learner/assignments/${a.moduleId}/submissions`, learner.token, form);
    };
    expect((await send(new File(["hello"], "notes.txt"))).status).toBe(415);
    const disguised = await send(new File([new Uint8Array([0x4d, 0x5a, 0x90, 0x00])], "virus.pdf"));
    expect(disguised.status).toBe(415);
    expect(disguised.body.type).toContain("content-type-mismatch");
    expect((await send(new File([PDF, new Uint8Array(1024 * 1024)], "big.pdf"))).status).toBe(413);
    expect(await count("SELECT count(*) AS n FROM assignment_submissions WHERE module_id = ?", a.moduleId)).toBe(0);

    expect((await send(new File([PDF], "ok.pdf"))).status).toBe(201);
    const second = await send(new File([PDF], "again.pdf"));
    expect(second.status).toBe(409);
    expect(second.body.code).toBe("resubmission_not_allowed");

    const pastDue = await api("POST", `/v1/learner/assignments/${late.moduleId}/submissions`, {
      token: learner.token,
      body: { course_id: courseId, placement_id: late.placementId, text: "Sorry, late" },
    });
    expectProblem(pastDue, 409);
    expect(pastDue.body.code).toBe("past_due");
  });

  it("a requested resubmission lets the learner submit again", async () => {
    const { courseId, placed, learner } = await courseWith(t, [
      { type: "assignment", settings: { submission_type: "text" } },
    ]);
    const [{ moduleId, placementId }] = placed;
    const path = `/v1/learner/assignments/${moduleId}/submissions`;
    const body = { course_id: courseId, placement_id: placementId, text: "Draft" };
    const first = await api("POST", path, { token: learner.token, body });
    expectStatus(first, 201);
    const requested = await api("POST", `/v1/admin/submissions/${first.body.id}/evaluate`, {
      token: t.key,
      body: { request_resubmission: true, feedback: "Add sources." },
    });
    expect(requested.body.status).toBe("resubmission_requested");
    expect(await lastEvent(t.id, "submission.resubmission_requested")).toMatchObject({ id: first.body.id });
    const second = await api("POST", path, { token: learner.token, body: { ...body, text: "Final" } });
    expectStatus(second, 201);
    expect(second.body.attempt).toBe(2);
  });

  it("auth: 401, 403 without grading:write, another tenant's submission 404", async () => {
    const { courseId, placed, learner } = await courseWith(t, [
      { type: "assignment", settings: { submission_type: "text" } },
    ]);
    const sub = await api("POST", `/v1/learner/assignments/${placed[0].moduleId}/submissions`, {
      token: learner.token,
      body: { course_id: courseId, placement_id: placed[0].placementId, text: "x" },
    });
    expectProblem(await api("GET", `/v1/admin/submissions/${sub.body.id}`), 401);
    const key = await keyWithout(t, "grading:write");
    expectProblem(
      await api("POST", `/v1/admin/submissions/${sub.body.id}/evaluate`, { token: key, body: { score: 1 } }),
      403,
    );
    const other = await createTenant();
    expectProblem(await api("GET", `/v1/admin/submissions/${sub.body.id}`, { token: other.key }), 404);
  });
});

describe("flashcards", () => {
  it("marking every card known completes the module; the deck shows the marks; an unknown card is a 404", async () => {
    const t = await createTenant();
    const { courseId, placed, learner } = await courseWith(t, [
      {
        type: "flashcards",
        settings: {
          cards: [
            { front: "Median", back: "Middle value" },
            { id: "mode", front: "Mode", back: "Most common" },
          ],
        },
      },
      { type: "text", settings: {} },
    ]);
    const [{ moduleId, placementId }] = placed;
    const deckPath = `/v1/learner/flashcards/${moduleId}?course_id=${courseId}&placement_id=${placementId}`;
    const deck = await api("GET", deckPath, { token: learner.token });
    expectStatus(deck, 200);
    expect(deck.body.cards.map((c: { id: string; known: null }) => [c.id, c.known])).toEqual([
      ["c-1", null],
      ["mode", null],
    ]);
    const mark = (card: string, known: boolean) =>
      api("PUT", `/v1/learner/flashcards/${moduleId}/cards/${card}`, {
        token: learner.token,
        body: { course_id: courseId, placement_id: placementId, known },
      });
    expectProblem(await mark("nope", true), 404);
    expect((await mark("c-1", true)).body).toMatchObject({ known_count: 1, deck_complete: false, module_status: null });
    expect((await mark("mode", false)).body.deck_complete).toBe(false);
    expect(await progressOf(learner, courseId)).toBe(0);
    const done = await mark("mode", true);
    expectStatus(done, 200);
    expect(done.body).toMatchObject({ deck_complete: true, module_status: "completed", progress_percent: 50 });
    expect(await progressOf(learner, courseId)).toBe(50);
    expect((await api("GET", deckPath, { token: learner.token })).body.known).toBe(2);
    expectProblem(await api("PUT", `/v1/learner/flashcards/${moduleId}/cards/c-1`, { body: {} }), 401);
    const bad = await api("PUT", `/v1/learner/flashcards/${moduleId}/cards/c-1`, {
      token: learner.token,
      body: { known: 1 },
    });
    expectProblem(bad, 422);
  });
});
