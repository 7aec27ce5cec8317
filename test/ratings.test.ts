/**
 * Course ratings: a learner's one rating per course (create, replace, withdraw), what other learners and staff
 * see, the course's average kept in step in the same batch, and the guards (ratings off, drafts, other academies).
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { forgetRatingsOfUser } from "../src/modules/ratings/service";
import { createDb } from "../src/platform/db";
import { api, expectProblem, expectStatus } from "./helpers/api";
import { createTenant, keyWithout, lastEvent, learnerSession, type TestTenant, unique } from "./helpers/factories";

type Session = Awaited<ReturnType<typeof learnerSession>>;

async function createCourse(t: TestTenant, fields: Record<string, unknown> = {}) {
  const res = await api("POST", "/v1/admin/courses", { token: t.key, body: { name: unique("Course"), ...fields } });
  expectStatus(res, 201);
  return res.body as { id: number; slug: string; name: string };
}

/**
 * A published course. Publishing through the API needs a curriculum (the courses issue), which these tests do not
 * need: the status is set in D1 directly.
 */
async function publishedCourse(t: TestTenant, fields: Record<string, unknown> = {}) {
  const course = await createCourse(t, fields);
  await env.DB.prepare("UPDATE courses SET status = 'published', published_at = ? WHERE id = ?")
    .bind(new Date().toISOString(), course.id)
    .run();
  tenantOfCourse.set(course.id, t);
  return course;
}

/** Only enrolled learners may rate: `rate` enrolls the learner first (idempotent) when both are of one academy. */
const tenantOfCourse = new Map<number, TestTenant>();

async function enrollIfSameAcademy(s: Session, courseId: number) {
  const t = tenantOfCourse.get(courseId);
  if (!t) return;
  const res = await api("POST", `/v1/admin/courses/${courseId}/enrollments`, {
    token: t.key,
    body: { learner_ids: [s.id] },
  });
  // 404 (a deleted course) and 422 (a learner of another academy) are what some tests are about.
  expect([200, 201, 404, 422]).toContain(res.status);
}

async function courseRow(id: number) {
  return env.DB.prepare("SELECT rating_count, rating_sum, version FROM courses WHERE id = ?")
    .bind(id)
    .first<{ rating_count: number; rating_sum: number; version: number }>();
}

async function catalogVersion(tenantId: number) {
  const row = await env.DB.prepare("SELECT catalog_version FROM tenants WHERE id = ?")
    .bind(tenantId)
    .first<{ catalog_version: number }>();
  return row?.catalog_version;
}

const rawRate = (s: Session, courseId: number, body: unknown) =>
  api("PUT", `/v1/learner/courses/${courseId}/ratings`, { token: s.token, body });

const rate = async (s: Session, courseId: number, body: unknown) => {
  await enrollIfSameAcademy(s, courseId);
  return rawRate(s, courseId, body);
};

describe("a learner rates a course", () => {
  let t: TestTenant;
  let course: { id: number };
  let ada: Session;
  let bob: Session;

  beforeAll(async () => {
    t = await createTenant();
    course = await publishedCourse(t);
    ada = await learnerSession(t);
    bob = await learnerSession(t);
  });

  it("creates (201 + Location), replaces (200) and withdraws (204) the learner's one rating, the average following", async () => {
    const before = await courseRow(course.id);
    const versionBefore = await catalogVersion(t.id);

    const created = await rate(ada, course.id, { rating: 4, review: "  Solid course. " });
    expectStatus(created, 201);
    expect(created.headers.get("location")).toBe(`/v1/learner/courses/${course.id}/ratings/mine`);
    expect(created.body).toEqual({
      id: expect.any(Number),
      course_id: course.id,
      rating: 4,
      review: "Solid course.",
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect(await lastEvent(t.id, "rating.created")).toMatchObject({ course_id: course.id, user_id: ada.id, rating: 4 });
    expect(await courseRow(course.id)).toMatchObject({ rating_count: 1, rating_sum: 4 });
    expect((await courseRow(course.id))?.version).toBe((before?.version ?? 0) + 1);
    expect(await catalogVersion(t.id)).toBe((versionBefore ?? 0) + 1);

    const mine = await api("GET", `/v1/learner/courses/${course.id}/ratings/mine`, { token: ada.token });
    expectStatus(mine, 200);
    expect(mine.body).toEqual(created.body);

    expectStatus(await rate(bob, course.id, { rating: 2 }), 201);
    let list = await api("GET", `/v1/learner/courses/${course.id}/ratings`, { token: ada.token });
    expectStatus(list, 200);
    expect(list.body.summary).toEqual({ average: 3, count: 2, distribution: { 1: 0, 2: 1, 3: 0, 4: 1, 5: 0 } });
    expect(list.body.meta).toEqual({ page: 1, per_page: 15, total: 2, last_page: 1 });
    // Newest first, the reviewer's name only.
    expect(list.body.data.map((r: { rating: number }) => r.rating)).toEqual([2, 4]);
    expect(list.body.data[1]).toEqual({
      id: created.body.id,
      rating: 4,
      review: "Solid course.",
      reviewer: { name: "Lea Learner" },
      created_at: created.body.created_at,
      updated_at: created.body.updated_at,
    });
    expect(list.text).not.toContain(ada.email);

    const replaced = await rate(ada, course.id, { rating: 5 });
    expectStatus(replaced, 200);
    expect(replaced.headers.get("location")).toBeNull();
    expect(replaced.body).toMatchObject({ id: created.body.id, rating: 5, review: null });
    expect(await lastEvent(t.id, "rating.updated")).toMatchObject({
      id: created.body.id,
      rating: 5,
      previous_rating: 4,
    });
    expect(await courseRow(course.id)).toMatchObject({ rating_count: 2, rating_sum: 7 });
    list = await api("GET", `/v1/learner/courses/${course.id}/ratings`, { token: bob.token });
    expect(list.body.summary).toEqual({ average: 3.5, count: 2, distribution: { 1: 0, 2: 1, 3: 0, 4: 0, 5: 1 } });

    expectStatus(await api("DELETE", `/v1/learner/courses/${course.id}/ratings/mine`, { token: bob.token }), 204);
    expect(await lastEvent(t.id, "rating.deleted")).toMatchObject({ course_id: course.id, user_id: bob.id, rating: 2 });
    expect(await courseRow(course.id)).toMatchObject({ rating_count: 1, rating_sum: 5 });
    expectProblem(await api("GET", `/v1/learner/courses/${course.id}/ratings/mine`, { token: bob.token }), 404);
    expectProblem(await api("DELETE", `/v1/learner/courses/${course.id}/ratings/mine`, { token: bob.token }), 404);
    list = await api("GET", `/v1/learner/courses/${course.id}/ratings`, { token: bob.token });
    expect(list.body.summary).toEqual({ average: 5, count: 1, distribution: { 1: 0, 2: 0, 3: 0, 4: 0, 5: 1 } });
    expect(list.body.data).toHaveLength(1);
  });

  it("keeps the count and sum exact under concurrent ratings (SQL expressions, no read-modify-write)", async () => {
    const c = await publishedCourse(t);
    const learners = await Promise.all([1, 2, 3, 4, 5, 6].map(() => learnerSession(t)));
    const results = await Promise.all(learners.map((s, i) => rate(s, c.id, { rating: (i % 5) + 1 })));
    for (const r of results) expectStatus(r, 201);
    // 1+2+3+4+5+1
    expect(await courseRow(c.id)).toMatchObject({ rating_count: 6, rating_sum: 16 });
    const replaced = await Promise.all(learners.map((s) => rate(s, c.id, { rating: 5 })));
    for (const r of replaced) expectStatus(r, 200);
    expect(await courseRow(c.id)).toMatchObject({ rating_count: 6, rating_sum: 30 });
  });

  it("pages and sorts the learner's list", async () => {
    const c = await publishedCourse(t);
    const learners = await Promise.all([1, 2, 3].map(() => learnerSession(t)));
    for (const [i, s] of learners.entries()) expectStatus(await rate(s, c.id, { rating: i + 1 }), 201);
    const page = await api("GET", `/v1/learner/courses/${c.id}/ratings?per_page=2&page=2&sort=-rating`, {
      token: ada.token,
    });
    expectStatus(page, 200);
    expect(page.body.meta).toEqual({ page: 2, per_page: 2, total: 3, last_page: 2 });
    expect(page.body.data.map((r: { rating: number }) => r.rating)).toEqual([1]);
    const threes = await api("GET", `/v1/learner/courses/${c.id}/ratings?rating=3`, { token: ada.token });
    expect(threes.body.data.map((r: { rating: number }) => r.rating)).toEqual([3]);
    expect(threes.body.summary.count).toBe(3);
  });

  it("refuses invalid ratings with 422 naming the field, and writes nothing", async () => {
    const c = await publishedCourse(t);
    const cases: [unknown, string][] = [
      [{ rating: 6 }, "rating"],
      [{ rating: 0 }, "rating"],
      [{ rating: "5" }, "rating"],
      [{ rating: 4.5 }, "rating"],
      [{}, "rating"],
      [{ rating: 3, review: "x".repeat(5001) }, "review"],
      [{ rating: 3, stars: 3 }, "stars"],
      [{ rating: 3, user_id: bob.id }, "user_id"],
    ];
    for (const [body, path] of cases) {
      const problem = expectProblem(await rate(ada, c.id, body), 422);
      expect(
        problem.errors?.map((e) => e.path),
        JSON.stringify(body),
      ).toContain(path);
    }
    expectProblem(await rate(ada, c.id, undefined), 415);
    expectProblem(
      await api("PUT", `/v1/learner/courses/${c.id}/ratings`, {
        token: ada.token,
        rawBody: "{not json",
        headers: { "content-type": "application/json" },
      }),
      400,
    );
    expectProblem(await api("GET", `/v1/learner/courses/${c.id}/ratings/mine`, { token: ada.token }), 404);
    expect(await courseRow(c.id)).toMatchObject({ rating_count: 0, rating_sum: 0 });
    expectProblem(await api("GET", `/v1/learner/courses/${c.id}/ratings?rating=6`, { token: ada.token }), 422);
    expectProblem(await api("GET", `/v1/learner/courses/${c.id}/ratings?sort=name`, { token: ada.token }), 422);
    expectProblem(await api("GET", "/v1/learner/courses/abc/ratings", { token: ada.token }), 422);
  });

  it("refuses calls without a learner token (401) and with admin credentials (403)", async () => {
    const paths: [string, string, unknown?][] = [
      ["PUT", `/v1/learner/courses/${course.id}/ratings`, { rating: 3 }],
      ["GET", `/v1/learner/courses/${course.id}/ratings`],
      ["GET", `/v1/learner/courses/${course.id}/ratings/mine`],
      ["DELETE", `/v1/learner/courses/${course.id}/ratings/mine`],
    ];
    const before = await courseRow(course.id);
    for (const [method, path, body] of paths) {
      expectProblem(await api(method, path, { body }), 401);
      expectProblem(await api(method, path, { token: "not.a.token", body }), 401);
      expectProblem(await api(method, path, { token: t.key, body }), 403);
    }
    expect(await courseRow(course.id)).toEqual(before);
  });

  it("answers 404 for drafts, deleted courses and another academy's courses", async () => {
    const draft = await createCourse(t);
    const deleted = await publishedCourse(t);
    await env.DB.prepare("UPDATE courses SET deleted_at = ? WHERE id = ?")
      .bind(new Date().toISOString(), deleted.id)
      .run();
    const other = await createTenant();
    const foreign = await publishedCourse(other);
    for (const id of [draft.id, deleted.id, foreign.id, 99_999_999]) {
      expectProblem(await rate(ada, id, { rating: 5 }), 404);
      expectProblem(await api("GET", `/v1/learner/courses/${id}/ratings`, { token: ada.token }), 404);
      expectProblem(await api("GET", `/v1/learner/courses/${id}/ratings/mine`, { token: ada.token }), 404);
      expectProblem(await api("DELETE", `/v1/learner/courses/${id}/ratings/mine`, { token: ada.token }), 404);
    }
    expect(await courseRow(foreign.id)).toMatchObject({ rating_count: 0, rating_sum: 0 });
    const count = await env.DB.prepare(
      "SELECT count(*) AS n FROM course_ratings WHERE user_id = ? AND course_id IN (?, ?, ?)",
    )
      .bind(ada.id, draft.id, deleted.id, foreign.id)
      .first<{ n: number }>();
    expect(count?.n).toBe(0);
  });

  it("refuses a learner who is not enrolled in the course (403), writing nothing", async () => {
    const c = await publishedCourse(t);
    const stranger = await learnerSession(t);
    const refused = expectProblem(await rawRate(stranger, c.id, { rating: 5 }), 403);
    expect(refused.detail).toMatch(/enrolled/);
    expect(await courseRow(c.id)).toMatchObject({ rating_count: 0, rating_sum: 0 });
  });

  it("answers 409 while ratings are turned off, but a learner may still see and withdraw their own", async () => {
    const c = await publishedCourse(t);
    expectStatus(await rate(ada, c.id, { rating: 4 }), 201);
    await env.DB.prepare("UPDATE courses SET ratings_enabled = 0 WHERE id = ?").bind(c.id).run();
    const refused = expectProblem(await rate(bob, c.id, { rating: 1 }), 409);
    expect(refused.detail).toBe("Ratings are turned off for this course");
    expectProblem(await rate(ada, c.id, { rating: 1 }), 409);
    expectProblem(await api("GET", `/v1/learner/courses/${c.id}/ratings`, { token: bob.token }), 409);
    expect(await courseRow(c.id)).toMatchObject({ rating_count: 1, rating_sum: 4 });
    const mine = await api("GET", `/v1/learner/courses/${c.id}/ratings/mine`, { token: ada.token });
    expect(mine.body.rating).toBe(4);
    expectStatus(await api("DELETE", `/v1/learner/courses/${c.id}/ratings/mine`, { token: ada.token }), 204);
    expect(await courseRow(c.id)).toMatchObject({ rating_count: 0, rating_sum: 0 });
  });
});

describe("staff moderate ratings", () => {
  let t: TestTenant;
  let course: { id: number };
  let learners: Session[];
  const ratingIds: number[] = [];

  beforeAll(async () => {
    t = await createTenant();
    course = await publishedCourse(t);
    learners = await Promise.all([1, 2, 3].map(() => learnerSession(t)));
    for (const [i, s] of learners.entries()) {
      const res = await rate(s, course.id, { rating: [5, 3, 1][i], review: `Review ${i}` });
      expectStatus(res, 201);
      ratingIds.push(res.body.id);
    }
  });

  it("lists ratings with the learner, filters by stars and sorts", async () => {
    const res = await api("GET", `/v1/admin/courses/${course.id}/ratings`, { token: t.key });
    expectStatus(res, 200);
    expect(res.body.meta.total).toBe(3);
    expect(res.body.summary).toEqual({ average: 3, count: 3, distribution: { 1: 1, 2: 0, 3: 1, 4: 0, 5: 1 } });
    const newest = res.body.data[0];
    expect(newest).toEqual({
      id: ratingIds[2],
      course_id: course.id,
      rating: 1,
      review: "Review 2",
      learner: { id: learners[2].id, name: "Lea Learner", email: learners[2].email },
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    const sorted = await api("GET", `/v1/admin/courses/${course.id}/ratings?sort=-rating`, { token: t.key });
    expect(sorted.body.data.map((r: { rating: number }) => r.rating)).toEqual([5, 3, 1]);
    const ascending = await api("GET", `/v1/admin/courses/${course.id}/ratings?sort=rating`, { token: t.key });
    expect(ascending.body.data.map((r: { rating: number }) => r.rating)).toEqual([1, 3, 5]);
    const threes = await api("GET", `/v1/admin/courses/${course.id}/ratings?rating=3`, { token: t.key });
    expect(threes.body.data.map((r: { id: number }) => r.id)).toEqual([ratingIds[1]]);
    expect(threes.body.meta.total).toBe(1);
    const search = await api("GET", `/v1/admin/courses/${course.id}/ratings?q=review%200`, { token: t.key });
    expect(search.body.data.map((r: { id: number }) => r.id)).toEqual([ratingIds[0]]);
    const one = await api("GET", `/v1/admin/courses/${course.id}/ratings/${ratingIds[0]}`, { token: t.key });
    expectStatus(one, 200);
    expect(one.body).toMatchObject({ id: ratingIds[0], rating: 5, learner: { email: learners[0].email } });
  });

  it("refuses invalid filters with 422", async () => {
    for (const query of ["rating=6", "rating=abc", "sort=name", "per_page=101", "page=0"]) {
      const problem = expectProblem(
        await api("GET", `/v1/admin/courses/${course.id}/ratings?${query}`, { token: t.key }),
        422,
      );
      expect(problem.errors?.[0]?.path).toMatch(/^query\./);
    }
  });

  it("checks credentials and permissions (401, 403 naming the permission)", async () => {
    const list = `/v1/admin/courses/${course.id}/ratings`;
    const one = `${list}/${ratingIds[0]}`;
    expectProblem(await api("GET", list), 401);
    expectProblem(await api("DELETE", one), 401);
    expectProblem(await api("GET", list, { token: learners[0].token }), 403);
    const noRead = await keyWithout(t, "courses:read");
    const noWrite = await keyWithout(t, "courses:write");
    expect(expectProblem(await api("GET", list, { token: noRead }), 403).required_permission).toBe("courses:read");
    expect(expectProblem(await api("GET", one, { token: noRead }), 403).required_permission).toBe("courses:read");
    expect(expectProblem(await api("DELETE", one, { token: noWrite }), 403).required_permission).toBe("courses:write");
    expectStatus(await api("GET", list, { token: noWrite }), 200);
    expect(await courseRow(course.id)).toMatchObject({ rating_count: 3, rating_sum: 9 });
  });

  it("answers 404 to another academy and for a rating of another course, changing nothing", async () => {
    const other = await createTenant();
    const list = `/v1/admin/courses/${course.id}/ratings`;
    const one = `${list}/${ratingIds[0]}`;
    expectProblem(await api("GET", list, { token: other.key }), 404);
    expectProblem(await api("GET", one, { token: other.key }), 404);
    expectProblem(await api("DELETE", one, { token: other.key }), 404);
    const sibling = await publishedCourse(t);
    expectProblem(await api("GET", `/v1/admin/courses/${sibling.id}/ratings/${ratingIds[0]}`, { token: t.key }), 404);
    expectProblem(
      await api("DELETE", `/v1/admin/courses/${sibling.id}/ratings/${ratingIds[0]}`, { token: t.key }),
      404,
    );
    expectProblem(await api("GET", `/v1/admin/courses/${course.id}/ratings/99999999`, { token: t.key }), 404);
    expect(await courseRow(course.id)).toMatchObject({ rating_count: 3, rating_sum: 9 });
    expectStatus(await api("GET", one, { token: t.key }), 200);
  });

  it("deletes a rating (204) and the average follows", async () => {
    const draft = await createCourse(t);
    // Staff see ratings of any course of theirs, drafts included (a course may be unpublished after ratings).
    expectStatus(await api("GET", `/v1/admin/courses/${draft.id}/ratings`, { token: t.key }), 200);

    const res = await api("DELETE", `/v1/admin/courses/${course.id}/ratings/${ratingIds[2]}`, { token: t.key });
    expectStatus(res, 204);
    expect(await lastEvent(t.id, "rating.deleted")).toMatchObject({
      id: ratingIds[2],
      rating: 1,
      deleted_by: "staff",
    });
    expect(await courseRow(course.id)).toMatchObject({ rating_count: 2, rating_sum: 8 });
    const list = await api("GET", `/v1/admin/courses/${course.id}/ratings`, { token: t.key });
    expect(list.body.summary).toEqual({ average: 4, count: 2, distribution: { 1: 0, 2: 0, 3: 1, 4: 0, 5: 1 } });
    expectProblem(await api("GET", `/v1/admin/courses/${course.id}/ratings/${ratingIds[2]}`, { token: t.key }), 404);
    expectProblem(await api("DELETE", `/v1/admin/courses/${course.id}/ratings/${ratingIds[2]}`, { token: t.key }), 404);
    expect(await courseRow(course.id)).toMatchObject({ rating_count: 2, rating_sum: 8 });
    // The learner may rate again.
    expectStatus(await rate(learners[2], course.id, { rating: 2 }), 201);
    expect(await courseRow(course.id)).toMatchObject({ rating_count: 3, rating_sum: 10 });
  });
});

describe("deleting a learner", () => {
  it("takes their ratings out of the courses' counts with forgetRatingsOfUser in the same batch", async () => {
    const t = await createTenant();
    const [c1, c2] = [await publishedCourse(t), await publishedCourse(t)];
    const [leaving, staying] = [await learnerSession(t), await learnerSession(t)];
    for (const [s, c, r] of [
      [leaving, c1, 5],
      [leaving, c2, 1],
      [staying, c1, 3],
    ] as const) {
      expectStatus(await rate(s, c.id, { rating: r }), 201);
    }
    const db = createDb(env.DB);
    const ctx = { tenantId: t.id, db, env, principal: { kind: "platform" as const }, defer: () => {} };
    await db.batch([
      forgetRatingsOfUser(ctx, leaving.id),
      db.run(`DELETE FROM users WHERE id = ${Number(leaving.id)}`),
    ]);
    expect(await courseRow(c1.id)).toMatchObject({ rating_count: 1, rating_sum: 3 });
    expect(await courseRow(c2.id)).toMatchObject({ rating_count: 0, rating_sum: 0 });
  });
});
