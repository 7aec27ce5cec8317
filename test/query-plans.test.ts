/**
 * Every list of the catalog is served by an index led by tenant_id: each query a list runs is replayed under
 * EXPLAIN QUERY PLAN, and a full scan of a tenant table fails the test. The services run against the real
 * local D1 through a recorder that keeps the SQL and parameters of each statement.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import * as activities from "../src/modules/activities/service";
import * as announcements from "../src/modules/announcements/service";
import * as catalog from "../src/modules/catalog/service";
import * as categories from "../src/modules/categories/service";
import * as curriculum from "../src/modules/courses/curriculum.service";
import * as courses from "../src/modules/courses/service";
import * as discussions from "../src/modules/discussions/service";
import * as enrollments from "../src/modules/enrollments/service";
import * as paths from "../src/modules/learning-paths/service";
import * as media from "../src/modules/media/service";
import * as notifications from "../src/modules/notifications/service";
import * as progress from "../src/modules/progress/service";
import * as ratings from "../src/modules/ratings/service";
import type { LearnerPrincipal, TenantContext } from "../src/platform/auth";
import { createDb } from "../src/platform/db";
import { api, expectStatus } from "./helpers/api";
import { createTenant, type TestTenant } from "./helpers/factories";
import { type Recorded, recordingD1 } from "./helpers/recording-d1";

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
  return (
    plan.results
      .map((row) => row.detail)
      // A materialized subquery's rows (`SCAN (subquery-N)`, the catalog's `page_keys` CTE of one page's keys)
      // are what its own plan lines searched: not a table scan.
      .filter(
        (detail) =>
          /^SCAN /.test(detail) &&
          !/VIRTUAL TABLE|json_each|CONSTANT ROW|\(subquery-\d+\)|^SCAN page_keys$/.test(detail),
      )
  );
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

  it("public catalog pages count the catalog once per catalog version, not on every page", async () => {
    // The totals walk every listed row of the tenant (bench: 100k courses); later pages reuse the cached total.
    const version = 1_000_000 + Math.floor(Math.random() * 1_000_000);
    const query = { page: 1, per_page: 15, sort: "name" as const };
    const runs: number[] = [];
    for (const p of [1, 2, 3]) {
      const log: Recorded[] = [];
      const deferred: Promise<unknown>[] = [];
      // The catalog's raw batches go to the binding itself: record it there too.
      const db = recordingD1(log);
      const ctx: TenantContext = {
        tenantId: t.id,
        db: createDb(db),
        env: { ...env, DB: db },
        principal: { kind: "platform" },
        defer: (work) => deferred.push(work),
      };
      const result = await catalog.catalogPage(ctx, { ...query, page: p }, version);
      await Promise.all(deferred);
      expect(result.meta.page).toBe(p);
      runs.push(log.length);
      for (const statement of log) expect(await fullScans(statement), statement.sql).toEqual([]);
    }
    expect(runs).toEqual([3, 1, 1]);
    // Another catalog version (any catalog change) counts again.
    const log: Recorded[] = [];
    const db = recordingD1(log);
    const ctx = { tenantId: t.id, db: createDb(db), env: { ...env, DB: db }, principal: { kind: "platform" as const } };
    await catalog.catalogPage({ ...ctx, defer: () => {} }, query, version + 1);
    expect(log.length).toBe(3);
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

describe("enrollment lists and the activity log use indexes led by tenant_id (EXPLAIN QUERY PLAN)", () => {
  let t: TestTenant;
  let courseId: number;
  let learnerId: number;
  let pathId: number;
  beforeAll(async () => {
    t = await createTenant();
    const course = await api("POST", "/v1/admin/courses", { token: t.key, body: { name: "Enrolled" } });
    courseId = course.body.id;
    const learner = await api("POST", "/v1/admin/learners", {
      token: t.key,
      body: { name: "Lea", email: `lea-${Date.now()}@example.com` },
    });
    learnerId = learner.body.id;
    const path = await api("POST", "/v1/admin/learning-paths", {
      token: t.key,
      body: { name: `Path ${Date.now()}`, steps: [{ course_id: courseId }] },
    });
    pathId = path.body.id;
    await env.DB.prepare("ANALYZE").run();
  });

  it("course enrollments: every filter and sort, and the lookup", async () => {
    const variants = [
      { sort: "-enrolled_at" },
      { sort: "name" },
      { sort: "-progress" },
      { sort: "-enrolled_at", status: "active" as const },
      { sort: "-enrolled_at", status: "revoked" as const },
      { sort: "-enrolled_at", status: "expired" as const },
      { sort: "-enrolled_at", status: "completed" as const },
      { sort: "-enrolled_at", status: "in_progress" as const },
      { sort: "-enrolled_at", status: "not_started" as const },
      { sort: "-enrolled_at", progress_min: 10, progress_max: 90 },
      { sort: "-enrolled_at", q: "lea" },
    ];
    for (const variant of variants) {
      await expectIndexed(t.id, `listCourseEnrollments ${JSON.stringify(variant)}`, (ctx) =>
        enrollments.listCourseEnrollments(ctx, courseId, { ...page, ...variant }),
      );
    }
    await expectIndexed(t.id, "lookupEnrolledLearners", (ctx) =>
      enrollments.lookupEnrolledLearners(ctx, courseId, "le", 20),
    );
  });

  it("a learner's enrollments, path enrollments, auto-enroll", async () => {
    for (const sort of ["-enrolled_at", "-progress"]) {
      await expectIndexed(t.id, `listLearnerEnrollments ${sort}`, (ctx) =>
        enrollments.listLearnerEnrollments(ctx, learnerId, { ...page, sort }),
      );
    }
    for (const sort of ["-enrolled_at", "name"]) {
      await expectIndexed(t.id, `listPathEnrollments ${sort}`, (ctx) =>
        enrollments.listPathEnrollments(ctx, pathId, { ...page, sort }),
      );
    }
    await expectIndexed(t.id, "listAutoEnroll", (ctx) => enrollments.listAutoEnroll(ctx));
  });

  it("enroll, path enroll, auto-enroll and the enrollment actions: every statement indexed", async () => {
    await env.DB.prepare("UPDATE courses SET status = 'published' WHERE id = ?").bind(courseId).run();
    await env.DB.prepare("UPDATE learning_paths SET status = 'published' WHERE id = ?").bind(pathId).run();
    await expectIndexed(t.id, "enrollInCourse", (ctx) =>
      enrollments.enrollInCourse(ctx, courseId, { learner_ids: [learnerId] }),
    );
    await expectIndexed(t.id, "enrollInPath", (ctx) =>
      enrollments.enrollInPath(ctx, pathId, { learner_ids: [learnerId] }),
    );
    for (const action of ["revoke", "grant", "expiry", "reset-progress", "remove"] as const) {
      await expectIndexed(t.id, `changeEnrollments ${action}`, (ctx) =>
        enrollments.changeEnrollments(ctx, courseId, action, {
          learner_ids: [learnerId],
          expires_at: "2099-01-01T00:00:00Z",
        }),
      );
    }
    await expectIndexed(t.id, "setAutoEnroll", (ctx) => enrollments.setAutoEnroll(ctx, [courseId]));
    const db = createDb(env.DB);
    const statements = enrollments.autoEnrollStatements(db, t.id, "nobody@example.com") as unknown as {
      getQuery(): { sql: string; params: unknown[] };
    }[];
    for (const statement of statements) {
      const { sql, params } = statement.getQuery();
      expect(await fullScans({ sql, params }), sql).toEqual([]);
    }
  });

  it("activity log: every filter and the cursor", async () => {
    const variants = [
      {},
      { cursor: activities.encodeCursor(1000) },
      { course_id: courseId },
      { learner_id: learnerId },
      { type: "module.launched" },
      { from: "2026-01-01T00:00:00Z", to: "2027-01-01T00:00:00Z" },
      { course_id: courseId, learner_id: learnerId, type: "module.completed" },
    ];
    for (const variant of variants) {
      await expectIndexed(t.id, `listActivities ${JSON.stringify(variant)}`, (ctx) =>
        activities.listActivities(ctx, { per_page: 15, ...variant }),
      );
    }
  });
});

describe("the learner runtime uses indexes and a fixed number of statements", () => {
  let t: TestTenant;
  let learnerId: number;
  const small = { id: 0, placements: [] as number[] };
  const large = { id: 0, placements: [] as number[] };

  async function course(target: { id: number; placements: number[] }, modules: number) {
    const created = await api("POST", "/v1/admin/courses", { token: t.key, body: { name: `Runtime ${modules}` } });
    target.id = created.body.id;
    const section = await api("POST", `/v1/admin/courses/${target.id}/sections`, { token: t.key, body: { name: "S" } });
    for (let i = 0; i < modules; i++) {
      const module = await api("POST", "/v1/admin/modules", { token: t.key, body: { type: "text", name: `M${i}` } });
      const placement = await api("POST", `/v1/admin/courses/${target.id}/sections/${section.body.id}/placements`, {
        token: t.key,
        body: { module_id: module.body.id },
      });
      target.placements.push(placement.body.id);
    }
    expectStatus(await api("POST", `/v1/admin/courses/${target.id}/publish`, { token: t.key }), 200);
    const enrolled = await api("POST", `/v1/admin/courses/${target.id}/enrollments`, {
      token: t.key,
      body: { learner_ids: [learnerId] },
    });
    expect(enrolled.status, enrolled.text).toBe(201);
  }

  const asLearner = (ctx: TenantContext): TenantContext<LearnerPrincipal> => ({
    ...ctx,
    principal: { kind: "learner", tenantId: t.id, userId: learnerId, sessionId: 0, writesPerMinute: 600 },
  });

  beforeAll(async () => {
    t = await createTenant();
    const learner = await api("POST", "/v1/admin/learners", {
      token: t.key,
      body: { name: "Plan", email: `plan-${Date.now()}@example.com`, password: "correct-horse-battery-staple" },
    });
    learnerId = learner.body.id;
    await course(small, 2);
    await course(large, 9);
    // No ANALYZE here: statistics of this handful of rows (one learner holding every enrollment) would make a
    // scan look as cheap as the index; the planner's defaults (and the earlier blocks' statistics) model a large academy.
  });

  it("my courses: every filter and sort", async () => {
    for (const status of [undefined, "not_started", "in_progress", "completed"] as const) {
      for (const sort of ["-enrolled_at", "-last_accessed_at"]) {
        await expectIndexed(t.id, `listMyCourses ${status} ${sort}`, (ctx) =>
          progress.listMyCourses(asLearner(ctx), { ...page, sort, status }),
        );
      }
    }
  });

  it("my courses counts the learner's enrollments through their index, not the tenant's", async () => {
    // A covering index led by tenant_id alone (tenant, course, user) would walk every enrollment of the tenant.
    const statements = await statementsOf(t.id, (ctx) =>
      progress.listMyCourses(asLearner(ctx), { ...page, sort: "-enrolled_at" }),
    );
    for (const statement of statements) {
      const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${statement.sql}`)
        .bind(...statement.params)
        .all<{ detail: string }>();
      const enrollmentsAccess = plan.results.map((r) => r.detail).filter((d) => /\benrollments\b/.test(d));
      expect(enrollmentsAccess.join(" | "), statement.sql).toContain("enrollments_tenant_user_enrolled_idx");
    }
  });

  it("outline, launch and complete: indexed, and as many statements for 9 modules as for 2", async () => {
    const counts: Record<string, number[]> = { outline: [], launch: [], complete: [] };
    for (const target of [small, large]) {
      const runs = {
        outline: (ctx: TenantContext) => progress.learnerOutline(asLearner(ctx), target.id),
        launch: (ctx: TenantContext) => progress.launchModule(asLearner(ctx), target.id, target.placements[0]),
        complete: (ctx: TenantContext) => progress.completeModule(asLearner(ctx), target.id, target.placements[0]),
      };
      for (const [label, work] of Object.entries(runs)) {
        await expectIndexed(t.id, `${label} (${target.placements.length} modules)`, work);
        counts[label].push((await statementsOf(t.id, work)).length);
      }
    }
    expect(counts.outline[0]).toBe(counts.outline[1]);
    expect(counts.launch[0]).toBe(counts.launch[1]);
    expect(counts.complete[0]).toBe(counts.complete[1]);
  });
});

describe("the media library uses indexes led by tenant_id (EXPLAIN QUERY PLAN)", () => {
  let t: TestTenant;
  beforeAll(async () => {
    t = await createTenant();
    await env.DB.prepare("ANALYZE").run();
  });

  it("list: every filter and sort; usage; usages of a file (modules and certificate templates)", async () => {
    const variants = [
      { sort: "-created_at" },
      { sort: "name" },
      { sort: "-size" },
      { sort: "-created_at", kind: "video" as const },
      { sort: "-created_at", visibility: "public" as const },
      { sort: "-created_at", content_type: "image/png" },
      { sort: "-created_at", q: "intro" },
    ];
    for (const variant of variants) {
      await expectIndexed(t.id, `listMedia ${JSON.stringify(variant)}`, (ctx) =>
        media.listMedia(ctx as never, { ...page, ...variant }),
      );
    }
    await expectIndexed(t.id, "media usage", (ctx) => media.usage(ctx as never));
    await expectIndexed(t.id, "media usagesOf", (ctx) => media.usagesOf(ctx, 1));
  });
});

describe("announcements, the notifications inbox and the email outbox use indexes led by tenant_id", () => {
  let t: TestTenant;
  beforeAll(async () => {
    t = await createTenant();
    await env.DB.prepare("ANALYZE").run();
    // The handful of inbox and outbox rows written by earlier blocks (one user holding them all) would make a walk
    // of the whole table look cheaper than the academy's index range. Statistics of a large deployment instead:
    // 1M notifications and 200k emails over 1,000 academies, ~100 notifications per learner.
    const stats = [
      ["notifications", "notifications_tenant_dedupe_user_uq", "1000000 1000 100 1"],
      ["notifications", "notifications_tenant_user_id_idx", "1000000 1000 100 1"],
      ["notifications", "notifications_tenant_user_unread_idx", "1000000 1000 100 60 1"],
      ["notifications", "notifications_user_fk_idx", "1000000 100"],
      ["emails", "emails_tenant_dedupe_uq", "200000 200 1"],
      ["emails", "emails_tenant_id_idx", "200000 200 1"],
      ["emails", "emails_tenant_status_id_idx", "200000 200 70 1"],
      ["emails", "emails_status_due_idx", "200000 50000 2"],
      ["emails", "emails_user_fk_idx", "200000 20"],
    ];
    await env.DB.batch([
      env.DB.prepare("DELETE FROM sqlite_stat1 WHERE tbl IN ('notifications', 'emails')"),
      ...stats.map(([tbl, idx, stat]) =>
        env.DB.prepare("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)").bind(tbl, idx, stat),
      ),
    ]);
    await env.DB.prepare("ANALYZE sqlite_schema").run(); // reloads the statistics
  });
  const learner = (ctx: TenantContext) =>
    ({
      ...ctx,
      principal: { kind: "learner", tenantId: t.id, userId: 1, sessionId: 1, writesPerMinute: 600 },
    }) as never;
  const admin = (ctx: TenantContext) => ctx as never;

  it("inbox: every filter and the cursor; unread count; mark all read", async () => {
    const variants = [
      {},
      { unread: true },
      { category: "grading" as const },
      { cursor: "100" },
      { unread: true, cursor: "9" },
    ];
    for (const variant of variants) {
      await expectIndexed(t.id, `listNotifications ${JSON.stringify(variant)}`, (ctx) =>
        notifications.listNotifications(learner(ctx), { per_page: 15, ...variant }),
      );
    }
    await expectIndexed(t.id, "unreadCount", (ctx) => notifications.unreadCount(learner(ctx)));
    await expectIndexed(t.id, "markAllRead", (ctx) => notifications.markAllRead(learner(ctx)));
  });

  it("announcements: admin list filters and sorts, the learner's list; email outbox list", async () => {
    const variants = [
      { sort: "-created_at" },
      { sort: "heading" },
      { sort: "-published_at", status: "published" as const },
      { sort: "-created_at", active: true },
      { sort: "-created_at", q: "maintenance" },
    ];
    for (const variant of variants) {
      await expectIndexed(t.id, `listAnnouncements ${JSON.stringify(variant)}`, (ctx) =>
        announcements.listAnnouncements(admin(ctx), { ...page, ...variant }),
      );
    }
    await expectIndexed(t.id, "listLearnerAnnouncements", (ctx) =>
      announcements.listLearnerAnnouncements(learner(ctx), page),
    );
    for (const variant of [{}, { status: "failed" as const }, { cursor: "50" }]) {
      await expectIndexed(t.id, `listEmails ${JSON.stringify(variant)}`, (ctx) =>
        notifications.listEmails(admin(ctx), { per_page: 15, ...variant }),
      );
    }
  });
});

describe("discussions use indexes led by tenant_id (EXPLAIN QUERY PLAN)", () => {
  let t: TestTenant;
  let thread: discussions.ThreadRow;
  let member: discussions.Member;
  beforeAll(async () => {
    t = await createTenant();
    const course = await api("POST", "/v1/admin/courses", { token: t.key, body: { name: "Discussed" } });
    const created = await api("POST", "/v1/admin/discussions", {
      token: t.key,
      body: { course_id: course.body.id, title: "Indexed" },
    });
    expectStatus(created, 201);
    const owner = await env.DB.prepare("SELECT id FROM users WHERE tenant_id = ? LIMIT 1")
      .bind(t.id)
      .first<{ id: number }>();
    member = {
      tenantId: t.id,
      threadId: created.body.id,
      userId: owner?.id ?? 0,
      kind: "staff",
      sessionId: 0,
      moderator: true,
    };
    await env.DB.prepare("ANALYZE").run();
    thread = { ...created.body, id: created.body.id, lastSeq: 0 } as never;
  });

  it("thread lists, post lists and replays: every filter and the cursors", async () => {
    const threadVariants = [
      {},
      { course_id: 1 },
      { placement_id: 1 },
      { kind: "course" as const },
      { cursor: "WzAsIjIwMjYiLDld" },
    ];
    for (const v of threadVariants) {
      await expectIndexed(t.id, `listThreads ${JSON.stringify(v)}`, (ctx) =>
        discussions.listThreads(ctx, { per_page: 20, ...v }),
      );
    }
    const postVariants = [{}, { flat: true }, { pinned: true }, { cursor: "3" }];
    for (const v of postVariants) {
      await expectIndexed(t.id, `listPosts ${JSON.stringify(v)}`, (ctx) =>
        discussions.listPosts(ctx, thread, { per_page: 20, ...v }, { userId: member.userId, audience: "learner" }),
      );
    }
    await expectIndexed(t.id, "changesSince", (ctx) => discussions.changesSince(ctx, thread.id, 0, 500));
  });

  it("posting, replying and reacting: every statement indexed", async () => {
    let postId = 0;
    await expectIndexed(t.id, "createPost", async (ctx) => {
      postId = (await discussions.createPost(ctx, member, { body: "Indexed post" })).row.post.id;
    });
    await expectIndexed(t.id, "reply", (ctx) => discussions.createPost(ctx, member, { body: "Re", parent_id: postId }));
    await expectIndexed(t.id, "react", (ctx) => discussions.react(ctx, member, postId, "tada", true));
    await expectIndexed(t.id, "listPosts replies", (ctx) =>
      discussions.listPosts(
        ctx,
        thread,
        { per_page: 20, parent_id: postId },
        { userId: member.userId, audience: "learner" },
      ),
    );
  });
});
