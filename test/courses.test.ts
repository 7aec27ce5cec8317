/**
 * Courses and their curriculum through the admin API: settings, publishing rules, soft delete and restore,
 * quick edit, bulk delete, deep clone, sections, placements, prerequisites, drip and reordering.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { api, expectProblem, expectStatus } from "./helpers/api";
import { createTenant, keyWithout, lastEvent, roleId, type TestTenant, unique } from "./helpers/factories";

async function createCourse(t: TestTenant, fields: Record<string, unknown> = {}) {
  const res = await api("POST", "/v1/admin/courses", { token: t.key, body: { name: unique("Course"), ...fields } });
  expectStatus(res, 201);
  return res.body as Record<string, any> & { id: number; slug: string; name: string };
}

async function createModule(t: TestTenant, type: string, fields: Record<string, unknown> = {}) {
  const res = await api("POST", "/v1/admin/modules", { token: t.key, body: { type, name: unique(type), ...fields } });
  expectStatus(res, 201);
  return res.body as { id: number; type: string; name: string; slug: string };
}

async function addSection(t: TestTenant, courseId: number, fields: Record<string, unknown> = {}) {
  const res = await api("POST", `/v1/admin/courses/${courseId}/sections`, {
    token: t.key,
    body: { name: unique("Section"), ...fields },
  });
  expectStatus(res, 201);
  return res.body as { id: number; name: string; position: number };
}

async function place(t: TestTenant, courseId: number, sectionId: number, moduleId: number, extra = {}) {
  const res = await api("POST", `/v1/admin/courses/${courseId}/sections/${sectionId}/placements`, {
    token: t.key,
    body: { module_id: moduleId, ...extra },
  });
  expectStatus(res, 201);
  return res.body as { id: number; module_id: number; prerequisite_ids: number[] };
}

async function outline(t: TestTenant, courseId: number) {
  const res = await api("GET", `/v1/admin/courses/${courseId}/curriculum`, { token: t.key });
  expectStatus(res, 200);
  return res.body as {
    version: number;
    sections: {
      id: number;
      name: string;
      position: number;
      placements: { id: number; module_id: number; position: number }[];
    }[];
  };
}

/** A course with two sections and five modules of different types, ready to publish. */
async function buildCourse(t: TestTenant, fields: Record<string, unknown> = {}) {
  const course = await createCourse(t, fields);
  const s1 = await addSection(t, course.id, { name: "Basics" });
  const s2 = await addSection(t, course.id, { name: "Practice" });
  const mods = [
    await createModule(t, "text"),
    await createModule(t, "video", { settings: { url: "https://videos.example.com/intro.mp4" } }),
    await createModule(t, "pdf", { settings: { url: "https://files.example.com/notes.pdf" } }),
    await createModule(t, "quiz"),
    await createModule(t, "assignment"),
  ];
  const p = [
    await place(t, course.id, s1.id, mods[0].id),
    await place(t, course.id, s1.id, mods[1].id),
    await place(t, course.id, s1.id, mods[2].id, { required: false }),
  ];
  p.push(await place(t, course.id, s2.id, mods[3].id, { prerequisite_ids: [p[0].id] }));
  p.push(await place(t, course.id, s2.id, mods[4].id, { drip_rule: "after_enrollment", drip_days: 3 }));
  return { course, sections: [s1, s2], modules: mods, placements: p };
}

describe("courses: create, read, update with the full field set", () => {
  let t: TestTenant;
  beforeAll(async () => {
    t = await createTenant();
  });

  it("creates a draft from a name alone, with documented defaults", async () => {
    const course = await createCourse(t, { name: "Statistics 101" });
    expect(course).toMatchObject({
      name: "Statistics 101",
      slug: "statistics-101",
      status: "draft",
      show_in_catalog: true,
      ratings_enabled: true,
      duration_rule: "unlimited",
      grading_rule: "no_grading",
      completion_rule: "all_modules",
      thank_you_page: { enabled: false, url: null, message: null },
      rating: { average: null, count: 0 },
      category_ids: [],
      instructor_ids: [],
      version: 1,
      published_at: null,
      deleted_at: null,
    });
    const again = await createCourse(t, { name: "Statistics 101" });
    expect(again.slug).toBe("statistics-101-2");
    expect(await lastEvent(t.id, "course.created")).toMatchObject({ slug: "statistics-101-2" });
  });

  it("stores every setting of the seeds and returns it", async () => {
    const staff = await api("POST", "/v1/admin/staff", {
      token: t.key,
      body: { email: `${unique("teacher")}@example.com`, name: "Grace Hopper", role_id: await roleId(t, "instructor") },
    });
    expectStatus(staff, 201);
    const category = await api("POST", "/v1/admin/categories", { token: t.key, body: { name: unique("Data") } });
    const fields = {
      name: "Data Science",
      slug: unique("data-science"),
      subtitle: "From zero to models",
      description: "<p>Long description</p>",
      show_in_catalog: false,
      picture_url: "https://cdn.example.com/p.png",
      thumbnail_url: "https://cdn.example.com/t.png",
      logo_url: "https://cdn.example.com/l.png",
      landing_page_url: "https://academy.example.com/data",
      custom_url: "https://data.example.com",
      seo_title: "Learn data science",
      seo_description: "A course",
      seo_keywords: "data, science",
      finish_message: "Well done!",
      thank_you_page: { enabled: true, url: "https://academy.example.com/thanks", message: null },
      ratings_enabled: false,
      duration_rule: "x_days_after_enrollment",
      access_days: 90,
      grading_rule: "avg_all_modules",
      passing_grade: 70,
      completion_rule: "passing_grade",
      certificate_template_ids: [3],
      sequential_navigation: true,
      drip_enabled: true,
      estimated_minutes: 600,
      category_ids: [category.body.id],
      instructor_ids: [staff.body.id],
    };
    const created = await createCourse(t, fields);
    expect(created).toMatchObject(fields);
    const read = await api("GET", `/v1/admin/courses/${created.id}`, { token: t.key });
    expect(read.body).toMatchObject(fields);
  });

  it("updates any subset, replaces relation lists and bumps the version", async () => {
    const course = await createCourse(t, { subtitle: "old" });
    const res = await api("PATCH", `/v1/admin/courses/${course.id}`, {
      token: t.key,
      body: { subtitle: "new", seo_title: "SEO", instructor_ids: [] },
    });
    expectStatus(res, 200);
    expect(res.body).toMatchObject({ subtitle: "new", seo_title: "SEO", name: course.name, version: 2 });
    expect(await lastEvent(t.id, "course.updated")).toMatchObject({
      id: course.id,
      changed: ["subtitle", "seo_title", "instructor_ids"],
    });
  });

  it("refuses bad input with a 422 naming the field, and writes nothing", async () => {
    const course = await createCourse(t);
    const cases: [Record<string, unknown>, string][] = [
      [{ slug: "Not A Slug!" }, "slug"],
      [{ picture_url: "javascript:alert(1)" }, "picture_url"],
      [{ passing_grade: 101 }, "passing_grade"],
      [{ duration_rule: "forever" }, "duration_rule"],
      [{ category_ids: [999999999] }, "category_ids"],
      [{ instructor_ids: [999999999] }, "instructor_ids.0"],
      [{ graded_module_ids: [999999999] }, "graded_module_ids.0"],
      [{ rating_count: 5 }, "rating_count"],
    ];
    for (const [body, path] of cases) {
      const res = await api("PATCH", `/v1/admin/courses/${course.id}`, { token: t.key, body });
      const problem = expectProblem(res, 422);
      expect(problem.errors?.map((e) => e.path).join(" ")).toContain(path);
    }
    const after = await api("GET", `/v1/admin/courses/${course.id}`, { token: t.key });
    expect(after.body.version).toBe(1);
    expect(after.body.slug).toBe(course.slug);
  });

  it("keeps slugs unique per academy (409) but lets another academy reuse one", async () => {
    const course = await createCourse(t);
    const other = await createCourse(t);
    expectProblem(
      await api("PATCH", `/v1/admin/courses/${other.id}`, { token: t.key, body: { slug: course.slug } }),
      409,
    );
    expectProblem(
      await api("POST", "/v1/admin/courses", { token: t.key, body: { name: "x", slug: course.slug } }),
      409,
    );
    const t2 = await createTenant();
    expectStatus(
      await api("POST", "/v1/admin/courses", { token: t2.key, body: { name: "x", slug: course.slug } }),
      201,
    );
  });

  it("instructors must be staff of the academy, not learners", async () => {
    const learner = await api("POST", "/v1/admin/learners", {
      token: t.key,
      body: { email: `${unique("l")}@example.com`, name: "L" },
    });
    expectStatus(learner, 201);
    const res = await api("POST", "/v1/admin/courses", {
      token: t.key,
      body: { name: "x", instructor_ids: [learner.body.id] },
    });
    expect(expectProblem(res, 422).errors?.[0].path).toBe("instructor_ids.0");
  });

  it("serves the lookups of statuses, grading rules and duration rules", async () => {
    const statuses = await api("GET", "/v1/admin/courses/statuses", { token: t.key });
    expect(statuses.body.map((o: { value: string }) => o.value)).toEqual(["draft", "published", "archived"]);
    const grading = await api("GET", "/v1/admin/courses/grading-rules", { token: t.key });
    expect(grading.body.map((o: { value: string }) => o.value)).toEqual([
      "no_grading",
      "avg_all_modules",
      "avg_specific_modules",
    ]);
    const duration = await api("GET", "/v1/admin/courses/duration-rules", { token: t.key });
    expect(duration.body).toContainEqual({ value: "x_days_after_enrollment", label: expect.any(String) });
  });

  it("looks courses up by name for pickers", async () => {
    const course = await createCourse(t, { name: unique("Zebra lookup") });
    const res = await api("GET", `/v1/admin/courses/lookup?q=${encodeURIComponent(course.name)}`, { token: t.key });
    expect(res.body).toEqual([{ value: course.id, label: course.name }]);
  });
});

describe("courses: lists", () => {
  let t: TestTenant;
  const made: Record<string, number> = {};
  beforeAll(async () => {
    t = await createTenant();
    const category = await api("POST", "/v1/admin/categories", { token: t.key, body: { name: "Math" } });
    made.category = category.body.id;
    made.a = (await createCourse(t, { name: "Algebra", category_ids: [made.category] })).id;
    made.b = (await createCourse(t, { name: "Biology" })).id;
    made.c = (await createCourse(t, { name: "Calculus", category_ids: [made.category] })).id;
    await api("PATCH", `/v1/admin/courses/${made.b}`, { token: t.key, body: { status: "archived" } });
  });

  const names = async (query: string) => {
    const res = await api("GET", `/v1/admin/courses?${query}`, { token: t.key });
    expectStatus(res, 200);
    return res.body.data.map((c: { name: string }) => c.name);
  };

  it("filters, searches, sorts and paginates", async () => {
    expect(await names("sort=name")).toEqual(["Algebra", "Biology", "Calculus"]);
    expect(await names("sort=-name")).toEqual(["Calculus", "Biology", "Algebra"]);
    expect(await names(`category_id=${made.category}&sort=name`)).toEqual(["Algebra", "Calculus"]);
    expect(await names("status=archived")).toEqual(["Biology"]);
    expect(await names("q=CALC")).toEqual(["Calculus"]);
    const page = await api("GET", "/v1/admin/courses?per_page=2&page=2&sort=name", { token: t.key });
    expect(page.body.meta).toEqual({ page: 2, per_page: 2, total: 3, last_page: 2 });
    expect(page.body.data.map((c: { name: string }) => c.name)).toEqual(["Calculus"]);
  });

  it("refuses unknown filters values and sort fields", async () => {
    expectProblem(await api("GET", "/v1/admin/courses?sort=price", { token: t.key }), 422);
    expectProblem(await api("GET", "/v1/admin/courses?status=gone", { token: t.key }), 422);
  });
});

describe("courses: publishing", () => {
  let t: TestTenant;
  beforeAll(async () => {
    t = await createTenant();
  });

  it("refuses an empty course, listing what is missing, and publishes a complete one", async () => {
    const empty = await createCourse(t, {
      duration_rule: "on_specific_date",
      completion_rule: "percentage_of_modules",
    });
    const refused = expectProblem(await api("POST", `/v1/admin/courses/${empty.id}/publish`, { token: t.key }), 422);
    expect(refused.errors?.map((e) => e.path).sort()).toEqual(["access_until", "completion_percentage", "curriculum"]);
    const still = await api("GET", `/v1/admin/courses/${empty.id}`, { token: t.key });
    expect(still.body.status).toBe("draft");

    const { course } = await buildCourse(t);
    const res = await api("POST", `/v1/admin/courses/${course.id}/publish`, { token: t.key });
    expectStatus(res, 200);
    expect(res.body.status).toBe("published");
    expect(res.body.published_at).toEqual(expect.any(String));
    expect(await lastEvent(t.id, "course.published")).toMatchObject({ id: course.id });
  });

  it("checks grading and completion rules against the curriculum", async () => {
    const { course, modules } = await buildCourse(t, {
      grading_rule: "avg_specific_modules",
      completion_rule: "passing_grade",
    });
    const refused = expectProblem(await api("POST", `/v1/admin/courses/${course.id}/publish`, { token: t.key }), 422);
    expect(refused.errors?.map((e) => e.path).sort()).toEqual(["graded_module_ids", "passing_grade"]);
    const outsider = await createModule(t, "quiz");
    await api("PATCH", `/v1/admin/courses/${course.id}`, {
      token: t.key,
      body: { graded_module_ids: [modules[3].id, outsider.id], passing_grade: 60 },
    });
    const again = expectProblem(await api("POST", `/v1/admin/courses/${course.id}/publish`, { token: t.key }), 422);
    expect(again.errors).toEqual([
      { path: "graded_module_ids.1", message: expect.stringContaining(String(outsider.id)) },
    ]);
    await api("PATCH", `/v1/admin/courses/${course.id}`, {
      token: t.key,
      body: { graded_module_ids: [modules[3].id] },
    });
    expectStatus(await api("POST", `/v1/admin/courses/${course.id}/publish`, { token: t.key }), 200);
  });

  it("keeps a published course complete: a change that breaks it is refused", async () => {
    const { course } = await buildCourse(t);
    expectStatus(await api("POST", `/v1/admin/courses/${course.id}/publish`, { token: t.key }), 200);
    const res = await api("PATCH", `/v1/admin/courses/${course.id}`, {
      token: t.key,
      body: { duration_rule: "on_specific_date" },
    });
    expect(expectProblem(res, 422).errors?.[0].path).toBe("access_until");
    const ok = await api("PATCH", `/v1/admin/courses/${course.id}`, {
      token: t.key,
      body: { duration_rule: "on_specific_date", access_until: "2030-01-01T00:00:00Z" },
    });
    expectStatus(ok, 200);
    expect(ok.body.duration_rule).toBe("on_specific_date");
  });

  it("publishes through PATCH status with the same checks", async () => {
    const empty = await createCourse(t);
    expectProblem(
      await api("PATCH", `/v1/admin/courses/${empty.id}`, { token: t.key, body: { status: "published" } }),
      422,
    );
    const { course } = await buildCourse(t);
    const res = await api("PATCH", `/v1/admin/courses/${course.id}`, { token: t.key, body: { status: "published" } });
    expect(res.body.status).toBe("published");
  });
});

describe("courses: delete, restore, bulk delete, quick edit", () => {
  let t: TestTenant;
  beforeAll(async () => {
    t = await createTenant();
  });

  it("soft-deletes and restores a course", async () => {
    const course = await createCourse(t);
    expectStatus(await api("DELETE", `/v1/admin/courses/${course.id}`, { token: t.key }), 204);
    expectProblem(await api("GET", `/v1/admin/courses/${course.id}`, { token: t.key }), 404);
    const deleted = await api("GET", "/v1/admin/courses?deleted=only", { token: t.key });
    expect(deleted.body.data.map((c: { id: number }) => c.id)).toContain(course.id);
    const restored = await api("POST", `/v1/admin/courses/${course.id}/restore`, { token: t.key });
    expectStatus(restored, 200);
    expect(restored.body.deleted_at).toBeNull();
    expectStatus(await api("GET", `/v1/admin/courses/${course.id}`, { token: t.key }), 200);
    expectProblem(await api("POST", `/v1/admin/courses/${course.id}/restore`, { token: t.key }), 404);
  });

  it("bulk-deletes atomically: one unknown id deletes nothing", async () => {
    const a = await createCourse(t);
    const b = await createCourse(t);
    const refused = await api("POST", "/v1/admin/courses/bulk-delete", {
      token: t.key,
      body: { ids: [a.id, 999999999] },
    });
    expect(expectProblem(refused, 422).errors).toEqual([{ path: "ids.1", message: expect.any(String) }]);
    expectStatus(await api("GET", `/v1/admin/courses/${a.id}`, { token: t.key }), 200);
    const ok = await api("POST", "/v1/admin/courses/bulk-delete", { token: t.key, body: { ids: [a.id, b.id] } });
    expect(ok.body).toEqual({ deleted: [a.id, b.id] });
    expectProblem(await api("GET", `/v1/admin/courses/${b.id}`, { token: t.key }), 404);
  });

  it("refuses to delete a course a learning path contains unless forced", async () => {
    const course = await createCourse(t);
    const now = new Date().toISOString();
    const path = await env.DB.prepare(
      "INSERT INTO learning_paths (tenant_id, name, slug, created_at, updated_at) VALUES (?, 'Path', ?, ?, ?) RETURNING id",
    )
      .bind(t.id, unique("path"), now, now)
      .first<{ id: number }>();
    await env.DB.prepare(
      "INSERT INTO learning_path_steps (tenant_id, path_id, course_id, position) VALUES (?, ?, ?, 0)",
    )
      .bind(t.id, path?.id, course.id)
      .run();
    const refused = expectProblem(await api("DELETE", `/v1/admin/courses/${course.id}`, { token: t.key }), 409);
    expect(refused.used_by).toEqual([{ course_id: course.id, learning_paths: [{ id: path?.id, name: "Path" }] }]);
    expectStatus(await api("DELETE", `/v1/admin/courses/${course.id}?force=true`, { token: t.key }), 204);
    const steps = await env.DB.prepare("SELECT count(*) AS n FROM learning_path_steps WHERE course_id = ?")
      .bind(course.id)
      .first<{ n: number }>();
    expect(steps?.n).toBe(0);
  });

  it("quick-edits three courses at once, all or nothing", async () => {
    const cs = [await createCourse(t), await createCourse(t), await createCourse(t)];
    const refused = await api("PATCH", "/v1/admin/courses", {
      token: t.key,
      body: {
        items: [
          { id: cs[0].id, name: "Renamed" },
          { id: cs[1].id, slug: cs[2].slug },
        ],
      },
    });
    expect(expectProblem(refused, 422).errors).toEqual([{ path: "items.1.slug", message: expect.any(String) }]);
    expect((await api("GET", `/v1/admin/courses/${cs[0].id}`, { token: t.key })).body.name).toBe(cs[0].name);

    const res = await api("PATCH", "/v1/admin/courses", {
      token: t.key,
      body: {
        items: [
          { id: cs[0].id, name: "First" },
          { id: cs[1].id, status: "archived", show_in_catalog: false },
          { id: cs[2].id, subtitle: "Third subtitle", ratings_enabled: false },
        ],
      },
    });
    expectStatus(res, 200);
    expect(
      res.body.data.map((c: Record<string, unknown>) => [
        c.id,
        c.name === "First" || c.status === "archived" || c.subtitle === "Third subtitle",
      ]),
    ).toEqual(cs.map((c) => [c.id, true]));
    expect((await api("GET", `/v1/admin/courses/${cs[1].id}`, { token: t.key })).body).toMatchObject({
      status: "archived",
      show_in_catalog: false,
    });
  });

  it("quick-edits and bulk-deletes 100 courses in one request each (D1's 100-parameter limit)", async () => {
    const now = new Date().toISOString();
    const slugs = Array.from({ length: 100 }, (_, i) => unique(`many-${i}`));
    await env.DB.batch(
      slugs.map((slug) =>
        env.DB.prepare(
          "INSERT INTO courses (tenant_id, name, slug, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        ).bind(t.id, slug, slug, now, now),
      ),
    );
    const rows = await env.DB.prepare(`SELECT id FROM courses WHERE tenant_id = ? AND slug LIKE 'many-%'`)
      .bind(t.id)
      .all<{ id: number }>();
    const ids = rows.results.map((r) => r.id);
    expect(ids).toHaveLength(100);
    const edited = await api("PATCH", "/v1/admin/courses", {
      token: t.key,
      body: { items: ids.map((id, i) => ({ id, slug: `renamed-${t.id}-${i}` })) },
    });
    expectStatus(edited, 200);
    expect(edited.body.data).toHaveLength(100);
    const deleted = await api("POST", "/v1/admin/courses/bulk-delete", { token: t.key, body: { ids } });
    expectStatus(deleted, 200);
    expect(deleted.body.deleted).toHaveLength(100);
  });

  it("refuses duplicate ids, publishing and unknown fields in quick edit", async () => {
    const c = await createCourse(t);
    const dup = await api("PATCH", "/v1/admin/courses", {
      token: t.key,
      body: { items: [{ id: c.id }, { id: c.id }] },
    });
    expect(expectProblem(dup, 422).errors?.[0].path).toBe("items.1.id");
    expectProblem(
      await api("PATCH", "/v1/admin/courses", { token: t.key, body: { items: [{ id: c.id, status: "published" }] } }),
      422,
    );
    expectProblem(
      await api("PATCH", "/v1/admin/courses", { token: t.key, body: { items: [{ id: c.id, version: 9 }] } }),
      422,
    );
    expectProblem(await api("PATCH", "/v1/admin/courses", { token: t.key, body: { items: [] } }), 422);
  });
});

describe("curriculum: sections, placements, prerequisites, reorder", () => {
  let t: TestTenant;
  beforeAll(async () => {
    t = await createTenant();
  });

  it("returns the whole outline in order with modules, drip and prerequisites", async () => {
    const built = await buildCourse(t);
    const o = await outline(t, built.course.id);
    expect(o.sections.map((s) => s.name)).toEqual(["Basics", "Practice"]);
    expect(o.sections[0].placements.map((p) => p.module_id)).toEqual(built.modules.slice(0, 3).map((m) => m.id));
    const quiz = o.sections[1].placements[0] as Record<string, any>;
    expect(quiz).toMatchObject({
      prerequisite_ids: [built.placements[0].id],
      module: { type: "quiz" },
      required: true,
    });
    expect(o.sections[1].placements[1]).toMatchObject({ drip_rule: "after_enrollment", drip_days: 3 });
    expect(o.sections[0].placements[2]).toMatchObject({ required: false });
  });

  it("inserts sections at a position and keeps positions dense", async () => {
    const course = await createCourse(t);
    const a = await addSection(t, course.id, { name: "A" });
    await addSection(t, course.id, { name: "C" });
    await addSection(t, course.id, { name: "B", position: 1 });
    let o = await outline(t, course.id);
    expect(o.sections.map((s) => [s.name, s.position])).toEqual([
      ["A", 0],
      ["B", 1],
      ["C", 2],
    ]);
    expectStatus(await api("DELETE", `/v1/admin/courses/${course.id}/sections/${a.id}`, { token: t.key }), 204);
    o = await outline(t, course.id);
    expect(o.sections.map((s) => [s.name, s.position])).toEqual([
      ["B", 0],
      ["C", 1],
    ]);
  });

  it("updates a section and a placement", async () => {
    const built = await buildCourse(t);
    const id = built.course.id;
    const s = await api("PATCH", `/v1/admin/courses/${id}/sections/${built.sections[0].id}`, {
      token: t.key,
      body: { name: "Renamed", release_at: "2030-01-01T00:00:00Z" },
    });
    expect(s.body).toMatchObject({ name: "Renamed", release_at: "2030-01-01T00:00:00Z" });
    const p = await api("PATCH", `/v1/admin/courses/${id}/placements/${built.placements[1].id}`, {
      token: t.key,
      body: { required: false, drip_rule: "on_date", drip_date: "2030-02-01T00:00:00Z" },
    });
    expect(p.body).toMatchObject({ required: false, drip_rule: "on_date", drip_date: "2030-02-01T00:00:00Z" });
    const got = await api("GET", `/v1/admin/courses/${id}/placements/${built.placements[1].id}`, { token: t.key });
    expect(got.body.required).toBe(false);
  });

  it("refuses drip rules without their value, a module twice, and modules of other academies", async () => {
    const built = await buildCourse(t);
    const id = built.course.id;
    const sid = built.sections[0].id;
    const extra = await createModule(t, "embed");
    const drip = await api("POST", `/v1/admin/courses/${id}/sections/${sid}/placements`, {
      token: t.key,
      body: { module_id: extra.id, drip_rule: "on_date" },
    });
    expect(expectProblem(drip, 422).errors?.[0].path).toBe("drip_date");
    const twice = await api("POST", `/v1/admin/courses/${id}/sections/${sid}/placements`, {
      token: t.key,
      body: { module_id: built.modules[0].id },
    });
    expectProblem(twice, 409);
    const other = await createTenant();
    const foreign = await createModule(other, "text");
    const res = await api("POST", `/v1/admin/courses/${id}/sections/${sid}/placements`, {
      token: t.key,
      body: { module_id: foreign.id },
    });
    expect(expectProblem(res, 422).errors?.[0].path).toBe("module_id");
    expect((await outline(t, id)).sections[0].placements).toHaveLength(3);
  });

  it("refuses circular prerequisites and prerequisites from another course", async () => {
    const built = await buildCourse(t);
    const id = built.course.id;
    const [p0, , , p3] = built.placements;
    // p3 needs p0; making p0 need p3 closes a cycle.
    const cycle = await api("PATCH", `/v1/admin/courses/${id}/placements/${p0.id}`, {
      token: t.key,
      body: { prerequisite_ids: [p3.id] },
    });
    expect(expectProblem(cycle, 422).errors?.[0]).toMatchObject({
      path: "prerequisite_ids",
      message: expect.stringContaining("Circular"),
    });
    const self = await api("PATCH", `/v1/admin/courses/${id}/placements/${p0.id}`, {
      token: t.key,
      body: { prerequisite_ids: [p0.id] },
    });
    expect(expectProblem(self, 422).errors?.[0].path).toBe("prerequisite_ids.0");
    const otherCourse = await buildCourse(t);
    const foreign = await api("PATCH", `/v1/admin/courses/${id}/placements/${p0.id}`, {
      token: t.key,
      body: { prerequisite_ids: [otherCourse.placements[0].id] },
    });
    expect(expectProblem(foreign, 422).errors?.[0].path).toBe("prerequisite_ids.0");
    const o = await outline(t, id);
    expect(o.sections[0].placements[0]).toMatchObject({ prerequisite_ids: [] });
  });

  it("a section or placement of another course is a 404", async () => {
    const a = await buildCourse(t);
    const b = await buildCourse(t);
    expectProblem(
      await api("GET", `/v1/admin/courses/${a.course.id}/sections/${b.sections[0].id}`, { token: t.key }),
      404,
    );
    expectProblem(
      await api("PATCH", `/v1/admin/courses/${a.course.id}/placements/${b.placements[0].id}`, {
        token: t.key,
        body: { required: false },
      }),
      404,
    );
    expectProblem(
      await api("DELETE", `/v1/admin/courses/${a.course.id}/placements/${b.placements[0].id}`, { token: t.key }),
      404,
    );
    expectProblem(
      await api("POST", `/v1/admin/courses/${a.course.id}/sections/${b.sections[0].id}/placements`, {
        token: t.key,
        body: { module_id: a.modules[0].id },
      }),
      404,
    );
  });

  it("reorders sections and moves placements between them in one call", async () => {
    const built = await buildCourse(t);
    const id = built.course.id;
    const [s1, s2] = built.sections;
    const [p0, p1, p2, p3, p4] = built.placements;
    const res = await api("PUT", `/v1/admin/courses/${id}/curriculum`, {
      token: t.key,
      body: {
        sections: [
          { id: s2.id, placement_ids: [p4.id, p0.id, p3.id] },
          { id: s1.id, placement_ids: [p2.id, p1.id] },
        ],
      },
    });
    expectStatus(res, 200);
    expect(
      res.body.sections.map((s: { id: number; placements: { id: number; position: number }[] }) => [
        s.id,
        s.placements.map((p) => [p.id, p.position]),
      ]),
    ).toEqual([
      [
        s2.id,
        [
          [p4.id, 0],
          [p0.id, 1],
          [p3.id, 2],
        ],
      ],
      [
        s1.id,
        [
          [p2.id, 0],
          [p1.id, 1],
        ],
      ],
    ]);
    expect(res.body.sections.map((s: { position: number }) => s.position)).toEqual([0, 1]);
  });

  it("refuses a reorder that misses, repeats or borrows ids, changing nothing", async () => {
    const built = await buildCourse(t);
    const id = built.course.id;
    const [s1, s2] = built.sections;
    const [p0, p1, p2, p3, p4] = built.placements;
    const before = await outline(t, id);
    const other = await buildCourse(t);
    const bodies = [
      { sections: [{ id: s1.id, placement_ids: [p0.id, p1.id, p2.id, p3.id, p4.id] }] },
      {
        sections: [
          { id: s1.id, placement_ids: [p0.id, p1.id, p2.id] },
          { id: s2.id, placement_ids: [p3.id, p4.id, p0.id] },
        ],
      },
      {
        sections: [
          { id: s1.id, placement_ids: [p0.id, p1.id, p2.id] },
          { id: s2.id, placement_ids: [p3.id] },
        ],
      },
      {
        sections: [
          { id: s1.id, placement_ids: [p0.id, p1.id, p2.id] },
          { id: other.sections[0].id, placement_ids: [p3.id, p4.id] },
        ],
      },
    ];
    for (const body of bodies) {
      expectProblem(await api("PUT", `/v1/admin/courses/${id}/curriculum`, { token: t.key, body }), 422);
    }
    const after = await outline(t, id);
    expect(after).toEqual(before);
  });

  it("removing a placement keeps the module in the library and renumbers the section", async () => {
    const built = await buildCourse(t);
    const id = built.course.id;
    expectStatus(
      await api("DELETE", `/v1/admin/courses/${id}/placements/${built.placements[0].id}`, { token: t.key }),
      204,
    );
    const o = await outline(t, id);
    expect(o.sections[0].placements.map((p) => p.position)).toEqual([0, 1]);
    expectStatus(await api("GET", `/v1/admin/modules/${built.modules[0].id}`, { token: t.key }), 200);
    // The quiz's prerequisite pointed at the removed placement: it is gone too.
    expect((o.sections[1].placements[0] as Record<string, any>).prerequisite_ids).toEqual([]);
  });

  it("every curriculum change bumps the course version and records an event", async () => {
    const course = await createCourse(t);
    await addSection(t, course.id);
    const got = await api("GET", `/v1/admin/courses/${course.id}`, { token: t.key });
    expect(got.body.version).toBe(2);
    expect(await lastEvent(t.id, "course.curriculum_changed")).toMatchObject({
      course_id: course.id,
      change: "section_created",
    });
  });
});

describe("courses: deep clone", () => {
  let t: TestTenant;
  beforeAll(async () => {
    t = await createTenant();
  });

  it("copies settings and curriculum as a draft sharing the modules", async () => {
    const built = await buildCourse(t, { subtitle: "Original", sequential_navigation: true });
    await api("POST", `/v1/admin/courses/${built.course.id}/publish`, { token: t.key });
    const res = await api("POST", `/v1/admin/courses/${built.course.id}/clone`, { token: t.key, body: {} });
    expectStatus(res, 201);
    expect(res.headers.get("location")).toBe(`/v1/admin/courses/${res.body.id}`);
    expect(res.body).toMatchObject({
      name: `${built.course.name} (copy)`,
      status: "draft",
      subtitle: "Original",
      sequential_navigation: true,
      published_at: null,
    });
    expect(res.body.slug).not.toBe(built.course.slug);
    const source = await outline(t, built.course.id);
    const copy = await outline(t, res.body.id);
    const shape = (o: typeof source) =>
      o.sections.map((s) => [s.name, s.position, s.placements.map((p) => [p.module_id, p.position])]);
    expect(shape(copy)).toEqual(shape(source));
    // Prerequisites point at the copy's own placements.
    const copiedQuiz = copy.sections[1].placements[0] as Record<string, any>;
    expect(copiedQuiz.prerequisite_ids).toEqual([copy.sections[0].placements[0].id]);
  });

  it("copies the modules when asked, leaving the originals untouched", async () => {
    const built = await buildCourse(t);
    const res = await api("POST", `/v1/admin/courses/${built.course.id}/clone`, {
      token: t.key,
      body: { modules: "copy", name: "Copied modules" },
    });
    expectStatus(res, 201);
    expect(res.body.name).toBe("Copied modules");
    const copy = await outline(t, res.body.id);
    const copiedIds = copy.sections.flatMap((s) => s.placements.map((p) => p.module_id));
    expect(copiedIds).toHaveLength(5);
    for (const m of built.modules) expect(copiedIds).not.toContain(m.id);
  });

  it("refuses a taken slug and unknown fields, creating nothing", async () => {
    const built = await createCourse(t);
    const before = await api("GET", "/v1/admin/courses?per_page=1", { token: t.key });
    expectProblem(
      await api("POST", `/v1/admin/courses/${built.id}/clone`, { token: t.key, body: { slug: built.slug } }),
      409,
    );
    expectProblem(
      await api("POST", `/v1/admin/courses/${built.id}/clone`, { token: t.key, body: { modules: "move" } }),
      422,
    );
    const after = await api("GET", "/v1/admin/courses?per_page=1", { token: t.key });
    expect(after.body.meta.total).toBe(before.body.meta.total);
  });
});

describe("courses and curriculum: credentials and other academies", () => {
  let t: TestTenant;
  let other: TestTenant;
  let built: Awaited<ReturnType<typeof buildCourse>>;
  beforeAll(async () => {
    t = await createTenant();
    other = await createTenant();
    built = await buildCourse(t);
  });

  const paths = () => {
    const id = built.course.id;
    const sid = built.sections[0].id;
    const pid = built.placements[0].id;
    return [
      ["GET", `/v1/admin/courses/${id}`, "courses:read"],
      ["PATCH", `/v1/admin/courses/${id}`, "courses:write", { subtitle: "x" }],
      ["DELETE", `/v1/admin/courses/${id}`, "courses:write"],
      ["POST", `/v1/admin/courses/${id}/publish`, "courses:write"],
      ["POST", `/v1/admin/courses/${id}/clone`, "courses:write", {}],
      ["GET", `/v1/admin/courses/${id}/curriculum`, "courses:read"],
      ["PUT", `/v1/admin/courses/${id}/curriculum`, "courses:write", { sections: [] }],
      ["POST", `/v1/admin/courses/${id}/sections`, "courses:write", { name: "S" }],
      ["GET", `/v1/admin/courses/${id}/sections/${sid}`, "courses:read"],
      ["PATCH", `/v1/admin/courses/${id}/sections/${sid}`, "courses:write", { name: "S" }],
      [
        "POST",
        `/v1/admin/courses/${id}/sections/${sid}/placements`,
        "courses:write",
        { module_id: built.modules[0].id },
      ],
      ["GET", `/v1/admin/courses/${id}/placements/${pid}`, "courses:read"],
      ["PATCH", `/v1/admin/courses/${id}/placements/${pid}`, "courses:write", { required: true }],
      ["DELETE", `/v1/admin/courses/${id}/placements/${pid}`, "courses:write"],
    ] as [string, string, string, unknown?][];
  };

  it("answers 401 without a credential and 403 to a key lacking the permission", async () => {
    const withoutRead = await keyWithout(t, "courses:read");
    const withoutWrite = await keyWithout(t, "courses:write");
    for (const [method, path, permission, body] of paths()) {
      expectProblem(await api(method, path, { body }), 401);
      const token = permission === "courses:read" ? withoutRead : withoutWrite;
      const res = await api(method, path, { token, body });
      expect(expectProblem(res, 403).required_permission).toBe(permission);
    }
  });

  it("answers 404 to another academy, which changes nothing", async () => {
    for (const [method, path, , body] of paths()) {
      expectProblem(await api(method, path, { token: other.key, body }), 404);
    }
    const o = await outline(t, built.course.id);
    expect(o.sections.flatMap((s) => s.placements)).toHaveLength(5);
    expectStatus(await api("GET", `/v1/admin/courses/${built.course.id}`, { token: t.key }), 200);
    const quick = await api("PATCH", "/v1/admin/courses", {
      token: other.key,
      body: { items: [{ id: built.course.id, name: "Stolen" }] },
    });
    expect(expectProblem(quick, 422).errors?.[0].path).toBe("items.0.id");
    const bulk = await api("POST", "/v1/admin/courses/bulk-delete", {
      token: other.key,
      body: { ids: [built.course.id] },
    });
    expectProblem(bulk, 422);
    expect((await api("GET", `/v1/admin/courses/${built.course.id}`, { token: t.key })).body.name).toBe(
      built.course.name,
    );
  });
});
