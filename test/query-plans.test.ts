/**
 * Every list of the catalog is served by an index led by tenant_id: each query a list runs is replayed under
 * EXPLAIN QUERY PLAN, and a full scan of a tenant table fails the test. The services run against the real
 * local D1 through a recorder that keeps the SQL and parameters of each statement.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import * as categories from "../src/modules/categories/service";
import * as curriculum from "../src/modules/courses/curriculum.service";
import * as courses from "../src/modules/courses/service";
import * as paths from "../src/modules/learning-paths/service";
import * as ratings from "../src/modules/ratings/service";
import type { TenantContext } from "../src/platform/auth";
import { createDb } from "../src/platform/db";
import { api, expectStatus } from "./helpers/api";
import { createTenant, type TestTenant } from "./helpers/factories";

interface Recorded {
  sql: string;
  params: unknown[];
}

/** A D1 binding that records each prepared statement and the parameters bound to it. */
function recordingD1(log: Recorded[]): D1Database {
  return new Proxy(env.DB, {
    get(target, prop) {
      if (prop === "prepare") {
        return (query: string) => {
          const entry: Recorded = { sql: query, params: [] };
          log.push(entry);
          const statement = target.prepare(query);
          const bind = statement.bind.bind(statement);
          statement.bind = (...params: unknown[]) => {
            entry.params = params;
            return bind(...params);
          };
          return statement;
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Runs `work` with a tenant context over the recorder; returns the statements it ran. */
async function statementsOf(tenantId: number, work: (ctx: TenantContext) => Promise<unknown>) {
  const log: Recorded[] = [];
  const ctx: TenantContext = {
    tenantId,
    db: createDb(recordingD1(log)),
    env,
    principal: { kind: "platform" },
    defer: () => {},
  };
  await work(ctx);
  return log;
}

/** The plan lines of one statement that scan a whole table (not an index search, not a JSON table). */
async function fullScans(statement: Recorded) {
  const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${statement.sql}`)
    .bind(...statement.params)
    .all<{ detail: string }>();
  return plan.results
    .map((row) => row.detail)
    .filter((detail) => /^SCAN /.test(detail) && !/VIRTUAL TABLE|json_each|CONSTANT ROW/.test(detail));
}

async function expectIndexed(tenantId: number, label: string, work: (ctx: TenantContext) => Promise<unknown>) {
  const statements = await statementsOf(tenantId, work);
  expect(statements.length, `${label} ran no statement`).toBeGreaterThan(0);
  for (const statement of statements) {
    const scans = await fullScans(statement);
    expect(scans, `${label}: full scan in\n${statement.sql}`).toEqual([]);
  }
}

const page = { page: 1, per_page: 15 };

describe("catalog lists use indexes led by tenant_id (EXPLAIN QUERY PLAN)", () => {
  let t: TestTenant;
  let courseId: number;
  beforeAll(async () => {
    t = await createTenant();
    const course = await api("POST", "/v1/admin/courses", { token: t.key, body: { name: "Indexed" } });
    expectStatus(course, 201);
    courseId = course.body.id;
    // Planner statistics make SQLite choose plans as it would on a large table.
    await env.DB.prepare("ANALYZE").run();
  });

  it("the check itself catches a full scan", async () => {
    const scans = await fullScans({ sql: "SELECT id FROM courses WHERE subtitle = ?", params: ["x"] });
    expect(scans).toEqual([expect.stringMatching(/^SCAN courses/)]);
  });

  it("courses list: every filter and sort", async () => {
    const variants = [
      { sort: "-created_at" },
      { sort: "name" },
      { sort: "-updated_at" },
      { sort: "-published_at", status: "published" as const },
      { sort: "-created_at", status: "draft" as const },
      { sort: "-created_at", category_id: 1 },
      { sort: "-created_at", instructor_id: 1 },
      { sort: "-created_at", deleted: "only" as const },
    ];
    for (const variant of variants) {
      await expectIndexed(t.id, `listCourses ${JSON.stringify(variant)}`, (ctx) =>
        courses.listCourses(ctx, { ...page, ...variant }),
      );
    }
    await expectIndexed(t.id, "lookupCourses", (ctx) => courses.lookupCourses(ctx, undefined, 20));
  });

  it("course outline", async () => {
    await expectIndexed(t.id, "courseOutline", (ctx) => curriculum.courseOutline(ctx, courseId));
  });

  it("categories list and lookup: by type, every sort", async () => {
    for (const sort of ["position", "name", "-created_at", "-updated_at"]) {
      for (const type of [undefined, "course" as const]) {
        await expectIndexed(t.id, `listCategories ${sort} ${type}`, (ctx) =>
          categories.listCategories(ctx, { ...page, sort, type }),
        );
      }
    }
    await expectIndexed(t.id, "lookupCategories", (ctx) =>
      categories.lookupCategories(ctx, { limit: 20, type: "course" }),
    );
  });

  it("learning paths list and lookup: every filter and sort", async () => {
    const variants = [
      { sort: "-created_at" },
      { sort: "name" },
      { sort: "-updated_at" },
      { sort: "-created_at", status: "published" as const },
      { sort: "-created_at", category_id: 1 },
      { sort: "-created_at", course_id: courseId },
    ];
    for (const variant of variants) {
      await expectIndexed(t.id, `listPaths ${JSON.stringify(variant)}`, (ctx) =>
        paths.listPaths(ctx, { ...page, ...variant }),
      );
    }
    await expectIndexed(t.id, "lookupPaths", (ctx) => paths.lookupPaths(ctx, undefined, 20));
  });

  it("a course's ratings, for staff and learners", async () => {
    for (const variant of [{ sort: "-created_at" }, { sort: "-rating" }, { sort: "-created_at", rating: 5 }]) {
      await expectIndexed(t.id, `listRatingsForAdmin ${JSON.stringify(variant)}`, (ctx) =>
        ratings.listRatingsForAdmin(ctx, courseId, { ...page, ...variant }),
      );
    }
  });
});
