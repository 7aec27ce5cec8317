/**
 * Enrollments: enroll many (ids and emails), remove, revoke / grant, expiry, reset progress, lists and lookup,
 * learning-path enrollment, a learner's enrollments, auto-enroll on learner creation and self-registration.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { api, expectProblem, expectStatus } from "./helpers/api";
import { createLearner, createTenant, keyWithout, PASSWORD, type TestTenant, unique } from "./helpers/factories";

/** A published course with one section and `modules` required text modules. */
async function publishedCourse(t: TestTenant, modules = 1, name = unique("Course")) {
  const course = await api("POST", "/v1/admin/courses", { token: t.key, body: { name } });
  expectStatus(course, 201);
  const base = `/v1/admin/courses/${course.body.id}`;
  const section = await api("POST", `${base}/sections`, { token: t.key, body: { name: "Week 1" } });
  expectStatus(section, 201);
  for (let i = 0; i < modules; i++) {
    const mod = await api("POST", "/v1/admin/modules", { token: t.key, body: { type: "text", name: unique("Mod") } });
    expectStatus(mod, 201);
    const placed = await api("POST", `${base}/sections/${section.body.id}/placements`, {
      token: t.key,
      body: { module_id: mod.body.id },
    });
    expectStatus(placed, 201);
  }
  expectStatus(await api("POST", `${base}/publish`, { token: t.key }), 200);
  return course.body.id as number;
}

const enrollmentsOf = (t: TestTenant, courseId: number, query = "") =>
  api("GET", `/v1/admin/courses/${courseId}/enrollments${query}`, { token: t.key });

async function outboxCount(tenantId: number, type: string) {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM outbox WHERE tenant_id = ? AND type = ?")
    .bind(tenantId, type)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

async function activityCount(tenantId: number, type: string) {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM activities WHERE tenant_id = ? AND type = ?")
    .bind(tenantId, type)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

describe("POST /v1/admin/courses/{id}/enrollments", () => {
  let t: TestTenant;
  let other: TestTenant;
  let courseId: number;
  beforeAll(async () => {
    t = await createTenant();
    other = await createTenant();
    courseId = await publishedCourse(t, 2);
  });

  it("enrolls by ids and emails, reports unknown emails, emits one event and activity per enrollment", async () => {
    const a = await createLearner(t, { name: "Ada Alpha" });
    const b = await createLearner(t, { name: "Bob Beta" });
    const events = await outboxCount(t.id, "enrollment.created");
    const res = await api("POST", `/v1/admin/courses/${courseId}/enrollments`, {
      token: t.key,
      body: { learner_ids: [a.id], emails: [b.email.toUpperCase(), "nobody@example.com", a.email] },
    });
    expectStatus(res, 201);
    expect(res.body.not_found_emails).toEqual(["nobody@example.com"]);
    expect(res.body.already_enrolled).toEqual([]);
    expect(res.body.enrolled.map((e: { learner_id: number }) => e.learner_id).sort()).toEqual([a.id, b.id].sort());
    const first = res.body.enrolled.find((e: { learner_id: number }) => e.learner_id === a.id);
    expect(first).toMatchObject({
      course_id: courseId,
      status: "active",
      access: "active",
      progress_status: "not_started",
      source: "admin",
      required_total: 2,
      progress_percent: 0,
      expires_at: null,
      learner: { id: a.id, name: "Ada Alpha", email: a.email },
    });
    expect(await outboxCount(t.id, "enrollment.created")).toBe(events + 2);
    const event = await env.DB.prepare(
      "SELECT data FROM outbox WHERE tenant_id = ? AND type = 'enrollment.created' AND json_extract(data, '$.user_id') = ?",
    )
      .bind(t.id, b.id)
      .first<{ data: string }>();
    const bEnrollment = res.body.enrolled.find((e: { learner_id: number }) => e.learner_id === b.id);
    expect(JSON.parse(event?.data ?? "{}")).toMatchObject({ id: bEnrollment.id, course_id: courseId, user_id: b.id });
    const activities = await api("GET", `/v1/admin/courses/${courseId}/activities?type=enrollment.created`, {
      token: t.key,
    });
    expectStatus(activities, 200);
    expect(activities.body.data.map((x: { learner_id: number }) => x.learner_id).sort()).toEqual([a.id, b.id].sort());

    // Idempotent: enrolling again changes nothing and emits nothing.
    const again = await api("POST", `/v1/admin/courses/${courseId}/enrollments`, {
      token: t.key,
      body: { learner_ids: [a.id, b.id] },
    });
    expectStatus(again, 200);
    expect(again.body).toEqual({ enrolled: [], already_enrolled: [a.id, b.id], not_found_emails: [] });
    expect(await outboxCount(t.id, "enrollment.created")).toBe(events + 2);
    const list = await enrollmentsOf(t, courseId);
    expect(list.body.meta.total).toBe(2);
  });

  it("enrolls with an expiry and refuses one in the past (422 expires_at, nothing written)", async () => {
    const c = await createLearner(t);
    const past = await api("POST", `/v1/admin/courses/${courseId}/enrollments`, {
      token: t.key,
      body: { learner_ids: [c.id], expires_at: "2020-01-01T00:00:00Z" },
    });
    expect(expectProblem(past, 422).errors).toEqual([expect.objectContaining({ path: "expires_at" })]);
    const none = await api("GET", `/v1/admin/learners/${c.id}/enrollments`, { token: t.key });
    expect(none.body.data).toEqual([]);
    const res = await api("POST", `/v1/admin/courses/${courseId}/enrollments`, {
      token: t.key,
      body: { learner_ids: [c.id], expires_at: "2099-01-01T00:00:00Z" },
    });
    expectStatus(res, 201);
    expect(res.body.enrolled[0].expires_at).toBe("2099-01-01T00:00:00.000Z");
  });

  it("refuses another academy's learner (422 naming learner_ids.N) and writes nothing", async () => {
    const mine = await createLearner(t);
    const theirs = await createLearner(other);
    const res = await api("POST", `/v1/admin/courses/${courseId}/enrollments`, {
      token: t.key,
      body: { learner_ids: [mine.id, theirs.id] },
    });
    expect(expectProblem(res, 422).errors).toEqual([{ path: "learner_ids.1", message: expect.any(String) }]);
    const list = await api("GET", `/v1/admin/learners/${mine.id}/enrollments`, { token: t.key });
    expect(list.body.data).toEqual([]);
  });

  it("needs learners and at most 500 of them, and refuses unknown fields (422)", async () => {
    const empty = await api("POST", `/v1/admin/courses/${courseId}/enrollments`, { token: t.key, body: {} });
    expect(expectProblem(empty, 422).errors?.[0].path).toBe("learner_ids");
    const many = await api("POST", `/v1/admin/courses/${courseId}/enrollments`, {
      token: t.key,
      body: { learner_ids: Array.from({ length: 501 }, (_, i) => i + 1) },
    });
    expect(expectProblem(many, 422).errors?.[0].path).toBe("learner_ids");
    const extra = await api("POST", `/v1/admin/courses/${courseId}/enrollments`, {
      token: t.key,
      body: { learner_ids: [1], source: "auto" },
    });
    expect(expectProblem(extra, 422).errors?.[0].path).toBe("source");
    const badEmail = await api("POST", `/v1/admin/courses/${courseId}/enrollments`, {
      token: t.key,
      body: { emails: ["not-an-email"] },
    });
    expect(expectProblem(badEmail, 422).errors?.[0].path).toBe("emails.0");
  });

  it("refuses a draft course (409 saying so) and another academy's or a deleted course (404)", async () => {
    const learner = await createLearner(t);
    const draft = await api("POST", "/v1/admin/courses", { token: t.key, body: { name: unique("Draft") } });
    const res = await api("POST", `/v1/admin/courses/${draft.body.id}/enrollments`, {
      token: t.key,
      body: { learner_ids: [learner.id] },
    });
    expect(expectProblem(res, 409).detail).toContain("draft");
    const foreign = await api("POST", `/v1/admin/courses/${courseId}/enrollments`, {
      token: other.key,
      body: { learner_ids: [learner.id] },
    });
    expectProblem(foreign, 404);
    const deleted = await publishedCourse(t);
    expectStatus(await api("DELETE", `/v1/admin/courses/${deleted}`, { token: t.key }), 204);
    expectProblem(
      await api("POST", `/v1/admin/courses/${deleted}/enrollments`, {
        token: t.key,
        body: { learner_ids: [learner.id] },
      }),
      404,
    );
    const list = await api("GET", `/v1/admin/learners/${learner.id}/enrollments`, { token: t.key });
    expect(list.body.data).toEqual([]);
  });

  it("answers 401 without a credential and 403 to a key without enrollments:write / enrollments:read", async () => {
    expectProblem(await api("POST", `/v1/admin/courses/${courseId}/enrollments`, { body: { learner_ids: [1] } }), 401);
    const noWrite = await keyWithout(t, "enrollments:write");
    const res = await api("POST", `/v1/admin/courses/${courseId}/enrollments`, {
      token: noWrite,
      body: { learner_ids: [1] },
    });
    expect(expectProblem(res, 403).required_permission).toBe("enrollments:write");
    const noRead = await keyWithout(t, "enrollments:read");
    expect(expectProblem(await enrollmentsOf({ ...t, key: noRead }, courseId), 403).required_permission).toBe(
      "enrollments:read",
    );
    expectProblem(await enrollmentsOf(other, courseId), 404);
  });
});

describe("enrollment list, lookup and a learner's enrollments", () => {
  let t: TestTenant;
  let courseId: number;
  let ann: { id: number; email: string };
  let zed: { id: number; email: string };
  let mid: { id: number; email: string };
  beforeAll(async () => {
    t = await createTenant();
    courseId = await publishedCourse(t, 2);
    ann = await createLearner(t, { name: "Ann Archer" });
    zed = await createLearner(t, { name: "Zed Zimmer" });
    mid = await createLearner(t, { name: "Mia Middle" });
    const res = await api("POST", `/v1/admin/courses/${courseId}/enrollments`, {
      token: t.key,
      body: { learner_ids: [ann.id, zed.id, mid.id] },
    });
    expectStatus(res, 201);
    // Progress states written straight to D1 (the learner runtime computes them; not under test here).
    const now = new Date().toISOString();
    await env.DB.prepare(
      "UPDATE enrollments SET started_at = ?, completed_at = ?, progress_percent = 100 WHERE tenant_id = ? AND user_id = ?",
    )
      .bind(now, now, t.id, zed.id)
      .run();
    await env.DB.prepare(
      "UPDATE enrollments SET started_at = ?, progress_percent = 50 WHERE tenant_id = ? AND user_id = ?",
    )
      .bind(now, t.id, mid.id)
      .run();
    await env.DB.prepare("UPDATE enrollments SET expires_at = ? WHERE tenant_id = ? AND user_id = ?")
      .bind("2020-01-01T00:00:00.000Z", t.id, ann.id)
      .run();
  });

  const learnerIds = async (query: string) => {
    const res = await enrollmentsOf(t, courseId, query);
    expectStatus(res, 200);
    return res.body.data.map((e: { learner_id: number }) => e.learner_id);
  };

  it("filters by status, progress and q, and sorts by name and progress", async () => {
    expect(await learnerIds("?status=completed")).toEqual([zed.id]);
    expect(await learnerIds("?status=in_progress")).toEqual([mid.id]);
    expect(await learnerIds("?status=not_started")).toEqual([ann.id]);
    expect(await learnerIds("?status=expired")).toEqual([ann.id]);
    expect(await learnerIds("?status=active&sort=name")).toEqual([mid.id, zed.id]);
    expect(await learnerIds("?status=revoked")).toEqual([]);
    expect(await learnerIds("?progress_min=40&progress_max=60")).toEqual([mid.id]);
    expect(await learnerIds("?q=zimmer")).toEqual([zed.id]);
    expect(await learnerIds(`?q=${encodeURIComponent(ann.email)}`)).toEqual([ann.id]);
    expect(await learnerIds("?sort=name")).toEqual([ann.id, mid.id, zed.id]);
    expect(await learnerIds("?sort=-progress")).toEqual([zed.id, mid.id, ann.id]);
    const page = await enrollmentsOf(t, courseId, "?per_page=2&page=2&sort=name");
    expect(page.body.meta).toEqual({ page: 2, per_page: 2, total: 3, last_page: 2 });
    expect(page.body.data[0].learner).toEqual({ id: zed.id, name: "Zed Zimmer", email: zed.email });
    expect(page.body.data[0].access).toBe("active");
    const ann1 = await enrollmentsOf(t, courseId, "?q=archer");
    expect(ann1.body.data[0].access).toBe("expired");
  });

  it("refuses bad filters (422 naming them)", async () => {
    expect(expectProblem(await enrollmentsOf(t, courseId, "?status=done"), 422).errors?.[0].path).toBe("query.status");
    expect(expectProblem(await enrollmentsOf(t, courseId, "?progress_min=101"), 422).errors?.[0].path).toBe(
      "query.progress_min",
    );
    expect(expectProblem(await enrollmentsOf(t, courseId, "?sort=email"), 422).errors?.[0].path).toBe("query.sort");
  });

  it("looks up enrolled learners", async () => {
    const res = await api("GET", `/v1/admin/courses/${courseId}/enrollments/lookup?q=mia`, { token: t.key });
    expectStatus(res, 200);
    expect(res.body).toEqual([{ value: mid.id, label: `Mia Middle <${mid.email}>` }]);
    const all = await api("GET", `/v1/admin/courses/${courseId}/enrollments/lookup`, { token: t.key });
    expect(all.body.map((x: { value: number }) => x.value)).toEqual([ann.id, mid.id, zed.id]);
  });

  it("lists a learner's enrollments with the course, paginated; 404 for another academy's learner", async () => {
    const other = await publishedCourse(t, 1, "Second course");
    await api("POST", `/v1/admin/courses/${other}/enrollments`, { token: t.key, body: { learner_ids: [mid.id] } });
    const res = await api("GET", `/v1/admin/learners/${mid.id}/enrollments?sort=-progress`, { token: t.key });
    expectStatus(res, 200);
    expect(res.body.meta.total).toBe(2);
    expect(res.body.data[0]).toMatchObject({
      course: { id: courseId, status: "published" },
      status: "active",
      progress_status: "in_progress",
      progress_percent: 50,
    });
    expect(res.body.data[1].course).toEqual({ id: other, name: "Second course", status: "published" });
    const foreign = await createTenant();
    expectProblem(await api("GET", `/v1/admin/learners/${mid.id}/enrollments`, { token: foreign.key }), 404);
    expectProblem(await api("GET", `/v1/admin/learners/${mid.id}/enrollments`), 401);
  });
});

describe("remove, revoke, grant, expiry and reset progress", () => {
  let t: TestTenant;
  let other: TestTenant;
  let courseId: number;
  let l1: { id: number };
  let l2: { id: number };
  let outsider: { id: number };
  beforeAll(async () => {
    t = await createTenant();
    other = await createTenant();
    courseId = await publishedCourse(t);
    l1 = await createLearner(t);
    l2 = await createLearner(t);
    outsider = await createLearner(t);
    expectStatus(
      await api("POST", `/v1/admin/courses/${courseId}/enrollments`, {
        token: t.key,
        body: { learner_ids: [l1.id, l2.id] },
      }),
      201,
    );
  });

  const act = (action: string, body: unknown, token = t.key) =>
    api("POST", `/v1/admin/courses/${courseId}/enrollments/${action}`, { token, body });
  const enrollmentOf = async (learnerId: number) => {
    const res = await enrollmentsOf(t, courseId, "?per_page=100");
    return res.body.data.find((e: { learner_id: number }) => e.learner_id === learnerId);
  };

  it("revokes (blocks access) idempotently, then grants back", async () => {
    const events = await outboxCount(t.id, "enrollment.revoked");
    const res = await act("revoke", { learner_ids: [l1.id, outsider.id] });
    expectStatus(res, 200);
    expect(res.body).toEqual({ changed: [l1.id], unchanged: [], not_enrolled: [outsider.id] });
    const revoked = await enrollmentOf(l1.id);
    expect(revoked).toMatchObject({ status: "revoked", access: "revoked" });
    expect(revoked.revoked_at).toEqual(expect.any(String));
    expect((await enrollmentOf(l2.id)).status).toBe("active");
    expect(await outboxCount(t.id, "enrollment.revoked")).toBe(events + 1);
    expect(await activityCount(t.id, "enrollment.revoked")).toBe(1);
    const filtered = await enrollmentsOf(t, courseId, "?status=revoked");
    expect(filtered.body.data.map((e: { learner_id: number }) => e.learner_id)).toEqual([l1.id]);

    const again = await act("revoke", { learner_ids: [l1.id] });
    expect(again.body).toEqual({ changed: [], unchanged: [l1.id], not_enrolled: [] });
    expect(await outboxCount(t.id, "enrollment.revoked")).toBe(events + 1);

    const granted = await act("grant", { learner_ids: [l1.id, l2.id] });
    expect(granted.body).toEqual({ changed: [l1.id], unchanged: [l2.id], not_enrolled: [] });
    expect(await enrollmentOf(l1.id)).toMatchObject({ status: "active", access: "active", revoked_at: null });
    expect(await outboxCount(t.id, "enrollment.granted")).toBe(1);
  });

  it("sets and clears the expiry; a past date is a 422 and changes nothing", async () => {
    const past = await act("expiry", { learner_ids: [l2.id], expires_at: "2001-01-01T00:00:00Z" });
    expect(expectProblem(past, 422).errors?.[0].path).toBe("expires_at");
    expect((await enrollmentOf(l2.id)).expires_at).toBeNull();
    const set = await act("expiry", { learner_ids: [l2.id], expires_at: "2098-05-01T10:00:00Z" });
    expect(set.body.changed).toEqual([l2.id]);
    expect((await enrollmentOf(l2.id)).expires_at).toBe("2098-05-01T10:00:00.000Z");
    const event = await env.DB.prepare(
      "SELECT data FROM outbox WHERE tenant_id = ? AND type = 'enrollment.expiry_changed' ORDER BY id DESC LIMIT 1",
    )
      .bind(t.id)
      .first<{ data: string }>();
    expect(JSON.parse(event?.data ?? "{}")).toMatchObject({ user_id: l2.id, expires_at: "2098-05-01T10:00:00.000Z" });
    const same = await act("expiry", { learner_ids: [l2.id], expires_at: "2098-05-01T10:00:00Z" });
    expect(same.body).toEqual({ changed: [], unchanged: [l2.id], not_enrolled: [] });
    const cleared = await act("expiry", { learner_ids: [l2.id], expires_at: null });
    expect(cleared.body.changed).toEqual([l2.id]);
    expect((await enrollmentOf(l2.id)).expires_at).toBeNull();
    const missing = await act("expiry", { learner_ids: [l2.id] });
    expect(expectProblem(missing, 422).errors?.[0].path).toBe("expires_at");
  });

  it("resets progress: deletes module progress and zeroes the counters", async () => {
    const enrollment = await enrollmentOf(l2.id);
    const placement = await env.DB.prepare("SELECT id FROM course_placements WHERE tenant_id = ? AND course_id = ?")
      .bind(t.id, courseId)
      .first<{ id: number }>();
    const now = new Date().toISOString();
    await env.DB.prepare(
      "INSERT INTO module_progress (tenant_id, enrollment_id, placement_id, course_id, user_id, status, completed_at, updated_at) VALUES (?, ?, ?, ?, ?, 'completed', ?, ?)",
    )
      .bind(t.id, enrollment.id, placement?.id, courseId, l2.id, now, now)
      .run();
    await env.DB.prepare(
      "UPDATE enrollments SET started_at = ?, completed_at = ?, required_done = 1, progress_percent = 100 WHERE id = ?",
    )
      .bind(now, now, enrollment.id)
      .run();
    const res = await act("reset-progress", { learner_ids: [l2.id] });
    expect(res.body).toEqual({ changed: [l2.id], unchanged: [], not_enrolled: [] });
    expect(await enrollmentOf(l2.id)).toMatchObject({
      progress_percent: 0,
      required_done: 0,
      started_at: null,
      completed_at: null,
      progress_status: "not_started",
    });
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM module_progress WHERE enrollment_id = ?")
      .bind(enrollment.id)
      .first<{ n: number }>();
    expect(rows?.n).toBe(0);
    expect(await outboxCount(t.id, "enrollment.progress_reset")).toBe(1);
  });

  it("removes enrollments (and their progress) atomically and idempotently", async () => {
    const res = await act("remove", { learner_ids: [l1.id] });
    expect(res.body).toEqual({ changed: [l1.id], unchanged: [], not_enrolled: [] });
    expect(await enrollmentOf(l1.id)).toBeUndefined();
    expect(await enrollmentOf(l2.id)).toBeDefined();
    const event = await env.DB.prepare(
      "SELECT data FROM outbox WHERE tenant_id = ? AND type = 'enrollment.removed' ORDER BY id DESC LIMIT 1",
    )
      .bind(t.id)
      .first<{ data: string }>();
    expect(JSON.parse(event?.data ?? "{}")).toMatchObject({ course_id: courseId, user_id: l1.id });
    const again = await act("remove", { learner_ids: [l1.id] });
    expect(again.body).toEqual({ changed: [], unchanged: [], not_enrolled: [l1.id] });
    expect(await outboxCount(t.id, "enrollment.removed")).toBe(1);
  });

  it("refuses another academy's learner (422), an empty list (422), another academy (404), missing permissions", async () => {
    const foreign = await createLearner(other);
    const res = await act("revoke", { learner_ids: [l2.id, foreign.id] });
    expect(expectProblem(res, 422).errors).toEqual([{ path: "learner_ids.1", message: expect.any(String) }]);
    expect((await enrollmentOf(l2.id)).status).toBe("active");
    expect(expectProblem(await act("grant", { learner_ids: [] }), 422).errors?.[0].path).toBe("learner_ids");
    expectProblem(await act("remove", { learner_ids: [l2.id] }, other.key), 404);
    expect(await enrollmentOf(l2.id)).toBeDefined();
    expectProblem(
      await api("POST", `/v1/admin/courses/${courseId}/enrollments/revoke`, { body: { learner_ids: [1] } }),
      401,
    );
    const noWrite = await keyWithout(t, "enrollments:write");
    expect(expectProblem(await act("reset-progress", { learner_ids: [l2.id] }, noWrite), 403).required_permission).toBe(
      "enrollments:write",
    );
  });
});

describe("learning-path enrollments", () => {
  let t: TestTenant;
  let pathId: number;
  let c1: number;
  let c2: number;
  let c3: number;
  beforeAll(async () => {
    t = await createTenant();
    c1 = await publishedCourse(t);
    c2 = await publishedCourse(t);
    c3 = await publishedCourse(t);
    const path = await api("POST", "/v1/admin/learning-paths", {
      token: t.key,
      body: { name: unique("Path"), steps: [{ course_id: c1 }, { course_id: c2 }, { course_id: c3 }] },
    });
    expectStatus(path, 201);
    pathId = path.body.id;
    expectStatus(await api("POST", `/v1/admin/learning-paths/${pathId}/publish`, { token: t.key }), 200);
    // The third course leaves publication after the path was published: it is skipped.
    expectStatus(await api("PATCH", `/v1/admin/courses/${c3}`, { token: t.key, body: { status: "archived" } }), 200);
  });

  it("enrolls in the path and in each published course of it, reporting the skipped ones", async () => {
    const learner = await createLearner(t);
    const res = await api("POST", `/v1/admin/learning-paths/${pathId}/enrollments`, {
      token: t.key,
      body: { emails: [learner.email, "ghost@example.com"] },
    });
    expectStatus(res, 201);
    expect(res.body).toMatchObject({
      already_enrolled: [],
      not_found_emails: ["ghost@example.com"],
      course_ids: [c1, c2],
      skipped_courses: [{ course_id: c3, reason: "archived" }],
      course_enrollments_created: 2,
    });
    expect(res.body.enrolled).toEqual([
      expect.objectContaining({ path_id: pathId, learner_id: learner.id, status: "active" }),
    ]);
    const mine = await api("GET", `/v1/admin/learners/${learner.id}/enrollments`, { token: t.key });
    expect(mine.body.data.map((e: { course: { id: number } }) => e.course.id).sort()).toEqual([c1, c2].sort());
    expect(mine.body.data.every((e: { source: string }) => e.source === "learning_path")).toBe(true);
    const courseList = await enrollmentsOf(t, c1);
    expect(courseList.body.data[0].path_enrollment_id).toBe(res.body.enrolled[0].id);
    const list = await api("GET", `/v1/admin/learning-paths/${pathId}/enrollments`, { token: t.key });
    expectStatus(list, 200);
    expect(list.body.data.map((e: { learner_id: number }) => e.learner_id)).toEqual([learner.id]);

    // Again: nothing new.
    const again = await api("POST", `/v1/admin/learning-paths/${pathId}/enrollments`, {
      token: t.key,
      body: { learner_ids: [learner.id] },
    });
    expectStatus(again, 200);
    expect(again.body).toMatchObject({ enrolled: [], already_enrolled: [learner.id], course_enrollments_created: 0 });
  });

  it("keeps an existing course enrollment and refuses draft paths (409), other academies (404), bad ids (422)", async () => {
    const learner = await createLearner(t);
    await api("POST", `/v1/admin/courses/${c1}/enrollments`, { token: t.key, body: { learner_ids: [learner.id] } });
    const res = await api("POST", `/v1/admin/learning-paths/${pathId}/enrollments`, {
      token: t.key,
      body: { learner_ids: [learner.id] },
    });
    expectStatus(res, 201);
    expect(res.body.course_enrollments_created).toBe(1);
    const c1Row = (await enrollmentsOf(t, c1, `?q=${encodeURIComponent(learner.email)}`)).body.data[0];
    expect(c1Row.source).toBe("admin");

    const draft = await api("POST", "/v1/admin/learning-paths", {
      token: t.key,
      body: { name: unique("Draft path"), steps: [{ course_id: c1 }] },
    });
    const refused = await api("POST", `/v1/admin/learning-paths/${draft.body.id}/enrollments`, {
      token: t.key,
      body: { learner_ids: [learner.id] },
    });
    expect(expectProblem(refused, 409).detail).toContain("draft");
    const other = await createTenant();
    expectProblem(
      await api("POST", `/v1/admin/learning-paths/${pathId}/enrollments`, {
        token: other.key,
        body: { learner_ids: [learner.id] },
      }),
      404,
    );
    expectProblem(await api("GET", `/v1/admin/learning-paths/${pathId}/enrollments`, { token: other.key }), 404);
    const bad = await api("POST", `/v1/admin/learning-paths/${pathId}/enrollments`, {
      token: t.key,
      body: { learner_ids: [999_999_999] },
    });
    expect(expectProblem(bad, 422).errors?.[0].path).toBe("learner_ids.0");
    const noRead = await keyWithout(t, "enrollments:read");
    expectProblem(await api("GET", `/v1/admin/learning-paths/${pathId}/enrollments`, { token: noRead }), 403);
  });
});

describe("auto-enroll", () => {
  let t: TestTenant;
  let c1: number;
  let c2: number;
  beforeAll(async () => {
    t = await createTenant();
    c1 = await publishedCourse(t, 1, "Auto A");
    c2 = await publishedCourse(t, 1, "Auto B");
  });

  it("replaces the list (published courses only, 422 naming the bad id) and lists it", async () => {
    const draft = await api("POST", "/v1/admin/courses", { token: t.key, body: { name: unique("Draft") } });
    const other = await createTenant();
    const otherCourse = await publishedCourse(other);
    const bad = await api("PUT", "/v1/admin/auto-enroll", {
      token: t.key,
      body: { course_ids: [c1, draft.body.id, otherCourse] },
    });
    expect(expectProblem(bad, 422).errors?.map((e) => e.path)).toEqual(["course_ids.1", "course_ids.2"]);
    expect((await api("GET", "/v1/admin/auto-enroll", { token: t.key })).body.data).toEqual([]);
    const res = await api("PUT", "/v1/admin/auto-enroll", { token: t.key, body: { course_ids: [c2, c1, c1] } });
    expectStatus(res, 200);
    expect(res.body.data.map((x: { course_id: number }) => x.course_id)).toEqual([c1, c2]);
    const list = await api("GET", "/v1/admin/auto-enroll", { token: t.key });
    expect(list.body.data[0]).toMatchObject({ course_id: c1, course_name: "Auto A", course_status: "published" });
    expect((await api("GET", "/v1/admin/auto-enroll", { token: other.key })).body.data).toEqual([]);
    const noWrite = await keyWithout(t, "enrollments:write");
    expectProblem(await api("PUT", "/v1/admin/auto-enroll", { token: noWrite, body: { course_ids: [] } }), 403);
    expectProblem(await api("GET", "/v1/admin/auto-enroll"), 401);
  });

  it("enrolls learners created by staff and self-registered learners in the same batch", async () => {
    expectStatus(await api("PUT", "/v1/admin/auto-enroll", { token: t.key, body: { course_ids: [c1, c2] } }), 200);
    const created = await createLearner(t);
    const mine = await api("GET", `/v1/admin/learners/${created.id}/enrollments`, { token: t.key });
    expect(mine.body.data.map((e: { course: { id: number } }) => e.course.id).sort()).toEqual([c1, c2].sort());
    expect(mine.body.data.every((e: { source: string }) => e.source === "auto")).toBe(true);
    const event = await env.DB.prepare(
      "SELECT data FROM outbox WHERE tenant_id = ? AND type = 'enrollment.created' AND json_extract(data, '$.user_id') = ?",
    )
      .bind(t.id, created.id)
      .all<{ data: string }>();
    expect(event.results.length).toBe(2);

    const email = `${unique("self")}@example.com`;
    const reg = await api("POST", "/v1/learner/auth/register", {
      tenant: t.slug,
      headers: { "cf-connecting-ip": "10.200.0.1" },
      body: { name: "Self Starter", email, password: "correct-horse-battery-staple" },
    });
    expectStatus(reg, 201);
    const selfList = await api("GET", `/v1/admin/learners/${reg.body.user.id}/enrollments`, { token: t.key });
    expect(selfList.body.data.map((e: { course: { id: number } }) => e.course.id).sort()).toEqual([c1, c2].sort());

    // A course archived since is not auto-enrolled; clearing the list stops auto-enrollment.
    expectStatus(await api("PATCH", `/v1/admin/courses/${c2}`, { token: t.key, body: { status: "archived" } }), 200);
    const later = await createLearner(t);
    const laterList = await api("GET", `/v1/admin/learners/${later.id}/enrollments`, { token: t.key });
    expect(laterList.body.data.map((e: { course: { id: number } }) => e.course.id)).toEqual([c1]);
    expectStatus(await api("PUT", "/v1/admin/auto-enroll", { token: t.key, body: { course_ids: [] } }), 200);
    const last = await createLearner(t);
    expect((await api("GET", `/v1/admin/learners/${last.id}/enrollments`, { token: t.key })).body.data).toEqual([]);
  });
});

describe("concurrent enrollments", () => {
  it("two concurrent enrolls of the same learners create each enrollment, event and activity once", async () => {
    const t = await createTenant();
    const courseId = await publishedCourse(t);
    const learners = [await createLearner(t), await createLearner(t)];
    const body = { learner_ids: learners.map((l) => l.id) };
    const results = await Promise.all(
      [0, 1, 2].map(() => api("POST", `/v1/admin/courses/${courseId}/enrollments`, { token: t.key, body })),
    );
    for (const res of results) expect([200, 201]).toContain(res.status);
    const created = results.flatMap((r) => r.body.enrolled.map((e: { learner_id: number }) => e.learner_id));
    expect(created.sort()).toEqual(body.learner_ids.sort());
    expect((await enrollmentsOf(t, courseId)).body.meta.total).toBe(2);
    expect(await outboxCount(t.id, "enrollment.created")).toBe(2);
    expect(await activityCount(t.id, "enrollment.created")).toBe(2);
  });
});

describe("the course's duration rule sets the enrollment's expiry", () => {
  let t: TestTenant;
  beforeAll(async () => {
    t = await createTenant();
  });

  async function courseWithRule(fields: Record<string, unknown>) {
    const id = await publishedCourse(t);
    expectStatus(await api("PATCH", `/v1/admin/courses/${id}`, { token: t.key, body: fields }), 200);
    return id;
  }

  async function enrollOne(courseId: number, body: Record<string, unknown> = {}) {
    const learner = await createLearner(t);
    const res = await api("POST", `/v1/admin/courses/${courseId}/enrollments`, {
      token: t.key,
      body: { learner_ids: [learner.id], ...body },
    });
    expectStatus(res, 201);
    return { learner, enrollment: res.body.enrolled[0] };
  }

  it("x days after enrollment: expires that many days after now", async () => {
    const id = await courseWithRule({ duration_rule: "x_days_after_enrollment", access_days: 30 });
    const before = Date.now();
    const { enrollment } = await enrollOne(id);
    const expires = Date.parse(enrollment.expires_at);
    expect(expires).toBeGreaterThanOrEqual(before + 30 * 86_400_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 30 * 86_400_000 + 1000);
    expect(enrollment.expires_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it("on a specific date: expires then (in UTC, whatever offset the course was given)", async () => {
    const id = await courseWithRule({ duration_rule: "on_specific_date", access_until: "2030-01-01T02:00:00+02:00" });
    const { enrollment } = await enrollOne(id);
    expect(enrollment.expires_at).toBe("2030-01-01T00:00:00.000Z");
  });

  it("an expiry given with the enrollment wins over the course's rule", async () => {
    const id = await courseWithRule({ duration_rule: "x_days_after_enrollment", access_days: 30 });
    const { enrollment } = await enrollOne(id, { expires_at: "2031-05-01T00:00:00.000Z" });
    expect(enrollment.expires_at).toBe("2031-05-01T00:00:00.000Z");
  });

  it("x days after start: no expiry until the first launch, then that many days from it", async () => {
    const id = await courseWithRule({ duration_rule: "x_days_after_start", access_days: 10 });
    const { learner, enrollment } = await enrollOne(id);
    expect(enrollment.expires_at).toBeNull();
    const login = await api("POST", "/v1/learner/auth/login", {
      tenant: t.slug,
      headers: { "cf-connecting-ip": `10.9.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}` },
      body: { email: learner.email, password: PASSWORD },
    });
    expectStatus(login, 200);
    const outline = await api("GET", `/v1/learner/courses/${id}/outline`, { token: login.body.access_token });
    const placement = outline.body.sections[0].placements[0].id;
    const before = Date.now();
    expectStatus(
      await api("POST", `/v1/learner/courses/${id}/modules/${placement}/launch`, { token: login.body.access_token }),
      200,
    );
    const [row] = (await enrollmentsOf(t, id)).body.data.filter(
      (e: { learner_id: number }) => e.learner_id === learner.id,
    );
    expect(Date.parse(row.expires_at)).toBeGreaterThanOrEqual(before + 10 * 86_400_000 - 1000);
    expect(Date.parse(row.expires_at)).toBeLessThanOrEqual(Date.now() + 10 * 86_400_000 + 1000);
  });
});
