/**
 * Quizzes and live attempts: settings on the quiz module, static and dynamic question selection, attempts in the
 * QuizAttempt Durable Object (resume, deadline, alarm auto-submit, survival of an eviction), grading, results under
 * the visibility and retake rules, manual essay grading feeding course progress, analysis.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { attemptStub } from "../src/modules/quizzes/attempts";
import { api, expectProblem, expectStatus } from "./helpers/api";
import { createTenant, keyWithout, learnerLogin, learnerSession, type TestTenant, unique } from "./helpers/factories";

type Learner = Awaited<ReturnType<typeof learnerSession>>;

async function post(t: TestTenant, path: string, body: unknown, token = t.key) {
  const res = await api("POST", path, { token, body });
  expect(res.status, `${path}: ${res.text}`).toBeLessThan(300);
  return res.body;
}

const Q = {
  mc: (title = "Capital of France?") => ({
    type: "multiple_choice",
    title,
    points: 2,
    options: [{ text: "Paris", correct: true }, { text: "Lyon" }, { text: "Nice" }],
  }),
  tf: { type: "true_false", title: "The earth is round", correct_answer: true },
  short: { type: "short_answers", title: "Largest ocean?", accepted_answers: ["Pacific", "Pacific Ocean"] },
  num: { type: "numeric", title: "Pi to 2 places", correct_value: 3.14, tolerance: 0.005, negative_points: 1 },
  essay: { type: "essay", title: "Explain gravity", points: 5 },
};

async function question(t: TestTenant, body: Record<string, unknown>) {
  return post(t, "/v1/admin/questions", body);
}

/** A published course with one quiz placement, the quiz's questions chosen, and enrolled learners. */
async function quizCourse(
  t: TestTenant,
  settings: Record<string, unknown>,
  questionIds: number[],
  learners: Learner[],
) {
  const course = await post(t, "/v1/admin/courses", { name: unique("Course") });
  const section = await post(t, `/v1/admin/courses/${course.id}/sections`, { name: "Week 1" });
  const quiz = await post(t, "/v1/admin/modules", { type: "quiz", name: unique("Quiz"), settings });
  if (questionIds.length) {
    const res = await api("PUT", `/v1/admin/quizzes/${quiz.id}/questions`, {
      token: t.key,
      body: { question_ids: questionIds },
    });
    expectStatus(res, 200);
  }
  const placement = await post(t, `/v1/admin/courses/${course.id}/sections/${section.id}/placements`, {
    module_id: quiz.id,
    required: true,
  });
  expectStatus(await api("POST", `/v1/admin/courses/${course.id}/publish`, { token: t.key }), 200);
  if (learners.length) {
    await post(t, `/v1/admin/courses/${course.id}/enrollments`, { learner_ids: learners.map((l) => l.id) });
  }
  return { courseId: course.id as number, placementId: placement.id as number, moduleId: quiz.id as number };
}

const start = (l: Learner, c: { courseId: number; placementId: number; moduleId: number }) =>
  api("POST", `/v1/learner/quizzes/${c.moduleId}/attempts`, {
    token: l.token,
    body: { course_id: c.courseId, placement_id: c.placementId },
  });
const answer = (l: Learner, attemptId: number, questionId: number, a: unknown) =>
  api("PUT", `/v1/learner/attempts/${attemptId}/answers/${questionId}`, { token: l.token, body: { answer: a } });

async function progressOf(tenantId: number, placementId: number, userId: number) {
  return env.DB.prepare(
    "SELECT status, score, max_score FROM module_progress WHERE tenant_id = ? AND placement_id = ? AND user_id = ?",
  )
    .bind(tenantId, placementId, userId)
    .first<{ status: string; score: number; max_score: number }>();
}

let t: TestTenant;
let other: TestTenant;
beforeAll(async () => {
  [t, other] = await Promise.all([createTenant(), createTenant()]);
});

describe("quiz settings and questions", () => {
  it("validates the quiz settings of the seed on the module", async () => {
    const ok = await post(t, "/v1/admin/modules", {
      type: "quiz",
      name: unique("Quiz"),
      settings: { time_limit_hours: 1, time_limit_minutes: 15, show_correct_answers: "always", shuffle_answers: true },
    });
    expect(ok.settings).toMatchObject({ time_limit_hours: 1, time_limit_minutes: 15, selection: "static" });
    const bad = await api("POST", "/v1/admin/modules", {
      token: t.key,
      body: {
        type: "quiz",
        name: "x",
        settings: { selection: "dynamic", time_limit_hours: 24, time_limit_minutes: 1 },
      },
    });
    const problem = expectProblem(bad, 422);
    expect(problem.errors?.map((e) => e.path)).toEqual(
      expect.arrayContaining(["settings.time_limit_minutes", "settings.question_rules"]),
    );
  });

  it("sets a static quiz's questions in order, refusing unknown ids, another academy's quiz is 404", async () => {
    const a = await question(t, Q.tf);
    const b = await question(t, Q.short);
    const quiz = await post(t, "/v1/admin/modules", { type: "quiz", name: unique("Quiz") });
    const res = await api("PUT", `/v1/admin/quizzes/${quiz.id}/questions`, {
      token: t.key,
      body: { question_ids: [b.id, a.id] },
    });
    expectStatus(res, 200);
    expect(res.body.question_ids).toEqual([b.id, a.id]);
    const listed = await api("GET", `/v1/admin/questions?quiz_id=${quiz.id}`, { token: t.key });
    expect(listed.body.data.map((q: { id: number }) => q.id).sort()).toEqual([a.id, b.id].sort());
    const bad = await api("PUT", `/v1/admin/quizzes/${quiz.id}/questions`, {
      token: t.key,
      body: { question_ids: [a.id, 999_999_999] },
    });
    expect(expectProblem(bad, 422).errors?.[0].path).toBe("question_ids.1");
    expectProblem(await api("GET", `/v1/admin/quizzes/${quiz.id}/questions`, { token: other.key }), 404);
    expectProblem(await api("GET", `/v1/admin/quizzes/${quiz.id}/questions`), 401);
    const noWrite = await keyWithout(t, "assessments:write");
    expectProblem(
      await api("PUT", `/v1/admin/quizzes/${quiz.id}/questions`, { token: noWrite, body: { question_ids: [] } }),
      403,
    );
  });
});

describe("attempts (done-when: timed, shuffled, resumed, timed out, graded)", () => {
  it("runs a timed shuffled quiz: resume after reload, the deadline refuses answers, the alarm submits and grades", async () => {
    const learner = await learnerSession(t);
    const qs = await Promise.all([question(t, Q.mc()), question(t, Q.tf), question(t, Q.short), question(t, Q.num)]);
    const c = await quizCourse(
      t,
      {
        time_limit_minutes: 10,
        shuffle_questions: true,
        shuffle_answers: true,
        pass_percent: 50,
        show_correct_answers: "always",
      },
      qs.map((q) => q.id),
      [learner],
    );
    const started = await start(learner, c);
    expectStatus(started, 201);
    const attempt = started.body;
    expect(attempt.status).toBe("in_progress");
    expect(attempt.questions).toHaveLength(4);
    expect(attempt.deadline_at).toBeTruthy();
    expect(attempt.seconds_left).toBeGreaterThan(500);
    // no answer key leaves the object
    expect(JSON.stringify(attempt.questions)).not.toMatch(/correct|accepted_answers|correct_value/);
    const mc = attempt.questions.find((q: { type: string }) => q.type === "multiple_choice");
    expect(mc.options.map((o: { text: string }) => o.text).sort()).toEqual(["Lyon", "Nice", "Paris"]);
    const paris = mc.options.find((o: { text: string }) => o.text === "Paris").id;

    expectStatus(await answer(learner, attempt.id, mc.id, { option_id: paris }), 200);
    const tf = qs[1];
    expectStatus(await answer(learner, attempt.id, tf.id, { value: false }), 200);
    // idempotent by question: the same answer again, then a change, keep one answer
    expectStatus(await answer(learner, attempt.id, tf.id, { value: true }), 200);
    expectStatus(await answer(learner, attempt.id, tf.id, { value: true }), 200);
    // bad input: wrong shape, a question not in the attempt, another learner, another academy
    expect(expectProblem(await answer(learner, attempt.id, qs[2].id, { option_id: 1 }), 422).errors?.[0].path).toBe(
      "answer.text",
    );
    const stray = await question(t, Q.tf);
    expectProblem(await answer(learner, attempt.id, stray.id, { value: true }), 404);
    const intruder = await learnerSession(t);
    expectProblem(await answer(intruder, attempt.id, tf.id, { value: true }), 404);
    expectProblem(await api("GET", `/v1/learner/attempts/${attempt.id}`, { token: intruder.token }), 404);

    // reload on another device: the same questions in the same order with the saved answers
    const reloaded = await api("GET", `/v1/learner/attempts/${attempt.id}`, { token: learner.token });
    expectStatus(reloaded, 200);
    expect(reloaded.body.questions.map((q: { id: number }) => q.id)).toEqual(
      attempt.questions.map((q: { id: number }) => q.id),
    );
    expect(reloaded.body.answered_count).toBe(2);
    expect(reloaded.body.questions.find((q: { id: number }) => q.id === tf.id).answer).toEqual({ value: true });

    // the state survives the object being reset (eviction / restart): a new instance reads its SQLite storage
    const stub = attemptStub(env, t.id, attempt.id);
    await runInDurableObject(stub, (instance: unknown, state: DurableObjectState) => {
      expect((instance as { loaded?: unknown }).loaded).toBeDefined();
      state.abort("test: simulate eviction");
    }).catch(() => undefined);
    const fresh = attemptStub(env, t.id, attempt.id);
    await runInDurableObject(fresh, (instance: unknown) => {
      expect((instance as { loaded?: unknown }).loaded).toBeUndefined();
    });
    const resumed = await api("GET", `/v1/learner/attempts/${attempt.id}`, { token: learner.token });
    expect(resumed.body.answered_count).toBe(2);

    // time runs out (the stored deadline is moved into the past) and the learner is gone: the alarm submits
    await runInDurableObject(fresh, (instance: unknown, state: DurableObjectState) => {
      state.storage.sql.exec(
        "UPDATE attempt SET meta = json_set(meta, '$.deadlineAt', ?) WHERE k = 1",
        new Date(Date.now() - 1000).toISOString(),
      );
      (instance as { loaded?: unknown }).loaded = undefined;
    });
    expectProblem(await answer(learner, attempt.id, qs[2].id, { text: "Pacific" }), 409);
    expect(await runDurableObjectAlarm(fresh)).toBe(true);

    const result = await api("GET", `/v1/learner/attempts/${attempt.id}`, { token: learner.token });
    expectStatus(result, 200);
    expect(result.body).toMatchObject({
      status: "graded",
      submitted_by: "deadline",
      score: 3,
      max_score: 5,
      percent: 60,
      passed: true,
      correct_answers_visible: true,
    });
    const byId = new Map(result.body.questions.map((q: { id: number }) => [q.id, q]));
    expect(byId.get(mc.id)).toMatchObject({ status: "correct", score: 2, correct_answer: { option_id: paris } });
    expect(byId.get(qs[2].id)).toMatchObject({ status: "unanswered", score: 0 });
    expect(await progressOf(t.id, c.placementId, learner.id)).toMatchObject({
      status: "passed",
      score: 3,
      max_score: 5,
    });
    const events = await env.DB.prepare(
      "SELECT type FROM outbox WHERE tenant_id = ? AND json_extract(data, '$.id') = ? AND type LIKE 'quiz_attempt.%' ORDER BY id",
    )
      .bind(t.id, attempt.id)
      .all<{ type: string }>();
    expect(events.results.map((e) => e.type)).toEqual([
      "quiz_attempt.started",
      "quiz_attempt.submitted",
      "quiz_attempt.graded",
    ]);
    // submitting again is the same result, and the alarm firing again changes nothing
    const again = await api("POST", `/v1/learner/attempts/${attempt.id}/submit`, { token: learner.token });
    expectStatus(again, 200);
    expect(again.body.score).toBe(3);
    await runDurableObjectAlarm(fresh);
    const count = await env.DB.prepare(
      "SELECT count(*) AS n FROM outbox WHERE tenant_id = ? AND type = 'quiz_attempt.submitted' AND json_extract(data, '$.id') = ?",
    )
      .bind(t.id, attempt.id)
      .first<{ n: number }>();
    expect(count?.n).toBe(1);
  });

  it("grades on submit with negative marking, enforces retakes and hides right answers until no retake is left", async () => {
    const learner = await learnerSession(t);
    const qs = await Promise.all([question(t, Q.num), question(t, Q.short)]);
    const c = await quizCourse(
      t,
      { allow_retakes: true, retakes_allowed: 1, pass_percent: 100 },
      qs.map((q) => q.id),
      [learner],
    );
    const first = (await start(learner, c)).body;
    // a second start while one runs resumes it
    const same = await start(learner, c);
    expectStatus(same, 200);
    expect(same.body.id).toBe(first.id);
    await answer(learner, first.id, qs[0].id, { number: 2 });
    await answer(learner, first.id, qs[1].id, { text: "  pacific   OCEAN " });
    const r1 = await api("POST", `/v1/learner/attempts/${first.id}/submit`, { token: learner.token });
    expectStatus(r1, 200);
    // numeric wrong: -1 (negative marking); short answer normalised: +1; total floored at 0 -> 0
    expect(r1.body).toMatchObject({
      status: "graded",
      passed: false,
      can_retake: true,
      correct_answers_visible: false,
    });
    expect(r1.body.questions.map((q: { score: number }) => q.score).sort()).toEqual([-1, 1]);
    expect(r1.body.questions[0].correct_answer).toBeUndefined();
    expectProblem(await answer(learner, first.id, qs[0].id, { number: 3.15 }), 409);
    expect((await progressOf(t.id, c.placementId, learner.id))?.status).toBe("failed");

    const second = await start(learner, c);
    expectStatus(second, 201);
    expect(second.body.number).toBe(2);
    await answer(learner, second.body.id, qs[0].id, { number: 3.1412 });
    await answer(learner, second.body.id, qs[1].id, { text: "Pacific" });
    const r2 = await api("POST", `/v1/learner/attempts/${second.body.id}/submit`, { token: learner.token });
    expect(r2.body).toMatchObject({ passed: true, can_retake: false, correct_answers_visible: true });
    expect(r2.body.questions[0].correct_answer).toBeDefined();
    // the first attempt's answers are now visible too (no retake left), checked on every read
    const r1Again = await api("GET", `/v1/learner/attempts/${first.id}`, { token: learner.token });
    expect(r1Again.body.correct_answers_visible).toBe(true);
    const third = await start(learner, c);
    expect(expectProblem(third, 409)).toMatchObject({ attempts_used: 2, attempts_allowed: 2 });
    const mine = await api("GET", `/v1/learner/quizzes/${c.moduleId}/attempts`, { token: learner.token });
    expect(mine.body.data.map((a: { number: number }) => a.number)).toEqual([2, 1]);
    expect((await progressOf(t.id, c.placementId, learner.id))?.status).toBe("passed");
  });

  it("refuses starts outside access, window and question supply", async () => {
    const learner = await learnerSession(t);
    const notEnrolled = await learnerSession(t);
    const q = await question(t, Q.tf);
    const c = await quizCourse(t, {}, [q.id], [learner]);
    expectProblem(await start(notEnrolled, c), 403);
    expectProblem(
      await api("POST", `/v1/learner/quizzes/${c.moduleId}/attempts`, {
        body: { course_id: c.courseId, placement_id: c.placementId },
      }),
      401,
    );
    expectProblem(
      await api("POST", `/v1/learner/quizzes/${c.moduleId}/attempts`, {
        token: t.key,
        body: { course_id: c.courseId, placement_id: c.placementId },
      }),
      403,
    );
    expect(
      expectProblem(
        await api("POST", `/v1/learner/quizzes/${c.moduleId}/attempts`, {
          token: learner.token,
          body: { course_id: "x" },
        }),
        422,
      ).errors?.length,
    ).toBeGreaterThan(0);
    expectProblem(await start(learner, { ...c, moduleId: c.moduleId + 100_000 }), 404);

    const closed = await quizCourse(t, { available_until: "2020-01-01T00:00:00Z" }, [q.id], [learner]);
    expectProblem(await start(learner, closed), 409);
    const empty = await quizCourse(t, {}, [], [learner]);
    expectProblem(await start(learner, empty), 409);

    // dynamic: a category with fewer questions than the rule draws
    const cat = await post(t, "/v1/admin/categories", { type: "question", name: unique("Cat") });
    await question(t, { ...Q.tf, category_ids: [cat.id] });
    const dyn = await quizCourse(
      t,
      { selection: "dynamic", question_rules: [{ category_id: cat.id, count: 2 }] },
      [],
      [learner],
    );
    expect(expectProblem(await start(learner, dyn), 409)).toMatchObject({
      category_id: cat.id,
      needed: 2,
      available: 1,
    });
    await question(t, { ...Q.short, category_ids: [cat.id] });
    await question(t, { ...Q.num, category_ids: [cat.id] });
    const drawn = await start(learner, dyn);
    expectStatus(drawn, 201);
    expect(drawn.body.questions).toHaveLength(2);
  });

  it("counts answer saves in the attempt's object against the academy's write limit, not the session's", async () => {
    const t = await createTenant();
    const q = await question(t, Q.tf);
    const enrolled = await learnerSession(t);
    const c = await quizCourse(t, {}, [q.id], [enrolled]);
    // The limit is lowered after the set-up (the owner key's writes count too), then the learner signs in.
    expectStatus(
      await api("PATCH", `/v1/platform/tenants/${t.id}`, {
        token: env.PLATFORM_ADMIN_TOKEN,
        body: { settings: { rate_limits: { writes_per_minute: 3 } } },
      }),
      200,
    );
    const learner = { ...enrolled, token: (await learnerLogin(t, enrolled.email)).access_token };
    const started = await start(learner, c); // write 1 of the session
    expectStatus(started, 201);
    for (const value of [true, false, true]) {
      expectStatus(await answer(learner, started.body.id, q.id, { value }), 200);
    }
    const limited = await answer(learner, started.body.id, q.id, { value: false });
    const problem = expectProblem(limited, 429);
    expect(String(problem.detail)).toContain("3 answer saves per minute");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    // The refused save changed nothing; the session's own write budget was not spent by the saves.
    const state = await api("GET", `/v1/learner/attempts/${started.body.id}`, { token: learner.token });
    expect(JSON.stringify(state.body)).toContain('"answer":{"value":true}');
    expectStatus(await api("PATCH", "/v1/learner/me", { token: learner.token, body: { name: "Still allowed" } }), 200);
  });

  it("forces sequential answering and grades in real time", async () => {
    const learner = await learnerSession(t);
    const qs = [await question(t, Q.tf), await question(t, Q.short)];
    const c = await quizCourse(
      t,
      { force_sequential: true, real_time_grading: true, show_correct_answers: "never" },
      qs.map((q) => q.id),
      [learner],
    );
    const a = (await start(learner, c)).body;
    expectProblem(await answer(learner, a.id, qs[1].id, { text: "Pacific" }), 409);
    const saved = await answer(learner, a.id, qs[0].id, { value: false });
    expectStatus(saved, 200);
    expect(saved.body.feedback).toEqual({ correct: false, score: 0 });
    expectProblem(await answer(learner, a.id, qs[0].id, { value: true }), 409);
    expectStatus(await answer(learner, a.id, qs[1].id, { text: "Pacific" }), 200);
  });
});

describe("manual grading and analysis", () => {
  it("an essay waits for a grader (module submitted); grading it passes the module and completes the course", async () => {
    const learner = await learnerSession(t);
    const qs = [await question(t, Q.mc()), await question(t, Q.essay)];
    const c = await quizCourse(
      t,
      { pass_percent: 60 },
      qs.map((q) => q.id),
      [learner],
    );
    const a = (await start(learner, c)).body;
    const mc = a.questions.find((q: { type: string }) => q.type === "multiple_choice");
    await answer(learner, a.id, mc.id, { option_id: mc.options.find((o: { text: string }) => o.text === "Paris").id });
    await answer(learner, a.id, qs[1].id, { text: "Mass attracts mass." });
    const submitted = await api("POST", `/v1/learner/attempts/${a.id}/submit`, { token: learner.token });
    expect(submitted.body).toMatchObject({ status: "pending_review", passed: null, score: 2, max_score: 7 });
    expect((await progressOf(t.id, c.placementId, learner.id))?.status).toBe("submitted");

    const pending = await api("GET", `/v1/admin/quizzes/${c.moduleId}/attempts?status=pending_review`, {
      token: t.key,
    });
    expect(pending.body.data.map((x: { id: number }) => x.id)).toEqual([a.id]);
    const detail = await api("GET", `/v1/admin/attempts/${a.id}`, { token: t.key });
    expect(detail.body.questions.find((q: { id: number }) => q.id === qs[1].id).status).toBe("pending_review");

    // bad grades: over the points, a question not in the attempt; no permission; another academy
    const over = await api("POST", `/v1/admin/attempts/${a.id}/grade`, {
      token: t.key,
      body: { grades: [{ question_id: qs[1].id, score: 6 }] },
    });
    expect(expectProblem(over, 422).errors?.[0].path).toBe("grades.0.score");
    const noGrading = await keyWithout(t, "grading:write");
    expectProblem(
      await api("POST", `/v1/admin/attempts/${a.id}/grade`, {
        token: noGrading,
        body: { grades: [{ question_id: qs[1].id, score: 4 }] },
      }),
      403,
    );
    expectProblem(
      await api("POST", `/v1/admin/attempts/${a.id}/grade`, {
        token: other.key,
        body: { grades: [{ question_id: qs[1].id, score: 4 }] },
      }),
      404,
    );
    expectProblem(await api("GET", `/v1/admin/attempts/${a.id}`, { token: other.key }), 404);

    const graded = await api("POST", `/v1/admin/attempts/${a.id}/grade`, {
      token: t.key,
      body: { grades: [{ question_id: qs[1].id, score: 4, feedback: "Good, cite Newton." }] },
    });
    expectStatus(graded, 200);
    expect(graded.body).toMatchObject({ status: "graded", score: 6, passed: true });
    expect(await progressOf(t.id, c.placementId, learner.id)).toMatchObject({ status: "passed", score: 6 });
    const enrollment = await env.DB.prepare(
      "SELECT progress_percent, completed_at FROM enrollments WHERE tenant_id = ? AND course_id = ? AND user_id = ?",
    )
      .bind(t.id, c.courseId, learner.id)
      .first<{ progress_percent: number; completed_at: string | null }>();
    expect(enrollment?.progress_percent).toBe(100);
    expect(enrollment?.completed_at).toBeTruthy();
    const mine = await api("GET", `/v1/learner/attempts/${a.id}`, { token: learner.token });
    expect(mine.body.questions.find((q: { id: number }) => q.id === qs[1].id)).toMatchObject({
      score: 4,
      feedback: "Good, cite Newton.",
    });

    const analysis = await api("GET", `/v1/admin/quizzes/${c.moduleId}/analysis`, { token: t.key });
    expectStatus(analysis, 200);
    expect(analysis.body).toMatchObject({ attempts: 1, pass_rate: 1 });
    const mcStats = analysis.body.questions.find((q: { question_id: number }) => q.question_id === qs[0].id);
    expect(mcStats).toMatchObject({ attempts: 1, correct: 1, correct_rate: 1, average_score: 2 });
    expect(mcStats.distribution.find((d: { label: string }) => d.label === "Paris").count).toBe(1);
    expectProblem(await api("GET", `/v1/admin/quizzes/${c.moduleId}/analysis`, { token: other.key }), 404);
  });
});
