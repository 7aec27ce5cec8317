/**
 * The read side of the catalog: the public catalog and landing pages (no credential, tenant from X-Tenant or
 * the custom domain, ETag/304 and the Cache API, invalidated by catalog_version and course versions), and the
 * signed-in learner's view of a course. Data is made through the real admin API.
 */
import { env, SELF } from "cloudflare:test";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import { beforeAll, describe, expect, it } from "vitest";
import { type CatalogQuery, catalogStatements } from "../src/modules/catalog/service";
import { api, expectProblem, expectStatus } from "./helpers/api";
import { createTenant, learnerSession, PASSWORD, roleId, type TestTenant, unique } from "./helpers/factories";

async function post(t: TestTenant, path: string, body: unknown) {
  const res = await api("POST", path, { token: t.key, body });
  expectStatus(res, 201);
  return res.body;
}

async function createModule(t: TestTenant, fields: Record<string, unknown> = {}) {
  return post(t, "/v1/admin/modules", { type: "text", name: unique("Lesson"), ...fields }) as Promise<{
    id: number;
    name: string;
  }>;
}

interface Built {
  id: number;
  slug: string;
  name: string;
  sectionId: number;
  placementIds: number[];
}

/** A course with one section holding `modules`, published unless asked otherwise (all through the admin API). */
async function buildCourse(
  t: TestTenant,
  fields: Record<string, unknown> = {},
  options: { publish?: boolean; modules?: number[] } = {},
): Promise<Built> {
  const course = await post(t, "/v1/admin/courses", { name: unique("Course"), ...fields });
  const section = await post(t, `/v1/admin/courses/${course.id}/sections`, {
    name: "Getting started",
    description: "The basics",
  });
  const modules = options.modules ?? [(await createModule(t)).id];
  const placementIds: number[] = [];
  for (const moduleId of modules) {
    const placement = await post(t, `/v1/admin/courses/${course.id}/sections/${section.id}/placements`, {
      module_id: moduleId,
    });
    placementIds.push(placement.id);
  }
  if (options.publish !== false) {
    expectStatus(await api("POST", `/v1/admin/courses/${course.id}/publish`, { token: t.key }), 200);
  }
  return { id: course.id, slug: course.slug, name: course.name, sectionId: section.id, placementIds };
}

const publicGet = (path: string, slug: string | undefined, headers: Record<string, string> = {}) =>
  api("GET", path, { tenant: slug, headers });

function expectCacheable(res: Awaited<ReturnType<typeof api>>) {
  expect(res.headers.get("cache-control")).toMatch(/^public, max-age=\d+/);
  expect(res.headers.get("cache-control")).not.toContain("no-store");
  expect(res.headers.get("etag")).toMatch(/^W\/"[^"]+"$/);
  expect(res.headers.get("vary")).toContain("X-Tenant");
  expect(res.headers.get("access-control-allow-origin")).toBe("*");
}

const ids = (res: { body: { data: { kind: string; id: number }[] } }) =>
  res.body.data.map((item) => `${item.kind}:${item.id}`);

describe("the public catalog", () => {
  let t: TestTenant;
  let categoryId: number;
  let secretModule: { id: number };
  let instructor: { id: number; email: string };
  let featured: Built;
  let second: Built;
  let hidden: Built;
  /** Only enrolled learners rate a course. */
  const enroll = async (courseId: number, learnerId: number) =>
    expectStatus(
      await api("POST", `/v1/admin/courses/${courseId}/enrollments`, {
        token: t.key,
        body: { learner_ids: [learnerId] },
      }),
      201,
    );
  let draft: Built;
  let archived: Built;
  let deleted: Built;
  let path: { id: number; slug: string };
  let draftPath: { id: number; slug: string };
  let foreign: Built;
  let foreignTenant: TestTenant;

  beforeAll(async () => {
    t = await createTenant();
    foreignTenant = await createTenant();
    categoryId = (await post(t, "/v1/admin/categories", { name: unique("Data"), type: "course" })).id;
    const email = `${unique("teacher")}@example.com`;
    instructor = {
      id: (
        await post(t, "/v1/admin/staff", {
          name: "Grace Teacher",
          email,
          role_id: await roleId(t, "instructor"),
          password: PASSWORD,
          headline: "Statistician",
          bio: "Teaches numbers.",
          picture_src: "https://cdn.example.com/grace.png",
        })
      ).id,
      email,
    };
    secretModule = await createModule(t, {
      name: "Lesson with a secret",
      description: "Spoiler: the answer is 42",
      settings: { body: "<p>TOP-SECRET-CONTENT</p>" },
    });
    featured = await buildCourse(
      t,
      {
        name: "Alpha Statistics",
        subtitle: "Numbers for everyone",
        description: "A long description",
        picture_url: "https://cdn.example.com/alpha.png",
        seo_title: "Learn statistics",
        category_ids: [categoryId],
        instructor_ids: [instructor.id],
        estimated_minutes: 90,
      },
      { modules: [secretModule.id, (await createModule(t, { name: "Second lesson" })).id] },
    );
    second = await buildCourse(t, { name: "Beta Algebra" });
    hidden = await buildCourse(t, { name: "Hidden Course", show_in_catalog: false });
    draft = await buildCourse(t, { name: "Draft Course" }, { publish: false });
    archived = await buildCourse(t, { name: "Archived Course" });
    expectStatus(
      await api("PATCH", `/v1/admin/courses/${archived.id}`, { token: t.key, body: { status: "archived" } }),
      200,
    );
    deleted = await buildCourse(t, { name: "Deleted Course" });
    expectStatus(await api("DELETE", `/v1/admin/courses/${deleted.id}`, { token: t.key }), 204);
    path = await post(t, "/v1/admin/learning-paths", {
      name: "Gamma Track",
      description: "Both courses, in order",
      steps: [{ course_id: featured.id }, { course_id: second.id, required: false }],
    });
    expectStatus(await api("POST", `/v1/admin/learning-paths/${path.id}/publish`, { token: t.key }), 200);
    draftPath = await post(t, "/v1/admin/learning-paths", { name: "Draft Track", steps: [{ course_id: second.id }] });
    foreign = await buildCourse(foreignTenant, { name: "Foreign Course" });
  });

  it("lists published, listed courses and published paths, newest first, cacheable", async () => {
    const res = await publicGet("/v1/public/catalog", t.slug);
    expectStatus(res, 200);
    expectCacheable(res);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(ids(res)).toEqual([`learning_path:${path.id}`, `course:${second.id}`, `course:${featured.id}`]);
    expect(res.body.meta).toEqual({ page: 1, per_page: 15, total: 3, last_page: 1, next_cursor: null });
    const alpha = res.body.data.find((i: { id: number; kind: string }) => i.kind === "course" && i.id === featured.id);
    expect(alpha).toEqual({
      kind: "course",
      id: featured.id,
      slug: featured.slug,
      name: "Alpha Statistics",
      summary: "Numbers for everyone",
      picture_url: "https://cdn.example.com/alpha.png",
      category_ids: [categoryId],
      rating: { average: null, count: 0 },
      course_count: null,
      published_at: expect.any(String),
    });
    expect(res.body.data[0]).toMatchObject({
      kind: "learning_path",
      slug: path.slug,
      name: "Gamma Track",
      summary: "Both courses, in order",
      rating: null,
      course_count: 2,
    });
    for (const name of ["Hidden Course", "Draft Course", "Archived Course", "Deleted Course", "Draft Track"]) {
      expect(res.text).not.toContain(name);
    }
    expect(res.text).not.toContain(String(draftPath.slug));
    expect(res.text).not.toContain("Foreign Course");
  });

  it("filters by kind, category and name, sorts and pages", async () => {
    const courses = await publicGet("/v1/public/catalog?kind=course", t.slug);
    expect(ids(courses)).toEqual([`course:${second.id}`, `course:${featured.id}`]);
    expect(courses.body.meta.total).toBe(2);
    const paths = await publicGet("/v1/public/catalog?kind=learning_path", t.slug);
    expect(ids(paths)).toEqual([`learning_path:${path.id}`]);
    const inCategory = await publicGet(`/v1/public/catalog?category_id=${categoryId}`, t.slug);
    expect(ids(inCategory)).toEqual([`course:${featured.id}`]);
    const search = await publicGet("/v1/public/catalog?q=ALGEBRA", t.slug);
    expect(ids(search)).toEqual([`course:${second.id}`]);
    const byName = await publicGet("/v1/public/catalog?sort=name", t.slug);
    expect(byName.body.data.map((i: { name: string }) => i.name)).toEqual([
      "Alpha Statistics",
      "Beta Algebra",
      "Gamma Track",
    ]);
    const byNameDesc = await publicGet("/v1/public/catalog?sort=-name", t.slug);
    expect(byNameDesc.body.data.map((i: { name: string }) => i.name)).toEqual([
      "Gamma Track",
      "Beta Algebra",
      "Alpha Statistics",
    ]);
    const oldest = await publicGet("/v1/public/catalog?sort=published_at", t.slug);
    expect(ids(oldest)).toEqual([`course:${featured.id}`, `course:${second.id}`, `learning_path:${path.id}`]);
    const page2 = await publicGet("/v1/public/catalog?per_page=2&page=2", t.slug);
    expect(ids(page2)).toEqual([`course:${featured.id}`]);
    expect(page2.body.meta).toEqual({ page: 2, per_page: 2, total: 3, last_page: 2, next_cursor: null });
    expect(page2.headers.get("etag")).not.toBe((await publicGet("/v1/public/catalog", t.slug)).headers.get("etag"));
  });

  it("walks every sort with cursors: the same items in the same order as page numbers, ties included", async () => {
    // Its own academy: a course and a path with the same name, and two courses with the same name (ties).
    const own = await createTenant();
    const made: string[] = [];
    for (const name of ["Tie", "Tie", "Zeta", "Alpha"]) made.push(`course:${(await buildCourse(own, { name })).id}`);
    const tiePath = await post(own, "/v1/admin/learning-paths", {
      name: "Tie",
      steps: [{ course_id: Number(made[3].split(":")[1]) }],
    });
    expectStatus(await api("POST", `/v1/admin/learning-paths/${tiePath.id}/publish`, { token: own.key }), 200);
    for (const sort of ["-published_at", "published_at", "name", "-name"]) {
      const all = await publicGet(`/v1/public/catalog?sort=${sort}&per_page=100`, own.slug);
      expect(all.body.data).toHaveLength(5);
      const walked: string[] = [];
      let res = await publicGet(`/v1/public/catalog?sort=${sort}&per_page=2`, own.slug);
      expect(res.body.meta.page).toBe(1);
      for (;;) {
        walked.push(...ids(res));
        const next = res.body.meta.next_cursor as string | null;
        if (!next) break;
        res = await publicGet(`/v1/public/catalog?sort=${sort}&per_page=2&cursor=${next}`, own.slug);
        expectStatus(res, 200);
        expect(res.body.meta).toMatchObject({ page: null, per_page: 2, total: 5 });
      }
      expect(walked, sort).toEqual(ids(all));
      expect(new Set(walked).size).toBe(5);
      // Page numbers give the same order.
      const numbered: string[] = [];
      for (const p of [1, 2, 3])
        numbered.push(...ids(await publicGet(`/v1/public/catalog?sort=${sort}&per_page=2&page=${p}`, own.slug)));
      expect(numbered, sort).toEqual(walked);
    }
    expect(made).toHaveLength(4);
    // Filters hold on cursor pages: only courses.
    const first = await publicGet("/v1/public/catalog?sort=name&per_page=1&kind=course", own.slug);
    const rest = await publicGet(
      `/v1/public/catalog?sort=name&per_page=10&kind=course&cursor=${first.body.meta.next_cursor}`,
      own.slug,
    );
    expect([...ids(first), ...ids(rest)]).toEqual(
      ids(await publicGet("/v1/public/catalog?sort=name&kind=course", own.slug)),
    );
    expect(ids(rest).every((id: string) => id.startsWith("course:"))).toBe(true);
  });

  it("refuses bad queries (422 naming the parameter), a missing academy (400) and an unknown one (404)", async () => {
    for (const [query, path] of [
      ["kind=video", "query.kind"],
      ["sort=-rating", "query.sort"],
      ["per_page=0", "query.per_page"],
      ["per_page=101", "query.per_page"],
      ["page=0", "query.page"],
      ["category_id=abc", "query.category_id"],
      [`q=${"x".repeat(201)}`, "query.q"],
      ["cursor=not-a-cursor", "query.cursor"],
      // A cursor of another sort: its key means nothing in this order.
      [
        `sort=name&cursor=${btoa(JSON.stringify(["-published_at", "2026-01-01T00:00:00.000Z", "course", 1]))}`,
        "query.cursor",
      ],
      [`cursor=${btoa(JSON.stringify(["-published_at", "x", "video", 1]))}`, "query.cursor"],
      [`cursor=${btoa(JSON.stringify(["-published_at", "x", "course", -4]))}`, "query.cursor"],
    ]) {
      const problem = expectProblem(await publicGet(`/v1/public/catalog?${query}`, t.slug), 422);
      expect(problem.errors?.map((e) => e.path)).toContain(path);
    }
    const missing = expectProblem(await publicGet("/v1/public/catalog", undefined), 400);
    expect(missing.detail).toContain("X-Tenant");
    expectProblem(await publicGet("/v1/public/catalog", "no-such-academy"), 404);
    expectProblem(await publicGet(`/v1/public/courses/${featured.slug}`, undefined), 400);
    expectProblem(await publicGet(`/v1/public/courses/${featured.slug}`, "no-such-academy"), 404);
    expectProblem(await publicGet(`/v1/public/learning-paths/${path.slug}`, undefined), 400);
    const failed = await publicGet("/v1/public/catalog", "no-such-academy");
    expect(failed.headers.get("cache-control")).toBe("no-store");
  });

  it("refuses a suspended academy (403) and lets browsers send If-None-Match and read the ETag (CORS)", async () => {
    const suspended = await createTenant();
    expectStatus(
      await api("PATCH", `/v1/platform/tenants/${suspended.id}`, {
        token: env.PLATFORM_ADMIN_TOKEN,
        body: { status: "suspended" },
      }),
      200,
    );
    expectProblem(await publicGet("/v1/public/catalog", suspended.slug), 403);
    const preflight = await SELF.fetch("http://lectern.test/v1/public/catalog", {
      method: "OPTIONS",
      headers: {
        origin: "https://shop.example.com",
        "access-control-request-method": "GET",
        "access-control-request-headers": "x-tenant, if-none-match",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("if-none-match");
    const res = await SELF.fetch("http://lectern.test/v1/public/catalog", {
      headers: { origin: "https://shop.example.com", "x-tenant": t.slug },
    });
    expect(res.headers.get("access-control-expose-headers")?.toLowerCase()).toContain("etag");
    await res.text();
  });

  it("finds the academy by its custom domain when X-Tenant is absent", async () => {
    const domain = `${unique("learn")}.example.com`;
    const other = await createTenant({ custom_domains: [domain] });
    const course = await buildCourse(other, { name: "Domain Course" });
    const res = await SELF.fetch(`https://${domain}/v1/public/catalog`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: { id: number }[] };
    expect(body.data.map((i) => i.id)).toEqual([course.id]);
  });

  it("answers 304 to a current ETag and a new ETag and body after a catalog change", async () => {
    const first = await publicGet("/v1/public/catalog?kind=course", t.slug);
    const etag = first.headers.get("etag") as string;
    const again = await publicGet("/v1/public/catalog?kind=course", t.slug, { "if-none-match": etag });
    expect(again.status).toBe(304);
    expect(again.text).toBe("");
    expect(again.headers.get("etag")).toBe(etag);
    expect(again.headers.get("cache-control")).toMatch(/^public/);
    // Weak comparison, lists and `*`.
    const strong = etag.replace(/^W\//, "");
    expect((await publicGet("/v1/public/catalog?kind=course", t.slug, { "if-none-match": strong })).status).toBe(304);
    expect(
      (await publicGet("/v1/public/catalog?kind=course", t.slug, { "if-none-match": `"other", ${etag}` })).status,
    ).toBe(304);
    expect((await publicGet("/v1/public/catalog?kind=course", t.slug, { "if-none-match": '"other"' })).status).toBe(
      200,
    );
    // The same query of another academy never matches this one's tag.
    const foreignRes = await publicGet("/v1/public/catalog?kind=course", foreignTenant.slug, { "if-none-match": etag });
    expect(foreignRes.status).toBe(200);

    // A visible change through the admin API: a new course.
    const added = await buildCourse(t, { name: "Delta Geometry" });
    const changed = await publicGet("/v1/public/catalog?kind=course", t.slug, { "if-none-match": etag });
    expectStatus(changed, 200);
    expect(changed.headers.get("etag")).not.toBe(etag);
    expect(ids(changed)[0]).toBe(`course:${added.id}`);

    // Renaming it moves the tag again and shows the new name.
    const etag2 = changed.headers.get("etag") as string;
    expectStatus(
      await api("PATCH", `/v1/admin/courses/${added.id}`, { token: t.key, body: { name: "Delta Geometry II" } }),
      200,
    );
    const renamed = await publicGet("/v1/public/catalog?kind=course", t.slug, { "if-none-match": etag2 });
    expectStatus(renamed, 200);
    expect(renamed.headers.get("etag")).not.toBe(etag2);
    expect(renamed.body.data[0].name).toBe("Delta Geometry II");

    // Unpublishing (archiving) takes it out.
    expectStatus(
      await api("PATCH", `/v1/admin/courses/${added.id}`, { token: t.key, body: { status: "archived" } }),
      200,
    );
    const gone = await publicGet("/v1/public/catalog?kind=course", t.slug);
    expect(ids(gone)).not.toContain(`course:${added.id}`);
  });

  it("serves repeat reads from the Cache API (D1 changes that skip catalog_version stay unseen)", async () => {
    const course = await buildCourse(t, { name: "Epsilon Cached" });
    const url = `/v1/public/catalog?kind=course&q=${encodeURIComponent("Epsilon")}`;
    const first = await publicGet(url, t.slug);
    expect(first.body.data[0].name).toBe("Epsilon Cached");
    // Behind the API's back: no catalog_version bump, so the cached body stays current as far as readers know.
    await env.DB.prepare("UPDATE courses SET subtitle = 'changed in D1' WHERE id = ?").bind(course.id).run();
    let cachedSubtitle: string | null = "changed in D1";
    for (let i = 0; i < 20 && cachedSubtitle === "changed in D1"; i++) {
      // The first read stores its body after answering (waitUntil); give it a moment.
      await new Promise((resolve) => setTimeout(resolve, 25));
      cachedSubtitle = (await publicGet(url, t.slug)).body.data[0].summary;
    }
    expect(cachedSubtitle).toBeNull();
    expect((await publicGet(url, t.slug)).headers.get("etag")).toBe(first.headers.get("etag"));
    // Any catalog-visible write through the API moves every reader to a fresh key.
    expectStatus(
      await api("PATCH", `/v1/admin/courses/${course.id}`, { token: t.key, body: { subtitle: "through the API" } }),
      200,
    );
    const fresh = await publicGet(url, t.slug);
    expect(fresh.body.data[0].summary).toBe("through the API");
    expect(fresh.headers.get("etag")).not.toBe(first.headers.get("etag"));
  });

  it("shows a rating change in the catalog (new ETag, new average)", async () => {
    const url = `/v1/public/catalog?kind=course&q=${encodeURIComponent("Beta Algebra")}`;
    const before = await publicGet(url, t.slug);
    expect(before.body.data[0].rating).toEqual({ average: null, count: 0 });
    const learner = await learnerSession(t);
    await enroll(second.id, learner.id);
    expectStatus(
      await api("PUT", `/v1/learner/courses/${second.id}/ratings`, { token: learner.token, body: { rating: 4 } }),
      201,
    );
    const after = await publicGet(url, t.slug, { "if-none-match": before.headers.get("etag") as string });
    expectStatus(after, 200);
    expect(after.body.data[0].rating).toEqual({ average: 4, count: 1 });
  });

  describe("a course's landing page", () => {
    it("shows the public face of a published, listed course and its outline without content", async () => {
      const res = await publicGet(`/v1/public/courses/${featured.slug}`, t.slug);
      expectStatus(res, 200);
      expectCacheable(res);
      expect(res.body).toMatchObject({
        id: featured.id,
        slug: featured.slug,
        name: "Alpha Statistics",
        subtitle: "Numbers for everyone",
        description: "A long description",
        picture_url: "https://cdn.example.com/alpha.png",
        seo: { title: "Learn statistics", description: null, keywords: null },
        estimated_minutes: 90,
        duration: { rule: "unlimited", access_days: null, access_until: null },
        instructors: [
          {
            id: instructor.id,
            name: "Grace Teacher",
            headline: "Statistician",
            bio: "Teaches numbers.",
            picture_url: "https://cdn.example.com/grace.png",
          },
        ],
        categories: [{ id: categoryId, name: expect.any(String), slug: expect.any(String) }],
        rating: { average: null, count: 0, distribution: { 1: 0, 2: 0, 3: 0, 4: 0, 5: 0 } },
        module_count: 2,
      });
      expect(res.body.sections).toEqual([
        {
          id: featured.sectionId,
          name: "Getting started",
          description: "The basics",
          position: expect.any(Number),
          release_at: null,
          placements: [
            {
              id: featured.placementIds[0],
              position: expect.any(Number),
              required: true,
              drip: { rule: "none", days: null, date: null },
              module: { id: secretModule.id, type: "text", name: "Lesson with a secret", estimated_minutes: null },
            },
            expect.objectContaining({
              id: featured.placementIds[1],
              module: expect.objectContaining({ name: "Second lesson" }),
            }),
          ],
        },
      ]);
      // Never content, settings, emails or internal fields.
      for (const secret of ["TOP-SECRET-CONTENT", "settings", "Spoiler", instructor.email, "@example.com", "status"]) {
        expect(res.text).not.toContain(secret);
      }
    });

    it("answers 404 for drafts, archived, deleted and other academies' courses; hidden ones are unlisted", async () => {
      expectStatus(await publicGet(`/v1/public/courses/${hidden.slug}`, t.slug), 200);
      for (const c of [draft, archived, deleted]) {
        expectProblem(await publicGet(`/v1/public/courses/${c.slug}`, t.slug), 404);
      }
      expectProblem(await publicGet(`/v1/public/courses/${foreign.slug}`, t.slug), 404);
      expectProblem(await publicGet("/v1/public/courses/no-such-course", t.slug), 404);
      expectStatus(await publicGet(`/v1/public/courses/${foreign.slug}`, foreignTenant.slug), 200);
      expectProblem(await publicGet(`/v1/public/courses/${"x".repeat(65)}`, t.slug), 422);
    });

    it("answers 304 while current, and changes with the course's curriculum and name", async () => {
      const course = await buildCourse(t, { name: "Zeta Outline" });
      const url = `/v1/public/courses/${course.slug}`;
      const first = await publicGet(url, t.slug);
      const etag = first.headers.get("etag") as string;
      expect((await publicGet(url, t.slug, { "if-none-match": etag })).status).toBe(304);
      // A new section through the curriculum API.
      await post(t, `/v1/admin/courses/${course.id}/sections`, { name: "Going further" });
      const withSection = await publicGet(url, t.slug, { "if-none-match": etag });
      expectStatus(withSection, 200);
      expect(withSection.body.sections.map((s: { name: string }) => s.name)).toEqual([
        "Getting started",
        "Going further",
      ]);
      // Renaming a module placed in it (the module's own API) shows too.
      const [placement] = first.body.sections[0].placements;
      expectStatus(
        await api("PATCH", `/v1/admin/modules/${placement.module.id}`, {
          token: t.key,
          body: { name: "Renamed lesson" },
        }),
        200,
      );
      const renamed = await publicGet(url, t.slug, {
        "if-none-match": withSection.headers.get("etag") as string,
      });
      expectStatus(renamed, 200);
      expect(renamed.body.sections[0].placements[0].module.name).toBe("Renamed lesson");
      // Archived: gone, and a stale tag does not bring it back.
      expectStatus(
        await api("PATCH", `/v1/admin/courses/${course.id}`, { token: t.key, body: { status: "archived" } }),
        200,
      );
      expectProblem(await publicGet(url, t.slug, { "if-none-match": renamed.headers.get("etag") as string }), 404);
    });

    it("shows the rating summary, and none while ratings are off", async () => {
      const course = await buildCourse(t, { name: "Eta Rated" });
      const learner = await learnerSession(t);
      await enroll(course.id, learner.id);
      expectStatus(
        await api("PUT", `/v1/learner/courses/${course.id}/ratings`, { token: learner.token, body: { rating: 5 } }),
        201,
      );
      const rated = await publicGet(`/v1/public/courses/${course.slug}`, t.slug);
      expect(rated.body.rating).toEqual({ average: 5, count: 1, distribution: { 1: 0, 2: 0, 3: 0, 4: 0, 5: 1 } });
      expectStatus(
        await api("PATCH", `/v1/admin/courses/${course.id}`, { token: t.key, body: { ratings_enabled: false } }),
        200,
      );
      const off = await publicGet(`/v1/public/courses/${course.slug}`, t.slug);
      expect(off.body.rating).toBeNull();
      const listed = await publicGet(`/v1/public/catalog?kind=course&q=${encodeURIComponent("Eta Rated")}`, t.slug);
      expect(listed.body.data[0].rating).toBeNull();
    });
  });

  describe("a learning path's landing page", () => {
    it("shows a published path with its courses in order", async () => {
      const res = await publicGet(`/v1/public/learning-paths/${path.slug}`, t.slug);
      expectStatus(res, 200);
      expectCacheable(res);
      expect(res.body).toMatchObject({
        id: path.id,
        slug: path.slug,
        name: "Gamma Track",
        description: "Both courses, in order",
        course_count: 2,
        categories: [],
      });
      expect(
        res.body.steps.map((s: { required: boolean; course: { id: number; slug: string; name: string } }) => [
          s.course.id,
          s.course.slug,
          s.course.name,
          s.required,
        ]),
      ).toEqual([
        [featured.id, featured.slug, "Alpha Statistics", true],
        [second.id, second.slug, "Beta Algebra", false],
      ]);
      expect(res.body.steps[0].course).toMatchObject({
        picture_url: "https://cdn.example.com/alpha.png",
        listed: true,
      });
      const etag = res.headers.get("etag") as string;
      expect(
        (await publicGet(`/v1/public/learning-paths/${path.slug}`, t.slug, { "if-none-match": etag })).status,
      ).toBe(304);
    });

    it("answers 404 for draft paths, unknown slugs and other academies", async () => {
      expectProblem(await publicGet(`/v1/public/learning-paths/${draftPath.slug}`, t.slug), 404);
      expectProblem(await publicGet("/v1/public/learning-paths/no-such-path", t.slug), 404);
      expectProblem(await publicGet(`/v1/public/learning-paths/${path.slug}`, foreignTenant.slug), 404);
    });
  });

  describe("the signed-in learner's view of a course", () => {
    let learner: Awaited<ReturnType<typeof learnerSession>>;
    beforeAll(async () => {
      learner = await learnerSession(t);
    });

    it("shows the outline with prerequisites and room for progress, never module content", async () => {
      // The second placement needs the first.
      expectStatus(
        await api("PATCH", `/v1/admin/courses/${featured.id}/placements/${featured.placementIds[1]}`, {
          token: t.key,
          body: { prerequisite_ids: [featured.placementIds[0]], drip_rule: "after_enrollment", drip_days: 3 },
        }),
        200,
      );
      const res = await api("GET", `/v1/learner/courses/${featured.id}`, { token: learner.token });
      expectStatus(res, 200);
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(res.body).toMatchObject({
        id: featured.id,
        name: "Alpha Statistics",
        ratings_enabled: true,
        module_count: 2,
        version: expect.any(Number),
      });
      const [first, secondPlacement] = res.body.sections[0].placements;
      expect(first).toEqual({
        id: featured.placementIds[0],
        module_id: secretModule.id,
        position: expect.any(Number),
        required: true,
        drip: { rule: "none", days: null, date: null },
        prerequisite_ids: [],
        module: {
          id: secretModule.id,
          type: "text",
          name: "Lesson with a secret",
          slug: expect.any(String),
          description: "Spoiler: the answer is 42",
          estimated_minutes: null,
          points: 0,
        },
        progress: null,
        locked: false,
      });
      expect(secondPlacement).toMatchObject({
        prerequisite_ids: [featured.placementIds[0]],
        drip: { rule: "after_enrollment", days: 3, date: null },
      });
      expect(res.text).not.toContain("TOP-SECRET-CONTENT");
      expect(res.text).not.toContain("settings");
    });

    it("follows changes of the course (its version is part of the cache key)", async () => {
      const course = await buildCourse(t, { name: "Theta Learner" });
      const before = await api("GET", `/v1/learner/courses/${course.id}`, { token: learner.token });
      expect(before.body.sections).toHaveLength(1);
      await post(t, `/v1/admin/courses/${course.id}/sections`, { name: "More" });
      const after = await api("GET", `/v1/learner/courses/${course.id}`, { token: learner.token });
      expect(after.body.sections.map((s: { name: string }) => s.name)).toEqual(["Getting started", "More"]);
      expect(after.body.version).toBeGreaterThan(before.body.version);
    });

    it("shows published courses hidden from the catalog, and 404 for drafts, deleted and other academies'", async () => {
      expectStatus(await api("GET", `/v1/learner/courses/${hidden.id}`, { token: learner.token }), 200);
      for (const id of [draft.id, archived.id, deleted.id, foreign.id, 99_999_999]) {
        expectProblem(await api("GET", `/v1/learner/courses/${id}`, { token: learner.token }), 404);
      }
      expectProblem(await api("GET", "/v1/learner/courses/abc", { token: learner.token }), 422);
    });

    it("needs a learner token (401 without, 403 with an admin key)", async () => {
      expectProblem(await api("GET", `/v1/learner/courses/${featured.id}`), 401);
      expectProblem(await api("GET", `/v1/learner/courses/${featured.id}`, { token: "not.a.token" }), 401);
      expectProblem(await api("GET", `/v1/learner/courses/${featured.id}`, { token: t.key }), 403);
    });
  });
});

describe("the catalog's queries", () => {
  const dialect = new SQLiteAsyncDialect();
  async function plan(statement: Parameters<SQLiteAsyncDialect["sqlToQuery"]>[0]) {
    const query = dialect.sqlToQuery(statement);
    const rows = await env.DB.prepare(`EXPLAIN QUERY PLAN ${query.sql}`)
      .bind(...query.params)
      .all<{ detail: string }>();
    return rows.results.map((r) => r.detail);
  }

  it("read courses and paths through their catalog indexes, merged without sorting the whole set", async () => {
    const base: CatalogQuery = { page: 3, per_page: 15, sort: "-published_at" };
    const variants: CatalogQuery[] = [
      base,
      { ...base, sort: "published_at" },
      { ...base, kind: "course" },
      { ...base, kind: "learning_path" },
      { ...base, category_id: 1 },
      { ...base, q: "stat" },
      { ...base, sort: "name" },
      { ...base, sort: "-name", kind: "course" },
    ];
    const cursors = [
      undefined,
      { key: "M", kind: "course" as const, id: 5 },
      { key: "M", kind: "learning_path" as const, id: 5 },
    ];
    for (const [query, cursor] of variants.flatMap((v) => cursors.map((c) => [v, c] as const))) {
      const statements = catalogStatements(1, query, cursor);
      const page = await plan(statements.page);
      const keys = await plan(statements.keys);
      const where = JSON.stringify({ query, cursor });
      // No full scan of either table; the page's keys come from the indexes alone (no row read for a skipped
      // row), in index order (no sort of everything); the page's columns by primary key, driven by the keys.
      expect(
        page.filter((d) => /^SCAN (courses|learning_paths|c|l)\b/.test(d)),
        where,
      ).toEqual([]);
      expect(
        keys.some((d) => d.includes("USE TEMP B-TREE FOR ORDER BY")),
        `${where}: ${keys.join(" | ")}`,
      ).toBe(false);
      if (!query.q && !query.category_id) {
        expect(
          keys.filter((d) => d.startsWith("SEARCH")).every((d) => d.includes("COVERING INDEX")),
          keys.join(" | "),
        ).toBe(true);
      }
      if (query.kind !== "learning_path")
        expect(page.join(" | "), where).toContain("SEARCH c USING INTEGER PRIMARY KEY");
      if (query.kind !== "course") expect(page.join(" | "), where).toContain("SEARCH l USING INTEGER PRIMARY KEY");
      const byName = query.sort.endsWith("name");
      if (query.kind !== "learning_path") {
        expect(keys.join(" | "), where).toContain(
          byName ? "courses_tenant_catalog_name_idx" : "courses_tenant_catalog_idx",
        );
        expect((await plan(statements.courseTotal)).join(" | "), where).toMatch(/courses_tenant_catalog(_name)?_idx/);
      }
      if (query.kind !== "course") {
        expect(keys.join(" | "), where).toContain(
          byName ? "learning_paths_tenant_catalog_name_idx" : "learning_paths_tenant_catalog_idx",
        );
        expect((await plan(statements.pathTotal)).join(" | "), where).toMatch(
          /learning_paths_tenant_catalog(_name)?_idx/,
        );
      }
      if (!query.kind) expect(keys.join(" | "), where).toContain("MERGE (UNION ALL)");
      if (query.category_id) expect(page.join(" | "), where).toContain("course_categories_tenant_category_idx");
    }
  });
});
