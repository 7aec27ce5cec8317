/**
 * xAPI (TinCan) and cmi5 packages launched from a course: packages built here with fflate are imported, launched
 * through the progress launch (TinCan / cmi5 launch parameters, a launch credential scoped to the learner and the
 * registration), and the statements the content sends to /xapi/statements drive the module's progress. cmi5:
 * LMS.LaunchData before launch, the one-time fetch URL, the LMS "launched" and "satisfied" statements, moveOn.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { strToU8, zipSync } from "fflate";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../src/index";
import { importPackage } from "../src/modules/packages/import";
import { applyStatementsToProgress, lmsLrsContext } from "../src/modules/packages/xapi-launch";
import { createDb } from "../src/platform/db";
import { api, expectStatus } from "./helpers/api";
import { createTenant, learnerSession, type TestTenant, unique } from "./helpers/factories";
import { type Recorded, recordingD1 } from "./helpers/recording-d1";
import { type LrsCredential, lrsCredential, q, xapi } from "./helpers/xapi";

type Learner = Awaited<ReturnType<typeof learnerSession>>;

const COMPLETED = "http://adlnet.gov/expapi/verbs/completed";
const PASSED = "http://adlnet.gov/expapi/verbs/passed";
const FAILED = "http://adlnet.gov/expapi/verbs/failed";
const LAUNCHED = "http://adlnet.gov/expapi/verbs/launched";
const SATISFIED = "https://w3id.org/xapi/adl/verbs/satisfied";
const SESSION_EXT = "https://w3id.org/xapi/cmi5/context/extensions/sessionid";

async function raw(method: string, url: string, headers: Record<string, string> = {}, body?: BodyInit) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(url, { method, headers, body }), env, ctx);
  await waitOnExecutionContext(ctx);
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

async function post(t: TestTenant, path: string, body: unknown) {
  const res = await api("POST", path, { token: t.key, body });
  expect(res.status, `${path}: ${res.text}`).toBeLessThan(300);
  return res.body;
}

async function imported(t: TestTenant, zip: Uint8Array) {
  const res = await raw(
    "POST",
    "http://lectern.test/v1/admin/packages",
    { authorization: `Bearer ${t.key}`, "content-type": "application/zip", "content-length": String(zip.length) },
    zip,
  );
  expect(res.status, res.text).toBe(201);
  await importPackage(env, t.id, res.body.id);
  const pkg = await api("GET", `/v1/admin/packages/${res.body.id}`, { token: t.key });
  expectStatus(pkg, 200);
  expect(pkg.body.status, JSON.stringify(pkg.body)).toBe("ready");
  return pkg.body;
}

async function courseWith(t: TestTenant, packageId: number, learners: Learner[]) {
  const module = await post(t, "/v1/admin/modules", {
    type: "scorm",
    name: unique("Package"),
    settings: { package_id: packageId },
  });
  const course = await post(t, "/v1/admin/courses", { name: unique("Course") });
  const section = await post(t, `/v1/admin/courses/${course.id}/sections`, { name: "Week 1" });
  const placement = await post(t, `/v1/admin/courses/${course.id}/sections/${section.id}/placements`, {
    module_id: module.id,
    required: true,
  });
  expectStatus(await api("POST", `/v1/admin/courses/${course.id}/publish`, { token: t.key }), 200);
  await post(t, `/v1/admin/courses/${course.id}/enrollments`, { learner_ids: learners.map((l) => l.id) });
  return { courseId: course.id as number, placementId: placement.id as number };
}

const launchPath = (c: number, p: number) => `/v1/learner/courses/${c}/modules/${p}/launch`;

async function progressOf(t: TestTenant, placementId: number, userId: number) {
  return env.DB.prepare(
    "SELECT status, score, max_score, attempts FROM module_progress WHERE tenant_id = ? AND placement_id = ? AND user_id = ?",
  )
    .bind(t.id, placementId, userId)
    .first<{ status: string; score: number | null; max_score: number | null; attempts: number }>();
}

async function enrollmentOf(t: TestTenant, courseId: number, userId: number) {
  return env.DB.prepare(
    "SELECT progress_percent, completed_at FROM enrollments WHERE tenant_id = ? AND course_id = ? AND user_id = ?",
  )
    .bind(t.id, courseId, userId)
    .first<{ progress_percent: number; completed_at: string | null }>();
}

function params(launchUrl: string) {
  const url = new URL(launchUrl);
  return { url, get: (k: string) => url.searchParams.get(k) };
}

const page = (title: string) =>
  strToU8(`<!doctype html><html><head><title>${title}</title></head><body></body></html>`);

// ---- xAPI (TinCan) ------------------------------------------------------------------------------------------------

const ACTIVITY = "http://example.com/activities/fire-safety-xapi";
const TINCAN = `<?xml version="1.0" encoding="utf-8"?>
<tincan xmlns="http://projecttincan.com/tincan.xsd">
  <activities>
    <activity id="${ACTIVITY}" type="http://adlnet.gov/expapi/activities/course">
      <name>Fire Safety (xAPI)</name>
      <launch lang="en-US">story.html</launch>
    </activity>
    <activity id="${ACTIVITY}/q1" type="http://adlnet.gov/expapi/activities/cmi.interaction">
      <name>Question 1</name>
    </activity>
  </activities>
</tincan>`;

describe("xAPI (TinCan) package: launch parameters, launch credential, statements drive progress", () => {
  let t: TestTenant;
  let other: TestTenant;
  let a: Learner;
  let b: Learner;
  let tenantCred: LrsCredential;
  let otherCred: LrsCredential;
  let course: Awaited<ReturnType<typeof courseWith>>;
  let playerA: any;
  let playerB: any;
  let xapiPackageId: number;

  beforeAll(async () => {
    [t, other] = await Promise.all([createTenant(), createTenant()]);
    [a, b] = await Promise.all([learnerSession(t), learnerSession(t)]);
    [tenantCred, otherCred] = await Promise.all([lrsCredential(t), lrsCredential(other)]);
    const pkg = await imported(t, zipSync({ "tincan.xml": strToU8(TINCAN), "story.html": page("Story") }));
    expect(pkg.standard).toBe("xapi");
    xapiPackageId = pkg.id;
    course = await courseWith(t, pkg.id, [a, b]);
  });

  it("launch answers the content URL with the TinCan launch parameters and a registration kept per enrollment", async () => {
    const res = await api("POST", launchPath(course.courseId, course.placementId), { token: a.token });
    expectStatus(res, 200);
    playerA = res.body.player;
    expect(playerA).toMatchObject({ standard: "xapi", activity_id: ACTIVITY, endpoint: "http://lectern.test/xapi/" });
    const { url, get } = params(playerA.launch_url);
    expect(url.pathname).toMatch(/^\/content\/[^/]+\/story\.html$/);
    expect(get("endpoint")).toBe("http://lectern.test/xapi/");
    expect(get("auth")).toMatch(/^Basic /);
    expect(get("registration")).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(get("registration")).toBe(playerA.registration);
    expect(get("activity_id")).toBe(ACTIVITY);
    const actor = JSON.parse(get("actor") as string);
    expect(actor).toEqual({
      objectType: "Agent",
      name: expect.any(String),
      account: { homePage: "http://lectern.test", name: String(a.id) },
    });
    // The content itself is served under the URL.
    const file = await raw("GET", `${url.origin}${url.pathname}`);
    expect(file.status).toBe(200);
    expect(file.text).toContain("Story");
    // A second launch keeps the registration; the link is stored.
    const again = await api("POST", launchPath(course.courseId, course.placementId), { token: a.token });
    expect(again.body.player.registration).toBe(playerA.registration);
    const row = await env.DB.prepare(
      "SELECT enrollment_id, placement_id, user_id, standard FROM package_registrations WHERE tenant_id = ? AND registration = ?",
    )
      .bind(t.id, playerA.registration)
      .first<{ placement_id: number; user_id: number; standard: string }>();
    expect(row).toMatchObject({ placement_id: course.placementId, user_id: a.id, standard: "xapi" });
    playerB = (await api("POST", launchPath(course.courseId, course.placementId), { token: b.token })).body.player;
    expect(playerB.registration).not.toBe(playerA.registration);
  });

  const stmt = (player: any, verb: string, extra: Record<string, unknown> = {}, object = ACTIVITY) => ({
    id: crypto.randomUUID(),
    actor: player.actor,
    verb: { id: verb },
    object: { objectType: "Activity", id: object },
    context: { registration: player.registration },
    ...extra,
  });
  const auth = (player: any) => params(player.launch_url).get("auth") as string;

  it("the launch credential is scoped: no credential 401, a forged one 401, another actor or registration 403", async () => {
    expect((await xapi("POST", "/xapi/statements", { json: stmt(playerA, COMPLETED) })).status).toBe(401);
    const forged = `Basic ${btoa("lectern-launch:eyJhbGciOiJIUzI1NiJ9.e30.bad")}`;
    expect((await xapi("POST", "/xapi/statements", { auth: forged, json: stmt(playerA, COMPLETED) })).status).toBe(401);
    const asB = { ...stmt(playerA, COMPLETED), actor: playerB.actor };
    expect((await xapi("POST", "/xapi/statements", { auth: auth(playerA), json: asB })).status).toBe(403);
    const otherReg = { ...stmt(playerA, COMPLETED), context: { registration: playerB.registration } };
    expect((await xapi("POST", "/xapi/statements", { auth: auth(playerA), json: otherReg })).status).toBe(403);
    // Queries: only the learner's own statements.
    expect((await xapi("GET", "/xapi/statements", { auth: auth(playerA) })).status).toBe(403);
    expect(
      (await xapi("GET", `/xapi/statements?${q({ registration: playerA.registration })}`, { auth: auth(playerA) }))
        .status,
    ).toBe(200);
    expect((await progressOf(t, course.placementId, a.id))?.status).toBe("in_progress");
  });

  it("the launch credential stops working while its enrollment is revoked, and works again once granted", async () => {
    const change = async (verb: "revoke" | "grant") =>
      expectStatus(
        await api("POST", `/v1/admin/courses/${course.courseId}/enrollments/${verb}`, {
          token: t.key,
          body: { learner_ids: [b.id] },
        }),
        200,
      );
    const attempted = () =>
      xapi("POST", "/xapi/statements", {
        auth: auth(playerB),
        json: stmt(playerB, "http://adlnet.gov/expapi/verbs/attempted"),
      });
    await change("revoke");
    expect((await attempted()).status).toBe(403);
    const read = await xapi("GET", `/xapi/statements?${q({ registration: playerB.registration })}`, {
      auth: auth(playerB),
    });
    expect(read.status).toBe(403);
    await change("grant");
    expectStatus(await attempted(), 200);
  });

  it("statements of another learner, an unknown registration or another academy change nothing", async () => {
    // A tenant credential may store anything; only the registration's own learner drives its progress.
    const wrongActor = { ...stmt(playerB, PASSED), actor: playerA.actor };
    expectStatus(await xapi("POST", "/xapi/statements", { auth: tenantCred.basic, json: wrongActor }), 200);
    const unknown = { ...stmt(playerB, PASSED), context: { registration: crypto.randomUUID() } };
    expectStatus(await xapi("POST", "/xapi/statements", { auth: tenantCred.basic, json: unknown }), 200);
    // Another academy's LRS does not know this registration.
    expectStatus(await xapi("POST", "/xapi/statements", { auth: otherCred.basic, json: stmt(playerB, PASSED) }), 200);
    // A sub-activity's completion is not the package's.
    expectStatus(
      await xapi("POST", "/xapi/statements", {
        auth: auth(playerB),
        json: stmt(playerB, COMPLETED, {}, `${ACTIVITY}/q1`),
      }),
      200,
    );
    expect((await progressOf(t, course.placementId, b.id))?.status).toBe("in_progress");
    expect((await progressOf(t, course.placementId, a.id))?.status).toBe("in_progress");
  });

  it("a completed statement sent with the launch credential completes the module and the course", async () => {
    const res = await xapi("POST", "/xapi/statements", {
      auth: auth(playerA),
      json: [
        stmt(playerA, "http://adlnet.gov/expapi/verbs/attempted"),
        stmt(playerA, COMPLETED, { result: { completion: true } }),
      ],
    });
    expectStatus(res, 200);
    expect(await progressOf(t, course.placementId, a.id)).toMatchObject({ status: "completed" });
    const enrollment = await enrollmentOf(t, course.courseId, a.id);
    expect(enrollment?.progress_percent).toBe(100);
    expect(enrollment?.completed_at).not.toBeNull();
  });

  it("failed then passed (with score) grade the module; a replayed statement changes nothing", async () => {
    const failed = stmt(playerB, FAILED, { result: { success: false, score: { scaled: 0.4 } } });
    expectStatus(await xapi("POST", "/xapi/statements", { auth: auth(playerB), json: failed }), 200);
    expect(await progressOf(t, course.placementId, b.id)).toMatchObject({ status: "failed", score: 40 });
    const passed = stmt(playerB, PASSED, { result: { success: true, completion: true, score: { scaled: 0.85 } } });
    // PUT with the statement id, as some content does.
    const put = await xapi("PUT", `/xapi/statements?statementId=${passed.id}`, { auth: auth(playerB), json: passed });
    expect(put.status, put.text).toBe(204);
    const after = await progressOf(t, course.placementId, b.id);
    expect(after).toMatchObject({ status: "passed", score: 85, max_score: 100 });
    // The same statement again (a retried request), and a new one saying the same: nothing changes.
    expectStatus(await xapi("POST", "/xapi/statements", { auth: auth(playerB), json: passed }), 200);
    expectStatus(
      await xapi("POST", "/xapi/statements", {
        auth: auth(playerB),
        json: stmt(playerB, PASSED, { result: { success: true, score: { scaled: 0.85 } } }),
      }),
      200,
    );
    expect(await progressOf(t, course.placementId, b.id)).toEqual(after);
    expect((await enrollmentOf(t, course.courseId, b.id))?.completed_at).not.toBeNull();
  });

  it("answered statements are the registration's interactions (admin detail)", async () => {
    const answered = stmt(
      playerB,
      "http://adlnet.gov/expapi/verbs/answered",
      { result: { response: "b", success: true, score: { scaled: 1 } } },
      `${ACTIVITY}/q1`,
    );
    (answered.object as Record<string, unknown>).definition = { interactionType: "choice" };
    expectStatus(await xapi("POST", "/xapi/statements", { auth: auth(playerB), json: answered }), 200);
    // Someone else's answer in the same registration is not the learner's.
    const foreign = { ...answered, id: crypto.randomUUID(), actor: playerA.actor };
    expectStatus(await xapi("POST", "/xapi/statements", { auth: tenantCred.basic, json: foreign }), 200);
    const detail = await api("GET", `/v1/admin/packages/${xapiPackageId}/registrations/${playerB.registration}`, {
      token: t.key,
    });
    expectStatus(detail, 200);
    expect(detail.body.result).toEqual({ status: "passed", score: 85 });
    expect(detail.body.interactions).toEqual([
      {
        id: `${ACTIVITY}/q1`,
        type: "choice",
        response: "b",
        success: true,
        score_scaled: 1,
        timestamp: expect.any(String),
      },
    ]);
  });

  it("a new package version moves the registration to it; the registration stays the same", async () => {
    const v2 = zipSync({
      "tincan.xml": strToU8(TINCAN.replaceAll(ACTIVITY, `${ACTIVITY}-v2`)),
      "story.html": page("V2"),
    });
    const res = await raw(
      "POST",
      `http://lectern.test/v1/admin/packages/${xapiPackageId}/versions`,
      { authorization: `Bearer ${t.key}`, "content-type": "application/zip", "content-length": String(v2.length) },
      v2,
    );
    expect(res.status, res.text).toBe(201);
    await importPackage(env, t.id, xapiPackageId);
    const again = await api("POST", launchPath(course.courseId, course.placementId), { token: a.token });
    expectStatus(again, 200);
    expect(again.body.player).toMatchObject({
      registration: playerA.registration,
      package_version: 2,
      activity_id: `${ACTIVITY}-v2`,
    });
    const row = await env.DB.prepare(
      "SELECT package_version, activity_id FROM package_registrations WHERE tenant_id = ? AND registration = ?",
    )
      .bind(t.id, playerA.registration)
      .first();
    expect(row).toEqual({ package_version: 2, activity_id: `${ACTIVITY}-v2` });
  });
});

// ---- cmi5 ----------------------------------------------------------------------------------------------------------

const COURSE_ID = "https://example.com/courses/cmi5-fire";
const AU_ID = "https://example.com/courses/cmi5-fire/au/1";
const CMI5_XML = `<?xml version="1.0" encoding="utf-8"?>
<courseStructure xmlns="https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd">
  <course id="${COURSE_ID}">
    <title><langstring lang="en-US">Fire Safety (cmi5)</langstring></title>
    <description><langstring lang="en-US">cmi5 test course</langstring></description>
  </course>
  <au id="${AU_ID}" moveOn="CompletedAndPassed" masteryScore="0.8" launchMethod="AnyWindow">
    <title><langstring lang="en-US">Lesson 1</langstring></title>
    <description><langstring lang="en-US">The lesson</langstring></description>
    <url>au/index.html</url>
  </au>
</courseStructure>`;

describe("cmi5 package: LaunchData, fetch URL, LMS statements, moveOn completes the module", () => {
  let t: TestTenant;
  let other: TestTenant;
  let learner: Learner;
  let racer: Learner;
  let tenantCred: LrsCredential;
  let otherCred: LrsCredential;
  let course: Awaited<ReturnType<typeof courseWith>>;
  let player: any;
  let authToken: string;

  beforeAll(async () => {
    [t, other] = await Promise.all([createTenant(), createTenant()]);
    [learner, racer] = await Promise.all([learnerSession(t), learnerSession(t)]);
    [tenantCred, otherCred] = await Promise.all([lrsCredential(t), lrsCredential(other)]);
    const pkg = await imported(t, zipSync({ "cmi5.xml": strToU8(CMI5_XML), au: { "index.html": page("AU 1") } }));
    expect(pkg.standard).toBe("cmi5");
    course = await courseWith(t, pkg.id, [learner, racer]);
  });

  it("launch answers the AU URL with endpoint, fetch, actor, registration and activityId", async () => {
    const res = await api("POST", launchPath(course.courseId, course.placementId), { token: learner.token });
    expectStatus(res, 200);
    player = res.body.player;
    expect(player).toMatchObject({
      standard: "cmi5",
      activity_id: AU_ID,
      au: { id: AU_ID, move_on: "CompletedAndPassed" },
      aus: [{ id: AU_ID, satisfied: false }],
    });
    const { url, get } = params(player.launch_url);
    expect(url.pathname).toMatch(/^\/content\/[^/]+\/au\/index\.html$/);
    expect(get("endpoint")).toBe("http://lectern.test/xapi/");
    expect(get("fetch")).toBe(player.fetch_url);
    expect(get("registration")).toBe(player.registration);
    expect(get("activityId")).toBe(AU_ID);
    expect(JSON.parse(get("actor") as string)).toMatchObject({
      objectType: "Agent",
      account: { homePage: "http://lectern.test", name: String(learner.id) },
    });
  });

  const launchDataPath = () =>
    `/xapi/activities/state?${q({
      activityId: AU_ID,
      agent: player.actor,
      registration: player.registration,
      stateId: "LMS.LaunchData",
    })}`;

  it("LMS.LaunchData and the LMS launched statement are in the LRS before the AU runs", async () => {
    const doc = await xapi("GET", launchDataPath(), { auth: tenantCred.basic });
    expect(doc.status, doc.text).toBe(200);
    expect(doc.body).toMatchObject({
      launchMode: "Normal",
      moveOn: "CompletedAndPassed",
      masteryScore: 0.8,
      launchMethod: "AnyWindow",
      returnURL: expect.any(String),
      contextTemplate: { extensions: { [SESSION_EXT]: player.session_id } },
    });
    const launched = await xapi("GET", `/xapi/statements?${q({ verb: LAUNCHED, registration: player.registration })}`, {
      auth: tenantCred.basic,
    });
    expectStatus(launched, 200);
    expect(launched.body.statements).toHaveLength(1);
    expect(launched.body.statements[0]).toMatchObject({
      actor: player.actor,
      object: { id: AU_ID },
      context: { registration: player.registration, extensions: { [SESSION_EXT]: player.session_id } },
    });
    // Another academy's LRS has none of it.
    expect((await xapi("GET", launchDataPath(), { auth: otherCred.basic })).status).toBe(404);
  });

  it("the fetch URL answers the auth-token once, then error-code 1; a bad token is error-code 2", async () => {
    const first = await raw("POST", player.fetch_url);
    expect(first.status, first.text).toBe(200);
    expect(first.body["auth-token"]).toEqual(expect.any(String));
    authToken = first.body["auth-token"];
    const second = await raw("POST", player.fetch_url);
    expect(second.status).toBe(400);
    expect(second.body).toMatchObject({ "error-code": "1", "error-text": expect.any(String) });
    const bad = await raw("POST", "http://lectern.test/cmi5/fetch/not-a-token");
    expect(bad.status).toBe(401);
    expect(bad.body["error-code"]).toBe("2");
    // The auth-token reads LaunchData but may not change it.
    expect((await xapi("GET", launchDataPath(), { auth: `Basic ${authToken}` })).status).toBe(200);
    const write = await xapi("PUT", launchDataPath(), { auth: `Basic ${authToken}`, json: { launchMode: "Review" } });
    expect(write.status).toBe(403);
    // Nor send the LMS's own verbs.
    const forged = {
      actor: player.actor,
      verb: { id: SATISFIED },
      object: { objectType: "Activity", id: COURSE_ID },
      context: { registration: player.registration },
    };
    expect((await xapi("POST", "/xapi/statements", { auth: `Basic ${authToken}`, json: forged })).status).toBe(403);
  });

  const auStatement = (verb: string, result?: Record<string, unknown>) => ({
    id: crypto.randomUUID(),
    actor: player.actor,
    verb: { id: verb },
    object: { objectType: "Activity", id: AU_ID },
    ...(result ? { result } : {}),
    context: {
      registration: player.registration,
      contextActivities: { category: [{ id: "https://w3id.org/xapi/cmi5/context/categories/moveon" }] },
      extensions: { [SESSION_EXT]: player.session_id },
    },
  });

  it("another academy's statements for this registration have no effect", async () => {
    expectStatus(
      await xapi("POST", "/xapi/statements", {
        auth: otherCred.basic,
        json: [auStatement(COMPLETED, { completion: true }), auStatement(PASSED, { success: true })],
      }),
      200,
    );
    expect((await progressOf(t, course.placementId, learner.id))?.status).toBe("in_progress");
  });

  it("completed alone does not satisfy CompletedAndPassed; passed then does: satisfied statements, module passed", async () => {
    const auth = `Basic ${authToken}`;
    expectStatus(
      await xapi("POST", "/xapi/statements", { auth, json: auStatement(COMPLETED, { completion: true }) }),
      200,
    );
    expect((await progressOf(t, course.placementId, learner.id))?.status).toBe("in_progress");
    const satisfiedQuery = `/xapi/statements?${q({ verb: SATISFIED, registration: player.registration })}`;
    expect((await xapi("GET", satisfiedQuery, { auth: tenantCred.basic })).body.statements).toHaveLength(0);

    const passed = auStatement(PASSED, { success: true, score: { scaled: 0.9 } });
    expectStatus(await xapi("POST", "/xapi/statements", { auth, json: passed }), 200);
    const progress = await progressOf(t, course.placementId, learner.id);
    expect(progress).toMatchObject({ status: "passed", score: 90 });
    const satisfied = (await xapi("GET", satisfiedQuery, { auth: tenantCred.basic })).body.statements;
    expect(satisfied.map((s: any) => s.object.id).sort()).toEqual([AU_ID, COURSE_ID].sort());
    expect(satisfied[0].actor).toEqual(player.actor);
    expect((await enrollmentOf(t, course.courseId, learner.id))?.completed_at).not.toBeNull();

    // Replays and repeats: no second satisfied statement, no new attempt.
    expectStatus(await xapi("POST", "/xapi/statements", { auth, json: passed }), 200);
    expectStatus(
      await xapi("POST", "/xapi/statements", {
        auth,
        json: auStatement(PASSED, { success: true, score: { scaled: 0.9 } }),
      }),
      200,
    );
    expect((await xapi("GET", satisfiedQuery, { auth: tenantCred.basic })).body.statements).toHaveLength(2);
    expect(await progressOf(t, course.placementId, learner.id)).toEqual(progress);
    const next = await api("POST", launchPath(course.courseId, course.placementId), { token: learner.token });
    expect(next.body.player.aus).toEqual([expect.objectContaining({ id: AU_ID, satisfied: true })]);
    expect(next.body.player.session_id).not.toBe(player.session_id);
  });

  it("completed and passed sent at the same time both count (CompletedAndPassed is met once)", async () => {
    const p = (await api("POST", launchPath(course.courseId, course.placementId), { token: racer.token })).body.player;
    const token = (await raw("POST", p.fetch_url)).body["auth-token"];
    const say = (verb: string, result: Record<string, unknown>) => ({
      actor: p.actor,
      verb: { id: verb },
      object: { objectType: "Activity", id: AU_ID },
      result,
      context: { registration: p.registration, extensions: { [SESSION_EXT]: p.session_id } },
    });
    const [one, two] = await Promise.all([
      xapi("POST", "/xapi/statements", { auth: `Basic ${token}`, json: say(COMPLETED, { completion: true }) }),
      xapi("POST", "/xapi/statements", { auth: `Basic ${token}`, json: say(PASSED, { success: true }) }),
    ]);
    expectStatus(one, 200);
    expectStatus(two, 200);
    expect(await progressOf(t, course.placementId, racer.id)).toMatchObject({ status: "passed", score: 100 });
    const satisfied = await xapi("GET", `/xapi/statements?${q({ verb: SATISFIED, registration: p.registration })}`, {
      auth: tenantCred.basic,
    });
    expect(satisfied.body.statements).toHaveLength(2);
  });

  it("a new launch abandons a session the AU never terminated; a terminated one is not abandoned", async () => {
    const ABANDONED = "https://w3id.org/xapi/adl/verbs/abandoned";
    const abandonedQuery = `/xapi/statements?${q({ verb: ABANDONED, registration: player.registration })}`;
    // The previous test's second launch abandoned the first session (never terminated).
    const first = (await xapi("GET", abandonedQuery, { auth: tenantCred.basic })).body.statements;
    expect(first.map((s: any) => s.context.extensions[SESSION_EXT])).toEqual([player.session_id]);
    expect(first[0].result.duration).toMatch(/^PT\d+S$/);
    // Launch, terminate through the LRS, launch again: no new abandoned statement for the terminated session.
    const launch = await api("POST", launchPath(course.courseId, course.placementId), { token: learner.token });
    const p = launch.body.player;
    const token = (await raw("POST", p.fetch_url)).body["auth-token"];
    const terminated = {
      actor: p.actor,
      verb: { id: "http://adlnet.gov/expapi/verbs/terminated" },
      object: { objectType: "Activity", id: AU_ID },
      context: { registration: p.registration, extensions: { [SESSION_EXT]: p.session_id } },
    };
    expectStatus(await xapi("POST", "/xapi/statements", { auth: `Basic ${token}`, json: terminated }), 200);
    await api("POST", launchPath(course.courseId, course.placementId), { token: learner.token });
    const after = (await xapi("GET", abandonedQuery, { auth: tenantCred.basic })).body.statements;
    const sessions = after.map((s: any) => s.context.extensions[SESSION_EXT]);
    expect(sessions).not.toContain(p.session_id);
    // The session the previous test launched (never terminated) was abandoned by the launch above.
    expect(sessions).toHaveLength(2);
  });
});

// ---- cmi5 with two AUs: waive, registrations (admin) -------------------------------------------------------------

const TWO_AU_COURSE = "https://example.com/courses/cmi5-two";
const AU_A = `${TWO_AU_COURSE}/au/a`;
const AU_B = `${TWO_AU_COURSE}/au/b`;
const TWO_AUS = `<?xml version="1.0" encoding="utf-8"?>
<courseStructure xmlns="https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd">
  <course id="${TWO_AU_COURSE}"><title><langstring lang="en-US">Two AUs</langstring></title></course>
  <block id="${TWO_AU_COURSE}/block/1">
    <title><langstring lang="en-US">Block</langstring></title>
    <au id="${AU_A}" moveOn="Completed"><title><langstring lang="en-US">A</langstring></title><url>a.html</url></au>
    <au id="${AU_B}" moveOn="Passed"><title><langstring lang="en-US">B</langstring></title><url>b.html</url></au>
  </block>
</courseStructure>`;

describe("cmi5 waive and the registrations of a package (admin)", () => {
  let t: TestTenant;
  let other: TestTenant;
  let learner: Learner;
  let pkgId: number;
  let course: Awaited<ReturnType<typeof courseWith>>;
  let player: any;

  beforeAll(async () => {
    [t, other] = await Promise.all([createTenant(), createTenant()]);
    learner = await learnerSession(t);
    const pkg = await imported(t, zipSync({ "cmi5.xml": strToU8(TWO_AUS), "a.html": page("A"), "b.html": page("B") }));
    pkgId = pkg.id;
    course = await courseWith(t, pkg.id, [learner]);
    player = (await api("POST", launchPath(course.courseId, course.placementId), { token: learner.token })).body.player;
    expect(player.au.id).toBe(AU_A);
  });

  const waivePath = () => `/v1/admin/packages/${pkgId}/registrations/${player.registration}/waive`;

  it("lists and gets registrations; another academy's, another package's or a malformed id are refused", async () => {
    const list = await api("GET", `/v1/admin/packages/${pkgId}/registrations?user_id=${learner.id}`, { token: t.key });
    expectStatus(list, 200);
    expect(list.body.data).toEqual([
      expect.objectContaining({
        registration: player.registration,
        standard: "cmi5",
        user_id: learner.id,
        placement_id: course.placementId,
        result: null,
      }),
    ]);
    expect(list.body.meta.total).toBe(1);
    const one = await api("GET", `/v1/admin/packages/${pkgId}/registrations/${player.registration}`, { token: t.key });
    expectStatus(one, 200);
    expect(
      (await api("GET", `/v1/admin/packages/${pkgId}/registrations/${player.registration}`, { token: other.key }))
        .status,
    ).toBe(404);
    expect((await api("GET", `/v1/admin/packages/${pkgId}/registrations`, { token: other.key })).status).toBe(404);
    expect((await api("GET", `/v1/admin/packages/${pkgId}/registrations/not-a-uuid`, { token: t.key })).status).toBe(
      422,
    );
    expect((await api("GET", `/v1/admin/packages/${pkgId}/registrations`)).status).toBe(401);
    expect((await api("GET", `/v1/admin/packages/${pkgId}/registrations`, { token: learner.token })).status).toBe(403);
  });

  it("opens a chosen AU through .../player (a new session); an AU the package lacks is a 422", async () => {
    const path = `/v1/learner/courses/${course.courseId}/modules/${course.placementId}/player`;
    const chosen = await api("POST", path, { token: learner.token, body: { sco: AU_B } });
    expectStatus(chosen, 200);
    expect(chosen.body).toMatchObject({ standard: "cmi5", registration: player.registration, au: { id: AU_B } });
    expect(chosen.body.session_id).not.toBe(player.session_id);
    expect(new URL(chosen.body.launch_url).pathname).toMatch(/\/b\.html$/);
    expect((await api("POST", path, { token: learner.token, body: { sco: "https://nope" } })).status).toBe(422);
    // Back to A (the waive test below uses the fetch URL of A's session).
    player = (await api("POST", path, { token: learner.token, body: { sco: AU_A } })).body;
  });

  it("validates the waive: unknown AU 422, bad reason 422, no credential 401, another academy 404", async () => {
    expect(
      (await api("POST", waivePath(), { token: t.key, body: { au_id: "https://nope", reason: "Administrative" } }))
        .status,
    ).toBe(422);
    expect((await api("POST", waivePath(), { token: t.key, body: { au_id: AU_B, reason: "Because" } })).status).toBe(
      422,
    );
    expect((await api("POST", waivePath(), { body: { au_id: AU_B, reason: "Administrative" } })).status).toBe(401);
    expect(
      (await api("POST", waivePath(), { token: other.key, body: { au_id: AU_B, reason: "Administrative" } })).status,
    ).toBe(404);
    expect((await progressOf(t, course.placementId, learner.id))?.status).toBe("in_progress");
  });

  it("waiving B and completing A satisfies the course: waived and satisfied statements, module completed", async () => {
    const cred = await lrsCredential(t);
    const waived = await api("POST", waivePath(), { token: t.key, body: { au_id: AU_B, reason: "Tested Out" } });
    expectStatus(waived, 200);
    expect(waived.body.activities).toEqual([expect.objectContaining({ id: AU_B, waived: true, satisfied: false })]);
    expect((await progressOf(t, course.placementId, learner.id))?.status).toBe("in_progress");
    const stored = await xapi(
      "GET",
      `/xapi/statements?${q({ verb: "https://w3id.org/xapi/adl/verbs/waived", registration: player.registration })}`,
      { auth: cred.basic },
    );
    expect(stored.body.statements).toHaveLength(1);
    expect(stored.body.statements[0].result.extensions["https://w3id.org/xapi/cmi5/result/extensions/reason"]).toBe(
      "Tested Out",
    );
    expect((await api("POST", waivePath(), { token: t.key, body: { au_id: AU_B, reason: "Tested Out" } })).status).toBe(
      409,
    );

    const token = (await raw("POST", player.fetch_url)).body["auth-token"];
    const completed = {
      actor: player.actor,
      verb: { id: COMPLETED },
      object: { objectType: "Activity", id: AU_A },
      result: { completion: true },
      context: { registration: player.registration, extensions: { [SESSION_EXT]: player.session_id } },
    };
    expectStatus(await xapi("POST", "/xapi/statements", { auth: `Basic ${token}`, json: completed }), 200);
    expect((await progressOf(t, course.placementId, learner.id))?.status).toBe("completed");
    const satisfied = await xapi(
      "GET",
      `/xapi/statements?${q({ verb: SATISFIED, registration: player.registration })}`,
      { auth: cred.basic },
    );
    expect(satisfied.body.statements.map((s: any) => s.object.id).sort()).toEqual([AU_A, TWO_AU_COURSE].sort());
    const after = await api("GET", `/v1/admin/packages/${pkgId}/registrations/${player.registration}`, {
      token: t.key,
    });
    expect(after.body.result).toEqual({ status: "completed", score: null });
    expect(after.body.satisfied_at).not.toBeNull();
  });
});

describe("the LRS hot path", () => {
  it("finds the registrations of a whole batch with one read through the (tenant_id, registration) index", async () => {
    const t = await createTenant();
    const log: Recorded[] = [];
    const recording = recordingD1(log);
    const ctx = lmsLrsContext(t.id, createDb(recording), env, "http://lectern.test", () => {});
    const batch = Array.from({ length: 50 }, (_, i) => ({
      actor: { objectType: "Agent", mbox: `mailto:l${i}@example.com` },
      verb: { id: i % 2 ? COMPLETED : PASSED },
      object: { objectType: "Activity", id: ACTIVITY },
      context: { registration: crypto.randomUUID() },
    }));
    await applyStatementsToProgress(ctx, batch, "http://lectern.test");
    expect(log).toHaveLength(1);
    const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${log[0].sql}`)
      .bind(...log[0].params)
      .all<{ detail: string }>();
    const details = plan.results.map((r) => r.detail).join("\n");
    expect(details).toContain("package_registrations_tenant_registration_uq");
    expect(details).not.toMatch(/SCAN package_registrations(?! USING)/);
    // Statements without a registration cost nothing.
    log.length = 0;
    await applyStatementsToProgress(ctx, [{ ...batch[0], context: {} }], "http://lectern.test");
    expect(log).toHaveLength(0);
  });
});
