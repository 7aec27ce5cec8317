/**
 * The learner runtime: my courses, the outline with status and locks, launch, complete, media progress, the
 * access rules, course completion (once, under concurrency) and the shared progress contracts. Learners are
 * enrolled through the admin enrollments API (`POST /v1/admin/courses/{id}/enrollments`).
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { completeModule, recordGradedResult, resetProgressStatements } from "../src/modules/progress/service";
import type { TenantContext } from "../src/platform/auth";
import { createDb } from "../src/platform/db";
import { type ApiResponse, api, expectProblem, expectStatus } from "./helpers/api";
import { createTenant, learnerSession, type TestTenant, unique } from "./helpers/factories";

type Learner = Awaited<ReturnType<typeof learnerSession>>;

async function post(t: TestTenant, path: string, body: unknown) {
  const res = await api("POST", path, { token: t.key, body });
  expect(res.status, `${path}: ${res.text}`).toBeLessThan(300);
  return res.body;
}

interface ModuleSpec {
  type?: string;
  settings?: Record<string, unknown>;
  required?: boolean;
  drip_rule?: string;
  drip_days?: number;
  drip_date?: string;
  /** indexes (in outline order) of earlier placements this one needs */
  prerequisites?: number[];
}

interface SectionSpec {
  release_at?: string;
  modules: ModuleSpec[];
}

interface Built {
  id: number;
  name: string;
  placements: number[];
  sections: number[];
}

/** A published course built through the admin API: sections of placed modules, in order. */
async function buildCourse(
  t: TestTenant,
  fields: Record<string, unknown>,
  sections: SectionSpec[],
  publish = true,
): Promise<Built> {
  const course = await post(t, "/v1/admin/courses", { name: unique("Course"), ...fields });
  const placements: number[] = [];
  const sectionIds: number[] = [];
  for (const [i, spec] of sections.entries()) {
    const section = await post(t, `/v1/admin/courses/${course.id}/sections`, {
      name: `Week ${i + 1}`,
      ...(spec.release_at ? { release_at: spec.release_at } : {}),
    });
    sectionIds.push(section.id);
    for (const m of spec.modules) {
      const module = await post(t, "/v1/admin/modules", {
        type: m.type ?? "text",
        name: unique(m.type ?? "Lesson"),
        ...(m.settings ? { settings: m.settings } : {}),
      });
      const placement = await post(t, `/v1/admin/courses/${course.id}/sections/${section.id}/placements`, {
        module_id: module.id,
        required: m.required ?? true,
        ...(m.drip_rule ? { drip_rule: m.drip_rule } : {}),
        ...(m.drip_days !== undefined ? { drip_days: m.drip_days } : {}),
        ...(m.drip_date ? { drip_date: m.drip_date } : {}),
        prerequisite_ids: (m.prerequisites ?? []).map((index) => placements[index]),
      });
      placements.push(placement.id);
    }
  }
  if (publish) expectStatus(await api("POST", `/v1/admin/courses/${course.id}/publish`, { token: t.key }), 200);
  return { id: course.id, name: course.name, placements, sections: sectionIds };
}

async function enroll(t: TestTenant, courseId: number, ...learners: { id: number }[]) {
  const res = await api("POST", `/v1/admin/courses/${courseId}/enrollments`, {
    token: t.key,
    body: { learner_ids: learners.map((l) => l.id) },
  });
  expect(res.status, res.text).toBeLessThan(300);
}

const base = (courseId: number, placementId: number) => `/v1/learner/courses/${courseId}/modules/${placementId}`;
const launch = (l: Learner, c: number, p: number) => api("POST", `${base(c, p)}/launch`, { token: l.token });
const complete = (l: Learner, c: number, p: number) => api("POST", `${base(c, p)}/complete`, { token: l.token });
const outline = (l: Learner, c: number) => api("GET", `/v1/learner/courses/${c}/outline`, { token: l.token });

function placementOf(res: ApiResponse, placementId: number) {
  for (const section of res.body.sections) {
    for (const p of section.placements) if (p.id === placementId) return p;
  }
  throw new Error(`placement ${placementId} not in the outline`);
}

async function countRows(query: string, ...params: unknown[]) {
  const row = await env.DB.prepare(query)
    .bind(...params)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

const eventCount = (tenantId: number, type: string, field: string, value: number) =>
  countRows(
    "SELECT count(*) AS n FROM outbox WHERE tenant_id = ? AND type = ? AND json_extract(data, ?) = ?",
    tenantId,
    type,
    `$.${field}`,
    value,
  );

async function enrollmentOf(t: TestTenant, courseId: number, userId: number) {
  const row = await env.DB.prepare("SELECT * FROM enrollments WHERE tenant_id = ? AND course_id = ? AND user_id = ?")
    .bind(t.id, courseId, userId)
    .first<{ id: number; enrolled_at: string; completed_at: string | null; [column: string]: unknown }>();
  if (!row) throw new Error(`no enrollment of learner ${userId} in course ${courseId}`);
  return row;
}

// ---- launch, complete, my courses, outline ------------------------------------------------------------------------

describe("a learner's course: outline, launch, complete, my courses", () => {
  let t: TestTenant;
  let other: TestTenant;
  let lea: Learner;
  let ben: Learner;
  let course: Built;
  let otherCourse: Built;

  beforeAll(async () => {
    t = await createTenant();
    other = await createTenant();
    lea = await learnerSession(t);
    ben = await learnerSession(t);
    course = await buildCourse(t, {}, [
      { modules: [{}, {}] },
      { modules: [{ type: "quiz" }, { type: "text", required: false }] },
    ]);
    otherCourse = await buildCourse(other, {}, [{ modules: [{}] }]);
    await enroll(t, course.id, lea);
  });

  it("shows the outline with every placement not started, open, and where to begin", async () => {
    const res = await outline(lea, course.id);
    expectStatus(res, 200);
    expect(res.body.course).toMatchObject({ id: course.id, name: course.name, sequential_navigation: false });
    expect(res.body.enrollment).toMatchObject({
      status: "active",
      access: "active",
      progress_status: "not_started",
      progress_percent: 0,
      completed_at: null,
      resume_placement_id: null,
    });
    expect(res.body.sections).toHaveLength(2);
    const first = placementOf(res, course.placements[0]);
    expect(first).toMatchObject({ status: "not_started", locked: false, lock: null, watched_seconds: 0 });
    expect(first.module.settings).toBeUndefined();
    expect(res.body.resume).toMatchObject({ placement_id: course.placements[0] });
  });

  it("refuses to complete a module that was never launched (409) and writes nothing", async () => {
    const res = await complete(lea, course.id, course.placements[0]);
    expect(expectProblem(res, 409).detail).toMatch(/launch/i);
    expect(placementOf(await outline(lea, course.id), course.placements[0]).status).toBe("not_started");
  });

  it("launches a module: records the first access, starts the enrollment, answers the content", async () => {
    const res = await launch(lea, course.id, course.placements[0]);
    expectStatus(res, 200);
    expect(res.body).toMatchObject({ course_id: course.id, placement_id: course.placements[0], status: "in_progress" });
    expect(res.body.module.settings).toMatchObject({ format: "html" });
    expect(res.body.first_accessed_at).toEqual(expect.any(String));
    expect(res.body.enrollment).toMatchObject({
      progress_status: "in_progress",
      resume_placement_id: course.placements[0],
      started_at: expect.any(String),
      required_total: 3,
      required_done: 0,
    });
    const again = await launch(lea, course.id, course.placements[0]);
    expectStatus(again, 200);
    expect(again.body.first_accessed_at).toBe(res.body.first_accessed_at);
    expect(again.body.enrollment.started_at).toBe(res.body.enrollment.started_at);
    const enrollment = await enrollmentOf(t, course.id, lea.id);
    expect(await eventCount(t.id, "module.started", "enrollment_id", enrollment?.id)).toBe(1);
    expect(
      await countRows(
        "SELECT count(*) AS n FROM activities WHERE tenant_id = ? AND type = 'module.launched' AND user_id = ?",
        t.id,
        lea.id,
      ),
    ).toBe(2);
  });

  it("completes a launched module once and recomputes the progress", async () => {
    const res = await complete(lea, course.id, course.placements[0]);
    expectStatus(res, 200);
    expect(res.body).toMatchObject({ status: "completed", completed_at: expect.any(String) });
    expect(res.body.enrollment).toMatchObject({ required_total: 3, required_done: 1, progress_percent: 33 });
    const again = await complete(lea, course.id, course.placements[0]);
    expectStatus(again, 200);
    expect(again.body.completed_at).toBe(res.body.completed_at);
    expect(again.body.enrollment.progress_percent).toBe(33);
    const enrollment = await enrollmentOf(t, course.id, lea.id);
    expect(await eventCount(t.id, "module.completed", "enrollment_id", enrollment?.id)).toBe(1);
    expect(enrollment?.completed_at).toBeNull();
  });

  it("refuses to complete a quiz through the generic endpoint (409), even launched", async () => {
    expectStatus(await launch(lea, course.id, course.placements[2]), 200);
    const res = await complete(lea, course.id, course.placements[2]);
    expect(expectProblem(res, 409).detail).toMatch(/graded attempt/);
    expect(placementOf(await outline(lea, course.id), course.placements[2]).status).toBe("in_progress");
  });

  it("refuses media progress on a module that is not video or audio (409)", async () => {
    const res = await api("POST", `${base(course.id, course.placements[0])}/progress`, {
      token: lea.token,
      body: { watched_seconds: 10 },
    });
    expectProblem(res, 409);
  });

  it("lists my courses with progress and resume point, filtered by progress status", async () => {
    const second = await buildCourse(t, {}, [{ modules: [{}] }]);
    await enroll(t, second.id, lea);
    const res = await api("GET", "/v1/learner/courses", { token: lea.token });
    expectStatus(res, 200);
    expect(res.body.meta).toEqual({ page: 1, per_page: 15, total: 2, last_page: 1 });
    const mine = res.body.data.find((c: { id: number }) => c.id === course.id);
    expect(mine).toMatchObject({
      name: course.name,
      course_status: "published",
      enrollment: { progress_status: "in_progress", progress_percent: 33, last_accessed_at: expect.any(String) },
      resume: { placement_id: course.placements[2], module_type: "quiz" },
    });
    const inProgress = await api("GET", "/v1/learner/courses?status=in_progress", { token: lea.token });
    expect(inProgress.body.data.map((c: { id: number }) => c.id)).toEqual([course.id]);
    const notStarted = await api("GET", "/v1/learner/courses?status=not_started", { token: lea.token });
    expect(notStarted.body.data.map((c: { id: number }) => c.id)).toEqual([second.id]);
    const completed = await api("GET", "/v1/learner/courses?status=completed", { token: lea.token });
    expect(completed.body.data).toEqual([]);
    const paged = await api("GET", "/v1/learner/courses?per_page=1&page=2", { token: lea.token });
    expect(paged.body.meta).toMatchObject({ total: 2, last_page: 2 });
    expect(paged.body.data).toHaveLength(1);
  });

  it("answers 422 naming the field for bad list queries and bad progress bodies", async () => {
    const bad = await api("GET", "/v1/learner/courses?status=finished", { token: lea.token });
    expect(expectProblem(bad, 422).errors?.map((e) => e.path)).toContain("query.status");
    const perPage = await api("GET", "/v1/learner/courses?per_page=0", { token: lea.token });
    expect(expectProblem(perPage, 422).errors?.map((e) => e.path)).toContain("query.per_page");
    const body = await api("POST", `${base(course.id, course.placements[0])}/progress`, {
      token: lea.token,
      body: { watched_seconds: -1, speed: 2 },
    });
    const paths = expectProblem(body, 422).errors?.map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(["watched_seconds", "speed"]));
    const badId = await launch(lea, course.id, 0);
    expectProblem(badId, 422);
  });

  it("refuses every learner endpoint without a credential (401) and with an admin key (403)", async () => {
    const calls: [string, string, unknown?][] = [
      ["GET", "/v1/learner/courses"],
      ["GET", `/v1/learner/courses/${course.id}/outline`],
      ["POST", `${base(course.id, course.placements[0])}/launch`],
      ["POST", `${base(course.id, course.placements[0])}/complete`],
      ["POST", `${base(course.id, course.placements[0])}/progress`, { watched_seconds: 1 }],
    ];
    for (const [method, path, body] of calls) {
      expectProblem(await api(method, path, { body }), 401);
      expectProblem(await api(method, path, { body, token: t.key }), 403);
    }
  });

  it("answers 404 for another academy's course and for a placement of no course of mine", async () => {
    expectProblem(await outline(lea, otherCourse.id), 404);
    expectProblem(await launch(lea, otherCourse.id, otherCourse.placements[0]), 404);
    expectProblem(await complete(lea, otherCourse.id, otherCourse.placements[0]), 404);
    expectProblem(await launch(lea, course.id, otherCourse.placements[0]), 404);
    expectProblem(await launch(lea, 999_999_999, 1), 404);
  });

  it("keeps learners apart: another learner is not enrolled (403 enrollment) and sees none of it", async () => {
    const res = await outline(ben, course.id);
    expect(expectProblem(res, 403)).toMatchObject({ rule: "enrollment" });
    expect(expectProblem(await launch(ben, course.id, course.placements[1]), 403)).toMatchObject({
      rule: "enrollment",
    });
    expect(expectProblem(await complete(ben, course.id, course.placements[0]), 403)).toMatchObject({
      rule: "enrollment",
    });
    const mine = await api("GET", "/v1/learner/courses", { token: ben.token });
    expect(mine.body.data).toEqual([]);
    // Lea's progress is untouched by Ben's calls.
    expect(placementOf(await outline(lea, course.id), course.placements[1]).status).toBe("not_started");
  });
});

// ---- access rules ------------------------------------------------------------------------------------------------

describe("progress after the curriculum changes", () => {
  it("recounts unfinished enrollments when a required placement is added, made optional or removed", async () => {
    const t = await createTenant();
    const course = await buildCourse(t, {}, [{ modules: [{}, {}] }]);
    const lea = await learnerSession(t);
    const done = await learnerSession(t);
    await enroll(t, course.id, lea, done);
    expectStatus(await launch(lea, course.id, course.placements[0]), 200);
    expectStatus(await complete(lea, course.id, course.placements[0]), 200);
    for (const p of course.placements) {
      expectStatus(await launch(done, course.id, p), 200);
      expectStatus(await complete(done, course.id, p), 200);
    }
    expect(await enrollmentOf(t, course.id, lea.id)).toMatchObject({ required_total: 2, progress_percent: 50 });

    const module = await post(t, "/v1/admin/modules", { type: "text", name: "Added later" });
    const added = await post(t, `/v1/admin/courses/${course.id}/sections/${course.sections[0]}/placements`, {
      module_id: module.id,
    });
    expect(await enrollmentOf(t, course.id, lea.id)).toMatchObject({ required_total: 3, progress_percent: 33 });
    const mine = await api("GET", "/v1/learner/courses", { token: lea.token });
    expect(mine.body.data[0].enrollment.progress_percent).toBe(33);
    // A completed enrollment keeps its completion.
    expect(await enrollmentOf(t, course.id, done.id)).toMatchObject({
      progress_percent: 100,
      completed_at: expect.any(String),
    });

    const optional = await api("PATCH", `/v1/admin/courses/${course.id}/placements/${course.placements[1]}`, {
      token: t.key,
      body: { required: false },
    });
    expectStatus(optional, 200);
    expect(await enrollmentOf(t, course.id, lea.id)).toMatchObject({
      required_total: 2,
      required_done: 1,
      progress_percent: 50,
    });

    expectStatus(await api("DELETE", `/v1/admin/courses/${course.id}/placements/${added.id}`, { token: t.key }), 204);
    expect(await enrollmentOf(t, course.id, lea.id)).toMatchObject({
      required_total: 1,
      required_done: 1,
      progress_percent: 100,
    });
  });
});

describe("access rules on launch and in the outline", () => {
  let t: TestTenant;
  beforeAll(async () => {
    t = await createTenant();
  });

  const DAY = 86_400_000;

  it("drip after enrollment: 403 with rule drip and the opening date; the outline shows the same lock", async () => {
    const course = await buildCourse(t, { drip_enabled: true }, [
      { modules: [{}, { drip_rule: "after_enrollment", drip_days: 3 }] },
    ]);
    const lea = await learnerSession(t);
    await enroll(t, course.id, lea);
    const enrolledAt = (await enrollmentOf(t, course.id, lea.id))?.enrolled_at as string;
    const opensAt = new Date(Date.parse(enrolledAt) + 3 * DAY).toISOString();
    const res = await launch(lea, course.id, course.placements[1]);
    expect(expectProblem(res, 403)).toMatchObject({ rule: "drip", opens_at: opensAt });
    const view = placementOf(await outline(lea, course.id), course.placements[1]);
    expect(view).toMatchObject({ locked: true, lock: { rule: "drip", opens_at: opensAt }, status: "not_started" });
    expectStatus(await launch(lea, course.id, course.placements[0]), 200);
    // Enrolled four days ago: open.
    await env.DB.prepare("UPDATE enrollments SET enrolled_at = ? WHERE tenant_id = ? AND course_id = ? AND user_id = ?")
      .bind(new Date(Date.now() - 4 * DAY).toISOString(), t.id, course.id, lea.id)
      .run();
    expectStatus(await launch(lea, course.id, course.placements[1]), 200);
  });

  it("drip on a date applies only when the course drips", async () => {
    const date = new Date(Date.now() + 10 * DAY).toISOString();
    const dripping = await buildCourse(t, { drip_enabled: true }, [
      { modules: [{ drip_rule: "on_date", drip_date: date }] },
    ]);
    const plain = await buildCourse(t, { drip_enabled: false }, [
      { modules: [{ drip_rule: "on_date", drip_date: date }] },
    ]);
    const lea = await learnerSession(t);
    await enroll(t, dripping.id, lea);
    await enroll(t, plain.id, lea);
    const res = await launch(lea, dripping.id, dripping.placements[0]);
    expect(expectProblem(res, 403)).toMatchObject({ rule: "drip", opens_at: date });
    expectStatus(await launch(lea, plain.id, plain.placements[0]), 200);
  });

  it("section release date: 403 section_release until then, and completing it is refused too", async () => {
    const releaseAt = new Date(Date.now() + 5 * DAY).toISOString();
    const course = await buildCourse(t, {}, [{ modules: [{}] }, { release_at: releaseAt, modules: [{}] }]);
    const lea = await learnerSession(t);
    await enroll(t, course.id, lea);
    const res = await launch(lea, course.id, course.placements[1]);
    expect(expectProblem(res, 403)).toMatchObject({ rule: "section_release", opens_at: releaseAt });
    expect(expectProblem(await complete(lea, course.id, course.placements[1]), 403)).toMatchObject({
      rule: "section_release",
    });
    expect(placementOf(await outline(lea, course.id), course.placements[1])).toMatchObject({
      locked: true,
      lock: { rule: "section_release", opens_at: releaseAt },
    });
  });

  it("prerequisites: locked until the prerequisite is completed", async () => {
    const course = await buildCourse(t, {}, [{ modules: [{}, {}, { prerequisites: [0] }] }]);
    const lea = await learnerSession(t);
    await enroll(t, course.id, lea);
    const res = await launch(lea, course.id, course.placements[2]);
    expect(expectProblem(res, 403)).toMatchObject({ rule: "prerequisite", prerequisite_ids: [course.placements[0]] });
    expect(res.body.opens_at).toBeUndefined();
    // Not sequential: the second one is open.
    expectStatus(await launch(lea, course.id, course.placements[1]), 200);
    expectStatus(await launch(lea, course.id, course.placements[0]), 200);
    expectStatus(await complete(lea, course.id, course.placements[0]), 200);
    expectStatus(await launch(lea, course.id, course.placements[2]), 200);
  });

  it("sequential navigation: each placement opens when every earlier one is completed", async () => {
    const course = await buildCourse(t, { sequential_navigation: true }, [{ modules: [{}] }, { modules: [{}, {}] }]);
    const lea = await learnerSession(t);
    await enroll(t, course.id, lea);
    expect(expectProblem(await launch(lea, course.id, course.placements[1]), 403)).toMatchObject({
      rule: "sequential",
    });
    const view = await outline(lea, course.id);
    expect(placementOf(view, course.placements[0]).locked).toBe(false);
    expect(placementOf(view, course.placements[1]).lock.rule).toBe("sequential");
    expect(placementOf(view, course.placements[2]).lock.rule).toBe("sequential");
    expectStatus(await launch(lea, course.id, course.placements[0]), 200);
    expectStatus(await complete(lea, course.id, course.placements[0]), 200);
    expectStatus(await launch(lea, course.id, course.placements[1]), 200);
    expect(expectProblem(await launch(lea, course.id, course.placements[2]), 403)).toMatchObject({
      rule: "sequential",
    });
  });

  it("changes to a module and to the curriculum show on the next outline and launch (versioned cache)", async () => {
    const course = await buildCourse(t, {}, [{ modules: [{ settings: { body: "<p>First</p>" } }] }]);
    const lea = await learnerSession(t);
    await enroll(t, course.id, lea);
    const first = await launch(lea, course.id, course.placements[0]);
    expect(first.body.module.settings.body).toBe("<p>First</p>");
    expectStatus(await outline(lea, course.id), 200);
    const edited = await api("PATCH", `/v1/admin/modules/${first.body.module.id}`, {
      token: t.key,
      body: { settings: { body: "<p>Second</p>" } },
    });
    expectStatus(edited, 200);
    const second = await launch(lea, course.id, course.placements[0]);
    expect(second.body.module.settings.body).toBe("<p>Second</p>");
    const module = await post(t, "/v1/admin/modules", { type: "text", name: unique("Added") });
    const view = await outline(lea, course.id);
    const added = await post(t, `/v1/admin/courses/${course.id}/sections/${view.body.sections[0].id}/placements`, {
      module_id: module.id,
    });
    const after = await outline(lea, course.id);
    expect(after.body.sections[0].placements.map((p: { id: number }) => p.id)).toEqual([
      course.placements[0],
      added.id,
    ]);
    expectStatus(await launch(lea, course.id, added.id), 200);
  });

  it("a course no longer published is refused with rule course; my courses still lists it", async () => {
    const course = await buildCourse(t, {}, [{ modules: [{}] }]);
    const lea = await learnerSession(t);
    await enroll(t, course.id, lea);
    const archived = await api("PATCH", `/v1/admin/courses/${course.id}`, {
      token: t.key,
      body: { status: "archived" },
    });
    expectStatus(archived, 200);
    expect(expectProblem(await launch(lea, course.id, course.placements[0]), 403)).toMatchObject({ rule: "course" });
    expect(expectProblem(await outline(lea, course.id), 403)).toMatchObject({ rule: "course" });
    const listed = await api("GET", "/v1/learner/courses", { token: lea.token });
    expect(listed.body.data).toEqual([expect.objectContaining({ id: course.id, course_status: "archived" })]);
  });

  it("revoked and expired enrollments are refused with rule enrollment", async () => {
    const course = await buildCourse(t, {}, [{ modules: [{}] }]);
    const revoked = await learnerSession(t);
    const expired = await learnerSession(t);
    await enroll(t, course.id, revoked, expired);
    const revoke = await api("POST", `/v1/admin/courses/${course.id}/enrollments/revoke`, {
      token: t.key,
      body: { learner_ids: [revoked.id] },
    });
    expectStatus(revoke, 200);
    const denied = expectProblem(await launch(revoked, course.id, course.placements[0]), 403);
    expect(denied).toMatchObject({ rule: "enrollment" });
    expect(denied.detail).toMatch(/revoked/);
    await env.DB.prepare("UPDATE enrollments SET expires_at = ? WHERE tenant_id = ? AND course_id = ? AND user_id = ?")
      .bind(new Date(Date.now() - DAY).toISOString(), t.id, course.id, expired.id)
      .run();
    const late = expectProblem(await outline(expired, course.id), 403);
    expect(late).toMatchObject({ rule: "enrollment" });
    expect(late.detail).toMatch(/expired/);
    const listed = await api("GET", "/v1/learner/courses", { token: expired.token });
    expect(listed.body.data[0].enrollment.access).toBe("expired");
  });
});

// ---- completion --------------------------------------------------------------------------------------------------

describe("course completion", () => {
  let t: TestTenant;
  let templateId: number;
  beforeAll(async () => {
    t = await createTenant();
    templateId = (await post(t, "/v1/admin/certificate-templates", { name: "Completion" })).id;
  });

  async function certificateCount(enrollmentId: number) {
    return countRows(
      "SELECT count(*) AS n FROM certificates WHERE tenant_id = ? AND source_key = ?",
      t.id,
      `course:${enrollmentId}`,
    );
  }

  it("two concurrent completions of the last module complete the enrollment once: one event, one certificate", async () => {
    const course = await buildCourse(t, { certificate_template_ids: [templateId] }, [{ modules: [{}, {}] }]);
    const lea = await learnerSession(t);
    await enroll(t, course.id, lea);
    for (const p of course.placements) expectStatus(await launch(lea, course.id, p), 200);
    expectStatus(await complete(lea, course.id, course.placements[0]), 200);
    const [a, b] = await Promise.all([
      complete(lea, course.id, course.placements[1]),
      complete(lea, course.id, course.placements[1]),
    ]);
    expectStatus(a, 200);
    expectStatus(b, 200);
    const enrollment = await enrollmentOf(t, course.id, lea.id);
    expect(enrollment).toMatchObject({ progress_percent: 100, required_done: 2, completed_at: expect.any(String) });
    expect(await eventCount(t.id, "enrollment.completed", "id", enrollment?.id)).toBe(1);
    expect(await eventCount(t.id, "module.completed", "enrollment_id", enrollment?.id)).toBe(2);
    expect(await certificateCount(enrollment?.id)).toBe(1);
    expect(await eventCount(t.id, "certificate.issued", "course_id", course.id)).toBe(1);
    expect(
      await countRows(
        "SELECT count(*) AS n FROM activities WHERE tenant_id = ? AND type = 'enrollment.completed' AND user_id = ?",
        t.id,
        lea.id,
      ),
    ).toBe(1);
    const done = await api("GET", "/v1/learner/courses?status=completed", { token: lea.token });
    expect(done.body.data.map((c: { id: number }) => c.id)).toEqual([course.id]);
    expect(done.body.data[0].enrollment).toMatchObject({ progress_status: "completed", progress_percent: 100 });
  });

  it("two concurrent completions of the two last modules still complete it exactly once", async () => {
    const course = await buildCourse(t, { certificate_template_ids: [templateId] }, [{ modules: [{}, {}] }]);
    const lea = await learnerSession(t);
    await enroll(t, course.id, lea);
    for (const p of course.placements) expectStatus(await launch(lea, course.id, p), 200);
    const results = await Promise.all(course.placements.map((p) => complete(lea, course.id, p)));
    for (const res of results) expectStatus(res, 200);
    const enrollment = await enrollmentOf(t, course.id, lea.id);
    expect(enrollment?.completed_at).toEqual(expect.any(String));
    expect(await eventCount(t.id, "enrollment.completed", "id", enrollment?.id)).toBe(1);
    expect(await certificateCount(enrollment?.id)).toBe(1);
  });

  /**
   * A D1 binding whose next write batch (more than five statements) first waits for `interleave` to run to the
   * end: another request that commits between this request's reads and its write, deterministically.
   */
  function interleaving() {
    const state: { interleave?: () => Promise<unknown>; writes: number } = { writes: 0 };
    const d1 = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === "batch") {
          return async (statements: D1PreparedStatement[]) => {
            if (statements.length > 5) {
              state.writes++;
              const run = state.interleave;
              state.interleave = undefined;
              if (run) await run();
            }
            return target.batch(statements);
          };
        }
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    return { d1, state };
  }

  const learnerCtx = (db: D1Database, userId: number) => ({
    tenantId: t.id,
    db: createDb(db),
    env,
    principal: { kind: "learner" as const, tenantId: t.id, userId, sessionId: 0, writesPerMinute: 600 },
    defer: () => {},
  });

  it("a completion racing another one of the same module (both read before either wrote) completes once", async () => {
    const course = await buildCourse(t, { certificate_template_ids: [templateId] }, [{ modules: [{}, {}] }]);
    const lea = await learnerSession(t);
    await enroll(t, course.id, lea);
    for (const p of course.placements) expectStatus(await launch(lea, course.id, p), 200);
    expectStatus(await complete(lea, course.id, course.placements[0]), 200);
    const { d1, state } = interleaving();
    state.interleave = () => completeModule(learnerCtx(env.DB, lea.id), course.id, course.placements[1]);
    const result = await completeModule(learnerCtx(d1, lea.id), course.id, course.placements[1]);
    expect(result.enrollment).toMatchObject({ progress_status: "completed", progress_percent: 100 });
    expect(state.writes).toBe(1); // the prediction (complete) held: no retry
    const enrollment = await enrollmentOf(t, course.id, lea.id);
    expect(await eventCount(t.id, "enrollment.completed", "id", enrollment?.id)).toBe(1);
    expect(await eventCount(t.id, "module.completed", "enrollment_id", enrollment?.id)).toBe(2);
    expect(await certificateCount(enrollment?.id)).toBe(1);
    expect(await eventCount(t.id, "certificate.issued", "course_id", course.id)).toBe(1);
  });

  it("a completion built on reads another request made stale is refused in SQL and retried on fresh reads", async () => {
    const course = await buildCourse(t, { certificate_template_ids: [templateId] }, [{ modules: [{}, {}] }]);
    const lea = await learnerSession(t);
    await enroll(t, course.id, lea);
    for (const p of course.placements) expectStatus(await launch(lea, course.id, p), 200);
    // Between this request's reads and its write batch, the other module is completed by another request: the
    // batch predicted "not complete yet" and must not commit as is.
    const { d1, state } = interleaving();
    state.interleave = () => completeModule(learnerCtx(env.DB, lea.id), course.id, course.placements[1]);
    const result = await completeModule(learnerCtx(d1, lea.id), course.id, course.placements[0]);
    expect(result.enrollment).toMatchObject({ progress_status: "completed", progress_percent: 100 });
    expect(state.writes).toBe(2); // a refused write, then the one that commits on fresh reads
    const enrollment = await enrollmentOf(t, course.id, lea.id);
    expect(await eventCount(t.id, "enrollment.completed", "id", enrollment?.id)).toBe(1);
    expect(await eventCount(t.id, "module.completed", "enrollment_id", enrollment?.id)).toBe(2);
    expect(await certificateCount(enrollment?.id)).toBe(1);
  });

  it("required_modules ignores optional placements; percentage_of_modules completes at the percentage", async () => {
    const required = await buildCourse(t, { completion_rule: "required_modules" }, [
      { modules: [{}, { required: false }] },
    ]);
    const percent = await buildCourse(t, { completion_rule: "percentage_of_modules", completion_percentage: 50 }, [
      { modules: [{}, {}, {}, {}] },
    ]);
    const lea = await learnerSession(t);
    await enroll(t, required.id, lea);
    await enroll(t, percent.id, lea);
    expectStatus(await launch(lea, required.id, required.placements[0]), 200);
    const r = await complete(lea, required.id, required.placements[0]);
    expect(r.body.enrollment).toMatchObject({ progress_status: "completed", required_total: 1, progress_percent: 100 });
    expect(await certificateCount(r.body.enrollment.id)).toBe(0);
    expectStatus(await launch(lea, percent.id, percent.placements[0]), 200);
    const first = await complete(lea, percent.id, percent.placements[0]);
    expect(first.body.enrollment).toMatchObject({ progress_status: "in_progress", progress_percent: 25 });
    expectStatus(await launch(lea, percent.id, percent.placements[3]), 200);
    const second = await complete(lea, percent.id, percent.placements[3]);
    expect(second.body.enrollment).toMatchObject({ progress_status: "completed", progress_percent: 50 });
  });

  it("video progress keeps the furthest point and completes at the threshold", async () => {
    const course = await buildCourse(t, {}, [
      { modules: [{ type: "video", settings: { duration_seconds: 600, completion_threshold_percent: 80 } }, {}] },
    ]);
    const lea = await learnerSession(t);
    await enroll(t, course.id, lea);
    const path = `${base(course.id, course.placements[0])}/progress`;
    const early = await api("POST", path, { token: lea.token, body: { watched_seconds: 100 } });
    expectProblem(early, 409); // not launched yet
    expectStatus(await launch(lea, course.id, course.placements[0]), 200);
    const some = await api("POST", path, { token: lea.token, body: { watched_seconds: 300, position_seconds: 290 } });
    expectStatus(some, 200);
    expect(some.body).toMatchObject({ status: "in_progress", watched_seconds: 300, duration_seconds: 600 });
    const back = await api("POST", path, { token: lea.token, body: { watched_seconds: 50 } });
    expect(back.body.watched_seconds).toBe(300);
    const enough = await api("POST", path, { token: lea.token, body: { watched_seconds: 480 } });
    expect(enough.body).toMatchObject({ status: "completed", watched_seconds: 480 });
    expect(enough.body.enrollment).toMatchObject({ required_done: 1, progress_percent: 50 });
    const enrollment = await enrollmentOf(t, course.id, lea.id);
    expect(await eventCount(t.id, "module.completed", "enrollment_id", enrollment?.id)).toBe(1);
  });

  it("passing_grade completes from graded results; reset clears the progress and completion", async () => {
    const course = await buildCourse(
      t,
      { grading_rule: "avg_all_modules", completion_rule: "passing_grade", passing_grade: 70 },
      [{ modules: [{ type: "quiz" }, { type: "assignment" }, {}] }],
    );
    const lea = await learnerSession(t);
    await enroll(t, course.id, lea);
    const enrollmentId = (await enrollmentOf(t, course.id, lea.id))?.id as number;
    const ctx: TenantContext = {
      tenantId: t.id,
      db: createDb(env.DB),
      env,
      principal: { kind: "platform" },
      defer: () => {},
    };
    const failed = await recordGradedResult(ctx, {
      enrollmentId,
      placementId: course.placements[0],
      score: 40,
      maxScore: 100,
      passed: false,
    });
    expect(failed).toMatchObject({ status: "failed", score: 40, attempts: 1 });
    expect(failed.enrollment).toMatchObject({ grade: 40, progress_status: "not_started" });
    const passed = await recordGradedResult(ctx, {
      enrollmentId,
      placementId: course.placements[0],
      score: 90,
      maxScore: 100,
      passed: true,
    });
    expect(passed).toMatchObject({ status: "passed", attempts: 2 });
    expect(passed.enrollment).toMatchObject({ grade: 90, completed_at: null });
    // A later failed attempt keeps the pass.
    const retake = await recordGradedResult(ctx, {
      enrollmentId,
      placementId: course.placements[0],
      score: 10,
      maxScore: 100,
      passed: false,
    });
    expect(retake).toMatchObject({ status: "passed", score: 90, attempts: 3 });
    const submitted = await recordGradedResult(ctx, {
      enrollmentId,
      placementId: course.placements[1],
      score: 16,
      maxScore: 20,
      passed: true,
    });
    expect(submitted.enrollment).toMatchObject({ grade: 85, completed_at: expect.any(String) });
    expect(await eventCount(t.id, "enrollment.completed", "id", enrollmentId)).toBe(1);

    await ctx.db.batch(resetProgressStatements(ctx, [enrollmentId]) as never);
    const view = await outline(lea, course.id);
    expect(view.body.enrollment).toMatchObject({
      completed_at: null,
      progress_percent: 0,
      grade: null,
      progress_status: "not_started",
    });
    expect(placementOf(view, course.placements[0]).status).toBe("not_started");
  });
});
