/**
 * Learning paths: ordered courses with prerequisites, publishing rules, cloning, lists and the public-catalog
 * service functions; 401/403/404 on every endpoint.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { getPublishedPathBySlug, listPublishedPaths } from "../src/modules/learning-paths/service";
import type { TenantContext } from "../src/platform/auth";
import { createDb } from "../src/platform/db";
import { api, expectProblem, expectStatus } from "./helpers/api";
import { createTenant, keyWithout, lastEvent, type TestTenant, unique } from "./helpers/factories";

interface Step {
  id: number;
  course_id: number;
  course_name: string;
  position: number;
  required: boolean;
  prerequisite_step_ids: number[];
}
interface Path {
  id: number;
  name: string;
  slug: string;
  status: string;
  category_ids: number[];
  steps: Step[];
  course_count: number;
  published_at: string | null;
  updated_at: string;
  [key: string]: unknown;
}

const BASE = "/v1/admin/learning-paths";

async function createCourse(tenant: TestTenant, name = unique("Course")) {
  const res = await api("POST", "/v1/admin/courses", { token: tenant.key, body: { name } });
  expectStatus(res, 201);
  return res.body as { id: number; name: string };
}

/** Publishes a course directly (the courses API's own publishing rules are tested in courses.test.ts). */
async function publishCourse(courseId: number, status = "published") {
  await env.DB.prepare("UPDATE courses SET status = ?, published_at = ? WHERE id = ?")
    .bind(status, new Date().toISOString(), courseId)
    .run();
}

async function createCategory(tenant: TestTenant, type = "learning_path") {
  const res = await api("POST", "/v1/admin/categories", { token: tenant.key, body: { name: unique("Cat"), type } });
  expectStatus(res, 201);
  return res.body as { id: number };
}

async function createPath(tenant: TestTenant, body: Record<string, unknown> = {}): Promise<Path> {
  const res = await api("POST", BASE, { token: tenant.key, body: { name: unique("Path"), ...body } });
  expectStatus(res, 201);
  return res.body;
}

async function getPath(tenant: TestTenant, id: number) {
  return api("GET", `${BASE}/${id}`, { token: tenant.key });
}

async function listIds(tenant: TestTenant, query = "") {
  const res = await api("GET", `${BASE}${query}`, { token: tenant.key });
  expectStatus(res, 200);
  return (res.body.data as Path[]).map((p) => p.id);
}

async function catalogVersion(tenantId: number) {
  const row = await env.DB.prepare("SELECT catalog_version AS v FROM tenants WHERE id = ?")
    .bind(tenantId)
    .first<{ v: number }>();
  return row?.v as number;
}

async function countRows(table: string, tenantId: number) {
  const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE tenant_id = ?`)
    .bind(tenantId)
    .first<{ n: number }>();
  return row?.n as number;
}

/** [course_id, required, [prerequisite course ids]] of each step, to compare paths by content. */
function shape(path: Path) {
  const courseOf = new Map(path.steps.map((s) => [s.id, s.course_id]));
  return path.steps.map((s) => [
    s.course_id,
    s.required,
    s.prerequisite_step_ids.map((p) => courseOf.get(p)).sort((a, b) => (a ?? 0) - (b ?? 0)),
  ]);
}

// ---- create -------------------------------------------------------------------------------------------------------

describe("POST /v1/admin/learning-paths", () => {
  let t: TestTenant;
  let c1: { id: number; name: string };
  let c2: { id: number; name: string };
  let c3: { id: number; name: string };
  beforeAll(async () => {
    t = await createTenant();
    c1 = await createCourse(t, "Python basics");
    c2 = await createCourse(t, "Pandas");
    c3 = await createCourse(t, "Machine learning");
  });

  it("creates a draft path with ordered steps, prerequisites and categories (201 + Location)", async () => {
    const cat = await createCategory(t);
    const res = await api("POST", BASE, {
      token: t.key,
      body: {
        name: "Data Science Track",
        description: "From zero to models",
        picture_url: "https://cdn.example.com/ds.png",
        certificate_template_id: 12,
        category_ids: [cat.id, cat.id],
        steps: [
          { course_id: c1.id },
          { course_id: c2.id, prerequisite_course_ids: [c1.id] },
          { course_id: c3.id, required: false, prerequisite_course_ids: [c1.id, c2.id, c2.id] },
        ],
      },
    });
    expectStatus(res, 201);
    const path = res.body as Path;
    expect(res.headers.get("location")).toBe(`${BASE}/${path.id}`);
    expect(path).toMatchObject({
      name: "Data Science Track",
      slug: "data-science-track",
      description: "From zero to models",
      picture_url: "https://cdn.example.com/ds.png",
      status: "draft",
      show_in_catalog: true,
      certificate_template_id: 12,
      category_ids: [cat.id],
      course_count: 3,
      published_at: null,
    });
    const [s1, s2, s3] = path.steps;
    expect(path.steps.map((s) => [s.course_id, s.course_name, s.position, s.required])).toEqual([
      [c1.id, "Python basics", 0, true],
      [c2.id, "Pandas", 1, true],
      [c3.id, "Machine learning", 2, false],
    ]);
    expect(s1.prerequisite_step_ids).toEqual([]);
    expect(s2.prerequisite_step_ids).toEqual([s1.id]);
    expect(s3.prerequisite_step_ids).toEqual([s1.id, s2.id]);
    expect((await getPath(t, path.id)).body).toEqual(path);
    expect(await lastEvent(t.id, "learning_path.created")).toEqual({
      id: path.id,
      slug: "data-science-track",
      name: "Data Science Track",
    });
  });

  it("gives a name-made slug the first free suffix and refuses an explicit duplicate (409)", async () => {
    const first = await createPath(t, { name: "Web Track" });
    const second = await createPath(t, { name: "Web Track" });
    expect([first.slug, second.slug]).toEqual(["web-track", "web-track-2"]);
    const before = await listIds(t, "?per_page=100");
    const dup = expectProblem(await api("POST", BASE, { token: t.key, body: { name: "X", slug: "web-track" } }), 409);
    expect(dup.detail).toContain("web-track");
    expect(await listIds(t, "?per_page=100")).toEqual(before);
  });

  it("answers invalid bodies with 422 naming the field, writing nothing", async () => {
    const other = await createTenant();
    const theirs = await createCourse(other);
    const deleted = await createCourse(t);
    await env.DB.prepare("UPDATE courses SET deleted_at = ? WHERE id = ?")
      .bind(new Date().toISOString(), deleted.id)
      .run();
    const courseCat = await createCategory(t, "course");
    const pathsBefore = await countRows("learning_paths", t.id);
    const stepsBefore = await countRows("learning_path_steps", t.id);
    const cases: [Record<string, unknown>, string[]][] = [
      [{ name: "" }, ["name"]],
      [{ name: "P", slug: "Bad Slug" }, ["slug"]],
      [{ name: "P", picture_url: "ftp://x" }, ["picture_url"]],
      [{ name: "P", status: "published" }, ["status"]],
      [{ name: "P", tenant_id: other.id }, ["tenant_id"]],
      [{ name: "P", category_ids: [courseCat.id] }, ["category_ids"]],
      [{ name: "P", steps: [{ course_id: 999_999_999 }] }, ["steps.0.course_id"]],
      [{ name: "P", steps: [{ course_id: c1.id }, { course_id: theirs.id }] }, ["steps.1.course_id"]],
      [{ name: "P", steps: [{ course_id: deleted.id }] }, ["steps.0.course_id"]],
      [{ name: "P", steps: [{ course_id: c1.id }, { course_id: c1.id }] }, ["steps.1.course_id"]],
      [{ name: "P", steps: [{ course_id: c1.id, extra: 1 }] }, ["steps.0.extra"]],
      [{ name: "P", steps: [{ course_id: "1" }] }, ["steps.0.course_id"]],
      [
        { name: "P", steps: [{ course_id: c1.id, prerequisite_course_ids: [c2.id] }] },
        ["steps.0.prerequisite_course_ids"],
      ],
      [
        { name: "P", steps: [{ course_id: c1.id, prerequisite_course_ids: [c1.id] }] },
        ["steps.0.prerequisite_course_ids"],
      ],
      [
        {
          name: "P",
          steps: [
            { course_id: c1.id, prerequisite_course_ids: [c2.id] },
            { course_id: c2.id, prerequisite_course_ids: [c1.id] },
          ],
        },
        ["steps.0.prerequisite_course_ids", "steps.1.prerequisite_course_ids"],
      ],
    ];
    for (const [body, paths] of cases) {
      const problem = expectProblem(await api("POST", BASE, { token: t.key, body }), 422);
      expect(
        problem.errors?.map((e) => e.path),
        JSON.stringify(body),
      ).toEqual(paths);
    }
    expect(await countRows("learning_paths", t.id)).toBe(pathsBefore);
    expect(await countRows("learning_path_steps", t.id)).toBe(stepsBefore);
  });
});

// ---- replace steps ------------------------------------------------------------------------------------------------

describe("PUT /v1/admin/learning-paths/{id}/steps", () => {
  let t: TestTenant;
  let a: number;
  let b: number;
  let c: number;
  let d: number;
  beforeAll(async () => {
    t = await createTenant();
    [a, b, c, d] = (await Promise.all([1, 2, 3, 4].map(() => createCourse(t)))).map((x) => x.id);
  });

  it("replaces every step atomically, with new prerequisites, and emits learning_path.updated", async () => {
    const path = await createPath(t, { steps: [{ course_id: a }, { course_id: b, prerequisite_course_ids: [a] }] });
    const res = await api("PUT", `${BASE}/${path.id}/steps`, {
      token: t.key,
      body: {
        steps: [{ course_id: c }, { course_id: a, prerequisite_course_ids: [c, d] }, { course_id: d, required: false }],
      },
    });
    expectStatus(res, 200);
    const updated = res.body as Path;
    expect(shape(updated)).toEqual([
      [c, true, []],
      [a, true, [c, d].sort((x, y) => x - y)],
      [d, false, []],
    ]);
    expect(updated.course_count).toBe(3);
    // Prerequisites may point at a later step too (any other step of the path).
    expect(updated.steps[1].prerequisite_step_ids).toEqual([updated.steps[0].id, updated.steps[2].id]);
    expect((await getPath(t, path.id)).body).toEqual(updated);
    // The old steps and their prerequisites are gone.
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM learning_path_steps WHERE path_id = ?")
      .bind(path.id)
      .first<{ n: number }>();
    expect(rows?.n).toBe(3);
    const prerequisites = await env.DB.prepare(
      "SELECT count(*) AS n FROM learning_path_step_prerequisites p JOIN learning_path_steps s ON s.id = p.step_id WHERE s.path_id = ?",
    )
      .bind(path.id)
      .first<{ n: number }>();
    expect(prerequisites?.n).toBe(2);
    expect(await lastEvent(t.id, "learning_path.updated")).toMatchObject({
      id: path.id,
      changed: ["steps"],
      course_ids: [c, a, d],
    });

    const cleared = await api("PUT", `${BASE}/${path.id}/steps`, { token: t.key, body: { steps: [] } });
    expectStatus(cleared, 200);
    expect(cleared.body.steps).toEqual([]);
    expect(cleared.body.course_count).toBe(0);
  });

  it("refuses circular prerequisites (two steps, longer cycles, self) with 422 and writes nothing", async () => {
    const path = await createPath(t, { steps: [{ course_id: a }, { course_id: b, prerequisite_course_ids: [a] }] });
    const before = (await getPath(t, path.id)).body;
    const cases: [unknown[], string[]][] = [
      [
        [
          { course_id: a, prerequisite_course_ids: [b] },
          { course_id: b, prerequisite_course_ids: [a] },
        ],
        ["steps.0.prerequisite_course_ids", "steps.1.prerequisite_course_ids"],
      ],
      [
        [
          { course_id: d },
          { course_id: a, prerequisite_course_ids: [c] },
          { course_id: b, prerequisite_course_ids: [a, d] },
          { course_id: c, prerequisite_course_ids: [b] },
        ],
        ["steps.1.prerequisite_course_ids", "steps.2.prerequisite_course_ids", "steps.3.prerequisite_course_ids"],
      ],
      [[{ course_id: a }, { course_id: b, prerequisite_course_ids: [b] }], ["steps.1.prerequisite_course_ids"]],
    ];
    for (const [steps, paths] of cases) {
      const problem = expectProblem(
        await api("PUT", `${BASE}/${path.id}/steps`, { token: t.key, body: { steps } }),
        422,
      );
      expect(problem.errors?.map((e) => e.path)).toEqual(paths);
      expect(problem.errors?.[0].message).toMatch(/prerequisite|Circular/);
    }
    const cycle = expectProblem(
      await api("PUT", `${BASE}/${path.id}/steps`, {
        token: t.key,
        body: {
          steps: [
            { course_id: a, prerequisite_course_ids: [b] },
            { course_id: b, prerequisite_course_ids: [a] },
          ],
        },
      }),
      422,
    );
    expect(cycle.errors?.[0].message).toContain("Circular");
    expect((await getPath(t, path.id)).body).toEqual(before);
  });

  it("refuses unknown, foreign, deleted and repeated courses and prerequisites outside the path (422)", async () => {
    const other = await createTenant();
    const theirs = await createCourse(other);
    const path = await createPath(t, { steps: [{ course_id: a }] });
    const before = (await getPath(t, path.id)).body;
    const cases: [unknown, string[]][] = [
      [{ steps: [{ course_id: a }, { course_id: theirs.id }] }, ["steps.1.course_id"]],
      [{ steps: [{ course_id: 999_999_999 }] }, ["steps.0.course_id"]],
      [{ steps: [{ course_id: a }, { course_id: b }, { course_id: a }] }, ["steps.2.course_id"]],
      [{ steps: [{ course_id: a, prerequisite_course_ids: [d] }] }, ["steps.0.prerequisite_course_ids"]],
      [{ steps: [{ course_id: a, prerequisite_course_ids: [theirs.id] }] }, ["steps.0.prerequisite_course_ids"]],
      [{}, ["steps"]],
      [{ steps: [{}] }, ["steps.0.course_id"]],
      [{ steps: [{ course_id: a }], name: "x" }, ["name"]],
    ];
    for (const [body, paths] of cases) {
      const problem = expectProblem(await api("PUT", `${BASE}/${path.id}/steps`, { token: t.key, body }), 422);
      expect(
        problem.errors?.map((e) => e.path),
        JSON.stringify(body),
      ).toEqual(paths);
    }
    expect((await getPath(t, path.id)).body).toEqual(before);
    // The foreign course is untouched and still not in any of this academy's paths.
    expect(await listIds(t, `?course_id=${theirs.id}`)).toEqual([]);
  });
});

describe("a path of 100 steps", () => {
  it("is created, replaced and cloned in chunks under D1's 100 bound parameters", async () => {
    const t = await createTenant();
    const now = new Date().toISOString();
    const insert = env.DB.prepare(
      "INSERT INTO courses (tenant_id, name, slug, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
    );
    const rows = await env.DB.batch(
      Array.from({ length: 100 }, (_, i) => insert.bind(t.id, `Bulk ${i}`, unique(`bulk-${i}`), now, now)),
    );
    const ids = rows.map((r) => (r.results[0] as { id: number }).id);
    const categories = await Promise.all(Array.from({ length: 30 }, () => createCategory(t)));
    // Each step needs the one before it, and the last needs every other step.
    const steps = ids.map((id, i) => ({
      course_id: id,
      prerequisite_course_ids: i === 99 ? ids.slice(0, 99) : i > 0 ? [ids[i - 1]] : [],
    }));
    const created = await api("POST", BASE, {
      token: t.key,
      body: { name: "Marathon", steps, category_ids: categories.map((c) => c.id) },
    });
    expectStatus(created, 201);
    expect(created.body.course_count).toBe(100);
    expect(created.body.category_ids).toHaveLength(30);
    expect(created.body.steps[99].prerequisite_step_ids).toHaveLength(99);
    expect(created.body.steps[50].prerequisite_step_ids).toEqual([created.body.steps[49].id]);

    const reversed = [...steps].reverse();
    const replaced = await api("PUT", `${BASE}/${created.body.id}/steps`, { token: t.key, body: { steps: reversed } });
    expectStatus(replaced, 200);
    expect(replaced.body.steps.map((s: Step) => s.course_id)).toEqual([...ids].reverse());
    expect(shape(replaced.body)).toEqual(shape(created.body).reverse());

    const copy = await api("POST", `${BASE}/${created.body.id}/clone`, { token: t.key, body: {} });
    expectStatus(copy, 201);
    expect(shape(copy.body)).toEqual(shape(replaced.body));
    expect(copy.body.category_ids).toEqual(created.body.category_ids);

    // A 101st step is refused by the schema.
    const tooMany = await api("PUT", `${BASE}/${created.body.id}/steps`, {
      token: t.key,
      body: { steps: [...steps, { course_id: ids[0] }] },
    });
    expect(expectProblem(tooMany, 422).errors?.map((e) => e.path)).toEqual(["steps"]);
  });
});

// ---- publish ------------------------------------------------------------------------------------------------------

describe("POST /v1/admin/learning-paths/{id}/publish", () => {
  it("refuses an empty path and draft or deleted courses (422 naming them), then publishes", async () => {
    const t = await createTenant();
    const ready = await createCourse(t, "Ready");
    const draft = await createCourse(t, "Still a draft");
    await publishCourse(ready.id);

    const empty = await createPath(t);
    const noSteps = expectProblem(await api("POST", `${BASE}/${empty.id}/publish`, { token: t.key, body: {} }), 422);
    expect(noSteps.errors).toEqual([{ path: "steps", message: expect.stringContaining("at least one step") }]);

    const path = await createPath(t, { steps: [{ course_id: ready.id }, { course_id: draft.id }] });
    const refused = expectProblem(await api("POST", `${BASE}/${path.id}/publish`, { token: t.key }), 422);
    expect(refused.errors).toEqual([{ path: "steps.1.course_id", message: expect.stringContaining("Still a draft") }]);
    expect((await getPath(t, path.id)).body.status).toBe("draft");

    await publishCourse(draft.id, "archived");
    const archived = expectProblem(await api("POST", `${BASE}/${path.id}/publish`, { token: t.key }), 422);
    expect(archived.errors?.[0].message).toContain("archived");

    await publishCourse(draft.id);
    const version = await catalogVersion(t.id);
    const res = await api("POST", `${BASE}/${path.id}/publish`, { token: t.key });
    expectStatus(res, 200);
    expect(res.body.status).toBe("published");
    expect(Date.parse(res.body.published_at)).toBeGreaterThan(Date.now() - 60_000);
    expect((await getPath(t, path.id)).body).toEqual(res.body);
    expect(await lastEvent(t.id, "learning_path.published")).toEqual({ id: path.id, slug: path.slug, name: path.name });
    expect(await catalogVersion(t.id)).toBe(version + 1);

    // Publishing again changes nothing.
    const again = await api("POST", `${BASE}/${path.id}/publish`, { token: t.key });
    expectStatus(again, 200);
    expect(again.body).toEqual(res.body);
    expect(await catalogVersion(t.id)).toBe(version + 1);

    // A published path keeps published courses only; its changes bump the catalog.
    const another = await createCourse(t);
    const refusedSteps = expectProblem(
      await api("PUT", `${BASE}/${path.id}/steps`, {
        token: t.key,
        body: { steps: [{ course_id: ready.id }, { course_id: another.id }] },
      }),
      422,
    );
    expect(refusedSteps.errors?.map((e) => e.path)).toEqual(["steps.1.course_id"]);
    expect((await getPath(t, path.id)).body).toEqual(res.body);
    expectStatus(
      await api("PUT", `${BASE}/${path.id}/steps`, { token: t.key, body: { steps: [{ course_id: ready.id }] } }),
      200,
    );
    expect(await catalogVersion(t.id)).toBe(version + 2);

    // A deleted course blocks publishing again after an unpublish.
    expectStatus(await api("PATCH", `${BASE}/${path.id}`, { token: t.key, body: { status: "draft" } }), 200);
    expect(await catalogVersion(t.id)).toBe(version + 3);
    await env.DB.prepare("UPDATE courses SET deleted_at = ? WHERE id = ?")
      .bind(new Date().toISOString(), ready.id)
      .run();
    const gone = expectProblem(await api("POST", `${BASE}/${path.id}/publish`, { token: t.key }), 422);
    expect(gone.errors).toEqual([{ path: "steps.0.course_id", message: expect.stringContaining("deleted") }]);
  });
});

// ---- clone --------------------------------------------------------------------------------------------------------

describe("POST /v1/admin/learning-paths/{id}/clone", () => {
  it("makes a draft copy with a new slug and the same steps, prerequisites and categories", async () => {
    const t = await createTenant();
    const [x, y, z] = await Promise.all([createCourse(t), createCourse(t), createCourse(t)]);
    await Promise.all([x, y, z].map((course) => publishCourse(course.id)));
    const cat = await createCategory(t);
    const source = await createPath(t, {
      name: "Cloud track",
      description: "Infra",
      category_ids: [cat.id],
      certificate_template_id: 3,
      steps: [
        { course_id: x.id },
        { course_id: y.id, required: false, prerequisite_course_ids: [x.id] },
        { course_id: z.id, prerequisite_course_ids: [x.id, y.id] },
      ],
    });
    expectStatus(await api("POST", `${BASE}/${source.id}/publish`, { token: t.key }), 200);

    const res = await api("POST", `${BASE}/${source.id}/clone`, { token: t.key, body: {} });
    expectStatus(res, 201);
    const copy = res.body as Path;
    expect(res.headers.get("location")).toBe(`${BASE}/${copy.id}`);
    expect(copy.id).not.toBe(source.id);
    expect(copy).toMatchObject({
      name: "Cloud track (copy)",
      slug: "cloud-track-copy",
      status: "draft",
      published_at: null,
      description: "Infra",
      certificate_template_id: 3,
      category_ids: [cat.id],
      course_count: 3,
    });
    expect(shape(copy)).toEqual(shape(source));
    expect(copy.steps.map((s) => s.id).some((id) => source.steps.some((s) => s.id === id))).toBe(false);
    expect(await lastEvent(t.id, "learning_path.cloned")).toEqual({
      id: copy.id,
      source_id: source.id,
      slug: "cloud-track-copy",
      name: "Cloud track (copy)",
    });
    // The source is unchanged.
    expect((await getPath(t, source.id)).body.status).toBe("published");

    const second = await api("POST", `${BASE}/${source.id}/clone`, { token: t.key, body: { name: "Cloud 2" } });
    expectStatus(second, 201);
    expect([second.body.name, second.body.slug]).toEqual(["Cloud 2", "cloud-track-copy-2"]);
    expectProblem(
      await api("POST", `${BASE}/${source.id}/clone`, { token: t.key, body: { slug: "cloud-track-copy" } }),
      409,
    );
    const bad = expectProblem(
      await api("POST", `${BASE}/${source.id}/clone`, { token: t.key, body: { name: "", steps: [] } }),
      422,
    );
    expect(bad.errors?.map((e) => e.path).sort()).toEqual(["name", "steps"]);
    expect(await listIds(t, "?q=Cloud&per_page=100")).toHaveLength(3);
  });
});

// ---- update, delete -----------------------------------------------------------------------------------------------

describe("PATCH and DELETE /v1/admin/learning-paths/{id}", () => {
  let t: TestTenant;
  beforeAll(async () => {
    t = await createTenant();
  });

  it("updates fields and categories, refuses a taken slug (409) and publishing through PATCH (422)", async () => {
    const [cat1, cat2] = [await createCategory(t), await createCategory(t)];
    const taken = await createPath(t, { slug: unique("taken") });
    const path = await createPath(t, { category_ids: [cat1.id] });
    const res = await api("PATCH", `${BASE}/${path.id}`, {
      token: t.key,
      body: {
        name: "Renamed",
        slug: "renamed-path",
        description: "New",
        picture_url: null,
        show_in_catalog: false,
        certificate_template_id: null,
        category_ids: [cat2.id],
        status: "archived",
      },
    });
    expectStatus(res, 200);
    expect(res.body).toMatchObject({
      name: "Renamed",
      slug: "renamed-path",
      description: "New",
      show_in_catalog: false,
      category_ids: [cat2.id],
      status: "archived",
    });
    expect((await getPath(t, path.id)).body).toEqual(res.body);
    expect(await lastEvent(t.id, "learning_path.updated")).toMatchObject({ id: path.id, status: "archived" });

    const dup = expectProblem(
      await api("PATCH", `${BASE}/${path.id}`, { token: t.key, body: { slug: taken.slug } }),
      409,
    );
    expect(dup.errors?.[0].path).toBe("slug");
    for (const [body, field] of [
      [{ status: "published" }, "status"],
      [{ category_ids: [999_999_999] }, "category_ids"],
      [{ name: "" }, "name"],
      [{ steps: [] }, "steps"],
      [{ certificate_template_id: 0 }, "certificate_template_id"],
    ] as const) {
      const problem = expectProblem(await api("PATCH", `${BASE}/${path.id}`, { token: t.key, body }), 422);
      expect(problem.errors?.map((e) => e.path)).toContain(field);
    }
    expect((await getPath(t, path.id)).body).toEqual(res.body);
  });

  it("deletes a path with its steps (204) and emits learning_path.deleted; the courses stay", async () => {
    const course = await createCourse(t);
    await publishCourse(course.id);
    const path = await createPath(t, { steps: [{ course_id: course.id }] });
    expectStatus(await api("POST", `${BASE}/${path.id}/publish`, { token: t.key }), 200);
    const version = await catalogVersion(t.id);
    expectStatus(await api("DELETE", `${BASE}/${path.id}`, { token: t.key }), 204);
    expectProblem(await getPath(t, path.id), 404);
    const steps = await env.DB.prepare("SELECT count(*) AS n FROM learning_path_steps WHERE path_id = ?")
      .bind(path.id)
      .first<{ n: number }>();
    expect(steps?.n).toBe(0);
    expectStatus(await api("GET", `/v1/admin/courses/${course.id}`, { token: t.key }), 200);
    expect(await lastEvent(t.id, "learning_path.deleted")).toEqual({ id: path.id, slug: path.slug, name: path.name });
    expect(await catalogVersion(t.id)).toBe(version + 1);
    expectProblem(await api("DELETE", `${BASE}/${path.id}`, { token: t.key }), 404);
  });
});

// ---- list, lookup, catalog ---------------------------------------------------------------------------------------

describe("GET /v1/admin/learning-paths and /lookup", () => {
  let t: TestTenant;
  let other: TestTenant;
  let alpha: Path;
  let beta: Path;
  let gamma: Path;
  let course: { id: number };
  let cat: { id: number };
  beforeAll(async () => {
    t = await createTenant();
    other = await createTenant();
    course = await createCourse(t);
    await publishCourse(course.id);
    cat = await createCategory(t);
    alpha = await createPath(t, { name: "Alpha data", steps: [{ course_id: course.id }] });
    beta = await createPath(t, { name: "Beta design", category_ids: [cat.id] });
    gamma = await createPath(t, { name: "Gamma data", category_ids: [cat.id], steps: [{ course_id: course.id }] });
    expectStatus(await api("POST", `${BASE}/${gamma.id}/publish`, { token: t.key }), 200);
    await createPath(other, { name: "Alpha elsewhere" });
  });

  it("filters by status, category, course and text, sorts and paginates", async () => {
    expect(await listIds(t, "?sort=created_at")).toEqual([alpha.id, beta.id, gamma.id]);
    expect(await listIds(t, "?sort=name")).toEqual([alpha.id, beta.id, gamma.id]);
    expect(await listIds(t, "?sort=-name")).toEqual([gamma.id, beta.id, alpha.id]);
    expect(await listIds(t, "?status=published")).toEqual([gamma.id]);
    expect(await listIds(t, "?status=draft&sort=name")).toEqual([alpha.id, beta.id]);
    expect(await listIds(t, `?category_id=${cat.id}&sort=name`)).toEqual([beta.id, gamma.id]);
    expect(await listIds(t, `?course_id=${course.id}&sort=name`)).toEqual([alpha.id, gamma.id]);
    expect(await listIds(t, `?course_id=${course.id}&category_id=${cat.id}`)).toEqual([gamma.id]);
    expect(await listIds(t, "?q=DATA&sort=-name")).toEqual([gamma.id, alpha.id]);
    const page = await api("GET", `${BASE}?per_page=2&page=2&sort=name`, { token: t.key });
    expect(page.body.meta).toEqual({ page: 2, per_page: 2, total: 3, last_page: 2 });
    expect(page.body.data.map((p: Path) => p.id)).toEqual([gamma.id]);
    expect(page.body.data[0].steps.map((s: Step) => s.course_id)).toEqual([course.id]);
    for (const query of ["?status=live", "?sort=slug", "?per_page=101", "?category_id=x", "?course_id=0"]) {
      expectProblem(await api("GET", `${BASE}${query}`, { token: t.key }), 422);
    }
  });

  it("answers the lookup with [{value, label}] by name", async () => {
    const res = await api("GET", `${BASE}/lookup?q=data`, { token: t.key });
    expectStatus(res, 200);
    expect(res.body).toEqual([
      { value: alpha.id, label: "Alpha data" },
      { value: gamma.id, label: "Gamma data" },
    ]);
    expect(await api("GET", `${BASE}/lookup?limit=1`, { token: t.key }).then((r) => r.body)).toHaveLength(1);
    expectProblem(await api("GET", `${BASE}/lookup?limit=500`, { token: t.key }), 422);
  });

  it("offers the public catalog its published, listed paths (listPublishedPaths, getPublishedPathBySlug)", async () => {
    const ctx = { tenantId: t.id, db: createDb(env.DB), env, defer: () => {} } as unknown as TenantContext;
    const draftCourse = await createCourse(t);
    const hidden = await createPath(t, {
      name: "Hidden data",
      show_in_catalog: false,
      steps: [{ course_id: course.id }],
    });
    expectStatus(await api("POST", `${BASE}/${hidden.id}/publish`, { token: t.key }), 200);

    const page = await listPublishedPaths(ctx, { page: 1, per_page: 10 });
    expect(page.meta.total).toBe(1);
    expect(page.data).toEqual([
      {
        id: gamma.id,
        name: "Gamma data",
        slug: gamma.slug,
        description: null,
        picture_url: null,
        course_count: 1,
        category_ids: [cat.id],
      },
    ]);
    expect((await listPublishedPaths(ctx, { q: "beta", page: 1, per_page: 10 })).data).toEqual([]);
    expect((await listPublishedPaths(ctx, { category_id: cat.id, page: 1, per_page: 10 })).meta.total).toBe(1);

    const one = await getPublishedPathBySlug(ctx, gamma.slug);
    expect(one).toMatchObject({ id: gamma.id, course_count: 1, steps: [{ course_id: course.id, position: 0 }] });
    expect((await getPublishedPathBySlug(ctx, hidden.slug)).id).toBe(hidden.id);
    await expect(getPublishedPathBySlug(ctx, alpha.slug)).rejects.toMatchObject({ status: 404 });
    const otherCtx = { ...ctx, tenantId: other.id } as TenantContext;
    await expect(getPublishedPathBySlug(otherCtx, gamma.slug)).rejects.toMatchObject({ status: 404 });
    expect(draftCourse.id).toBeGreaterThan(0);
  });
});

// ---- access -------------------------------------------------------------------------------------------------------

describe("learning path endpoints refuse missing and under-privileged credentials and other academies' ids", () => {
  let t: TestTenant;
  let other: TestTenant;
  let mine: Path;
  let theirs: Path;
  let course: { id: number };
  beforeAll(async () => {
    t = await createTenant();
    other = await createTenant();
    course = await createCourse(t);
    mine = await createPath(t, { steps: [{ course_id: course.id }] });
    const theirCourse = await createCourse(other);
    theirs = await createPath(other, { steps: [{ course_id: theirCourse.id }] });
  });

  const endpoints = () => [
    { method: "GET", path: BASE, permission: "courses:read" },
    { method: "GET", path: `${BASE}/lookup`, permission: "courses:read" },
    { method: "POST", path: BASE, permission: "courses:write", body: { name: "Nope" } },
    { method: "GET", path: `${BASE}/${mine.id}`, permission: "courses:read" },
    { method: "PATCH", path: `${BASE}/${mine.id}`, permission: "courses:write", body: { name: "Nope" } },
    { method: "DELETE", path: `${BASE}/${mine.id}`, permission: "courses:write" },
    { method: "PUT", path: `${BASE}/${mine.id}/steps`, permission: "courses:write", body: { steps: [] } },
    { method: "POST", path: `${BASE}/${mine.id}/publish`, permission: "courses:write" },
    { method: "POST", path: `${BASE}/${mine.id}/clone`, permission: "courses:write", body: {} },
  ];

  it("answers 401 without a credential and 403 to a key lacking the permission, changing nothing", async () => {
    const withoutRead = await keyWithout(t, "courses:read");
    const withoutWrite = await keyWithout(t, "courses:write");
    const before = await api("GET", `${BASE}?per_page=100`, { token: t.key });
    for (const e of endpoints()) {
      expectProblem(await api(e.method, e.path, { body: e.body }), 401);
      const token = e.permission === "courses:read" ? withoutRead : withoutWrite;
      const problem = expectProblem(await api(e.method, e.path, { token, body: e.body }), 403);
      expect(problem.required_permission, `${e.method} ${e.path}`).toBe(e.permission);
    }
    expect((await api("GET", `${BASE}?per_page=100`, { token: t.key })).body).toEqual(before.body);
  });

  it("answers 404 for another academy's path on every {id} endpoint and leaves it alone", async () => {
    const before = (await getPath(other, theirs.id)).body;
    const calls: [string, string, unknown?][] = [
      ["GET", `${BASE}/${theirs.id}`],
      ["PATCH", `${BASE}/${theirs.id}`, { name: "Mine now" }],
      ["DELETE", `${BASE}/${theirs.id}`],
      ["PUT", `${BASE}/${theirs.id}/steps`, { steps: [{ course_id: course.id }] }],
      ["PUT", `${BASE}/${theirs.id}/steps`, {}],
      ["POST", `${BASE}/${theirs.id}/publish`],
      ["POST", `${BASE}/${theirs.id}/clone`, {}],
    ];
    for (const [method, path, body] of calls) {
      expectProblem(await api(method, path, { token: t.key, body }), 404);
    }
    expect((await getPath(other, theirs.id)).body).toEqual(before);
    expect(await listIds(t, "?per_page=100")).toEqual([mine.id]);
    const lookup = await api("GET", `${BASE}/lookup?limit=100`, { token: t.key });
    expect(lookup.body.map((x: { value: number }) => x.value)).toEqual([mine.id]);
    // Ids that are not ids are a 422, never a 500.
    expectProblem(await api("GET", `${BASE}/abc`, { token: t.key }), 422);
    expectProblem(await api("PUT", `${BASE}/0/steps`, { token: t.key, body: { steps: [] } }), 422);
  });
});

// ---- instructor profile ---------------------------------------------------------------------------------------------
// (Staff who teach courses and paths show a headline and a bio; the staff API is tested in access.test.ts.)

describe("instructor profile fields of staff users", () => {
  it("stores headline and bio on create and update, validates their length, and keeps them off learners", async () => {
    const t = await createTenant();
    const roles = await api("GET", "/v1/admin/roles?per_page=100", { token: t.key });
    const instructor = roles.body.data.find((r: { key: string }) => r.key === "instructor").id;
    const created = await api("POST", "/v1/admin/staff", {
      token: t.key,
      body: {
        name: "Grace",
        email: `${unique("grace")}@example.com`,
        role_id: instructor,
        headline: "  Compiler pioneer  ",
        bio: "Wrote the first compiler.",
      },
    });
    expectStatus(created, 201);
    expect(created.body).toMatchObject({ headline: "Compiler pioneer", bio: "Wrote the first compiler." });
    const id = created.body.id;
    expect((await api("GET", `/v1/admin/staff/${id}`, { token: t.key })).body).toMatchObject({
      headline: "Compiler pioneer",
      bio: "Wrote the first compiler.",
    });

    const updated = await api("PATCH", `/v1/admin/staff/${id}`, { token: t.key, body: { bio: null } });
    expectStatus(updated, 200);
    expect(updated.body).toMatchObject({ headline: "Compiler pioneer", bio: null });

    for (const [body, field] of [
      [{ headline: "x".repeat(201) }, "headline"],
      [{ bio: "x".repeat(5001) }, "bio"],
      [{ headline: 5 }, "headline"],
    ] as const) {
      const problem = expectProblem(await api("PATCH", `/v1/admin/staff/${id}`, { token: t.key, body }), 422);
      expect(problem.errors?.map((e) => e.path)).toEqual([field]);
    }
    expect((await api("GET", `/v1/admin/staff/${id}`, { token: t.key })).body).toEqual(updated.body);

    const learner = expectProblem(
      await api("POST", "/v1/admin/learners", {
        token: t.key,
        body: { name: "Lea", email: `${unique("lea")}@example.com`, headline: "Learner" },
      }),
      422,
    );
    expect(learner.errors?.map((e) => e.path)).toEqual(["headline"]);
  });
});
