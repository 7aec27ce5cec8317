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
import { cmi5StatementRules } from "../src/modules/packages/cmi5-rules";
import { importPackage } from "../src/modules/packages/import";
import { abandonExpiredSessions, applyStatementsToProgress, lmsLrsContext } from "../src/modules/packages/xapi-launch";
import { createDb } from "../src/platform/db";
import { api, expectStatus } from "./helpers/api";
import { createTenant, learnerSession, type TestTenant, unique } from "./helpers/factories";
import { courseWithPackage, importedPackage, post, raw } from "./helpers/packages";
import { type Recorded, recordingD1 } from "./helpers/recording-d1";
import { type LrsCredential, lrsCredential, q, xapi } from "./helpers/xapi";

type Learner = Awaited<ReturnType<typeof learnerSession>>;

const COMPLETED = "http://adlnet.gov/expapi/verbs/completed";
const PASSED = "http://adlnet.gov/expapi/verbs/passed";
const FAILED = "http://adlnet.gov/expapi/verbs/failed";
const LAUNCHED = "http://adlnet.gov/expapi/verbs/launched";
const SATISFIED = "https://w3id.org/xapi/adl/verbs/satisfied";
const SESSION_EXT = "https://w3id.org/xapi/cmi5/context/extensions/sessionid";

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
  let course: Awaited<ReturnType<typeof courseWithPackage>>;
  let playerA: any;
  let playerB: any;
  let xapiPackageId: number;

  beforeAll(async () => {
    [t, other] = await Promise.all([createTenant(), createTenant()]);
    [a, b] = await Promise.all([learnerSession(t), learnerSession(t)]);
    [tenantCred, otherCred] = await Promise.all([lrsCredential(t), lrsCredential(other)]);
    const pkg = await importedPackage(t, zipSync({ "tincan.xml": strToU8(TINCAN), "story.html": page("Story") }));
    expect(pkg.standard).toBe("xapi");
    xapiPackageId = pkg.id;
    course = await courseWithPackage(t, pkg.id, [a, b]);
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
    <launchParameters>level=2</launchParameters>
    <entitlementKey>fire-2026</entitlementKey>
  </au>
</courseStructure>`;

const INITIALIZED = "http://adlnet.gov/expapi/verbs/initialized";
const TERMINATED = "http://adlnet.gov/expapi/verbs/terminated";
const ABANDONED = "https://w3id.org/xapi/adl/verbs/abandoned";
const CMI5_CATEGORY = "https://w3id.org/xapi/cmi5/context/categories/cmi5";
const MOVEON_CATEGORY = "https://w3id.org/xapi/cmi5/context/categories/moveon";
const LAUNCHMODE_EXT = "https://w3id.org/xapi/cmi5/context/extensions/launchmode";

/**
 * A statement an AU sends as cmi5 says: the LaunchData contextTemplate (session id, the AU in grouping), the
 * cmi5 category on cmi5 defined statements, the moveOn category with success/completion, a duration where needed.
 */
function cmi5Say(
  p: { actor: unknown; registration: string; session_id: string; au: { id: string } },
  verb: string,
  opts: {
    result?: Record<string, unknown>;
    defined?: boolean;
    object?: string;
    context?: Record<string, unknown>;
  } = {},
) {
  const defined = opts.defined ?? true;
  const result = opts.result;
  const moveOn = result && (result.success !== undefined || result.completion !== undefined);
  const category = defined ? [{ id: CMI5_CATEGORY }, ...(moveOn ? [{ id: MOVEON_CATEGORY }] : [])] : [];
  return {
    id: crypto.randomUUID(),
    actor: p.actor,
    verb: { id: verb },
    object: { objectType: "Activity", id: opts.object ?? p.au.id },
    ...(result ? { result } : {}),
    timestamp: new Date().toISOString(),
    context: {
      registration: p.registration,
      contextActivities: { grouping: [{ id: p.au.id }], ...(category.length ? { category } : {}) },
      extensions: { [SESSION_EXT]: p.session_id },
      ...opts.context,
    },
  };
}

async function statementCount(registration: string) {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM xapi_statements WHERE registration = ?")
    .bind(registration)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

describe("cmi5 package: LaunchData, fetch URL, LMS statements, moveOn completes the module", () => {
  let t: TestTenant;
  let other: TestTenant;
  let learner: Learner;
  let racer: Learner;
  let tenantCred: LrsCredential;
  let otherCred: LrsCredential;
  let course: Awaited<ReturnType<typeof courseWithPackage>>;
  let player: any;
  let authToken: string;

  beforeAll(async () => {
    [t, other] = await Promise.all([createTenant(), createTenant()]);
    [learner, racer] = await Promise.all([learnerSession(t), learnerSession(t)]);
    [tenantCred, otherCred] = await Promise.all([lrsCredential(t), lrsCredential(other)]);
    const pkg = await importedPackage(
      t,
      zipSync({ "cmi5.xml": strToU8(CMI5_XML), au: { "index.html": page("AU 1") } }),
    );
    expect(pkg.standard).toBe("cmi5");
    course = await courseWithPackage(t, pkg.id, [learner, racer]);
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

  const launchDataPath = (p = player) =>
    `/xapi/activities/state?${q({
      activityId: p.au.id,
      agent: p.actor,
      registration: p.registration,
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
      launchParameters: "level=2",
      entitlementKey: { courseStructure: "fire-2026" },
      returnURL: expect.any(String),
      contextTemplate: {
        contextActivities: { grouping: [{ id: AU_ID }] },
        extensions: { [SESSION_EXT]: player.session_id },
      },
    });
    const launched = await xapi("GET", `/xapi/statements?${q({ verb: LAUNCHED, registration: player.registration })}`, {
      auth: tenantCred.basic,
    });
    expectStatus(launched, 200);
    expect(launched.body.statements).toHaveLength(1);
    expect(launched.body.statements[0]).toMatchObject({
      actor: player.actor,
      object: { id: AU_ID },
      context: {
        registration: player.registration,
        extensions: {
          [SESSION_EXT]: player.session_id,
          [LAUNCHMODE_EXT]: "Normal",
          "https://w3id.org/xapi/cmi5/context/extensions/masteryscore": 0.8,
          "https://w3id.org/xapi/cmi5/context/extensions/moveon": "CompletedAndPassed",
          "https://w3id.org/xapi/cmi5/context/extensions/launchparameters": "level=2",
        },
      },
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
    // cmi5 8.2.2: status 200 for the errors of 8.2.3 too, JSON.
    expect(second.status).toBe(200);
    expect(second.headers.get("content-type")).toMatch(/^application\/json/);
    expect(second.body).toMatchObject({ "error-code": "1", "error-text": expect.any(String) });
    const bad = await raw("POST", "http://lectern.test/cmi5/fetch/not-a-token");
    expect(bad.status).toBe(200);
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

  it("another academy's statements for this registration have no effect", async () => {
    expectStatus(
      await xapi("POST", "/xapi/statements", {
        auth: otherCred.basic,
        json: [
          cmi5Say(player, COMPLETED, { result: { completion: true, duration: "PT1M" } }),
          cmi5Say(player, PASSED, { result: { success: true, duration: "PT1M" } }),
        ],
      }),
      200,
    );
    expect((await progressOf(t, course.placementId, learner.id))?.status).toBe("in_progress");
  });

  it("refuses (403, nothing stored) AU statements that break the cmi5 rules", async () => {
    const auth = `Basic ${authToken}`;
    const before = await statementCount(player.registration);
    const refused = async (json: unknown, why: RegExp) => {
      const res = await xapi("POST", "/xapi/statements", { auth, json });
      expect(res.status, res.text).toBe(403);
      expect(res.body.detail).toMatch(why);
      expect(await statementCount(player.registration)).toBe(before + stored);
    };
    let stored = 0;
    const done = { completion: true, duration: "PT2M" };
    // Before "initialized": nothing, cmi5 defined or allowed.
    await refused(cmi5Say(player, COMPLETED, { result: done }), /first statement of a session must be .*initialized/);
    await refused(cmi5Say(player, "http://adlnet.gov/expapi/verbs/experienced", { defined: false }), /initialized/);
    // The session id of the contextTemplate, and a session of this registration.
    const noSession = cmi5Say(player, INITIALIZED);
    (noSession.context as any).extensions = {};
    await refused(noSession, /session id/);
    await refused(
      cmi5Say({ ...player, session_id: crypto.randomUUID() }, INITIALIZED),
      /auth-token belongs to session/,
    );
    // The contextTemplate's grouping is kept.
    const noGrouping = cmi5Say(player, INITIALIZED);
    (noGrouping.context as any).contextActivities = { category: [{ id: CMI5_CATEGORY }] };
    await refused(noGrouping, /grouping/);

    expectStatus(await xapi("POST", "/xapi/statements", { auth, json: cmi5Say(player, INITIALIZED) }), 200);
    stored++;
    await refused(cmi5Say(player, INITIALIZED), /already sent in session/);
    // The AU cannot void.
    await refused(
      {
        actor: player.actor,
        verb: { id: "http://adlnet.gov/expapi/verbs/voided" },
        object: { objectType: "StatementRef", id: crypto.randomUUID() },
        context: { registration: player.registration, extensions: { [SESSION_EXT]: player.session_id } },
      },
      /may not void/,
    );
    // cmi5 defined statements: about the launched AU, with the results the spec asks for.
    await refused(cmi5Say(player, COMPLETED, { result: done, object: `${AU_ID}/other` }), /object of a cmi5 defined/);
    await refused(cmi5Say(player, COMPLETED, { result: { completion: true } }), /duration/);
    await refused(cmi5Say(player, COMPLETED, { result: { ...done, success: true } }), /Only "passed" and "failed"/);
    const noMoveOn = cmi5Say(player, COMPLETED, { result: done });
    (noMoveOn.context as any).contextActivities.category = [{ id: CMI5_CATEGORY }];
    await refused(noMoveOn, /moveOn category/);
    await refused(
      cmi5Say(player, PASSED, { result: { success: true, duration: "PT1M", score: { scaled: 0.5 } } }),
      /below the masteryScore 0.8/,
    );
    await refused(
      cmi5Say(player, FAILED, { result: { success: false, duration: "PT1M", score: { scaled: 0.85 } } }),
      /reaches the masteryScore/,
    );
    await refused(cmi5Say(player, PASSED, { result: { success: false, duration: "PT1M" } }), /success true/);
    await refused(
      cmi5Say(player, "http://adlnet.gov/expapi/verbs/experienced"),
      /not a cmi5 defined verb an AU may use/,
    );
    // A batch with one bad statement stores none of it.
    const good = cmi5Say(player, "http://adlnet.gov/expapi/verbs/experienced", { defined: false });
    await refused([good, cmi5Say(player, COMPLETED, { result: { completion: true } })], /duration/);
    const lookup = await xapi("GET", `/xapi/statements?${q({ statementId: good.id })}`, { auth: tenantCred.basic });
    expect(lookup.status).toBe(404);
    // A cmi5 allowed statement between initialized and terminated is fine (and counts for nothing).
    expectStatus(await xapi("POST", "/xapi/statements", { auth, json: good }), 200);
    stored++;
    expect((await progressOf(t, course.placementId, learner.id))?.status).toBe("in_progress");
  });

  it("completed alone does not satisfy CompletedAndPassed; passed then does: the course satisfied once, module passed", async () => {
    const auth = `Basic ${authToken}`;
    const completed = cmi5Say(player, COMPLETED, { result: { completion: true, duration: "PT3M" } });
    expectStatus(await xapi("POST", "/xapi/statements", { auth, json: completed }), 200);
    expect((await progressOf(t, course.placementId, learner.id))?.status).toBe("in_progress");
    const satisfiedQuery = `/xapi/statements?${q({ verb: SATISFIED, registration: player.registration })}`;
    expect((await xapi("GET", satisfiedQuery, { auth: tenantCred.basic })).body.statements).toHaveLength(0);

    const passed = cmi5Say(player, PASSED, { result: { success: true, duration: "PT4M", score: { scaled: 0.9 } } });
    expectStatus(await xapi("POST", "/xapi/statements", { auth, json: passed }), 200);
    const progress = await progressOf(t, course.placementId, learner.id);
    expect(progress).toMatchObject({ status: "passed", score: 90 });
    const satisfied = (await xapi("GET", satisfiedQuery, { auth: tenantCred.basic })).body.statements;
    // Satisfied is about the course (and blocks), never an AU (cmi5 9.3.9).
    expect(satisfied.map((s: any) => s.object.id)).toEqual([COURSE_ID]);
    expect(satisfied[0]).toMatchObject({
      actor: player.actor,
      object: { definition: { type: "https://w3id.org/xapi/cmi5/activitytype/course" } },
      context: { extensions: { [SESSION_EXT]: player.session_id } },
    });
    expect(satisfied[0].context.contextActivities.category.map((a: any) => a.id)).toEqual([CMI5_CATEGORY]);
    expect((await enrollmentOf(t, course.courseId, learner.id))?.completed_at).not.toBeNull();

    // A replay changes nothing; a second passed or a failed in the session is refused.
    expectStatus(await xapi("POST", "/xapi/statements", { auth, json: passed }), 200);
    const again = cmi5Say(player, PASSED, { result: { success: true, duration: "PT1M", score: { scaled: 0.9 } } });
    expect((await xapi("POST", "/xapi/statements", { auth, json: again })).status).toBe(403);
    const failed = cmi5Say(player, FAILED, { result: { success: false, duration: "PT1M" } });
    expect((await xapi("POST", "/xapi/statements", { auth, json: failed })).status).toBe(403);
    expect((await xapi("GET", satisfiedQuery, { auth: tenantCred.basic })).body.statements).toHaveLength(1);
    expect(await progressOf(t, course.placementId, learner.id)).toEqual(progress);
  });

  it("nothing is recorded after terminated; a satisfied AU launches in Review, where only initialized/terminated count", async () => {
    const auth = `Basic ${authToken}`;
    expectStatus(
      await xapi("POST", "/xapi/statements", {
        auth,
        json: cmi5Say(player, TERMINATED, { result: { duration: "PT5M" } }),
      }),
      200,
    );
    const late = cmi5Say(player, "http://adlnet.gov/expapi/verbs/experienced", { defined: false });
    const res = await xapi("POST", "/xapi/statements", { auth, json: late });
    expect(res.status).toBe(403);
    expect(res.body.detail).toMatch(/terminated/);

    const next = await api("POST", launchPath(course.courseId, course.placementId), { token: learner.token });
    const review = next.body.player;
    expect(review.aus).toEqual([expect.objectContaining({ id: AU_ID, satisfied: true })]);
    expect(review.session_id).not.toBe(player.session_id);
    expect((await xapi("GET", launchDataPath(review), { auth: tenantCred.basic })).body.launchMode).toBe("Review");
    const token = `Basic ${(await raw("POST", review.fetch_url)).body["auth-token"]}`;
    expectStatus(await xapi("POST", "/xapi/statements", { auth: token, json: cmi5Say(review, INITIALIZED) }), 200);
    const completed = cmi5Say(review, COMPLETED, { result: { completion: true, duration: "PT1M" } });
    const refused = await xapi("POST", "/xapi/statements", { auth: token, json: completed });
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toMatch(/Review mode/);
    expectStatus(
      await xapi("POST", "/xapi/statements", {
        auth: token,
        json: cmi5Say(review, TERMINATED, { result: { duration: "PT1M" } }),
      }),
      200,
    );
    // The terminated session's fetch URL is spent; a terminated session is never abandoned.
    expect((await raw("POST", review.fetch_url)).body["error-code"]).toBe("1");
  });

  it("concurrent requests of one session adding different verbs both count (CompletedAndPassed met once)", async () => {
    const p = (await api("POST", launchPath(course.courseId, course.placementId), { token: racer.token })).body.player;
    const auth = `Basic ${(await raw("POST", p.fetch_url)).body["auth-token"]}`;
    expectStatus(await xapi("POST", "/xapi/statements", { auth, json: cmi5Say(p, INITIALIZED) }), 200);
    const [one, two] = await Promise.all([
      xapi("POST", "/xapi/statements", {
        auth,
        json: cmi5Say(p, COMPLETED, { result: { completion: true, duration: "PT1M" } }),
      }),
      xapi("POST", "/xapi/statements", {
        auth,
        json: cmi5Say(p, PASSED, { result: { success: true, duration: "PT1M" } }),
      }),
    ]);
    expectStatus(one, 200);
    expectStatus(two, 200);
    expect(await progressOf(t, course.placementId, racer.id)).toMatchObject({ status: "passed", score: 100 });
    const satisfied = await xapi("GET", `/xapi/statements?${q({ verb: SATISFIED, registration: p.registration })}`, {
      auth: tenantCred.basic,
    });
    expect(satisfied.body.statements).toHaveLength(1);
    // The same verb twice at once: one is stored, the other refused (403 or, when truly simultaneous, 409).
    const [x, y] = await Promise.all([
      xapi("POST", "/xapi/statements", { auth, json: cmi5Say(p, TERMINATED, { result: { duration: "PT2M" } }) }),
      xapi("POST", "/xapi/statements", { auth, json: cmi5Say(p, TERMINATED, { result: { duration: "PT2M" } }) }),
    ]);
    expect([x.status, y.status].sort()).toEqual([200, x.status === 200 ? y.status : x.status].sort());
    expect([x.status, y.status].filter((s) => s === 200)).toHaveLength(1);
    expect([403, 409]).toContain(x.status === 200 ? y.status : x.status);
    const terminated = await xapi("GET", `/xapi/statements?${q({ verb: TERMINATED, registration: p.registration })}`, {
      auth: tenantCred.basic,
    });
    expect(terminated.body.statements).toHaveLength(1);
  });

  it("a new launch abandons a session the AU never terminated, with the LMS abandoned statement", async () => {
    const abandonedQuery = (reg: string) => `/xapi/statements?${q({ verb: ABANDONED, registration: reg })}`;
    const first = (await api("POST", launchPath(course.courseId, course.placementId), { token: racer.token })).body
      .player;
    const auth = `Basic ${(await raw("POST", first.fetch_url)).body["auth-token"]}`;
    expectStatus(await xapi("POST", "/xapi/statements", { auth, json: cmi5Say(first, INITIALIZED) }), 200);
    const second = (await api("POST", launchPath(course.courseId, course.placementId), { token: racer.token })).body
      .player;
    const abandoned = (await xapi("GET", abandonedQuery(first.registration), { auth: tenantCred.basic })).body
      .statements;
    // Only the never-terminated session (the terminated one of the previous test is not abandoned).
    expect(abandoned.map((s: any) => s.context.extensions[SESSION_EXT])).toEqual([first.session_id]);
    expect(abandoned[0].result.duration).toMatch(/^PT\d+S$/);
    // The abandoned session records nothing more.
    const late = await xapi("POST", "/xapi/statements", {
      auth,
      json: cmi5Say(first, "http://adlnet.gov/expapi/verbs/experienced", { defined: false }),
    });
    expect(late.status).toBe(403);
    expect(late.body.detail).toMatch(/abandoned/);
    expect(second.session_id).not.toBe(first.session_id);
    // The first session's auth-token cannot speak for the second session (a token is one session's).
    const borrowed = await xapi("POST", "/xapi/statements", { auth, json: cmi5Say(second, INITIALIZED) });
    expect(borrowed.status).toBe(403);
    expect(borrowed.body.detail).toMatch(/belongs to session/);
  });

  it("the scheduled handler abandons sessions past their expiry, once, and their fetch URL is spent", async () => {
    const p = (await api("POST", launchPath(course.courseId, course.placementId), { token: learner.token })).body
      .player;
    const session = await env.DB.prepare("SELECT expires_at FROM cmi5_sessions WHERE tenant_id = ? AND session_id = ?")
      .bind(t.id, p.session_id)
      .first<{ expires_at: string }>();
    expect(Date.parse(session?.expires_at as string)).toBeGreaterThan(Date.now() + 7 * 3600_000);
    // Not expired yet: the sweep leaves it alone.
    expect(await abandonExpiredSessions(env, createDb(env.DB), 1000)).toBeGreaterThanOrEqual(0);
    const query = `/xapi/statements?${q({ verb: ABANDONED, registration: p.registration })}`;
    const count = async () =>
      (await xapi("GET", query, { auth: tenantCred.basic })).body.statements.filter(
        (s: any) => s.context.extensions[SESSION_EXT] === p.session_id,
      ).length;
    expect(await count()).toBe(0);
    // Past its expiry, the Worker's scheduled run abandons it.
    await env.DB.prepare("UPDATE cmi5_sessions SET expires_at = ? WHERE tenant_id = ? AND session_id = ?")
      .bind(new Date(Date.now() - 1000).toISOString(), t.id, p.session_id)
      .run();
    const ctx = createExecutionContext();
    await worker.scheduled(
      { cron: "* * * * *", scheduledTime: Date.now(), noRetry() {} } as ScheduledController,
      env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(await count()).toBe(1);
    const row = await env.DB.prepare("SELECT abandoned_at FROM cmi5_sessions WHERE tenant_id = ? AND session_id = ?")
      .bind(t.id, p.session_id)
      .first<{ abandoned_at: string | null }>();
    expect(row?.abandoned_at).not.toBeNull();
    // Again: nothing more (abandoned once), and the session's fetch URL answers error-code 1.
    await abandonExpiredSessions(env, createDb(env.DB), 1000);
    expect(await count()).toBe(1);
    const fetched = await raw("POST", p.fetch_url);
    expect(fetched.body["error-code"]).toBe("1");
  });

  it("Browse when the launch asks for it: LaunchData and launched say Browse; completion statements are refused", async () => {
    const path = `/v1/learner/courses/${course.courseId}/modules/${course.placementId}/player`;
    const browse = await api("POST", path, { token: racer.token, body: { sco: AU_ID, launch_mode: "Browse" } });
    expectStatus(browse, 200);
    const p = browse.body;
    expect((await xapi("GET", launchDataPath(p), { auth: tenantCred.basic })).body.launchMode).toBe("Browse");
    const launched = await xapi("GET", `/xapi/statements?${q({ verb: LAUNCHED, registration: p.registration })}`, {
      auth: tenantCred.basic,
    });
    const mine = launched.body.statements.find((s: any) => s.context.extensions[SESSION_EXT] === p.session_id);
    expect(mine.context.extensions[LAUNCHMODE_EXT]).toBe("Browse");
    const auth = `Basic ${(await raw("POST", p.fetch_url)).body["auth-token"]}`;
    expectStatus(await xapi("POST", "/xapi/statements", { auth, json: cmi5Say(p, INITIALIZED) }), 200);
    const res = await xapi("POST", "/xapi/statements", {
      auth,
      json: cmi5Say(p, FAILED, { result: { success: false, duration: "PT1M" } }),
    });
    expect(res.status).toBe(403);
    expect(res.body.detail).toMatch(/Browse mode/);
    const bad = await api("POST", path, { token: racer.token, body: { sco: AU_ID, launch_mode: "Normal" } });
    expect(bad.status).toBe(422);
  });
});

// ---- cmi5 with two blocks: waive, block and course satisfied, registrations (admin) -------------------------------

const TWO_AU_COURSE = "https://example.com/courses/cmi5-two";
const AU_A = `${TWO_AU_COURSE}/au/a`;
const AU_B = `${TWO_AU_COURSE}/au/b`;
const BLOCK_1 = `${TWO_AU_COURSE}/block/1`;
const BLOCK_2 = `${TWO_AU_COURSE}/block/2`;
const TWO_AUS = `<?xml version="1.0" encoding="utf-8"?>
<courseStructure xmlns="https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd">
  <course id="${TWO_AU_COURSE}"><title><langstring lang="en-US">Two AUs</langstring></title></course>
  <block id="${BLOCK_1}">
    <title><langstring lang="en-US">Block 1</langstring></title>
    <au id="${AU_A}" moveOn="Completed"><title><langstring lang="en-US">A</langstring></title><url>a.html</url></au>
  </block>
  <block id="${BLOCK_2}">
    <title><langstring lang="en-US">Block 2</langstring></title>
    <au id="${AU_B}" moveOn="Passed"><title><langstring lang="en-US">B</langstring></title><url>b.html</url></au>
  </block>
</courseStructure>`;

describe("cmi5 waive and the registrations of a package (admin)", () => {
  let t: TestTenant;
  let other: TestTenant;
  let learner: Learner;
  let pkgId: number;
  let course: Awaited<ReturnType<typeof courseWithPackage>>;
  let player: any;

  beforeAll(async () => {
    [t, other] = await Promise.all([createTenant(), createTenant()]);
    learner = await learnerSession(t);
    const pkg = await importedPackage(
      t,
      zipSync({ "cmi5.xml": strToU8(TWO_AUS), "a.html": page("A"), "b.html": page("B") }),
    );
    pkgId = pkg.id;
    course = await courseWithPackage(t, pkg.id, [learner]);
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
    expect(waived.body.activities).toEqual([
      expect.objectContaining({ id: AU_B, waived: true, satisfied: false }),
      expect.objectContaining({ id: BLOCK_2, satisfied: true }),
    ]);
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

    // The waive is a session of its own: waived, then Block 2 (only B) satisfied, with that session id.
    const satisfiedQuery = `/xapi/statements?${q({ verb: SATISFIED, registration: player.registration, ascending: true })}`;
    const afterWaive = (await xapi("GET", satisfiedQuery, { auth: cred.basic })).body.statements;
    expect(afterWaive.map((s: any) => s.object)).toEqual([
      expect.objectContaining({ id: BLOCK_2, definition: { type: "https://w3id.org/xapi/cmi5/activitytype/block" } }),
    ]);
    const waiveSession = stored.body.statements[0].context.extensions[SESSION_EXT];
    expect(waiveSession).toEqual(expect.any(String));
    expect(afterWaive[0].context.extensions[SESSION_EXT]).toBe(waiveSession);

    const token = (await raw("POST", player.fetch_url)).body["auth-token"];
    const auth = `Basic ${token}`;
    expectStatus(await xapi("POST", "/xapi/statements", { auth, json: cmi5Say(player, INITIALIZED) }), 200);
    const completed = cmi5Say(player, COMPLETED, { result: { completion: true, duration: "PT1M" } });
    expectStatus(await xapi("POST", "/xapi/statements", { auth, json: completed }), 200);
    expect((await progressOf(t, course.placementId, learner.id))?.status).toBe("completed");
    // Block 1 and the course, once each, in the AU's session; block 2 is not written again.
    const satisfied = (await xapi("GET", satisfiedQuery, { auth: cred.basic })).body.statements;
    expect(satisfied.map((s: any) => s.object.id)).toEqual([BLOCK_2, BLOCK_1, TWO_AU_COURSE]);
    expect(satisfied.slice(1).map((s: any) => s.context.extensions[SESSION_EXT])).toEqual([
      player.session_id,
      player.session_id,
    ]);
    const after = await api("GET", `/v1/admin/packages/${pkgId}/registrations/${player.registration}`, {
      token: t.key,
    });
    expect(after.body.result).toEqual({ status: "completed", score: null });
    expect(after.body.satisfied_at).not.toBeNull();
  });
});

const NA_COURSE = "https://example.com/courses/cmi5-na";
const NA_XML = `<?xml version="1.0" encoding="utf-8"?>
<courseStructure xmlns="https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd">
  <course id="${NA_COURSE}"><title><langstring lang="en-US">Optional intro</langstring></title></course>
  <block id="${NA_COURSE}/block/intro">
    <title><langstring lang="en-US">Intro</langstring></title>
    <au id="${NA_COURSE}/au/intro" moveOn="NotApplicable"><title><langstring lang="en-US">Intro</langstring></title><url>intro.html</url></au>
  </block>
  <block id="${NA_COURSE}/block/main">
    <title><langstring lang="en-US">Main</langstring></title>
    <block id="${NA_COURSE}/block/inner">
      <title><langstring lang="en-US">Inner</langstring></title>
      <au id="${NA_COURSE}/au/main" moveOn="Completed"><title><langstring lang="en-US">Main</langstring></title><url>main.html</url></au>
    </block>
  </block>
</courseStructure>`;

describe("cmi5 moveOn at registration and nested blocks", () => {
  it("a block of NotApplicable AUs is satisfied at registration; nested blocks and the course when the rest is", async () => {
    const t = await createTenant();
    const learner = await learnerSession(t);
    const cred = await lrsCredential(t);
    const pkg = await importedPackage(
      t,
      zipSync({ "cmi5.xml": strToU8(NA_XML), "intro.html": page("Intro"), "main.html": page("Main") }),
    );
    const course = await courseWithPackage(t, pkg.id, [learner]);
    const launch = () => api("POST", launchPath(course.courseId, course.placementId), { token: learner.token });
    const first = (await launch()).body.player;
    const satisfied = async () =>
      (
        await xapi(
          "GET",
          `/xapi/statements?${q({ verb: SATISFIED, registration: first.registration, ascending: true })}`,
          {
            auth: cred.basic,
          },
        )
      ).body.statements.map((s: any) => s.object.id);
    expect(await satisfied()).toEqual([`${NA_COURSE}/block/intro`]);
    expect((await progressOf(t, course.placementId, learner.id))?.status).toBe("in_progress");
    // Launched again: nothing new (once per registration); the launch picks the main AU (the intro is optional).
    const p = (
      await api("POST", `/v1/learner/courses/${course.courseId}/modules/${course.placementId}/player`, {
        token: learner.token,
        body: { sco: `${NA_COURSE}/au/main` },
      })
    ).body;
    expect(await satisfied()).toEqual([`${NA_COURSE}/block/intro`]);
    const auth = `Basic ${(await raw("POST", p.fetch_url)).body["auth-token"]}`;
    expectStatus(await xapi("POST", "/xapi/statements", { auth, json: cmi5Say(p, INITIALIZED) }), 200);
    const completed = cmi5Say(p, COMPLETED, { result: { completion: true, duration: "PT1M" } });
    expectStatus(await xapi("POST", "/xapi/statements", { auth, json: completed }), 200);
    expect(await satisfied()).toEqual([
      `${NA_COURSE}/block/intro`,
      `${NA_COURSE}/block/main`,
      `${NA_COURSE}/block/inner`,
      NA_COURSE,
    ]);
    expect((await progressOf(t, course.placementId, learner.id))?.status).toBe("completed");
  });
});

describe("cmi5 launch: one D1 batch", () => {
  it("a failure while writing the launch leaves nothing: no session, no LaunchData change, nothing abandoned", async () => {
    const t = await createTenant();
    const learner = await learnerSession(t);
    const cred = await lrsCredential(t);
    const pkg = await importedPackage(
      t,
      zipSync({ "cmi5.xml": strToU8(CMI5_XML), au: { "index.html": page("AU 1") } }),
    );
    const course = await courseWithPackage(t, pkg.id, [learner]);
    const first = (await api("POST", launchPath(course.courseId, course.placementId), { token: learner.token })).body
      .player;
    const state = () =>
      env.DB.prepare(
        `SELECT (SELECT count(*) FROM cmi5_sessions WHERE tenant_id = ?1) AS sessions,
                (SELECT count(*) FROM cmi5_sessions WHERE tenant_id = ?1 AND abandoned_at IS NOT NULL) AS abandoned,
                (SELECT count(*) FROM xapi_statements WHERE tenant_id = ?1) AS statements,
                (SELECT etag FROM xapi_documents WHERE tenant_id = ?1 AND doc_id = 'LMS.LaunchData') AS launch_data`,
      )
        .bind(t.id)
        .first();
    const before = await state();
    expect(before).toMatchObject({ sessions: 1, abandoned: 0, statements: 1 });
    // The database refuses the launched statement (the batch's last writes): everything before it rolls back.
    await env.DB.prepare(
      `CREATE TRIGGER fail_launch_${t.id} BEFORE INSERT ON xapi_statements
       WHEN NEW.tenant_id = ${t.id} AND NEW.verb_id = '${LAUNCHED}'
       BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`,
    ).run();
    try {
      const failed = await api("POST", launchPath(course.courseId, course.placementId), { token: learner.token });
      expect(failed.status).toBe(500);
      expect(await state()).toEqual(before);
    } finally {
      await env.DB.prepare(`DROP TRIGGER fail_launch_${t.id}`).run();
    }
    const doc = await xapi(
      "GET",
      `/xapi/activities/state?${q({ activityId: AU_ID, agent: first.actor, registration: first.registration, stateId: "LMS.LaunchData" })}`,
      { auth: cred.basic },
    );
    expect(doc.body.contextTemplate.extensions[SESSION_EXT]).toBe(first.session_id);
    // Once the database accepts again, the launch writes it all.
    const next = await api("POST", launchPath(course.courseId, course.placementId), { token: learner.token });
    expectStatus(next, 200);
    expect(await state()).toMatchObject({ sessions: 2, abandoned: 1, statements: 3 });
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

  const planOf = async (entry: Recorded) =>
    (
      await env.DB.prepare(`EXPLAIN QUERY PLAN ${entry.sql}`)
        .bind(...entry.params)
        .all<{ detail: string }>()
    ).results
      .map((r) => r.detail)
      .join("\n");

  it("the cmi5 rules read a request's sessions once, by the (tenant_id, session_id) index", async () => {
    const t = await createTenant();
    const log: Recorded[] = [];
    const ctx = {
      ...lmsLrsContext(t.id, createDb(recordingD1(log)), env, "http://lectern.test", () => {}),
      scope: { tid: t.id, reg: crypto.randomUUID(), agt: "account::x", uid: 1, cmi5: true },
    };
    const statements = Array.from({ length: 20 }, () => ({
      actor: { objectType: "Agent", account: { homePage: "http://lectern.test", name: "1" } },
      verb: { id: INITIALIZED },
      object: { objectType: "Activity", id: AU_ID },
      context: { extensions: { [SESSION_EXT]: crypto.randomUUID() } },
    }));
    // Unknown sessions: refused, after one read.
    await expect(cmi5StatementRules(ctx, statements)).rejects.toMatchObject({ status: 403 });
    expect(log).toHaveLength(1);
    const details = await planOf(log[0]);
    expect(details).toContain("cmi5_sessions_tenant_session_uq");
    expect(details).not.toMatch(/SCAN (s|r|v|cmi5_sessions|package_registrations|package_versions)\b(?! USING)/);
  });

  it("the abandon sweep finds expired open sessions through the partial expiry index", async () => {
    const log: Recorded[] = [];
    await abandonExpiredSessions(env, createDb(recordingD1(log)), 10, "2000-01-01T00:00:00.000Z");
    expect(log).toHaveLength(1);
    expect(await planOf(log[0])).toContain("cmi5_sessions_open_expiry_idx");
  });
});
