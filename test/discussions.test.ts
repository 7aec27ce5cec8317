/**
 * Discussions: threads (course and discussion-module), posts, replies, edits, deletes, moderation, mentions,
 * reactions, attachments, keyset pages, access, completion rules, events; and the live room (WebSockets on the
 * DiscussionRoom Durable Object): one order for everyone, REST posts reaching sockets, `since` replays, bad
 * frames, locked threads, and a room that is thrown away and re-created.
 */
import { abortAllDurableObjects, createExecutionContext, env, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { DiscussionRoom } from "../src/durable/discussion-room";
import worker from "../src/index";
import { roomOf } from "../src/modules/discussions/room";
import { type ApiResponse, api, expectProblem, expectStatus } from "./helpers/api";
import { createTenant, keyWithout, learnerSession, staffSession, type TestTenant, unique } from "./helpers/factories";

type Learner = Awaited<ReturnType<typeof learnerSession>>;

async function ok(res: ApiResponse, status = 200) {
  expect(res.status, res.text).toBe(status);
  return res.body;
}

const post = (t: TestTenant, path: string, body: unknown) => api("POST", path, { token: t.key, body });

/** A published course with a course thread and a discussion module placement (settings as given). */
async function buildCourse(t: TestTenant, settings: Record<string, unknown> = {}) {
  const course = await ok(await post(t, "/v1/admin/courses", { name: unique("Course") }), 201);
  const section = await ok(await post(t, `/v1/admin/courses/${course.id}/sections`, { name: "Week 1" }), 201);
  const module = await ok(
    await post(t, "/v1/admin/modules", {
      type: "discussion",
      name: unique("Discuss"),
      settings: { prompt: "<p>What surprised you?</p>", ...settings },
    }),
    201,
  );
  const text = await ok(await post(t, "/v1/admin/modules", { type: "text", name: unique("Lesson") }), 201);
  const placement = await ok(
    await post(t, `/v1/admin/courses/${course.id}/sections/${section.id}/placements`, { module_id: module.id }),
    201,
  );
  const textPlacement = await ok(
    await post(t, `/v1/admin/courses/${course.id}/sections/${section.id}/placements`, {
      module_id: text.id,
      required: false,
    }),
    201,
  );
  expectStatus(await api("POST", `/v1/admin/courses/${course.id}/publish`, { token: t.key }), 200);
  const thread = await ok(await post(t, "/v1/admin/discussions", { course_id: course.id, title: "General" }), 201);
  return {
    courseId: course.id as number,
    placementId: placement.id as number,
    textPlacementId: textPlacement.id as number,
    moduleId: module.id as number,
    threadId: thread.id as number,
  };
}

async function enroll(t: TestTenant, courseId: number, ...learners: { id: number }[]) {
  await ok(
    await api("POST", `/v1/admin/courses/${courseId}/enrollments`, {
      token: t.key,
      body: { learner_ids: learners.map((l) => l.id) },
    }),
    201,
  );
}

const posts = (threadId: number) => `/v1/learner/discussions/${threadId}/posts`;
const write = (l: Learner, threadId: number, body: Record<string, unknown>) =>
  api("POST", posts(threadId), { token: l.token, body });

// ---- a WebSocket client on the Worker's own fetch handler --------------------------------------------------------

interface Client {
  ws: WebSocket;
  frames: any[];
  closed: { code: number } | null;
  send(frame: unknown): void;
  /** Waits (polling the event loop, no clock assertions) until `count` frames match. */
  until(match: (f: any) => boolean, count?: number): Promise<any[]>;
}

async function connect(
  path: string,
  token: string,
  how: "protocol" | "query" = "protocol",
  query = "",
): Promise<Client> {
  const headers: Record<string, string> = { Upgrade: "websocket" };
  let url = `http://lectern.test${path}${query}`;
  if (how === "protocol") headers["Sec-WebSocket-Protocol"] = `lectern.discussions.v1, bearer.${token}`;
  else url += `${query ? "&" : "?"}token=${encodeURIComponent(token)}`;
  const res = await worker.fetch(new Request(url, { headers }), env, createExecutionContext());
  if (res.status !== 101) throw new Error(`no upgrade: ${res.status} ${await res.text()}`);
  if (how === "protocol") expect(res.headers.get("sec-websocket-protocol")).toBe("lectern.discussions.v1");
  const ws = res.webSocket as WebSocket;
  const client: Client = {
    ws,
    frames: [],
    closed: null,
    send: (frame) => ws.send(typeof frame === "string" ? frame : JSON.stringify(frame)),
    async until(match, count = 1) {
      for (let i = 0; i < 2000; i++) {
        const found = client.frames.filter(match);
        if (found.length >= count) return found;
        await new Promise((r) => setTimeout(r, 5));
      }
      throw new Error(`frames never matched; got ${JSON.stringify(client.frames)}`);
    },
  };
  ws.addEventListener("message", (e) => client.frames.push(JSON.parse(e.data as string)));
  ws.addEventListener("close", (e) => {
    client.closed = { code: e.code };
  });
  ws.accept();
  await client.until((f) => f.type === "welcome");
  return client;
}

const live = (threadId: number) => `/v1/learner/discussions/${threadId}/live`;
const createdBodies = (c: Client) => c.frames.filter((f) => f.type === "post.created").map((f) => [f.seq, f.post.body]);

// ---- tests ---------------------------------------------------------------------------------------------------------

describe("discussions", () => {
  let t: TestTenant;
  let other: TestTenant;
  let a: Learner;
  let b: Learner;
  let outsider: Learner;
  let course: Awaited<ReturnType<typeof buildCourse>>;

  beforeAll(async () => {
    t = await createTenant();
    other = await createTenant();
    [a, b, outsider] = [await learnerSession(t), await learnerSession(t), await learnerSession(t)];
    course = await buildCourse(t, { min_posts: 1, min_replies: 1 });
    await enroll(t, course.courseId, a, b);
  });

  describe("threads (admin)", () => {
    it("creates course and module threads, lists them by keyset, refuses bad input", async () => {
      const moduleThread = await ok(
        await post(t, "/v1/admin/discussions", { course_id: course.courseId, placement_id: course.placementId }),
        201,
      );
      expect(moduleThread).toMatchObject({
        kind: "module",
        placement_id: course.placementId,
        body: "<p>What surprised you?</p>",
      });
      const again = expectProblem(
        await post(t, "/v1/admin/discussions", { course_id: course.courseId, placement_id: course.placementId }),
        409,
      );
      expect(again.thread_id).toBe(moduleThread.id);
      // The learner's placement endpoint finds the same thread.
      const viaLearner = await ok(
        await api("GET", `/v1/learner/courses/${course.courseId}/modules/${course.placementId}/discussion`, {
          token: a.token,
        }),
      );
      expect(viaLearner.id).toBe(moduleThread.id);

      const extra = await ok(
        await post(t, "/v1/admin/discussions", { course_id: course.courseId, title: "Pinned", pinned: true }),
        201,
      );
      const page1 = await ok(
        await api("GET", `/v1/admin/discussions?course_id=${course.courseId}&per_page=2`, { token: t.key }),
      );
      expect(page1.data[0].id).toBe(extra.id); // pinned first
      expect(page1.data).toHaveLength(2);
      expect(page1.meta.next_cursor).toBeTruthy();
      const page2 = await ok(
        await api(
          "GET",
          `/v1/admin/discussions?course_id=${course.courseId}&per_page=2&cursor=${page1.meta.next_cursor}`,
          {
            token: t.key,
          },
        ),
      );
      const ids = [...page1.data, ...page2.data].map((x: { id: number }) => x.id);
      expect(new Set(ids).size).toBe(3);
      expect(ids).toEqual(expect.arrayContaining([course.threadId, moduleThread.id, extra.id]));
      expect(page2.meta.next_cursor).toBeNull();

      const bad = expectProblem(await post(t, "/v1/admin/discussions", { course_id: course.courseId }), 422);
      expect(bad.errors?.[0]?.path).toBe("title");
      const wrongType = expectProblem(
        await post(t, "/v1/admin/discussions", { course_id: course.courseId, placement_id: course.textPlacementId }),
        422,
      );
      expect(wrongType.errors?.[0]?.path).toBe("placement_id");
      expectProblem(await post(t, "/v1/admin/discussions", { course_id: course.courseId, title: "x", nope: 1 }), 422);
      expectProblem(await api("GET", "/v1/admin/discussions?cursor=%%%", { token: t.key }), 422);
    });

    it("refuses missing credentials, learners, missing permissions and another academy's ids", async () => {
      expectProblem(await api("GET", "/v1/admin/discussions"), 401);
      expectProblem(await api("GET", "/v1/admin/discussions", { token: a.token }), 403);
      const support = await staffSession(t, "support_specialist");
      expectProblem(
        await api("POST", "/v1/admin/discussions", {
          token: support.token,
          body: { course_id: course.courseId, title: "x" },
        }),
        403,
      );
      expectProblem(await api("GET", `/v1/admin/discussions/${course.threadId}`, { token: other.key }), 404);
      expectProblem(
        await api("PATCH", `/v1/admin/discussions/${course.threadId}`, { token: other.key, body: { locked: true } }),
        404,
      );
      expectProblem(await api("GET", `/v1/admin/discussions/${course.threadId}/posts`, { token: other.key }), 404);
      expectProblem(
        await api("POST", "/v1/admin/discussions", {
          token: other.key,
          body: { course_id: course.courseId, title: "x" },
        }),
        422,
      );
    });
  });

  describe("posts (learner REST)", () => {
    it("posts, replies (nested), lists by keyset, edits and deletes own posts", async () => {
      const thread = await ok(
        await post(t, "/v1/admin/discussions", { course_id: course.courseId, title: "REST" }),
        201,
      );
      const first = await ok(await write(a, thread.id, { body: `Hello @${b.id} and @999999999` }), 201);
      expect(first).toMatchObject({
        parent_id: null,
        seq: 1,
        status: "visible",
        author: { id: a.id, kind: "learner" },
      });
      expect(first.mentioned_user_ids).toEqual([b.id]); // unknown ids are dropped
      const reply = await ok(
        await api("POST", `${posts(thread.id)}/${first.id}/replies`, { token: b.token, body: { body: "Hi!" } }),
        201,
      );
      const nested = await ok(await write(a, thread.id, { body: "Deeper", parent_id: reply.id }), 201);
      expect([reply.seq, nested.seq]).toEqual([2, 3]);
      for (let i = 0; i < 3; i++) await ok(await write(b, thread.id, { body: `Top ${i}` }), 201);

      const top1 = await ok(await api("GET", `${posts(thread.id)}?per_page=2`, { token: a.token }));
      expect(top1.data.map((p: { body: string }) => p.body)).toEqual([first.body, "Top 0"]);
      expect(top1.data[0].reply_count).toBe(1);
      const top2 = await ok(
        await api("GET", `${posts(thread.id)}?per_page=2&cursor=${top1.meta.next_cursor}`, { token: a.token }),
      );
      expect(top2.data.map((p: { body: string }) => p.body)).toEqual(["Top 1", "Top 2"]);
      expect(top2.meta).toMatchObject({ next_cursor: null, last_seq: 6 });
      const replies = await ok(await api("GET", `${posts(thread.id)}/${reply.id}/replies`, { token: b.token }));
      expect(replies.data.map((p: { id: number }) => p.id)).toEqual([nested.id]);
      const flat = await ok(await api("GET", `${posts(thread.id)}?flat=true&per_page=100`, { token: b.token }));
      expect(flat.data.map((p: { seq: number }) => p.seq)).toEqual([1, 2, 3, 4, 5, 6]);

      // edit own; not someone else's
      const edited = await ok(
        await api("PATCH", `${posts(thread.id)}/${first.id}`, { token: a.token, body: { body: "Hello again" } }),
      );
      expect(edited).toMatchObject({ body: "Hello again", mentioned_user_ids: [], seq: 1, changed_seq: 7 });
      expect(edited.edited_at).toBeTruthy();
      expectProblem(
        await api("PATCH", `${posts(thread.id)}/${first.id}`, { token: b.token, body: { body: "x" } }),
        403,
      );
      expectProblem(await api("DELETE", `${posts(thread.id)}/${first.id}`, { token: b.token }), 403);
      const empty = expectProblem(
        await api("PATCH", `${posts(thread.id)}/${first.id}`, { token: a.token, body: {} }),
        422,
      );
      expect(empty.errors?.[0]?.path).toBe("body");

      // delete own: the post keeps its place, replies stay; deleting again is harmless
      expectStatus(await api("DELETE", `${posts(thread.id)}/${first.id}`, { token: a.token }), 204);
      expectStatus(await api("DELETE", `${posts(thread.id)}/${first.id}`, { token: a.token }), 204);
      const gone = await ok(await api("GET", `${posts(thread.id)}/${first.id}`, { token: b.token }));
      expect(gone).toMatchObject({ status: "deleted", body: null, reply_count: 1 });
      expectProblem(await write(b, thread.id, { body: "late", parent_id: first.id }), 422);
      expect((await api("GET", `${posts(thread.id)}/${reply.id}`, { token: b.token })).body.status).toBe("visible");

      const created = await env.DB.prepare(
        "SELECT data FROM outbox WHERE tenant_id = ? AND type = 'discussion_post.created' AND json_extract(data, '$.id') = ?",
      )
        .bind(t.id, reply.id)
        .first<{ data: string }>();
      expect(JSON.parse(created?.data ?? "{}")).toMatchObject({
        id: reply.id,
        thread_id: thread.id,
        course_id: course.courseId,
        module_id: null,
        author_id: b.id,
        parent_id: first.id,
        mentioned_user_ids: [],
        instructor_ids: [],
      });
    });

    it("refuses oversized and empty posts, bad parents and attachments of the wrong shape", async () => {
      const big = expectProblem(await write(a, course.threadId, { body: "x".repeat(10_001) }), 422);
      expect(big.errors?.[0]).toMatchObject({ path: "body" });
      expectProblem(await write(a, course.threadId, { body: "   " }), 422);
      const parent = expectProblem(await write(a, course.threadId, { body: "x", parent_id: 987654321 }), 422);
      expect(parent.errors?.[0]?.path).toBe("parent_id");
      expectProblem(await write(a, course.threadId, { body: "x", attachment_media_ids: [-1] }), 422);
      expectProblem(await write(a, course.threadId, { body: "x", attachment_media_ids: Array(11).fill(1) }), 422);
      expectProblem(await write(a, course.threadId, { body: "x", author_id: b.id }), 422);
      expectProblem(
        await api("POST", posts(course.threadId), {
          token: a.token,
          rawBody: "{",
          headers: { "content-type": "application/json" },
        }),
        400,
      );
    });

    it("takes attachment ids of the academy's uploaded media only", async () => {
      const now = new Date().toISOString();
      const media = async (tenantId: number, status: string) =>
        (
          await env.DB.prepare(
            "INSERT INTO media (tenant_id, status, name, title, content_type, kind, size, r2_key, created_at, updated_at) VALUES (?, ?, 'a.png', 'A', 'image/png', 'image', 1, 'k', ?, ?) RETURNING id",
          )
            .bind(tenantId, status, now, now)
            .first<{ id: number }>()
        )?.id as number;
      const [mine, uploading, theirs] = [
        await media(t.id, "ready"),
        await media(t.id, "uploading"),
        await media(other.id, "ready"),
      ];
      const ok201 = await ok(
        await write(a, course.threadId, { body: "See attached", attachment_media_ids: [mine] }),
        201,
      );
      expect(ok201.attachment_media_ids).toEqual([mine]);
      const refused = expectProblem(
        await write(a, course.threadId, { body: "x", attachment_media_ids: [mine, uploading, theirs] }),
        422,
      );
      expect(refused.errors?.map((e) => e.path)).toEqual(["attachment_media_ids.1", "attachment_media_ids.2"]);
    });

    it("lets only enrolled learners with access in, and answers another academy's thread with 404", async () => {
      expectProblem(await api("GET", posts(course.threadId)), 401);
      expectProblem(await api("GET", posts(course.threadId), { token: outsider.token }), 403);
      expectProblem(await write(outsider, course.threadId, { body: "let me in" }), 403);
      expectProblem(
        await api("GET", `/v1/learner/discussions?course_id=${course.courseId}`, { token: outsider.token }),
        403,
      );
      const staff = await staffSession(t, "admin");
      expectProblem(await api("GET", posts(course.threadId), { token: staff.token }), 403);
      const stranger = await learnerSession(other);
      expectProblem(await api("GET", posts(course.threadId), { token: stranger.token }), 404);
      expectProblem(await write(stranger, course.threadId, { body: "hi" }), 404);
      const list = await ok(
        await api("GET", `/v1/learner/discussions?course_id=${course.courseId}`, { token: a.token }),
      );
      expect(list.data.map((x: { id: number }) => x.id)).toContain(course.threadId);

      // a revoked enrollment closes the thread
      const c = await learnerSession(t);
      await enroll(t, course.courseId, c);
      await ok(await write(c, course.threadId, { body: "in" }), 201);
      await ok(
        await api("POST", `/v1/admin/courses/${course.courseId}/enrollments/revoke`, {
          token: t.key,
          body: { learner_ids: [c.id] },
        }),
      );
      expect(expectProblem(await write(c, course.threadId, { body: "out" }), 403).rule).toBe("enrollment");
    });

    it("reactions are per user and emoji, idempotent, and counted", async () => {
      const p = await ok(await write(a, course.threadId, { body: "React to me" }), 201);
      const path = (emoji: string) => `${posts(course.threadId)}/${p.id}/reactions/${encodeURIComponent(emoji)}`;
      await ok(await api("PUT", path("👍"), { token: a.token }));
      const twice = await ok(await api("PUT", path("👍"), { token: a.token }));
      expect(twice.reactions).toEqual({ "👍": 1 });
      await ok(await api("PUT", path("👍"), { token: b.token }));
      const mixed = await ok(await api("PUT", path("tada"), { token: b.token }));
      expect(mixed.reactions).toEqual({ "👍": 2, tada: 1 });
      expectStatus(await api("DELETE", path("👍"), { token: b.token }), 204);
      expectStatus(await api("DELETE", path("👍"), { token: b.token }), 204);
      const mine = await ok(await api("GET", `${posts(course.threadId)}?flat=true&per_page=100`, { token: a.token }));
      const seen = mine.data.find((x: { id: number }) => x.id === p.id);
      expect(seen).toMatchObject({ reactions: { "👍": 1, tada: 1 }, my_reactions: ["👍"] });
      expectProblem(await api("PUT", path("two words"), { token: a.token }), 422);
    });
  });

  describe("moderation", () => {
    it("hides, pins, locks; learners then see no body and cannot post, staff still can", async () => {
      const thread = await ok(
        await post(t, "/v1/admin/discussions", { course_id: course.courseId, title: "Moderated" }),
        201,
      );
      const p = await ok(await write(a, thread.id, { body: "Rude words" }), 201);
      const mod = (body: unknown, token = t.key) =>
        api("PATCH", `/v1/admin/discussions/${thread.id}/posts/${p.id}`, { token, body });
      const hidden = await ok(await mod({ hidden: true, pinned: true }));
      expect(hidden).toMatchObject({ status: "hidden", pinned: true, body: "Rude words" });
      const learnerView = await ok(await api("GET", `${posts(thread.id)}/${p.id}`, { token: b.token }));
      expect(learnerView).toMatchObject({ status: "hidden", body: null });
      expectProblem(
        await api("PATCH", `${posts(thread.id)}/${p.id}`, { token: a.token, body: { body: "sorry" } }),
        409,
      );
      expect((await ok(await mod({}))).status).toBe("hidden"); // nothing to change
      expectProblem(await mod({ hidden: "yes" }), 422);
      const assistant = await staffSession(t, "assistant");
      await ok(await mod({ hidden: false }, assistant.token));
      expectProblem(await mod({ hidden: true }, (await staffSession(t, "support_specialist")).token), 403);
      expectProblem(
        await api("PATCH", `/v1/admin/discussions/${thread.id}/posts/${p.id}`, {
          token: other.key,
          body: { hidden: true },
        }),
        404,
      );

      const locked = await ok(
        await api("PATCH", `/v1/admin/discussions/${thread.id}`, { token: t.key, body: { locked: true } }),
      );
      expect(locked.locked).toBe(true);
      const refused = expectProblem(await write(b, thread.id, { body: "anyone?" }), 409);
      expect(refused.type).toContain("thread-locked");
      const instructor = await staffSession(t, "instructor");
      const staffPost = await ok(
        await api("POST", `/v1/admin/discussions/${thread.id}/posts`, {
          token: instructor.token,
          body: { body: "Locked now." },
        }),
        201,
      );
      expect(staffPost.author).toMatchObject({ id: instructor.id, kind: "staff" });
      const all = await ok(await api("GET", `/v1/admin/discussions/${thread.id}/posts?pinned=false`, { token: t.key }));
      expect(all.data.map((x: { id: number }) => x.id)).toEqual([staffPost.id]);
      expectProblem(
        await api("PATCH", `/v1/admin/discussions/${thread.id}`, { token: t.key, body: { locked: 1 } }),
        422,
      );

      expectStatus(await api("DELETE", `/v1/admin/discussions/${thread.id}`, { token: t.key }), 204);
      expectProblem(await api("GET", `/v1/admin/discussions/${thread.id}`, { token: t.key }), 404);
    });
  });

  describe("completion of a discussion module", () => {
    it("completes the placement when min_posts and min_replies are met (and notifies through the outbox)", async () => {
      const t2 = await createTenant();
      const instructor = await staffSession(t2, "instructor");
      const built = await buildCourse(t2, { min_posts: 1, min_replies: 1 });
      await ok(
        await api("PATCH", `/v1/admin/courses/${built.courseId}`, {
          token: t2.key,
          body: { instructor_ids: [instructor.id] },
        }),
      );
      const [x, y] = [await learnerSession(t2), await learnerSession(t2)];
      await enroll(t2, built.courseId, x, y);
      const thread = await ok(
        await api("GET", `/v1/learner/courses/${built.courseId}/modules/${built.placementId}/discussion`, {
          token: x.token,
        }),
      );
      const status = async () =>
        (
          await env.DB.prepare(
            "SELECT status FROM module_progress WHERE tenant_id = ? AND user_id = ? AND placement_id = ?",
          )
            .bind(t2.id, x.id, built.placementId)
            .first<{ status: string }>()
        )?.status;

      const mine = await ok(await write(x, thread.id, { body: "My answer" }), 201);
      expect(await status()).toBeUndefined(); // one post, no reply yet
      const theirs = await ok(await write(y, thread.id, { body: `Mine, @${instructor.id}` }), 201);
      await ok(await write(x, thread.id, { body: "Nice", parent_id: theirs.id }), 201);
      expect(await status()).toBe("completed");
      const enrollment = await env.DB.prepare(
        "SELECT progress_percent FROM enrollments WHERE tenant_id = ? AND user_id = ?",
      )
        .bind(t2.id, x.id)
        .first<{ progress_percent: number }>();
      expect(enrollment?.progress_percent).toBe(100);
      const event = await env.DB.prepare(
        "SELECT data FROM outbox WHERE tenant_id = ? AND type = 'discussion_post.created' AND json_extract(data, '$.author_id') = ? ORDER BY id DESC",
      )
        .bind(t2.id, y.id)
        .first<{ data: string }>();
      expect(JSON.parse(event?.data ?? "{}")).toMatchObject({
        module_id: built.moduleId,
        placement_id: built.placementId,
        instructor_ids: [instructor.id],
        mentioned_user_ids: [instructor.id],
      });
      expect(mine.seq).toBe(1);
    });

    it("leaves a graded discussion for the instructor's grade", async () => {
      const built = await buildCourse(t, { min_posts: 1, graded: true, total_points: 10 });
      await enroll(t, built.courseId, a);
      const thread = await ok(
        await api("GET", `/v1/learner/courses/${built.courseId}/modules/${built.placementId}/discussion`, {
          token: a.token,
        }),
      );
      await ok(await write(a, thread.id, { body: "Graded answer" }), 201);
      const row = await env.DB.prepare(
        "SELECT status FROM module_progress WHERE tenant_id = ? AND user_id = ? AND placement_id = ?",
      )
        .bind(t.id, a.id, built.placementId)
        .first<{ status: string }>();
      expect(row?.status ?? "not_started").not.toBe("completed");
    });

    it("an instructor's grade completes a graded discussion module and moves the course progress", async () => {
      const built = await buildCourse(t, { min_posts: 1, graded: true, total_points: 10 });
      await enroll(t, built.courseId, a);
      const thread = await ok(
        await api("GET", `/v1/learner/courses/${built.courseId}/modules/${built.placementId}/discussion`, {
          token: a.token,
        }),
      );
      await ok(await write(a, thread.id, { body: "My answer" }), 201);
      const grades = `/v1/admin/discussions/${thread.id}/grades`;
      const grade = (body: unknown, token = t.key) => api("POST", grades, { token, body });
      const progressOf = async () =>
        (await ok(await api("GET", `/v1/learner/courses/${built.courseId}/outline`, { token: a.token }))).enrollment
          .progress_percent as number;
      expect(await progressOf()).toBe(0);

      // Bad input, auth and the wrong threads change nothing.
      const over = expectProblem(await grade({ learner_id: a.id, score: 11 }), 422);
      expect(over.errors?.map((e) => e.path)).toEqual(["score"]);
      const notEnrolled = expectProblem(await grade({ learner_id: b.id, score: 5 }), 422);
      expect(notEnrolled.errors?.map((e) => e.path)).toEqual(["learner_id"]);
      expectProblem(await grade({ learner_id: a.id, score: -1 }), 422);
      expectProblem(await grade({ learner_id: a.id, score: 5, tenant_id: other.id }), 422);
      expectProblem(await api("POST", grades, { body: { learner_id: a.id, score: 5 } }), 401);
      expectProblem(await grade({ learner_id: a.id, score: 5 }, await keyWithout(t, "grading:write")), 403);
      expectProblem(await grade({ learner_id: a.id, score: 5 }, a.token), 403);
      expectProblem(await grade({ learner_id: a.id, score: 5 }, other.key), 404);
      expectProblem(
        await api("POST", `/v1/admin/discussions/${built.threadId}/grades`, {
          token: t.key,
          body: { learner_id: a.id, score: 5 },
        }),
        409,
      );
      const ungraded = await ok(
        await api("GET", `/v1/learner/courses/${course.courseId}/modules/${course.placementId}/discussion`, {
          token: a.token,
        }),
      );
      expectProblem(
        await api("POST", `/v1/admin/discussions/${ungraded.id}/grades`, {
          token: t.key,
          body: { learner_id: a.id, score: 5 },
        }),
        409,
      );
      expect(await progressOf()).toBe(0);

      // A failing grade, then a passing one (half the points pass unless `passed` says otherwise).
      const failed = await ok(await grade({ learner_id: a.id, score: 4 }));
      expect(failed).toMatchObject({ score: 4, max_score: 10, passed: false });
      const passed = await ok(await grade({ learner_id: a.id, score: 8 }));
      expect(passed).toMatchObject({ thread_id: thread.id, learner_id: a.id, score: 8, max_score: 10, passed: true });
      const row = await env.DB.prepare(
        "SELECT status, score FROM module_progress WHERE tenant_id = ? AND user_id = ? AND placement_id = ?",
      )
        .bind(t.id, a.id, built.placementId)
        .first<{ status: string; score: number }>();
      expect(row).toEqual({ status: "passed", score: 8 });
      expect(await progressOf()).toBe(100);
    });
  });

  describe("live (WebSocket on the thread's room)", () => {
    it("two learners see the same posts in the same order, REST posts included", async () => {
      const thread = await ok(
        await post(t, "/v1/admin/discussions", { course_id: course.courseId, title: "Live" }),
        201,
      );
      const ca = await connect(live(thread.id), a.token, "protocol");
      const cb = await connect(live(thread.id), b.token, "query");
      expect(ca.frames[0]).toMatchObject({
        type: "welcome",
        last_seq: 0,
        thread: { id: thread.id },
        member: { user_id: a.id },
      });

      // Both send at once over their sockets, and a third post arrives over REST meanwhile.
      for (let i = 0; i < 5; i++) {
        ca.send({ type: "post", body: `a${i}`, ref: `a${i}` });
        cb.send({ type: "post", body: `b${i}`, ref: `b${i}` });
      }
      await ok(await write(a, thread.id, { body: "rest" }), 201);
      await ca.until((f) => f.type === "post.created", 11);
      await cb.until((f) => f.type === "post.created", 11);
      expect(createdBodies(ca)).toEqual(createdBodies(cb));
      expect(createdBodies(ca).map(([seq]) => seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      // Each sender's ack names the number its post got in that one order.
      const acks = await ca.until((f) => f.type === "ack", 5);
      const seqOf = new Map(createdBodies(ca).map(([seq, body]) => [body, seq]));
      expect(acks.map((f) => [f.ref, f.seq]).sort()).toEqual(
        ["a0", "a1", "a2", "a3", "a4"].map((r) => [r, seqOf.get(r)]),
      );
      // What the sockets saw is what D1 holds.
      const stored = await ok(await api("GET", `${posts(thread.id)}?flat=true&per_page=100`, { token: b.token }));
      expect(stored.data.map((p: { seq: number; body: string }) => [p.seq, p.body])).toEqual(createdBodies(ca));

      // Edits, reactions and moderation reach the sockets too; hidden bodies only reach moderators.
      const target = stored.data[0];
      const instructor = await staffSession(t, "instructor");
      const staff = await connect(`/v1/admin/discussions/${thread.id}/live`, instructor.token, "protocol");
      await ok(
        await api("PATCH", `/v1/admin/discussions/${thread.id}/posts/${target.id}`, {
          token: t.key,
          body: { hidden: true },
        }),
      );
      const [learnerSees] = await cb.until((f) => f.type === "post.updated" && f.change === "hidden");
      const [staffSees] = await staff.until((f) => f.type === "post.updated" && f.change === "hidden");
      expect(learnerSees.post.body).toBeNull();
      expect(staffSees.post.body).toBe(target.body);
      expect(learnerSees.seq).toBe(12);
      ca.send({ type: "react", post_id: stored.data[1].id, emoji: "👍", ref: "r" });
      const [reacted] = await cb.until((f) => f.change === "reactions");
      expect(reacted.post.reactions).toEqual({ "👍": 1 });
      for (const c of [ca, cb, staff]) c.ws.close(1000, "done");
    });

    it("keeps the socket open after invalid frames and refuses a locked thread", async () => {
      const thread = await ok(
        await post(t, "/v1/admin/discussions", { course_id: course.courseId, title: "Frames" }),
        201,
      );
      const c = await connect(live(thread.id), a.token);
      c.send("not json");
      c.send({ type: "shout", body: "?", ref: "shout" });
      c.send({ type: "post", body: "x".repeat(10_001), ref: "big" });
      c.send({ type: "post", body: "ok", parent_id: 99999999, ref: "orphan" });
      c.send({ type: "edit", post_id: 1, ref: "empty-edit" });
      c.send({ type: "delete", post_id: 99999999, ref: "missing" });
      c.send({ type: "ping", ref: "p" });
      const errors = await c.until((f) => f.type === "error", 6);
      const byRef = new Map(errors.map((e) => [e.ref, e]));
      expect(byRef.get(null)).toMatchObject({ code: "malformed-json", status: 400 });
      expect(byRef.get("shout")).toMatchObject({ code: "unknown-type", status: 422 });
      expect(byRef.get("big")).toMatchObject({ code: "validation-error", status: 422, errors: [{ path: "body" }] });
      expect(byRef.get("orphan")).toMatchObject({ code: "validation-error", errors: [{ path: "parent_id" }] });
      expect(byRef.get("empty-edit")).toMatchObject({ code: "validation-error", errors: [{ path: "body" }] });
      expect(byRef.get("missing")).toMatchObject({ code: "not-found", status: 404 });
      await c.until((f) => f.type === "pong" && f.ref === "p");
      c.send({ type: "post", body: "still here", ref: "fine" });
      await c.until((f) => f.type === "ack" && f.ref === "fine");
      expect(c.closed).toBeNull();

      await ok(await api("PATCH", `/v1/admin/discussions/${thread.id}`, { token: t.key, body: { locked: true } }));
      await c.until((f) => f.type === "thread.updated" && f.thread.locked === true);
      c.send({ type: "post", body: "after the lock", ref: "late" });
      const [locked] = await c.until((f) => f.type === "error" && f.ref === "late");
      expect(locked).toMatchObject({ status: 409, code: "thread-locked" });
      c.send({ type: "ping", ref: "alive" });
      await c.until((f) => f.type === "pong" && f.ref === "alive");
      c.ws.close(1000);
    });

    it("limits the writes of one socket (an error frame, the socket stays open)", async () => {
      const thread = await ok(
        await post(t, "/v1/admin/discussions", { course_id: course.courseId, title: "Flood" }),
        201,
      );
      const target = await ok(await write(b, thread.id, { body: "React to me" }), 201);
      const c = await connect(live(thread.id), a.token);
      for (let i = 0; i < 31; i++) c.send({ type: "react", post_id: target.id, emoji: "tada", ref: `r${i}` });
      const [limited] = await c.until((f) => f.type === "error" && f.code === "rate-limited");
      expect(limited).toMatchObject({ status: 429, retry_after: expect.any(Number) });
      await c.until((f) => f.type === "ack", 30);
      c.send({ type: "ping", ref: "still" });
      await c.until((f) => f.type === "pong" && f.ref === "still");
      c.ws.close(1000);
    });

    it("replays what a reconnecting client missed with ?since", async () => {
      const thread = await ok(
        await post(t, "/v1/admin/discussions", { course_id: course.courseId, title: "Since" }),
        201,
      );
      const first = await connect(live(thread.id), a.token);
      first.send({ type: "post", body: "one", ref: "1" });
      await first.until((f) => f.type === "ack");
      first.ws.close(1000);
      const lastSeen = 1;
      const two = await ok(await write(b, thread.id, { body: "two" }), 201);
      await ok(await write(b, thread.id, { body: "three" }), 201);
      await ok(await api("PATCH", `${posts(thread.id)}/${two.id}`, { token: b.token, body: { body: "two (edited)" } }));
      const again = await connect(live(thread.id), a.token, "protocol", `?since=${lastSeen}`);
      expect(again.frames[0]).toMatchObject({
        type: "welcome",
        last_seq: 4,
        replay: { since: 1, count: 2, truncated: false },
      });
      const replay = again.frames.slice(1).map((f) => [f.type, f.seq, f.post.body]);
      expect(replay).toEqual([
        ["post.created", 3, "three"],
        ["post.created", 4, "two (edited)"],
      ]);
      again.ws.close(1000);
    });

    it("refuses non-upgrades, missing tokens, outsiders and another academy's thread", async () => {
      expect((await api("GET", live(course.threadId), { token: a.token })).status).toBe(426);
      const upgrade = (headers: Record<string, string>) =>
        worker.fetch(
          new Request(`http://lectern.test${live(course.threadId)}`, { headers: { Upgrade: "websocket", ...headers } }),
          env,
          createExecutionContext(),
        );
      expect((await upgrade({})).status).toBe(401);
      expect((await upgrade({ "Sec-WebSocket-Protocol": `bearer.${outsider.token}` })).status).toBe(403);
      const stranger = await learnerSession(other);
      expect((await upgrade({ "Sec-WebSocket-Protocol": `bearer.${stranger.token}` })).status).toBe(404);
      const adminLive = (token: string) =>
        worker.fetch(
          new Request(`http://lectern.test/v1/admin/discussions/${course.threadId}/live?token=${token}`, {
            headers: { Upgrade: "websocket" },
          }),
          env,
          createExecutionContext(),
        );
      expect((await adminLive(other.key)).status).toBe(404);
      expect((await adminLive(a.token)).status).toBe(403);
      // The token in the query is for upgrades only.
      expectProblem(await api("GET", `/v1/learner/discussions/${course.threadId}?token=${a.token}`), 401);
    });

    it("a room thrown out of memory is re-created and serves both members again", async () => {
      const thread = await ok(
        await post(t, "/v1/admin/discussions", { course_id: course.courseId, title: "Evict" }),
        201,
      );
      const ca = await connect(live(thread.id), a.token);
      const cb = await connect(live(thread.id), b.token);
      ca.send({ type: "post", body: "before", ref: "x" });
      await cb.until((f) => f.type === "post.created");
      const stub = roomOf(env, t.id, thread.id) as unknown as DurableObjectStub<DiscussionRoom>;
      // The members are on the sockets' serialized attachments, not in the object's memory.
      const members = await runInDurableObject(stub, (_room, state) =>
        state.getWebSockets().map((ws) => (ws.deserializeAttachment() as { userId: number }).userId),
      );
      expect(members.sort()).toEqual([a.id, b.id].sort());

      await abortAllDurableObjects();
      // Sockets held through the eviction keep working (hibernation); if the runtime closed them, members
      // reconnect with `since` and the new instance replays what they missed.
      let [xa, xb] = [ca, cb];
      await new Promise((r) => setTimeout(r, 20));
      const lastSeq = 1;
      if (ca.closed || cb.closed) {
        xa = await connect(live(thread.id), a.token, "protocol", `?since=${lastSeq}`);
        xb = await connect(live(thread.id), b.token, "protocol", `?since=${lastSeq}`);
      }
      xb.send({ type: "post", body: "after", ref: "y" });
      await ok(await write(a, thread.id, { body: "after (rest)" }), 201);
      const seenA = await xa.until((f) => f.type === "post.created" && f.seq > lastSeq, 2);
      const seenB = await xb.until((f) => f.type === "post.created" && f.seq > lastSeq, 2);
      expect(seenA.map((f) => [f.seq, f.post.body])).toEqual(seenB.map((f) => [f.seq, f.post.body]));
      expect(seenA.map((f) => f.seq)).toEqual([2, 3]);
      console.log(
        `room eviction: sockets ${ca.closed || cb.closed ? "were closed; members reconnected with since" : "survived"}`,
      );
      for (const c of [xa, xb]) c.ws.close(1000);
    });
  });
});
