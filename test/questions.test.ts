/** The question bank: per-type answer keys, CRUD, filters, lookup, clone, guarded bulk delete, isolation. */
import { beforeAll, describe, expect, it } from "vitest";
import { api, expectProblem, expectStatus } from "./helpers/api";
import { createTenant, keyWithout, type TestTenant, unique } from "./helpers/factories";

let t: TestTenant;
let other: TestTenant;
beforeAll(async () => {
  [t, other] = await Promise.all([createTenant(), createTenant()]);
});

const create = (body: unknown, token = t.key) => api("POST", "/v1/admin/questions", { token, body });

describe("questions", () => {
  it("creates every type with its answer key, and refuses keys that do not fit the type", async () => {
    const bodies = [
      { type: "multiple_choice", title: "MC", options: [{ text: "a", correct: true }, { text: "b" }] },
      {
        type: "multiple_correct",
        title: "MR",
        options: [
          { text: "a", correct: true },
          { text: "b", correct: true },
        ],
      },
      { type: "true_false", title: "TF", correct_answer: false },
      { type: "short_answers", title: "SA", accepted_answers: ["x"] },
      { type: "numeric", title: "N", correct_value: 2, tolerance: 0.1 },
      {
        type: "fill_in_blanks",
        title: "F",
        content: "[[1]] and [[2]]",
        blanks: [{ accepted_answers: ["a"] }, { accepted_answers: ["b"] }],
      },
      {
        type: "matching",
        title: "M",
        pairs: [
          { left: "a", right: "1" },
          { left: "b", right: "2" },
        ],
      },
      { type: "ordering", title: "O", items: ["1", "2", "3"] },
      { type: "essay", title: "E" },
    ];
    for (const body of bodies) {
      const res = await create(body);
      expectStatus(res, 201);
      expect(res.headers.get("location")).toBe(`/v1/admin/questions/${res.body.id}`);
      expect(res.body.type).toBe(body.type);
    }
    const bad: [unknown, string][] = [
      [
        {
          type: "multiple_choice",
          title: "x",
          options: [
            { text: "a", correct: true },
            { text: "b", correct: true },
          ],
        },
        "options",
      ],
      [{ type: "multiple_correct", title: "x", options: [{ text: "a" }, { text: "b" }] }, "options"],
      [{ type: "true_false", title: "x" }, "correct_answer"],
      [{ type: "short_answers", title: "x", accepted_answers: [] }, "accepted_answers"],
      [{ type: "numeric", title: "x", correct_value: 1, tolerance: -1 }, "tolerance"],
      [{ type: "essay", title: "x", options: [] }, "options"],
      [{ type: "riddle", title: "x" }, "type"],
    ];
    for (const [body, path] of bad) {
      const problem = expectProblem(await create(body), 422);
      expect(
        problem.errors?.map((e) => e.path),
        JSON.stringify(body),
      ).toContain(path);
    }
    expectProblem(await api("POST", "/v1/admin/questions", { body: bodies[0] }), 401);
    expectProblem(await create(bodies[0], await keyWithout(t, "assessments:write")), 403);
  });

  it("updates, filters, looks up, clones; another academy's question is 404", async () => {
    const cat = await api("POST", "/v1/admin/categories", {
      token: t.key,
      body: { type: "question", name: unique("Cat") },
    });
    const title = unique("Findable");
    const q = (
      await create({ type: "true_false", title, correct_answer: true, category_ids: [cat.body.id], tags: ["geo"] })
    ).body;
    const patched = await api("PATCH", `/v1/admin/questions/${q.id}`, {
      token: t.key,
      body: { type: "short_answers", accepted_answers: ["yes"] },
    });
    expectStatus(patched, 200);
    expect(patched.body).toMatchObject({
      type: "short_answers",
      accepted_answers: ["yes"],
      category_ids: [cat.body.id],
    });
    expect(patched.body.correct_answer).toBeUndefined();
    expectProblem(await api("PATCH", `/v1/admin/questions/${q.id}`, { token: t.key, body: { type: "numeric" } }), 422);
    const byCat = await api("GET", `/v1/admin/questions?category_id=${cat.body.id}&types=short_answers&tag=geo`, {
      token: t.key,
    });
    expect(byCat.body.data.map((x: { id: number }) => x.id)).toEqual([q.id]);
    expectProblem(await api("GET", "/v1/admin/questions?types=riddle", { token: t.key }), 422);
    const lookup = await api("GET", `/v1/admin/questions/lookup?q=${title}`, { token: t.key });
    expect(lookup.body).toEqual([{ value: q.id, label: title }]);
    const copy = await api("POST", `/v1/admin/questions/${q.id}/clone`, { token: t.key });
    expectStatus(copy, 201);
    expect(copy.body).toMatchObject({
      title: `${title} (copy)`,
      accepted_answers: ["yes"],
      category_ids: [cat.body.id],
    });
    expectProblem(await api("GET", `/v1/admin/questions/${q.id}`, { token: other.key }), 404);
    expectProblem(await api("PATCH", `/v1/admin/questions/${q.id}`, { token: other.key, body: { title: "x" } }), 404);
    const otherList = await api("GET", `/v1/admin/questions?q=${title}`, { token: other.key });
    expect(otherList.body.data).toEqual([]);
  });

  it("bulk delete: 422 for unknown ids, 409 naming the quizzes unless forced", async () => {
    const a = (await create({ type: "essay", title: "A" })).body;
    const b = (await create({ type: "essay", title: "B" })).body;
    const quiz = await api("POST", "/v1/admin/modules", { token: t.key, body: { type: "quiz", name: unique("Quiz") } });
    await api("PUT", `/v1/admin/quizzes/${quiz.body.id}/questions`, { token: t.key, body: { question_ids: [a.id] } });
    const unknown = await api("POST", "/v1/admin/questions/bulk-delete", {
      token: t.key,
      body: { ids: [b.id, 999_999_999] },
    });
    expect(expectProblem(unknown, 422).errors?.[0].path).toBe("ids.1");
    const used = await api("POST", "/v1/admin/questions/bulk-delete", { token: t.key, body: { ids: [a.id, b.id] } });
    expect(expectProblem(used, 409).in_use).toEqual([{ id: a.id, quiz_ids: [quiz.body.id] }]);
    expectStatus(await api("GET", `/v1/admin/questions/${b.id}`, { token: t.key }), 200);
    const forced = await api("POST", "/v1/admin/questions/bulk-delete", {
      token: t.key,
      body: { ids: [a.id, b.id], force: true },
    });
    expectStatus(forced, 200);
    expectProblem(await api("GET", `/v1/admin/questions/${a.id}`, { token: t.key }), 404);
    const left = await api("GET", `/v1/admin/quizzes/${quiz.body.id}/questions`, { token: t.key });
    expect(left.body.question_ids).toEqual([]);
  });
});
