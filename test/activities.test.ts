/**
 * The activity log: keyset pagination (newest first), filters by course, learner, type and time range, the
 * course activity lookup, and the shared `activityInsert` contract.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { activityInsert } from "../src/modules/activities/service";
import { createDb } from "../src/platform/db";
import { type ApiResponse, api, expectProblem, expectStatus } from "./helpers/api";
import { createLearner, createTenant, keyWithout, type TestTenant, unique } from "./helpers/factories";

interface Item {
  id: number;
  type: string;
  learner_id: number | null;
  course_id: number | null;
  placement_id: number | null;
  actor: string;
  data: Record<string, unknown>;
  occurred_at: string;
}

/** Every item of a list, following `meta.next_cursor`. */
async function walk(token: string, path: string, perPage: number) {
  const items: Item[] = [];
  const sep = path.includes("?") ? "&" : "?";
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res: ApiResponse = await api("GET", `${path}${sep}per_page=${perPage}${cursor ? `&cursor=${cursor}` : ""}`, {
      token,
    });
    expectStatus(res, 200);
    expect(res.body.data.length).toBeLessThanOrEqual(perPage);
    items.push(...res.body.data);
    cursor = res.body.meta.next_cursor;
    pages++;
  } while (cursor && pages < 50);
  return { items, pages };
}

describe("GET /v1/admin/activities", () => {
  let t: TestTenant;
  let other: TestTenant;
  let course1: number;
  let course2: number;
  let learner1: number;
  let learner2: number;
  beforeAll(async () => {
    t = await createTenant();
    other = await createTenant();
    course1 = (await api("POST", "/v1/admin/courses", { token: t.key, body: { name: unique("C1") } })).body.id;
    course2 = (await api("POST", "/v1/admin/courses", { token: t.key, body: { name: unique("C2") } })).body.id;
    learner1 = (await createLearner(t)).id;
    learner2 = (await createLearner(t)).id;
    // Rows through the shared insert contract, with occurred_at spread over three days.
    const db = createDb(env.DB);
    const rows = [
      { type: "module.launched", userId: learner1, courseId: course1, placementId: 7 },
      { type: "module.completed", userId: learner1, courseId: course1, placementId: 7 },
      { type: "module.launched", userId: learner2, courseId: course1, placementId: 7 },
      { type: "module.launched", userId: learner2, courseId: course2, placementId: 8 },
      { type: "enrollment.completed", userId: learner1, courseId: course1, actor: "system" as const },
      { type: "certificate.issued", userId: learner1, courseId: course1, data: { certificate_id: 3 } },
      { type: "module.launched", userId: learner1, courseId: course2, placementId: 8 },
    ];
    await db.batch(rows.map((r) => activityInsert(db, t.id, r)) as [never, ...never[]]);
    await env.DB.prepare(
      "UPDATE activities SET occurred_at = CASE WHEN type = 'module.launched' AND course_id = ? THEN '2026-01-03T00:00:00.000Z' WHEN course_id = ? THEN '2026-01-01T00:00:00.000Z' ELSE occurred_at END WHERE tenant_id = ?",
    )
      .bind(course2, course1, t.id)
      .run();
    const foreignDb = createDb(env.DB);
    await foreignDb.batch([activityInsert(foreignDb, other.id, { type: "module.launched", userId: learner1 })]);
  });

  it("pages newest first with a cursor, never repeating or skipping an entry", async () => {
    const all = await api("GET", "/v1/admin/activities?per_page=100", { token: t.key });
    expectStatus(all, 200);
    expect(all.body.meta.next_cursor).toBeNull();
    const ids = all.body.data.map((x: Item) => x.id);
    expect(ids.length).toBe(7);
    expect(ids).toEqual([...ids].sort((a: number, b: number) => b - a));
    const { items, pages } = await walk(t.key, "/v1/admin/activities", 2);
    expect(pages).toBe(4);
    expect(items.map((x) => x.id)).toEqual(ids);
    expect(all.body.data.find((x: Item) => x.type === "certificate.issued")).toMatchObject({
      learner_id: learner1,
      course_id: course1,
      placement_id: null,
      actor: "learner",
      data: { certificate_id: 3 },
    });
    expect(all.body.data.find((x: Item) => x.type === "enrollment.completed").actor).toBe("system");
  });

  it("filters by course, learner, type and time range (combined, with pagination)", async () => {
    const types = async (query: string) =>
      (await walk(t.key, `/v1/admin/activities?${query}`, 2)).items.map((x) => [x.type, x.learner_id, x.course_id]);
    expect((await types(`course_id=${course2}`)).length).toBe(2);
    expect(await types(`learner_id=${learner2}`)).toEqual([
      ["module.launched", learner2, course2],
      ["module.launched", learner2, course1],
    ]);
    expect((await types("type=module.launched")).length).toBe(4);
    expect(await types(`type=module.launched&learner_id=${learner1}&course_id=${course2}`)).toEqual([
      ["module.launched", learner1, course2],
    ]);
    expect((await types("from=2026-01-02T00:00:00Z&to=2026-01-04T00:00:00Z")).length).toBe(2);
    expect((await types("to=2026-01-02T00:00:00Z")).length).toBe(5);
    expect(await types("type=nothing.happened")).toEqual([]);
  });

  it("refuses bad cursors and filters (422 naming them)", async () => {
    const bad = await api("GET", "/v1/admin/activities?cursor=bm9wZQ", { token: t.key });
    expect(expectProblem(bad, 422).errors?.[0].path).toBe("query.cursor");
    const page = await api("GET", "/v1/admin/activities?per_page=101", { token: t.key });
    expect(expectProblem(page, 422).errors?.[0].path).toBe("query.per_page");
    const from = await api("GET", "/v1/admin/activities?from=yesterday", { token: t.key });
    expect(expectProblem(from, 422).errors?.[0].path).toBe("query.from");
  });

  it("shows nothing of another academy; 401 without a credential, 403 without reports:read", async () => {
    const theirs = await api("GET", "/v1/admin/activities?per_page=100", { token: other.key });
    expect(theirs.body.data.map((x: Item) => x.type)).toEqual(["module.launched"]);
    expect(theirs.body.data[0].course_id).toBeNull();
    expectProblem(await api("GET", "/v1/admin/activities"), 401);
    const key = await keyWithout(t, "reports:read");
    expect(expectProblem(await api("GET", "/v1/admin/activities", { token: key }), 403).required_permission).toBe(
      "reports:read",
    );
  });

  it("GET /v1/admin/courses/{id}/activities: the course's activity; 404 for another academy's course", async () => {
    const { items } = await walk(t.key, `/v1/admin/courses/${course1}/activities`, 3);
    expect(items.length).toBe(5);
    expect(items.every((x) => x.course_id === course1)).toBe(true);
    const launched = await api(
      "GET",
      `/v1/admin/courses/${course1}/activities?type=module.launched&learner_id=${learner2}`,
      {
        token: t.key,
      },
    );
    expect(launched.body.data.map((x: Item) => x.learner_id)).toEqual([learner2]);
    expectProblem(await api("GET", `/v1/admin/courses/${course1}/activities`, { token: other.key }), 404);
    expectProblem(await api("GET", `/v1/admin/courses/${course1}/activities`), 401);
    const key = await keyWithout(t, "reports:read");
    expectProblem(await api("GET", `/v1/admin/courses/${course1}/activities`, { token: key }), 403);
  });
});
