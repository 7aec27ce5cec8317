/**
 * Announcements (CRUD, sending rules, expiry, publish), the learner's notifications inbox filled by the EVENTS
 * consumer (announcements, grading, certificates, enrollments, discussion mentions), idempotency per event and
 * user, email preferences, and the email outbox sent by the sweep through the HTTP sender to a local receiver,
 * with retries, final failure and the admin list.
 *
 * The EVENTS consumer is driven by hand (`runQueue`), with recording producers, so each test decides when an
 * event is consumed and how often (the real local queue may consume the same events too: that is the point of
 * idempotency).
 */
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import worker from "../src/index";
import { EMAIL_MAX_ATTEMPTS, type EmailEnv, sendDueEmails } from "../src/modules/notifications/email";
import { createDb } from "../src/platform/db";
import type { Env } from "../src/platform/env";
import { api, expectProblem, expectStatus } from "./helpers/api";
import {
  createLearner,
  createTenant,
  keyWithout,
  learnerSession,
  staffSession,
  type TestTenant,
  unique,
} from "./helpers/factories";
import { insertEvent, installReceivers, receiver, recordingEnv, runQueue, type Sent } from "./helpers/webhooks";

installReceivers();

const EVENTS = "lectern-events";

async function publishedCourse(t: TestTenant, name = unique("Course")) {
  const course = await api("POST", "/v1/admin/courses", { token: t.key, body: { name } });
  expectStatus(course, 201);
  const base = `/v1/admin/courses/${course.body.id}`;
  const section = await api("POST", `${base}/sections`, { token: t.key, body: { name: "Week 1" } });
  const mod = await api("POST", "/v1/admin/modules", { token: t.key, body: { type: "text", name: unique("Mod") } });
  expectStatus(
    await api("POST", `${base}/sections/${section.body.id}/placements`, {
      token: t.key,
      body: { module_id: mod.body.id },
    }),
    201,
  );
  expectStatus(await api("POST", `${base}/publish`, { token: t.key }), 200);
  return course.body.id as number;
}

async function enroll(t: TestTenant, courseId: number, learnerIds: number[]) {
  expectStatus(
    await api("POST", `/v1/admin/courses/${courseId}/enrollments`, { token: t.key, body: { learner_ids: learnerIds } }),
    201,
  );
}

/** The newest outbox event of a type, as an EVENTS message. */
async function eventMessage(tenantId: number, type: string) {
  const row = await env.DB.prepare("SELECT id FROM outbox WHERE tenant_id = ? AND type = ? ORDER BY id DESC LIMIT 1")
    .bind(tenantId, type)
    .first<{ id: number }>();
  expect(row, `event ${type}`).toBeTruthy();
  return { id: (row as { id: number }).id, tenant_id: tenantId, type };
}

/** Runs the EVENTS consumer on these messages (with recording producers: nothing else is sent). */
async function consume(messages: { id: number; tenant_id: number; type: string }[]) {
  const sent: Sent[] = [];
  const run = await runQueue(
    EVENTS,
    messages.map((body) => ({ body })),
    recordingEnv(sent),
  );
  expect(run.acked.every(Boolean)).toBe(true);
}

const inbox = (token: string, query = "") => api("GET", `/v1/learner/notifications${query}`, { token });
const unread = async (token: string) => {
  const res = await api("GET", "/v1/learner/notifications/unread-count", { token });
  expectStatus(res, 200);
  return res.body.unread as number;
};

async function notificationRows(tenantId: number, userId: number) {
  const rows = await env.DB.prepare(
    "SELECT id, type, event_id, dedupe_key FROM notifications WHERE tenant_id = ? AND user_id = ? ORDER BY id",
  )
    .bind(tenantId, userId)
    .all<{ id: number; type: string; event_id: number; dedupe_key: string }>();
  return rows.results;
}

async function emailRows(tenantId: number, userId?: number) {
  const rows = await env.DB.prepare(
    `SELECT * FROM emails WHERE tenant_id = ?${userId ? " AND user_id = ?" : ""} ORDER BY id`,
  )
    .bind(...(userId ? [tenantId, userId] : [tenantId]))
    .all<Record<string, any>>();
  return rows.results;
}

describe("admin announcements API", () => {
  let t: TestTenant;
  let other: TestTenant;
  let courseId: number;
  beforeAll(async () => {
    t = await createTenant();
    other = await createTenant();
    courseId = await publishedCourse(t);
  });

  it("creates a draft with Location and the seed's fields, reads, lists, updates and deletes it", async () => {
    const created = await api("POST", "/v1/admin/announcements", {
      token: t.key,
      body: {
        heading: "Maintenance tonight",
        content: "<p>Down 22:00-23:00</p>",
        sending_rules: "specific_course_users",
        course_ids: [courseId, courseId],
        expires_at: "2099-12-31",
      },
    });
    expectStatus(created, 201);
    expect(created.headers.get("location")).toBe(`/v1/admin/announcements/${created.body.id}`);
    expect(created.body).toMatchObject({
      heading: "Maintenance tonight",
      sending_rules: "specific_course_users",
      course_ids: [courseId],
      status: "draft",
      expires_at: "2099-12-31T23:59:59.999Z",
      expired: false,
      published_at: null,
    });
    const id = created.body.id;
    const got = await api("GET", `/v1/admin/announcements/${id}`, { token: t.key });
    expectStatus(got, 200);
    expect(got.body.heading).toBe("Maintenance tonight");

    const list = await api("GET", "/v1/admin/announcements?q=maintenance&status=draft", { token: t.key });
    expectStatus(list, 200);
    expect(list.body.data.map((a: { id: number }) => a.id)).toEqual([id]);
    expect(list.body.meta.total).toBe(1);

    const patched = await api("PATCH", `/v1/admin/announcements/${id}`, {
      token: t.key,
      body: { heading: "Maintenance moved", expires_at: "2099-06-01 10:00:00" },
    });
    expectStatus(patched, 200);
    expect(patched.body).toMatchObject({ heading: "Maintenance moved", expires_at: "2099-06-01T10:00:00.000Z" });

    const created2 = await api("POST", "/v1/admin/announcements", {
      token: t.key,
      body: { heading: "Two", content: "x", sending_rules: "all" },
    });
    const bulk = await api("POST", "/v1/admin/announcements/bulk-delete", {
      token: t.key,
      body: { ids: [created2.body.id, 999_999] },
    });
    expectStatus(bulk, 200);
    expect(bulk.body).toEqual({ deleted: [created2.body.id], not_found: [999_999] });

    expectStatus(await api("DELETE", `/v1/admin/announcements/${id}`, { token: t.key }), 204);
    expectProblem(await api("GET", `/v1/admin/announcements/${id}`, { token: t.key }), 404);
    const deleted = await env.DB.prepare("SELECT count(*) AS n FROM outbox WHERE tenant_id = ? AND type = ?")
      .bind(t.id, "announcement.deleted")
      .first<{ n: number }>();
    expect(deleted?.n).toBe(2);
  });

  it("refuses bad input with 422 problems naming the fields", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ heading: "x", content: "y", sending_rules: "specific_course_users" }, "course_ids"],
      [{ heading: "x", content: "y", sending_rules: "specific_users", user_ids: [] }, "user_ids"],
      [{ heading: "x", content: "y", sending_rules: "specific_portals" }, "portal_ids"],
      [{ heading: "x", content: "y", sending_rules: "everyone" }, "sending_rules"],
      [{ heading: "", content: "y", sending_rules: "all" }, "heading"],
      [{ heading: "x", content: "y", sending_rules: "all", expires_at: "2001-01-01" }, "expires_at"],
      [{ heading: "x", content: "y", sending_rules: "all", expires_at: "next week" }, "expires_at"],
      [{ heading: "x", content: "y", sending_rules: "all", author_id: 1 }, "author_id"],
      [{ heading: "x", content: "y", sending_rules: "specific_course_users", course_ids: [999_999] }, "course_ids.0"],
    ];
    for (const [body, path] of cases) {
      const res = await api("POST", "/v1/admin/announcements", { token: t.key, body });
      const problem = expectProblem(res, 422);
      expect(
        problem.errors?.map((e) => e.path),
        JSON.stringify(body),
      ).toContain(path);
    }
    // Another academy's learner is not a target here.
    const foreign = await createLearner(other);
    const res = await api("POST", "/v1/admin/announcements", {
      token: t.key,
      body: { heading: "x", content: "y", sending_rules: "specific_users", user_ids: [foreign.id] },
    });
    expect(expectProblem(res, 422).errors?.[0].path).toBe("user_ids.0");
  });

  it("answers 401 without a credential, 403 without the permission or from the learner surface", async () => {
    expectProblem(await api("GET", "/v1/admin/announcements"), 401);
    const learner = await learnerSession(t);
    expectProblem(await api("GET", "/v1/admin/announcements", { token: learner.token }), 403);
    const noWrite = await keyWithout(t, "courses:write");
    const body = { heading: "x", content: "y", sending_rules: "all" };
    const res = await api("POST", "/v1/admin/announcements", { token: noWrite, body });
    expect(expectProblem(res, 403).required_permission).toBe("courses:write");
    expectStatus(await api("GET", "/v1/admin/announcements", { token: noWrite }), 200);
    expectProblem(await api("GET", "/v1/learner/announcements", { token: t.key }), 403);
  });

  it("answers 404 for another academy's announcement on every path", async () => {
    const created = await api("POST", "/v1/admin/announcements", {
      token: other.key,
      body: { heading: "Theirs", content: "y", sending_rules: "all" },
    });
    const id = created.body.id;
    expectProblem(await api("GET", `/v1/admin/announcements/${id}`, { token: t.key }), 404);
    expectProblem(await api("PATCH", `/v1/admin/announcements/${id}`, { token: t.key, body: { heading: "z" } }), 404);
    expectProblem(await api("POST", `/v1/admin/announcements/${id}/publish`, { token: t.key }), 404);
    expectProblem(await api("DELETE", `/v1/admin/announcements/${id}`, { token: t.key }), 404);
    const bulk = await api("POST", "/v1/admin/announcements/bulk-delete", { token: t.key, body: { ids: [id] } });
    expect(bulk.body).toEqual({ deleted: [], not_found: [id] });
    const still = await api("GET", `/v1/admin/announcements/${id}`, { token: other.key });
    expect(still.body.status).toBe("draft");
  });

  it("publishes once (409 again), emitting announcement.published; an expired draft cannot be published", async () => {
    const created = await api("POST", "/v1/admin/announcements", {
      token: t.key,
      body: { heading: "Once", content: "y", sending_rules: "all" },
    });
    const published = await api("POST", `/v1/admin/announcements/${created.body.id}/publish`, { token: t.key });
    expectStatus(published, 200);
    expect(published.body.status).toBe("published");
    expect(published.body.published_at).toBeTruthy();
    const event = await api("GET", "/v1/admin/announcements?status=published&q=Once", { token: t.key });
    expect(event.body.data).toHaveLength(1);
    const again = await api("POST", `/v1/admin/announcements/${created.body.id}/publish`, { token: t.key });
    expectProblem(again, 409);
    const count = await env.DB.prepare(
      "SELECT count(*) AS n FROM outbox WHERE tenant_id = ? AND type = 'announcement.published' AND json_extract(data, '$.id') = ?",
    )
      .bind(t.id, created.body.id)
      .first<{ n: number }>();
    expect(count?.n).toBe(1);

    const draft = await api("POST", "/v1/admin/announcements", {
      token: t.key,
      body: { heading: "Late", content: "y", sending_rules: "all", expires_at: "2099-01-01T00:00:00Z" },
    });
    await env.DB.prepare("UPDATE announcements SET expires_at = '2001-01-01T00:00:00.000Z' WHERE id = ?")
      .bind(draft.body.id)
      .run();
    expectProblem(await api("POST", `/v1/admin/announcements/${draft.body.id}/publish`, { token: t.key }), 409);
  });
});

describe("announcement targeting and the learner's view", () => {
  let t: TestTenant;
  let course1: number;
  let course2: number;
  let a: { id: number; token: string };
  let b: { id: number; token: string };
  let c: { id: number; token: string };
  beforeAll(async () => {
    t = await createTenant();
    course1 = await publishedCourse(t);
    course2 = await publishedCourse(t);
    a = await learnerSession(t);
    b = await learnerSession(t);
    c = await learnerSession(t);
    await enroll(t, course1, [a.id]);
    await enroll(t, course2, [b.id]);
  });

  it("an announcement to specific_course_users reaches only that course's learners", async () => {
    const created = await api("POST", "/v1/admin/announcements", {
      token: t.key,
      body: {
        heading: "Course 1 only",
        content: "<p>Hello <b>course 1</b></p>",
        sending_rules: "specific_course_users",
        course_ids: [course1],
        publish: true,
      },
    });
    expectStatus(created, 201);
    expect(created.body.status).toBe("published");
    await consume([await eventMessage(t.id, "announcement.published")]);

    const forA = await inbox(a.token, "?category=announcements");
    expectStatus(forA, 200);
    expect(forA.body.data).toHaveLength(1);
    expect(forA.body.data[0]).toMatchObject({
      type: "announcement.published",
      category: "announcements",
      title: "Course 1 only",
      body: "<p>Hello <b>course 1</b></p>",
      data: { announcement_id: created.body.id },
      read: false,
    });
    for (const learner of [b, c]) {
      const res = await inbox(learner.token, "?category=announcements");
      expect(res.body.data).toEqual([]);
    }

    const listA = await api("GET", "/v1/learner/announcements", { token: a.token });
    expectStatus(listA, 200);
    expect(listA.body.data.map((x: { id: number }) => x.id)).toEqual([created.body.id]);
    expect((await api("GET", "/v1/learner/announcements", { token: b.token })).body.data).toEqual([]);
    expectStatus(await api("GET", `/v1/learner/announcements/${created.body.id}`, { token: a.token }), 200);
    expectProblem(await api("GET", `/v1/learner/announcements/${created.body.id}`, { token: c.token }), 404);
  });

  it("all reaches every learner; specific_users only those; expired ones leave the learner list; classes and portals reach nobody", async () => {
    const all = await api("POST", "/v1/admin/announcements", {
      token: t.key,
      body: { heading: "Everyone", content: "hi", sending_rules: "all", publish: true },
    });
    await consume([await eventMessage(t.id, "announcement.published")]);
    const users = await api("POST", "/v1/admin/announcements", {
      token: t.key,
      body: { heading: "Just B", content: "hi", sending_rules: "specific_users", user_ids: [b.id], publish: true },
    });
    await consume([await eventMessage(t.id, "announcement.published")]);
    const portals = await api("POST", "/v1/admin/announcements", {
      token: t.key,
      body: { heading: "Portal 5", content: "hi", sending_rules: "specific_portals", portal_ids: [5], publish: true },
    });
    expectStatus(portals, 201);
    expect(portals.body.portal_ids).toEqual([5]);
    await consume([await eventMessage(t.id, "announcement.published")]);

    const titles = async (token: string) =>
      (await inbox(token, "?category=announcements")).body.data.map((n: { title: string }) => n.title);
    expect(await titles(a.token)).toEqual(["Everyone", "Course 1 only"]);
    expect(await titles(b.token)).toEqual(["Just B", "Everyone"]);
    expect(await titles(c.token)).toEqual(["Everyone"]);

    // Expired: gone from the learner list (the inbox keeps its notification).
    await env.DB.prepare("UPDATE announcements SET expires_at = '2001-01-01T00:00:00.000Z' WHERE id = ?")
      .bind(all.body.id)
      .run();
    const listB = await api("GET", "/v1/learner/announcements", { token: b.token });
    expect(listB.body.data.map((x: { id: number }) => x.id)).toEqual([users.body.id]);
    const activeOnly = await api("GET", "/v1/admin/announcements?active=true&per_page=100", { token: t.key });
    expect(activeOnly.body.data.map((x: { id: number }) => x.id)).not.toContain(all.body.id);
    expect(await titles(c.token)).toEqual(["Everyone"]);
  });
});

describe("the notifications inbox", () => {
  let t: TestTenant;
  let other: TestTenant;
  let lea: { id: number; token: string };
  let bob: { id: number; token: string };
  let courseId: number;
  beforeAll(async () => {
    t = await createTenant();
    other = await createTenant();
    lea = await learnerSession(t);
    bob = await learnerSession(t);
    courseId = await publishedCourse(t, "Statistics 101");
  });

  it("a module.graded or certificate.issued event delivered twice makes one notification", async () => {
    const graded = await insertEvent(t.id, "module.graded", {
      enrollment_id: 1,
      course_id: courseId,
      placement_id: 2,
      user_id: lea.id,
      status: "passed",
      score: 90,
    });
    const cert = await insertEvent(t.id, "certificate.issued", {
      id: 7,
      code: "ABC-123",
      learner_id: lea.id,
      course_id: courseId,
      path_id: null,
      template_id: null,
      title: "Statistics certificate",
      issued_at: new Date().toISOString(),
      expires_at: null,
      source: "course",
    });
    await consume([graded, cert, graded]);
    await consume([cert, graded]);
    const rows = await notificationRows(t.id, lea.id);
    expect(rows.map((r) => r.type)).toEqual(["module.graded", "certificate.issued"]);
    const res = await inbox(lea.token);
    expect(res.body.data.map((n: { title: string }) => n.title)).toEqual([
      "Certificate issued: Statistics certificate",
      "Your result in Statistics 101",
    ]);
    expect(res.body.data[1]).toMatchObject({
      category: "grading",
      data: { course_id: courseId, placement_id: 2, status: "passed", score: 90 },
    });
    // A hand-in awaiting a grade notifies nobody.
    const submitted = await insertEvent(t.id, "module.graded", {
      enrollment_id: 1,
      course_id: courseId,
      placement_id: 3,
      user_id: lea.id,
      status: "submitted",
      score: 0,
    });
    await consume([submitted]);
    expect(await notificationRows(t.id, lea.id)).toHaveLength(2);
    // An event naming another academy's learner writes nothing for them.
    const foreign = await learnerSession(other);
    await consume([await insertEvent(t.id, "enrollment.created", { id: 1, course_id: courseId, user_id: foreign.id })]);
    expect(await notificationRows(t.id, foreign.id)).toEqual([]);
    expect(await notificationRows(other.id, foreign.id)).toEqual([]);
  });

  it("enrolling through the API notifies the learner once the event is consumed", async () => {
    await enroll(t, courseId, [bob.id]);
    await consume([await eventMessage(t.id, "enrollment.created")]);
    const res = await inbox(bob.token, "?category=enrollments");
    expect(res.body.data.map((n: { title: string }) => n.title)).toEqual(["Enrolled in Statistics 101"]);
  });

  it("discussion_post.created notifies mentioned users and the instructors, never the author, once each", async () => {
    const instructor = await staffSession(t, "instructor");
    const mentioned = await learnerSession(t);
    const post = await insertEvent(t.id, "discussion_post.created", {
      id: 11,
      thread_id: 5,
      course_id: courseId,
      placement_id: null,
      module_id: null,
      author_id: bob.id,
      author_kind: "learner",
      parent_id: null,
      mentioned_user_ids: [mentioned.id, bob.id, instructor.id],
      instructor_ids: [instructor.id],
    });
    await consume([post, post]);
    expect(
      await notificationRows(t.id, bob.id).then((r) => r.filter((n) => n.type === "discussion_post.created")),
    ).toEqual([]);
    const forMentioned = await inbox(mentioned.token, "?category=discussions");
    expect(forMentioned.body.data).toHaveLength(1);
    expect(forMentioned.body.data[0].data).toMatchObject({ thread_id: 5, post_id: 11, reason: "mention" });
    // The instructor was mentioned too: one notification (the mention), not two.
    expect(await notificationRows(t.id, instructor.id)).toHaveLength(1);
  });

  it("counts unread, marks one read (idempotently) and all read; filters unread; pages with a cursor", async () => {
    const learner = await learnerSession(t);
    const events = [];
    for (let i = 0; i < 5; i++) {
      events.push(
        await insertEvent(t.id, "module.graded", {
          enrollment_id: 1,
          course_id: courseId,
          placement_id: 100 + i,
          user_id: learner.id,
          status: i % 2 ? "failed" : "passed",
          score: i,
        }),
      );
    }
    await consume(events);
    expect(await unread(learner.token)).toBe(5);

    const first = await inbox(learner.token, "?per_page=2");
    expectStatus(first, 200);
    expect(first.body.data).toHaveLength(2);
    expect(first.body.meta.next_cursor).toBe(String(first.body.data[1].id));
    const second = await inbox(learner.token, `?per_page=2&cursor=${first.body.meta.next_cursor}`);
    const third = await inbox(learner.token, `?per_page=2&cursor=${second.body.meta.next_cursor}`);
    expect(third.body.data).toHaveLength(1);
    expect(third.body.meta.next_cursor).toBeNull();
    const ids = [...first.body.data, ...second.body.data, ...third.body.data].map((n: { id: number }) => n.id);
    expect(ids).toEqual([...ids].sort((x, y) => y - x));

    const read = await api("POST", `/v1/learner/notifications/${ids[0]}/read`, { token: learner.token });
    expectStatus(read, 200);
    expect(read.body.read).toBe(true);
    const again = await api("POST", `/v1/learner/notifications/${ids[0]}/read`, { token: learner.token });
    expect(again.body.read_at).toBe(read.body.read_at);
    expect(await unread(learner.token)).toBe(4);
    const unreadOnly = await inbox(learner.token, "?unread=true&per_page=100");
    expect(unreadOnly.body.data.map((n: { id: number }) => n.id)).toEqual(ids.slice(1));

    // Up to an id: a notification newer than what the learner saw stays unread.
    const upTo = await api("POST", "/v1/learner/notifications/read-all", {
      token: learner.token,
      body: { up_to_id: ids[2] },
    });
    expect(upTo.body).toEqual({ updated: 3 });
    expect(await unread(learner.token)).toBe(1);
    const all = await api("POST", "/v1/learner/notifications/read-all", { token: learner.token, body: {} });
    expectStatus(all, 200);
    expect(all.body).toEqual({ updated: 1 });
    expect(await unread(learner.token)).toBe(0);
    // Another learner's notification is a 404, and stays unread.
    const leaNotification = (await inbox(lea.token)).body.data[0];
    expectProblem(
      await api("POST", `/v1/learner/notifications/${leaNotification.id}/read`, { token: learner.token }),
      404,
    );
    expect((await inbox(lea.token)).body.data[0].read).toBe(false);
  });

  it("refuses bad input and wrong credentials", async () => {
    expectProblem(await inbox(lea.token, "?cursor=abc"), 422);
    expectProblem(await inbox(lea.token, "?per_page=1000"), 422);
    expectProblem(await inbox(lea.token, "?category=spam"), 422);
    expectProblem(
      await api("POST", "/v1/learner/notifications/read-all", { token: lea.token, body: { up_to_id: -1 } }),
      422,
    );
    expectProblem(await api("POST", "/v1/learner/notifications/abc/read", { token: lea.token }), 422);
    expectProblem(await inbox(""), 401);
    expectProblem(await api("GET", "/v1/learner/notifications/unread-count"), 401);
    expectProblem(await inbox(t.key), 403);
    expectProblem(
      await api("PUT", "/v1/learner/notifications/preferences", { token: lea.token, body: { email: { spam: true } } }),
      422,
    );
  });
});

describe("the email outbox", () => {
  let t: TestTenant;
  let other: TestTenant;
  let courseId: number;
  beforeAll(async () => {
    t = await createTenant({ settings: { email: { from: "school@academy.example", from_name: "Acme School" } } });
    other = await createTenant();
    courseId = await publishedCourse(t, "Chemistry");
  });
  // Emails of other tests wait far in the future, so each sweep here sends only this test's emails.
  beforeEach(async () => {
    await env.DB.prepare(
      "UPDATE emails SET next_attempt_at = '9999-01-01T00:00:00.000Z' WHERE status = 'pending'",
    ).run();
  });

  const httpEnv = (url: string) =>
    ({ ...env, EMAIL_PROVIDER: "http", EMAIL_API_URL: url, EMAIL_API_KEY: "re_test_key" }) as unknown as Env & EmailEnv;
  /** The virtual clock: make pending emails due now. */
  const makeDue = (id: number) =>
    env.DB.prepare("UPDATE emails SET next_attempt_at = ? WHERE id = ?").bind(new Date(0).toISOString(), id).run();

  async function gradedFor(userId: number, placementId = 1) {
    const event = await insertEvent(t.id, "module.graded", {
      enrollment_id: 1,
      course_id: courseId,
      placement_id: placementId,
      user_id: userId,
      status: "passed",
      score: 80,
    });
    await consume([event, event]);
  }

  it("queues one email per notification a learner wants, honouring preferences and unsubscribe", async () => {
    const wants = await learnerSession(t);
    const optedOut = await learnerSession(t);
    const unsubscribed = await createLearner(t, { email_unsubscribe: true });
    const prefs = await api("PUT", "/v1/learner/notifications/preferences", {
      token: optedOut.token,
      body: { email: { grading: false } },
    });
    expectStatus(prefs, 200);
    expect(prefs.body.email).toEqual({
      announcements: true,
      grading: false,
      certificates: true,
      enrollments: true,
      discussions: true,
    });
    expect(
      (await api("GET", "/v1/learner/notifications/preferences", { token: optedOut.token })).body.email.grading,
    ).toBe(false);
    for (const id of [wants.id, optedOut.id, unsubscribed.id]) await gradedFor(id);
    const mail = await emailRows(t.id, wants.id);
    expect(mail).toHaveLength(1);
    expect(mail[0]).toMatchObject({
      to_address: wants.email,
      subject: "Your result in Chemistry",
      status: "pending",
      attempts: 0,
    });
    expect(await emailRows(t.id, optedOut.id)).toEqual([]);
    expect(await emailRows(t.id, unsubscribed.id)).toEqual([]);
    // Both still have the notification itself.
    expect(await notificationRows(t.id, optedOut.id)).toHaveLength(1);
    expect(await notificationRows(t.id, unsubscribed.id)).toHaveLength(1);
  });

  it("sends through the HTTP sender to a local receiver (Resend-shaped JSON, bearer key, idempotency key)", async () => {
    const learner = await learnerSession(t);
    await gradedFor(learner.id);
    const [row] = await emailRows(t.id, learner.id);
    const box = receiver(
      async (request) => new Response(JSON.stringify({ id: `prov-${request.body.length}` }), { status: 200 }),
    );
    // The receivers keep bodies; look at the request headers on the way out.
    const seen: Request[] = [];
    const original = globalThis.fetch;
    globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      seen.push(new Request(input, init));
      return original(input, init);
    }) as typeof fetch;
    let outcome: Awaited<ReturnType<typeof sendDueEmails>>;
    try {
      outcome = await sendDueEmails(httpEnv(box.url), createDb(env.DB));
    } finally {
      globalThis.fetch = original;
    }
    expect(outcome).toEqual({ sent: 1, retried: 0, failed: 0 });
    expect(box.requests()).toHaveLength(1);
    const body = JSON.parse(box.requests()[0].body);
    expect(body).toEqual({
      from: '"Acme School" <school@academy.example>',
      to: [learner.email],
      subject: "Your result in Chemistry",
      text: row.text_body,
      html: row.html_body,
    });
    expect(seen[0].headers.get("authorization")).toBe("Bearer re_test_key");
    expect(seen[0].headers.get("idempotency-key")).toBe(`lectern-email-${t.id}-${row.id}`);
    const [after] = await emailRows(t.id, learner.id);
    expect(after).toMatchObject({ status: "sent", attempts: 1, last_error: null });
    expect(after.provider_message_id).toMatch(/^prov-/);
    // Sent: the next sweep sends nothing again.
    expect(await sendDueEmails(httpEnv(box.url), createDb(env.DB))).toEqual({ sent: 0, retried: 0, failed: 0 });
    expect(box.requests()).toHaveLength(1);
  });

  it("retries a failure with backoff, then sends; fails for good after the last attempt; a 4xx fails at once", async () => {
    const learner = await learnerSession(t);
    await gradedFor(learner.id);
    const [row] = await emailRows(t.id, learner.id);
    const box = receiver((_r, nth) => (nth === 0 ? 503 : 200));
    const before = Date.now();
    expect(await sendDueEmails(httpEnv(box.url), createDb(env.DB))).toEqual({ sent: 0, retried: 1, failed: 0 });
    const [retrying] = await emailRows(t.id, learner.id);
    expect(retrying).toMatchObject({ status: "pending", attempts: 1 });
    expect(retrying.last_error).toContain("503");
    const wait = Date.parse(retrying.next_attempt_at) - before;
    expect(wait).toBeGreaterThanOrEqual(59_000);
    expect(wait).toBeLessThan(120_000);
    // Not due yet: the sweep leaves it.
    expect(await sendDueEmails(httpEnv(box.url), createDb(env.DB))).toEqual({ sent: 0, retried: 0, failed: 0 });
    await makeDue(row.id);
    expect(await sendDueEmails(httpEnv(box.url), createDb(env.DB))).toEqual({ sent: 1, retried: 0, failed: 0 });
    expect(box.requests().map((r) => r.status)).toEqual([503, 200]);
    expect((await emailRows(t.id, learner.id))[0]).toMatchObject({ status: "sent", attempts: 2 });

    // Always failing: pending until the last attempt, then failed; the admin sees it and can retry it.
    const unlucky = await learnerSession(t);
    await gradedFor(unlucky.id);
    const [bad] = await emailRows(t.id, unlucky.id);
    const down = receiver(() => 500);
    const delays: number[] = [];
    for (let i = 1; i <= EMAIL_MAX_ATTEMPTS; i++) {
      await makeDue(bad.id);
      const start = Date.now();
      await sendDueEmails(httpEnv(down.url), createDb(env.DB));
      const [now] = await emailRows(t.id, unlucky.id);
      expect(now.attempts).toBe(i);
      expect(now.status).toBe(i < EMAIL_MAX_ATTEMPTS ? "pending" : "failed");
      if (i < EMAIL_MAX_ATTEMPTS) delays.push(Math.round((Date.parse(now.next_attempt_at) - start) / 60_000));
    }
    expect(delays).toEqual([1, 5, 30, 120]);
    expect(down.requests()).toHaveLength(EMAIL_MAX_ATTEMPTS);

    const failed = await api("GET", "/v1/admin/emails?status=failed", { token: t.key });
    expectStatus(failed, 200);
    expect(failed.body.data.map((e: { id: number }) => e.id)).toEqual([bad.id]);
    expect(failed.body.data[0]).toMatchObject({ status: "failed", attempts: EMAIL_MAX_ATTEMPTS, to: unlucky.email });
    const retried = await api("POST", `/v1/admin/emails/${bad.id}/retry`, { token: t.key });
    expectStatus(retried, 200);
    expect(retried.body).toMatchObject({ status: "pending", attempts: 0 });
    expectProblem(await api("POST", `/v1/admin/emails/${bad.id}/retry`, { token: t.key }), 409);
    expect(await sendDueEmails(httpEnv(box.url), createDb(env.DB))).toEqual({ sent: 1, retried: 0, failed: 0 });

    // A refusal a retry cannot fix (422) fails at once.
    const refused = await learnerSession(t);
    await gradedFor(refused.id);
    const picky = receiver(() => 422);
    expect(await sendDueEmails(httpEnv(picky.url), createDb(env.DB))).toEqual({ sent: 0, retried: 0, failed: 1 });
    expect((await emailRows(t.id, refused.id))[0]).toMatchObject({ status: "failed", attempts: 1 });
  });

  it("without a configured provider outside development, emails fail with the reason; the log sender sends in development", async () => {
    const learner = await learnerSession(t);
    await gradedFor(learner.id);
    const production = { ...env, ENVIRONMENT: "production" } as unknown as Env & EmailEnv;
    expect(await sendDueEmails(production, createDb(env.DB))).toEqual({ sent: 0, retried: 0, failed: 1 });
    const [row] = await emailRows(t.id, learner.id);
    expect(row.last_error).toContain("No email provider");
    // A plain-http provider URL is refused in production too.
    const insecure = { ...production, EMAIL_PROVIDER: "http", EMAIL_API_URL: "http://127.0.0.1:9999/x" } as Env &
      EmailEnv;
    await makeDue(row.id);
    await env.DB.prepare("UPDATE emails SET status = 'pending' WHERE id = ?").bind(row.id).run();
    expect(await sendDueEmails(insecure, createDb(env.DB))).toEqual({ sent: 0, retried: 0, failed: 1 });
    expect((await emailRows(t.id, learner.id))[0].last_error).toContain("https");

    await env.DB.prepare("UPDATE emails SET status = 'pending', next_attempt_at = ? WHERE id = ?")
      .bind(new Date(0).toISOString(), row.id)
      .run();
    expect(await sendDueEmails(env as unknown as Env & EmailEnv, createDb(env.DB))).toEqual({
      sent: 1,
      retried: 0,
      failed: 0,
    });
    expect((await emailRows(t.id, learner.id))[0].provider_message_id).toBe(`log-${row.id}`);
  });

  it("the Worker's cron sends due emails (the log sender in the test environment)", async () => {
    const learner = await learnerSession(t);
    await gradedFor(learner.id);
    const [row] = await emailRows(t.id, learner.id);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "* * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect((await emailRows(t.id, learner.id))[0]).toMatchObject({
      status: "sent",
      attempts: 1,
      provider_message_id: `log-${row.id}`,
    });
  });

  it("an academy with settings.email.enabled false queues no email", async () => {
    const quiet = await createTenant({ settings: { email: { enabled: false } } });
    const learner = await createLearner(quiet);
    await consume([
      await insertEvent(quiet.id, "certificate.issued", { id: 1, code: "Q", learner_id: learner.id, title: "T" }),
    ]);
    expect(await notificationRows(quiet.id, learner.id)).toHaveLength(1);
    expect(await emailRows(quiet.id)).toEqual([]);
  });

  it("admin email list: keyset pages, filters, permissions, isolation", async () => {
    const learner = await learnerSession(t);
    await gradedFor(learner.id, 1);
    await gradedFor(learner.id, 2);
    const page = await api("GET", `/v1/admin/emails?user_id=${learner.id}&per_page=1`, { token: t.key });
    expectStatus(page, 200);
    expect(page.body.data).toHaveLength(1);
    const next = await api(
      "GET",
      `/v1/admin/emails?user_id=${learner.id}&per_page=1&cursor=${page.body.meta.next_cursor}`,
      {
        token: t.key,
      },
    );
    expect(next.body.data).toHaveLength(1);
    expect(next.body.data[0].id).toBeLessThan(page.body.data[0].id);
    const one = await api("GET", `/v1/admin/emails/${page.body.data[0].id}`, { token: t.key });
    expectStatus(one, 200);
    expect(one.body.subject).toBe("Your result in Chemistry");
    expectProblem(await api("GET", `/v1/admin/emails/${one.body.id}`, { token: other.key }), 404);
    expectProblem(await api("POST", `/v1/admin/emails/${one.body.id}/retry`, { token: other.key }), 404);
    expect((await api("GET", "/v1/admin/emails", { token: other.key })).body.data).toEqual([]);
    expectProblem(await api("GET", "/v1/admin/emails?status=lost", { token: t.key }), 422);
    expectProblem(await api("GET", "/v1/admin/emails"), 401);
    const noRead = await keyWithout(t, "settings:read");
    expect(expectProblem(await api("GET", "/v1/admin/emails", { token: noRead }), 403).required_permission).toBe(
      "settings:read",
    );
    const noWrite = await keyWithout(t, "settings:write");
    expectProblem(await api("POST", `/v1/admin/emails/${one.body.id}/retry`, { token: noWrite }), 403);
    expectProblem(await api("GET", "/v1/admin/emails", { token: learner.token }), 403);
  });
});
