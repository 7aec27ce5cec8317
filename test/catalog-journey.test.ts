/**
 * The catalog issue's "done when", as one admin would do it through the documented API: a course with two
 * sections and five modules of different types, a learning path containing it, both published, both in the
 * public catalog, the course cloned, and three courses quick-edited at once.
 */
import { describe, expect, it } from "vitest";
import { api, expectStatus } from "./helpers/api";
import { createTenant } from "./helpers/factories";

describe("an admin builds and publishes a catalog", () => {
  it("goes from nothing to a public catalog, a clone and a quick edit", async () => {
    const t = await createTenant();
    const call = async (method: string, path: string, body?: unknown, status = 200) => {
      const res = await api(method, path, { token: t.key, body });
      expectStatus(res, status);
      return res.body;
    };

    const category = await call("POST", "/v1/admin/categories", { type: "course", name: "Data" }, 201);
    const course = await call(
      "POST",
      "/v1/admin/courses",
      { name: "Data Literacy", subtitle: "Read charts without fear", category_ids: [category.id] },
      201,
    );
    const modules = [
      { type: "text", name: "Why data", settings: { body: "Numbers tell stories." } },
      { type: "video", name: "Reading a chart", settings: { url: "https://videos.example.com/chart.mp4" } },
      { type: "flashcards", name: "Vocabulary", settings: { cards: [{ front: "Median", back: "The middle value" }] } },
      { type: "quiz", name: "Check yourself" },
      { type: "assignment", name: "Find a misleading chart" },
    ];
    const created = [];
    for (const module of modules) created.push(await call("POST", "/v1/admin/modules", module, 201));
    const week1 = await call("POST", `/v1/admin/courses/${course.id}/sections`, { name: "Week 1" }, 201);
    const week2 = await call("POST", `/v1/admin/courses/${course.id}/sections`, { name: "Week 2" }, 201);
    for (const [i, module] of created.entries()) {
      const section = i < 3 ? week1 : week2;
      await call(
        "POST",
        `/v1/admin/courses/${course.id}/sections/${section.id}/placements`,
        { module_id: module.id },
        201,
      );
    }
    const outline = await call("GET", `/v1/admin/courses/${course.id}/curriculum`);
    expect(outline.sections.map((s: { placements: unknown[] }) => s.placements.length)).toEqual([3, 2]);
    expect(
      new Set(
        outline.sections.flatMap((s: { placements: { module: { type: string } }[] }) =>
          s.placements.map((p) => p.module.type),
        ),
      ).size,
    ).toBe(5);

    const path = await call(
      "POST",
      "/v1/admin/learning-paths",
      { name: "Analyst track", steps: [{ course_id: course.id }] },
      201,
    );
    await call("POST", `/v1/admin/courses/${course.id}/publish`);
    await call("POST", `/v1/admin/learning-paths/${path.id}/publish`);

    const catalog = await api("GET", "/v1/public/catalog", { tenant: t.slug });
    expectStatus(catalog, 200);
    expect(catalog.body.data.map((i: { kind: string; slug: string }) => `${i.kind}:${i.slug}`).sort()).toEqual(
      [`course:${course.slug}`, `learning_path:${path.slug}`].sort(),
    );
    const page = await api("GET", `/v1/public/courses/${course.slug}`, { tenant: t.slug });
    expectStatus(page, 200);
    expect(page.body.sections.map((s: { name: string }) => s.name)).toEqual(["Week 1", "Week 2"]);

    const clone = await call("POST", `/v1/admin/courses/${course.id}/clone`, { modules: "share" }, 201);
    expect(clone).toMatchObject({ name: "Data Literacy (copy)", status: "draft" });

    const third = await call("POST", "/v1/admin/courses", { name: "Statistics" }, 201);
    const edited = await call("PATCH", "/v1/admin/courses", {
      items: [
        { id: course.id, subtitle: "Charts, tables and honest numbers" },
        { id: clone.id, name: "Data Literacy II" },
        { id: third.id, show_in_catalog: false },
      ],
    });
    expect(edited.data.map((c: { id: number }) => c.id)).toEqual([course.id, clone.id, third.id]);
    const after = await api("GET", "/v1/public/catalog?kind=course", { tenant: t.slug });
    expect(after.body.data[0]).toMatchObject({ slug: course.slug, summary: "Charts, tables and honest numbers" });
  });
});
