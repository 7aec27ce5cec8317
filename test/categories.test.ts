/**
 * Categories beyond create/list/get (those are in learners.test.ts): update, delete with the in-use 409 and
 * `force`, bulk delete, ordering, lookup, and the 401/403/404 of each.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { api, expectProblem, expectStatus } from "./helpers/api";
import { createTenant, keyWithout, lastEvent, type TestTenant, unique } from "./helpers/factories";

interface Category {
  id: number;
  type: string;
  name: string;
  slug: string;
  description: string | null;
  position: number;
  updated_at: string;
}

async function createCategory(tenant: TestTenant, fields: Record<string, unknown> = {}): Promise<Category> {
  const res = await api("POST", "/v1/admin/categories", {
    token: tenant.key,
    body: { name: unique("Category"), ...fields },
  });
  expectStatus(res, 201);
  return res.body;
}

async function createCourse(tenant: TestTenant, fields: Record<string, unknown> = {}) {
  const res = await api("POST", "/v1/admin/courses", {
    token: tenant.key,
    body: { name: unique("Course"), ...fields },
  });
  expectStatus(res, 201);
  return res.body as { id: number; name: string; category_ids: number[] };
}

/** A module with a category, written directly (the modules API is another engineer's). */
async function moduleWithCategory(tenant: TestTenant, categoryId: number, name = unique("Module")) {
  const now = new Date().toISOString();
  const row = await env.DB.prepare(
    "INSERT INTO modules (tenant_id, type, name, slug, created_at, updated_at) VALUES (?, 'text', ?, ?, ?, ?) RETURNING id",
  )
    .bind(tenant.id, name, unique("m"), now, now)
    .first<{ id: number }>();
  await env.DB.prepare("INSERT INTO module_categories (tenant_id, module_id, category_id) VALUES (?, ?, ?)")
    .bind(tenant.id, row?.id, categoryId)
    .run();
  return { id: row?.id as number, name };
}

async function get(tenant: TestTenant, id: number) {
  return api("GET", `/v1/admin/categories/${id}`, { token: tenant.key });
}

async function catalogVersion(tenantId: number) {
  const row = await env.DB.prepare("SELECT catalog_version AS v FROM tenants WHERE id = ?")
    .bind(tenantId)
    .first<{ v: number }>();
  return row?.v as number;
}

async function courseCategoryIds(tenant: TestTenant, courseId: number) {
  const res = await api("GET", `/v1/admin/courses/${courseId}`, { token: tenant.key });
  expectStatus(res, 200);
  return res.body.category_ids as number[];
}

// ---- update ------------------------------------------------------------------------------------------------------

describe("PATCH /v1/admin/categories/{id}", () => {
  let t: TestTenant;
  beforeAll(async () => {
    t = await createTenant();
  });

  it("updates name, slug, description and position, emits category.updated and bumps the catalog", async () => {
    const cat = await createCategory(t, { name: "Old", description: "d" });
    expect(await lastEvent(t.id, "category.created")).toEqual({ id: cat.id, type: "course", slug: cat.slug });
    const before = await catalogVersion(t.id);
    const res = await api("PATCH", `/v1/admin/categories/${cat.id}`, {
      token: t.key,
      body: { name: "New name", slug: "new-name", description: null, position: 7, type: "course" },
    });
    expectStatus(res, 200);
    expect(res.body).toMatchObject({
      id: cat.id,
      type: "course",
      name: "New name",
      slug: "new-name",
      description: null,
      position: 7,
    });
    expect((await get(t, cat.id)).body).toEqual(res.body);
    expect(await lastEvent(t.id, "category.updated")).toMatchObject({ id: cat.id, slug: "new-name" });
    expect(await catalogVersion(t.id)).toBe(before + 1);

    // A partial update leaves the other fields alone.
    const partial = await api("PATCH", `/v1/admin/categories/${cat.id}`, { token: t.key, body: { position: 1 } });
    expectStatus(partial, 200);
    expect(partial.body).toMatchObject({ name: "New name", slug: "new-name", position: 1 });
  });

  it("keeps the type immutable (422) and slugs unique within the type (409), writing nothing", async () => {
    const a = await createCategory(t, { name: "Alpha", slug: unique("alpha") });
    const b = await createCategory(t, { name: "Beta", slug: unique("beta") });
    const moduleCat = await createCategory(t, { name: "Mod", type: "module", slug: a.slug });

    const typeChange = expectProblem(
      await api("PATCH", `/v1/admin/categories/${a.id}`, { token: t.key, body: { type: "module", name: "X" } }),
      422,
    );
    expect(typeChange.errors?.map((e) => e.path)).toEqual(["type"]);

    const dup = expectProblem(
      await api("PATCH", `/v1/admin/categories/${b.id}`, { token: t.key, body: { slug: a.slug, name: "Y" } }),
      409,
    );
    expect(dup.detail).toContain(a.slug);
    expect((await get(t, a.id)).body).toEqual(a);
    expect((await get(t, b.id)).body).toEqual(b);

    // The same slug in another type is fine; its own slug too.
    expectStatus(
      await api("PATCH", `/v1/admin/categories/${moduleCat.id}`, { token: t.key, body: { slug: a.slug } }),
      200,
    );
    expectStatus(await api("PATCH", `/v1/admin/categories/${a.id}`, { token: t.key, body: { slug: a.slug } }), 200);
  });

  it("answers invalid bodies with 422 naming the field", async () => {
    const cat = await createCategory(t);
    const cases: [Record<string, unknown>, string][] = [
      [{ name: "" }, "name"],
      [{ slug: "Bad Slug" }, "slug"],
      [{ position: -3 }, "position"],
      [{ description: "x".repeat(5001) }, "description"],
      [{ tenant_id: 9 }, "tenant_id"],
      [{ type: "tag" }, "type"],
    ];
    for (const [body, path] of cases) {
      const problem = expectProblem(await api("PATCH", `/v1/admin/categories/${cat.id}`, { token: t.key, body }), 422);
      expect(problem.errors?.map((e) => e.path)).toContain(path);
    }
    expect((await get(t, cat.id)).body).toEqual(cat);
  });
});

// ---- delete ------------------------------------------------------------------------------------------------------

describe("DELETE /v1/admin/categories/{id}", () => {
  let t: TestTenant;
  beforeAll(async () => {
    t = await createTenant();
  });

  it("deletes an unused category (204), emits category.deleted and bumps the catalog", async () => {
    const cat = await createCategory(t);
    const before = await catalogVersion(t.id);
    expectStatus(await api("DELETE", `/v1/admin/categories/${cat.id}`, { token: t.key }), 204);
    expectProblem(await get(t, cat.id), 404);
    expect(await lastEvent(t.id, "category.deleted")).toMatchObject({ id: cat.id, type: "course", slug: cat.slug });
    expect(await catalogVersion(t.id)).toBe(before + 1);
    expectProblem(await api("DELETE", `/v1/admin/categories/${cat.id}`, { token: t.key }), 404);
  });

  it("refuses to delete a category a course uses (409 naming the course), and keeps everything", async () => {
    const cat = await createCategory(t, { name: "Used" });
    const course = await createCourse(t, { name: "Statistics 101", category_ids: [cat.id] });
    const res = await api("DELETE", `/v1/admin/categories/${cat.id}`, { token: t.key });
    const problem = expectProblem(res, 409);
    expect(problem.detail).toContain("1 course");
    expect(problem.used_by).toEqual({
      courses: [{ id: course.id, name: "Statistics 101" }],
      modules: [],
      learning_paths: [],
    });
    expect(problem.used_by_counts).toEqual({ courses: 1, modules: 0, learning_paths: 0 });
    expect((await get(t, cat.id)).body).toEqual(cat);
    expect(await courseCategoryIds(t, course.id)).toEqual([cat.id]);
  });

  it("names modules and learning paths that use a category, and lists at most 20 of each", async () => {
    const courseCat = await createCategory(t);
    for (let i = 0; i < 22; i++) await createCourse(t, { category_ids: [courseCat.id] });
    const many = expectProblem(await api("DELETE", `/v1/admin/categories/${courseCat.id}`, { token: t.key }), 409);
    expect((many.used_by as { courses: unknown[] }).courses).toHaveLength(20);
    expect(many.used_by_counts).toEqual({ courses: 22, modules: 0, learning_paths: 0 });

    const moduleCat = await createCategory(t, { type: "module" });
    const mod = await moduleWithCategory(t, moduleCat.id, "Lab 1");
    const problem = expectProblem(await api("DELETE", `/v1/admin/categories/${moduleCat.id}`, { token: t.key }), 409);
    expect(problem.used_by).toEqual({ courses: [], modules: [{ id: mod.id, name: "Lab 1" }], learning_paths: [] });

    const pathCat = await createCategory(t, { type: "learning_path" });
    const path = await api("POST", "/v1/admin/learning-paths", {
      token: t.key,
      body: { name: "Data track", category_ids: [pathCat.id] },
    });
    expectStatus(path, 201);
    const byPath = expectProblem(await api("DELETE", `/v1/admin/categories/${pathCat.id}`, { token: t.key }), 409);
    expect(byPath.used_by).toEqual({
      courses: [],
      modules: [],
      learning_paths: [{ id: path.body.id, name: "Data track" }],
    });
  });

  it("with ?force=true detaches the category from its users and deletes it", async () => {
    const cat = await createCategory(t);
    const keep = await createCategory(t);
    const course = await createCourse(t, { category_ids: [cat.id, keep.id] });
    const mod = await moduleWithCategory(t, cat.id);
    const before = await catalogVersion(t.id);
    expectStatus(await api("DELETE", `/v1/admin/categories/${cat.id}?force=true`, { token: t.key }), 204);
    expectProblem(await get(t, cat.id), 404);
    expect(await courseCategoryIds(t, course.id)).toEqual([keep.id]);
    const left = await env.DB.prepare("SELECT count(*) AS n FROM module_categories WHERE module_id = ?")
      .bind(mod.id)
      .first<{ n: number }>();
    expect(left?.n).toBe(0);
    expect(await lastEvent(t.id, "category.deleted")).toMatchObject({
      id: cat.id,
      detached: { courses: 1, modules: 1, learning_paths: 0 },
    });
    expect(await catalogVersion(t.id)).toBe(before + 1);
    expectProblem(await api("DELETE", `/v1/admin/categories/${keep.id}?force=maybe`, { token: t.key }), 422);
  });
});

// ---- bulk delete -------------------------------------------------------------------------------------------------

describe("POST /v1/admin/categories/bulk-delete", () => {
  let t: TestTenant;
  beforeAll(async () => {
    t = await createTenant();
  });

  it("deletes the listed categories in one batch and emits one event each", async () => {
    const a = await createCategory(t);
    const b = await createCategory(t, { type: "question" });
    const c = await createCategory(t);
    const res = await api("POST", "/v1/admin/categories/bulk-delete", { token: t.key, body: { ids: [b.id, a.id] } });
    expectStatus(res, 200);
    expect(res.body).toEqual({ deleted: [b.id, a.id] });
    expectProblem(await get(t, a.id), 404);
    expectProblem(await get(t, b.id), 404);
    expectStatus(await get(t, c.id), 200);
    const events = await env.DB.prepare(
      "SELECT json_extract(data, '$.id') AS id FROM outbox WHERE tenant_id = ? AND type = 'category.deleted' ORDER BY id",
    )
      .bind(t.id)
      .all<{ id: number }>();
    expect(events.results.map((r) => r.id)).toEqual(expect.arrayContaining([a.id, b.id]));
  });

  it("deletes 100 categories at once (statements chunked under D1's 100 bound parameters)", async () => {
    const now = new Date().toISOString();
    const insert = env.DB.prepare(
      "INSERT INTO categories (tenant_id, type, name, slug, created_at, updated_at) VALUES (?, 'course', ?, ?, ?, ?) RETURNING id",
    );
    const rows = await env.DB.batch(
      Array.from({ length: 100 }, (_, i) => insert.bind(t.id, `Bulk ${i}`, unique(`bulk-${i}`), now, now)),
    );
    const ids = rows.map((r) => (r.results[0] as { id: number }).id);
    await createCourse(t, { category_ids: ids.slice(0, 10) });
    const res = await api("POST", "/v1/admin/categories/bulk-delete", { token: t.key, body: { ids, force: true } });
    expectStatus(res, 200);
    expect(res.body.deleted).toEqual(ids);
    const left = await env.DB.prepare(`SELECT count(*) AS n FROM categories WHERE id IN (${ids.join(",")})`).first<{
      n: number;
    }>();
    expect(left?.n).toBe(0);
    const events = await env.DB.prepare(
      "SELECT count(*) AS n FROM outbox WHERE tenant_id = ? AND type = 'category.deleted'",
    )
      .bind(t.id)
      .first<{ n: number }>();
    expect(events?.n).toBeGreaterThanOrEqual(100);
  });

  it("answers unknown, foreign and repeated ids with 422 naming ids.N, deleting nothing", async () => {
    const other = await createTenant();
    const theirs = await createCategory(other);
    const a = await createCategory(t);
    const b = await createCategory(t);
    const problem = expectProblem(
      await api("POST", "/v1/admin/categories/bulk-delete", {
        token: t.key,
        body: { ids: [a.id, theirs.id, b.id, 999_999_999, a.id] },
      }),
      422,
    );
    expect(problem.errors?.map((e) => e.path)).toEqual(["ids.1", "ids.3", "ids.4"]);
    expectStatus(await get(t, a.id), 200);
    expectStatus(await get(t, b.id), 200);
    expectStatus(await get(other, theirs.id), 200);
    for (const body of [
      { ids: [] },
      { ids: [0] },
      { ids: "1" },
      { ids: [a.id], force: "yes" },
      { ids: [a.id], x: 1 },
    ]) {
      expectProblem(await api("POST", "/v1/admin/categories/bulk-delete", { token: t.key, body }), 422);
    }
    expectStatus(await get(t, a.id), 200);
  });

  it("refuses categories in use (409 listing per category what uses it) unless force", async () => {
    const used = await createCategory(t, { name: "Used one" });
    const free = await createCategory(t);
    const course = await createCourse(t, { name: "Algebra", category_ids: [used.id] });
    const problem = expectProblem(
      await api("POST", "/v1/admin/categories/bulk-delete", { token: t.key, body: { ids: [free.id, used.id] } }),
      409,
    );
    expect(problem.in_use).toEqual([
      {
        id: used.id,
        name: "Used one",
        type: "course",
        used_by: { courses: [{ id: course.id, name: "Algebra" }], modules: [], learning_paths: [] },
        used_by_counts: { courses: 1, modules: 0, learning_paths: 0 },
      },
    ]);
    // Atomic: the free one was not deleted either.
    expectStatus(await get(t, free.id), 200);
    expectStatus(await get(t, used.id), 200);

    const forced = await api("POST", "/v1/admin/categories/bulk-delete", {
      token: t.key,
      body: { ids: [free.id, used.id], force: true },
    });
    expectStatus(forced, 200);
    expect(forced.body.deleted).toEqual([free.id, used.id]);
    expect(await courseCategoryIds(t, course.id)).toEqual([]);
  });
});

// ---- ordering ----------------------------------------------------------------------------------------------------

describe("PUT /v1/admin/categories/order", () => {
  it("sets position = index for every category of the type and answers them in order", async () => {
    const t = await createTenant();
    const a = await createCategory(t, { name: "A" });
    const b = await createCategory(t, { name: "B" });
    const c = await createCategory(t, { name: "C" });
    const question = await createCategory(t, { type: "question", position: 5 });
    const res = await api("PUT", "/v1/admin/categories/order", {
      token: t.key,
      body: { type: "course", ids: [c.id, a.id, b.id] },
    });
    expectStatus(res, 200);
    expect(res.body.data.map((x: Category) => [x.id, x.position])).toEqual([
      [c.id, 0],
      [a.id, 1],
      [b.id, 2],
    ]);
    const listed = await api("GET", "/v1/admin/categories?type=course", { token: t.key });
    expect(listed.body.data.map((x: Category) => x.id)).toEqual([c.id, a.id, b.id]);
    expect((await get(t, question.id)).body.position).toBe(5);
    expect(await lastEvent(t.id, "category.reordered")).toEqual({ type: "course", ids: [c.id, a.id, b.id] });

    // A type without categories takes the empty order.
    const empty = await api("PUT", "/v1/admin/categories/order", { token: t.key, body: { type: "user", ids: [] } });
    expectStatus(empty, 200);
    expect(empty.body).toEqual({ data: [] });
  });

  it("refuses missing, repeated, foreign and other-type ids (422 naming them) and writes nothing", async () => {
    const t = await createTenant();
    const other = await createTenant();
    const a = await createCategory(t, { position: 3 });
    const b = await createCategory(t, { position: 4 });
    const c = await createCategory(t, { position: 5 });
    const mod = await createCategory(t, { type: "module" });
    const theirs = await createCategory(other);
    const snapshot = async () => (await api("GET", "/v1/admin/categories?per_page=100", { token: t.key })).body.data;
    const before = await snapshot();

    const missing = expectProblem(
      await api("PUT", "/v1/admin/categories/order", { token: t.key, body: { type: "course", ids: [b.id, a.id] } }),
      422,
    );
    expect(missing.errors).toEqual([{ path: "ids", message: expect.stringContaining(String(c.id)) }]);

    const bad = expectProblem(
      await api("PUT", "/v1/admin/categories/order", {
        token: t.key,
        body: { type: "course", ids: [a.id, b.id, a.id, mod.id, theirs.id, c.id] },
      }),
      422,
    );
    expect(bad.errors?.map((e) => e.path)).toEqual(["ids.2", "ids.3", "ids.4"]);

    for (const body of [{ type: "tag", ids: [] }, { ids: [a.id] }, { type: "course", ids: [-1] }]) {
      expectProblem(await api("PUT", "/v1/admin/categories/order", { token: t.key, body }), 422);
    }
    expect(await snapshot()).toEqual(before);
  });
});

// ---- lookup ------------------------------------------------------------------------------------------------------

describe("GET /v1/admin/categories/lookup", () => {
  it("answers [{value, label}] filtered by type and text, limited", async () => {
    const t = await createTenant();
    const other = await createTenant();
    const python = await createCategory(t, { name: "Python", position: 2 });
    const pandas = await createCategory(t, { name: "Python data", position: 1 });
    const quiz = await createCategory(t, { name: "Python quiz", type: "question" });
    await createCategory(t, { name: "Design" });
    await createCategory(other, { name: "Python elsewhere" });

    const res = await api("GET", "/v1/admin/categories/lookup?q=pyTHon&type=course", { token: t.key });
    expectStatus(res, 200);
    expect(res.body).toEqual([
      { value: pandas.id, label: "Python data" },
      { value: python.id, label: "Python" },
    ]);
    const all = await api("GET", "/v1/admin/categories/lookup?q=python", { token: t.key });
    expect(all.body.map((x: { value: number }) => x.value).sort((x: number, y: number) => x - y)).toEqual(
      [python.id, pandas.id, quiz.id].sort((x, y) => x - y),
    );
    const limited = await api("GET", "/v1/admin/categories/lookup?limit=1&type=course", { token: t.key });
    expect(limited.body).toHaveLength(1);
    expectProblem(await api("GET", "/v1/admin/categories/lookup?limit=0", { token: t.key }), 422);
    expectProblem(await api("GET", "/v1/admin/categories/lookup?type=tag", { token: t.key }), 422);
  });
});

// ---- access ------------------------------------------------------------------------------------------------------

describe("category endpoints refuse missing and under-privileged credentials and other academies' ids", () => {
  let t: TestTenant;
  let other: TestTenant;
  let mine: Category;
  let theirs: Category;
  beforeAll(async () => {
    t = await createTenant();
    other = await createTenant();
    mine = await createCategory(t);
    theirs = await createCategory(other);
  });

  const endpoints = (): { method: string; path: string; permission: string; body?: unknown }[] => [
    { method: "GET", path: "/v1/admin/categories/lookup", permission: "categories:read" },
    { method: "PATCH", path: `/v1/admin/categories/${mine.id}`, permission: "categories:write", body: { name: "Z" } },
    { method: "DELETE", path: `/v1/admin/categories/${mine.id}`, permission: "categories:write" },
    {
      method: "POST",
      path: "/v1/admin/categories/bulk-delete",
      permission: "categories:write",
      body: { ids: [mine.id] },
    },
    {
      method: "PUT",
      path: "/v1/admin/categories/order",
      permission: "categories:write",
      body: { type: "course", ids: [mine.id] },
    },
  ];

  it("answers 401 without a credential and 403 to a key lacking the permission, changing nothing", async () => {
    const withoutRead = await keyWithout(t, "categories:read");
    const withoutWrite = await keyWithout(t, "categories:write");
    for (const e of endpoints()) {
      expectProblem(await api(e.method, e.path, { body: e.body }), 401);
      const token = e.permission === "categories:read" ? withoutRead : withoutWrite;
      const problem = expectProblem(await api(e.method, e.path, { token, body: e.body }), 403);
      expect(problem.required_permission).toBe(e.permission);
    }
    expect((await get(t, mine.id)).body).toEqual(mine);
  });

  it("answers 404 for another academy's category and leaves it alone", async () => {
    expectProblem(
      await api("PATCH", `/v1/admin/categories/${theirs.id}`, { token: t.key, body: { name: "Mine now" } }),
      404,
    );
    expectProblem(await api("DELETE", `/v1/admin/categories/${theirs.id}`, { token: t.key }), 404);
    expectProblem(await api("DELETE", `/v1/admin/categories/${theirs.id}?force=true`, { token: t.key }), 404);
    expect((await get(other, theirs.id)).body).toEqual(theirs);
    const lookup = await api("GET", "/v1/admin/categories/lookup?limit=100", { token: t.key });
    expect(lookup.body.map((x: { value: number }) => x.value)).not.toContain(theirs.id);
  });
});
