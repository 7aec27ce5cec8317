/**
 * Package reports across every standard: a SCORM 1.2, a SCORM 2004, an xAPI (TinCan) and a cmi5 package built
 * here with fflate are imported, launched by learners and driven through their real runtime protocol (SCORM
 * commits, statements to /xapi/statements with the launch credential or the cmi5 auth-token); then the report
 * (JSON pages by offset and by cursor, filters), the per-learner view and both CSV exports show the attempts,
 * statuses, scores, times and interactions each protocol recorded.
 */
import { env } from "cloudflare:test";
import { strToU8, zipSync } from "fflate";
import { beforeAll, describe, expect, it } from "vitest";
import { ATTEMPT_CSV_HEADER, INTERACTION_CSV_HEADER, packageReport } from "../src/modules/packages/report";
import { createDb } from "../src/platform/db";
import { type ApiResponse, api, expectProblem, expectStatus } from "./helpers/api";
import { createTenant, keyWithout, learnerSession, type TestTenant, unique } from "./helpers/factories";
import { courseWithPackage, importedPackage, post, raw } from "./helpers/packages";
import { type Recorded, recordingD1 } from "./helpers/recording-d1";
import { xapi } from "./helpers/xapi";

type Learner = Awaited<ReturnType<typeof learnerSession>>;

const V = {
  answered: "http://adlnet.gov/expapi/verbs/answered",
  completed: "http://adlnet.gov/expapi/verbs/completed",
  passed: "http://adlnet.gov/expapi/verbs/passed",
  failed: "http://adlnet.gov/expapi/verbs/failed",
  terminated: "http://adlnet.gov/expapi/verbs/terminated",
  initialized: "http://adlnet.gov/expapi/verbs/initialized",
};
const SESSION_EXT = "https://w3id.org/xapi/cmi5/context/extensions/sessionid";

const pathOf = (url: string) => url.replace(/^https?:\/\/[^/]+/, "");
const page = (title: string) =>
  strToU8(`<!doctype html><html><head><title>${title}</title></head><body></body></html>`);

async function launch(learner: Learner, course: { courseId: number; placementId: number }) {
  const res = await api("POST", `/v1/learner/courses/${course.courseId}/modules/${course.placementId}/launch`, {
    token: learner.token,
  });
  expectStatus(res, 200);
  return res.body.player;
}

async function commit(player: any, body: unknown, terminate = true) {
  const res = await raw(
    "POST",
    `${pathOf(player.commit_url)}${terminate ? "&terminate=true" : ""}`,
    { "content-type": "application/json" },
    JSON.stringify(body),
  );
  expect(res.body, res.text).toEqual({ result: true, errorCode: 0 });
}

// ---- packages ------------------------------------------------------------------------------------------------------

const MANIFEST_12 = `<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="com.example.report12" version="1"
  xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2" xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">
  <metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata>
  <organizations default="org1">
    <organization identifier="org1">
      <title>Report 1.2</title>
      <item identifier="item1" identifierref="res1"><title>Lesson</title></item>
    </organization>
  </organizations>
  <resources>
    <resource identifier="res1" type="webcontent" adlcp:scormtype="sco" href="index.html">
      <file href="index.html"/>
    </resource>
  </resources>
</manifest>`;

const MANIFEST_2004 = `<?xml version="1.0" standalone="no"?>
<manifest identifier="com.example.report2004" version="1.0"
  xmlns="http://www.imsglobal.org/xsd/imscp_v1p1" xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_v1p3">
  <metadata><schema>ADL SCORM</schema><schemaversion>2004 4th Edition</schemaversion></metadata>
  <organizations default="o1">
    <organization identifier="o1">
      <title>Report 2004</title>
      <item identifier="i1" identifierref="r1"><title>Module</title></item>
    </organization>
  </organizations>
  <resources>
    <resource identifier="r1" type="webcontent" adlcp:scormType="sco" href="sco.html"><file href="sco.html"/></resource>
  </resources>
</manifest>`;

const XAPI_ACTIVITY = "http://example.com/activities/report-xapi";
const TINCAN = `<?xml version="1.0" encoding="utf-8"?>
<tincan xmlns="http://projecttincan.com/tincan.xsd">
  <activities>
    <activity id="${XAPI_ACTIVITY}" type="http://adlnet.gov/expapi/activities/course">
      <name>Report (xAPI)</name>
      <launch lang="en-US">story.html</launch>
    </activity>
  </activities>
</tincan>`;

const CMI5_COURSE = "https://example.com/courses/report-cmi5";
const CMI5_AU = `${CMI5_COURSE}/au/1`;
const CMI5_XML = `<?xml version="1.0" encoding="utf-8"?>
<courseStructure xmlns="https://w3id.org/xapi/profiles/cmi5/v1/CourseStructure.xsd">
  <course id="${CMI5_COURSE}">
    <title><langstring lang="en-US">Report (cmi5)</langstring></title>
    <description><langstring lang="en-US">cmi5 report course</langstring></description>
  </course>
  <au id="${CMI5_AU}" moveOn="Passed" launchMethod="AnyWindow">
    <title><langstring lang="en-US">Lesson 1</langstring></title>
    <description><langstring lang="en-US">The lesson</langstring></description>
    <url>au/index.html</url>
  </au>
</courseStructure>`;

function answered(player: any, id: string, response: string, success: boolean, extraContext = {}) {
  return {
    id: crypto.randomUUID(),
    actor: player.actor,
    verb: { id: V.answered },
    object: {
      objectType: "Activity",
      id,
      definition: {
        type: "http://adlnet.gov/expapi/activities/cmi.interaction",
        interactionType: "choice",
        description: { "en-US": `Question ${id.slice(-2)}` },
        correctResponsesPattern: ["b"],
      },
    },
    result: { response, success, duration: "PT12S" },
    context: { registration: player.registration, ...extraContext },
  };
}

describe("package reports: every standard, per package and per learner, JSON and CSV", () => {
  let t: TestTenant;
  let other: TestTenant;
  let a: Learner;
  let b: Learner;
  let outsider: Learner;
  const pkgs: Record<string, { id: number; standard: string }> = {};

  beforeAll(async () => {
    [t, other] = await Promise.all([createTenant(), createTenant()]);
    [a, b] = await Promise.all([learnerSession(t), learnerSession(t)]);
    outsider = await learnerSession(other);

    // SCORM 1.2: a passes with two interactions; b leaves it incomplete.
    pkgs.scorm12 = await importedPackage(
      t,
      zipSync({ "imsmanifest.xml": strToU8(MANIFEST_12), "index.html": page("Lesson") }),
    );
    const c12 = await courseWithPackage(t, pkgs.scorm12.id, [a, b]);
    await commit(await launch(a, c12), {
      cmi: {
        core: {
          lesson_status: "passed",
          session_time: "00:10:00",
          score: { raw: "90", min: "0", max: "100" },
          exit: "",
        },
        interactions: {
          "0": {
            id: "q1",
            type: "choice",
            student_response: "b",
            result: "correct",
            latency: "00:00:12",
            time: "10:00:00",
            weighting: "1",
            correct_responses: { "0": { pattern: "b" } },
          },
          "1": { id: "q2", type: "true-false", student_response: "f", result: "wrong", latency: "00:00:03" },
        },
      },
      commitSequence: 1,
    });
    await commit(
      await launch(b, c12),
      { cmi: { core: { lesson_status: "incomplete", session_time: "00:01:00" } }, commitSequence: 1 },
      false,
    );

    // SCORM 2004: a fails with one interaction (learner_response).
    pkgs.scorm2004 = await importedPackage(
      t,
      zipSync({ "imsmanifest.xml": strToU8(MANIFEST_2004), "sco.html": page("Module") }),
    );
    const c2004 = await courseWithPackage(t, pkgs.scorm2004.id, [a]);
    await commit(await launch(a, c2004), {
      cmi: {
        completion_status: "completed",
        success_status: "failed",
        score: { scaled: "0.4", raw: "40", min: "0", max: "100" },
        session_time: "PT1M30S",
        exit: "normal",
        interactions: {
          "0": {
            id: "fill1",
            type: "fill-in",
            learner_response: "paris",
            result: "incorrect",
            description: "Capital of Italy",
            timestamp: "2026-01-01T10:00:00Z",
          },
        },
      },
      commitSequence: 1,
    });

    // xAPI: a answers two questions and completes with a score and a duration; b only launches.
    pkgs.xapi = await importedPackage(t, zipSync({ "tincan.xml": strToU8(TINCAN), "story.html": page("Story") }));
    const cx = await courseWithPackage(t, pkgs.xapi.id, [a, b]);
    const px = await launch(a, cx);
    await launch(b, cx);
    const auth = new URL(px.launch_url).searchParams.get("auth") as string;
    const sent = await xapi("POST", "/xapi/statements", {
      auth,
      json: [
        answered(px, `${XAPI_ACTIVITY}/q1`, "b", true),
        answered(px, `${XAPI_ACTIVITY}/q2`, "c", false),
        {
          id: crypto.randomUUID(),
          actor: px.actor,
          verb: { id: V.passed },
          object: { objectType: "Activity", id: XAPI_ACTIVITY },
          result: { success: true, completion: true, score: { scaled: 0.75 }, duration: "PT5M" },
          context: { registration: px.registration },
        },
      ],
    });
    expectStatus(sent as unknown as ApiResponse, 200);

    // cmi5: b answers one question, passes and terminates the session (its duration is the attempt's time).
    pkgs.cmi5 = await importedPackage(t, zipSync({ "cmi5.xml": strToU8(CMI5_XML), au: { "index.html": page("AU") } }));
    const c5 = await courseWithPackage(t, pkgs.cmi5.id, [b]);
    const p5 = await launch(b, c5);
    const fetched = await raw("POST", p5.fetch_url);
    expectStatus(fetched, 200);
    const token = `Basic ${fetched.body["auth-token"]}`;
    // As an AU does: every statement's context starts from LMS.LaunchData's contextTemplate.
    const launchData = await xapi(
      "GET",
      `/xapi/activities/state?${new URLSearchParams({
        activityId: CMI5_AU,
        agent: JSON.stringify(p5.actor),
        registration: p5.registration,
        stateId: "LMS.LaunchData",
      })}`,
      { auth: token },
    );
    expect(launchData.status, launchData.text).toBe(200);
    const template = launchData.body.contextTemplate as Record<string, any>;
    expect(template.extensions[SESSION_EXT]).toBe(p5.session_id);
    const ctx5 = { ...template };
    const categories = (ids: string[]) => ({
      ...template.contextActivities,
      category: ids.map((id) => ({ id: `https://w3id.org/xapi/cmi5/context/categories/${id}` })),
    });
    const au = (verb: string, result?: Record<string, unknown>) => ({
      id: crypto.randomUUID(),
      actor: p5.actor,
      verb: { id: verb },
      object: { objectType: "Activity", id: CMI5_AU },
      ...(result ? { result } : {}),
      context: {
        ...template,
        registration: p5.registration,
        contextActivities: categories(result?.success !== undefined ? ["cmi5", "moveon"] : ["cmi5"]),
      },
    });
    for (const statement of [
      au(V.initialized),
      answered(p5, `${CMI5_AU}/q1`, "a", true, ctx5),
      au(V.passed, { success: true, score: { scaled: 0.9 }, duration: "PT2M" }),
      au(V.terminated, { duration: "PT3M" }),
    ]) {
      const res = await xapi("POST", "/xapi/statements", { auth: token, json: statement });
      expect(res.status, res.text).toBe(200);
    }
  }, 120_000);

  const report = (id: number, query = "", token = t.key) =>
    api("GET", `/v1/admin/packages/${id}/report${query}`, { token });

  it("SCORM 1.2: per learner and attempt, status, score, time and the interactions in one shape", async () => {
    const res = await report(pkgs.scorm12.id);
    expectStatus(res, 200);
    expect(res.body).toMatchObject({ package_id: pkgs.scorm12.id, standard: "scorm12" });
    expect(res.body.summary).toMatchObject({
      learners: 2,
      attempts: 2,
      passed: 1,
      completed: 1,
      incomplete: 1,
      failed: 0,
    });
    const rowA = res.body.data.find((r: any) => r.user.id === a.id);
    expect(rowA).toMatchObject({
      standard: "scorm12",
      attempt_id: `scorm-${rowA.session_id}`,
      registration: null,
      status: "passed",
      lesson_status: "passed",
      score: { raw: 90, min: 0, max: 100 },
      total_seconds: 600,
      user: { email: a.email },
    });
    expect(rowA.interactions).toEqual([
      expect.objectContaining({
        index: 0,
        id: "q1",
        type: "choice",
        response: "b",
        result: "correct",
        success: true,
        correct_responses: ["b"],
        weighting: 1,
        latency_seconds: 12,
        timestamp: "10:00:00",
      }),
      expect.objectContaining({ index: 1, id: "q2", response: "f", result: "wrong", success: false }),
    ]);
    expect(res.body.data.find((r: any) => r.user.id === b.id)).toMatchObject({ status: "incomplete" });
  });

  it("SCORM 2004: completion and success statuses, scaled score, learner_response", async () => {
    const res = await report(pkgs.scorm2004.id);
    expectStatus(res, 200);
    expect(res.body.data).toHaveLength(1);
    expect(res.body.data[0]).toMatchObject({
      standard: "scorm2004",
      status: "failed",
      completion_status: "completed",
      success_status: "failed",
      score: { scaled: 0.4, raw: 40 },
      total_seconds: 90,
    });
    expect(res.body.data[0].interactions).toEqual([
      expect.objectContaining({
        id: "fill1",
        type: "fill-in",
        response: "paris",
        result: "incorrect",
        success: false,
        description: "Capital of Italy",
        timestamp: "2026-01-01T10:00:00Z",
      }),
    ]);
    expect(res.body.summary).toMatchObject({ attempts: 1, failed: 1, average_scaled_score: 0.4 });
  });

  it("xAPI: registrations as attempts, answered statements as interactions, result duration as time", async () => {
    const res = await report(pkgs.xapi.id);
    expectStatus(res, 200);
    expect(res.body.standard).toBe("xapi");
    expect(res.body.summary).toMatchObject({ learners: 2, attempts: 2, passed: 1, not_attempted: 1 });
    const rowA = res.body.data.find((r: any) => r.user.id === a.id);
    expect(rowA).toMatchObject({
      standard: "xapi",
      session_id: null,
      registration: expect.any(String),
      attempt: 1,
      status: "passed",
      success_status: "passed",
      completion_status: "completed",
      score: { raw: 75, scaled: 0.75 },
      total_seconds: 300,
      launches: null,
      activities: [{ id: XAPI_ACTIVITY, completed: true, success: true, score_scaled: 0.75 }],
    });
    expect(rowA.attempt_id).toBe(`registration-${rowA.registration}`);
    expect(rowA.interactions).toEqual([
      expect.objectContaining({
        index: 0,
        id: `${XAPI_ACTIVITY}/q1`,
        type: "choice",
        description: "Question q1",
        response: "b",
        result: "correct",
        success: true,
        correct_responses: ["b"],
        latency_seconds: 12,
      }),
      expect.objectContaining({ index: 1, id: `${XAPI_ACTIVITY}/q2`, response: "c", success: false }),
    ]);
    expect(res.body.data.find((r: any) => r.user.id === b.id)).toMatchObject({
      status: "not attempted",
      interactions: [],
      total_seconds: 0,
    });
  });

  it("cmi5: the registration's sessions as launches, terminated durations as time, interactions", async () => {
    const res = await report(pkgs.cmi5.id);
    expectStatus(res, 200);
    expect(res.body.data).toHaveLength(1);
    expect(res.body.data[0]).toMatchObject({
      standard: "cmi5",
      user: { id: b.id },
      status: "passed",
      score: { raw: 90, scaled: 0.9 },
      total_seconds: 180,
      launches: 1,
    });
    expect(res.body.data[0].interactions).toEqual([
      expect.objectContaining({ id: `${CMI5_AU}/q1`, response: "a", success: true }),
    ]);
  });

  it("filters by learner and status; pages by offset and by cursor over the same order", async () => {
    const onlyB = await report(pkgs.scorm12.id, `?user_id=${b.id}`);
    expect(onlyB.body.data.map((r: any) => r.user.id)).toEqual([b.id]);
    expect(onlyB.body.summary.attempts).toBe(1);
    const passed = await report(pkgs.xapi.id, "?status=passed");
    expect(passed.body.data.map((r: any) => r.user.id)).toEqual([a.id]);
    const notAttempted = await report(pkgs.xapi.id, "?status=not_attempted");
    expect(notAttempted.body.data.map((r: any) => r.user.id)).toEqual([b.id]);
    expect((await report(pkgs.scorm12.id, "?status=failed")).body).toMatchObject({ data: [], meta: { total: 0 } });

    const all = await report(pkgs.scorm12.id, "?per_page=100");
    const first = await report(pkgs.scorm12.id, "?per_page=1");
    expect(first.body.meta).toMatchObject({ page: 1, per_page: 1, total: 2, last_page: 2 });
    expect(first.body.meta.next_cursor).toEqual(expect.any(String));
    const second = await report(pkgs.scorm12.id, `?per_page=1&cursor=${first.body.meta.next_cursor}`);
    expect(second.body.meta).toMatchObject({ page: null, total: null, last_page: null, next_cursor: null });
    expect(second.body.summary).toBeNull();
    const byOffset = await report(pkgs.scorm12.id, "?per_page=1&page=2");
    expect(second.body.data.map((r: any) => r.attempt_id)).toEqual(byOffset.body.data.map((r: any) => r.attempt_id));
    expect([...first.body.data, ...second.body.data].map((r: any) => r.attempt_id)).toEqual(
      all.body.data.map((r: any) => r.attempt_id),
    );
    expect(all.body.meta.next_cursor).toBeNull();
  });

  it("the per-learner view lists every attempt with its interactions", async () => {
    const res = await api("GET", `/v1/admin/packages/${pkgs.xapi.id}/report/learners/${a.id}`, { token: t.key });
    expectStatus(res, 200);
    expect(res.body).toMatchObject({
      package_id: pkgs.xapi.id,
      standard: "xapi",
      user: { id: a.id, email: a.email },
      summary: { attempts: 1, passed: 1 },
    });
    expect(res.body.attempts).toHaveLength(1);
    expect(res.body.attempts[0].interactions).toHaveLength(2);
    const none = await api("GET", `/v1/admin/packages/${pkgs.cmi5.id}/report/learners/${a.id}`, { token: t.key });
    expectStatus(none, 200);
    expect(none.body).toMatchObject({ attempts: [], summary: { attempts: 0 } });
  });

  it("CSV: one row per learner and attempt, and one row per interaction, for every standard", async () => {
    for (const key of ["scorm12", "scorm2004", "xapi", "cmi5"]) {
      const id = pkgs[key].id;
      const json = await report(id, "?per_page=100");
      const csv = await raw("GET", `/v1/admin/packages/${id}/report?format=csv`, { authorization: `Bearer ${t.key}` });
      expectStatus(csv, 200);
      expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
      expect(csv.headers.get("content-disposition")).toMatch(/^attachment; filename="package-\d+-report-/);
      const lines = csv.text.trim().split("\r\n");
      expect(lines[0]).toBe(ATTEMPT_CSV_HEADER.join(","));
      expect(lines.length, key).toBe(1 + json.body.meta.total);
      for (const row of json.body.data) expect(csv.text).toContain(row.user.email);
      expect(csv.text).toContain(`,${key},`);

      const interactions = await raw("GET", `/v1/admin/packages/${id}/report/interactions.csv`, {
        authorization: `Bearer ${t.key}`,
      });
      expectStatus(interactions, 200);
      expect(interactions.headers.get("content-type")).toBe("text/csv; charset=utf-8");
      const rows = interactions.text.trim().split("\r\n");
      expect(rows[0]).toBe(INTERACTION_CSV_HEADER.join(","));
      const count = json.body.data.reduce((n: number, r: any) => n + r.interactions.length, 0);
      expect(rows.length - 1, key).toBe(count);
    }
    const scorm = await raw("GET", `/v1/admin/packages/${pkgs.scorm12.id}/report/interactions.csv?user_id=${a.id}`, {
      authorization: `Bearer ${t.key}`,
    });
    const [, q1] = scorm.text.trim().split("\r\n");
    expect(q1).toContain(",q1,choice,,b,correct,true,b,1,,12,10:00:00");
    // Accept: text/csv on the report, filtered by status.
    const accept = await raw("GET", `/v1/admin/packages/${pkgs.xapi.id}/report?status=passed`, {
      authorization: `Bearer ${t.key}`,
      accept: "text/csv",
    });
    expect(accept.text.trim().split("\r\n")).toHaveLength(2);
  });

  it("validation problems: a bad status, cursor or page size is a 422", async () => {
    const id = pkgs.scorm12.id;
    for (const query of ["?status=done", "?cursor=abc", "?per_page=0", "?format=pdf", "?user_id=x"])
      expectProblem(await report(id, query), 422);
    expectProblem(
      await api("GET", `/v1/admin/packages/${id}/report/interactions.csv?status=nope`, { token: t.key }),
      422,
    );
    expectProblem(await api("GET", `/v1/admin/packages/${id}/report/learners/abc`, { token: t.key }), 422);
  });

  it("authentication and permissions: 401 without a credential, 403 without reports:read or as a learner", async () => {
    const id = pkgs.xapi.id;
    const paths = [
      `/v1/admin/packages/${id}/report`,
      `/v1/admin/packages/${id}/report/interactions.csv`,
      `/v1/admin/packages/${id}/report/learners/${a.id}`,
    ];
    const without = await keyWithout(t, "reports:read");
    for (const path of paths) {
      expectProblem(await api("GET", path), 401);
      expectProblem(await api("GET", path, { token: without }), 403);
      expectProblem(await api("GET", path, { token: a.token }), 403);
    }
  });

  it("another academy's package or learner is a 404", async () => {
    const id = pkgs.scorm12.id;
    for (const path of [
      `/v1/admin/packages/${id}/report`,
      `/v1/admin/packages/${id}/report?format=csv`,
      `/v1/admin/packages/${id}/report/interactions.csv`,
      `/v1/admin/packages/${id}/report/learners/${a.id}`,
    ])
      expectProblem(await api("GET", path, { token: other.key }), 404);
    expectProblem(await api("GET", `/v1/admin/packages/${id}/report/learners/${outsider.id}`, { token: t.key }), 404);
  });
  it("a page costs the same few statements whatever its size, each through a tenant-led index", async () => {
    const run = async (query: { per_page: number; cursor?: string; user_id?: number; status?: "passed" }) => {
      const log: Recorded[] = [];
      const ctx = {
        tenantId: t.id,
        db: createDb(recordingD1(log)),
        env,
        principal: { kind: "platform" as const },
        defer: () => {},
      };
      const page = await packageReport(ctx, pkgs.xapi.id, { page: 1, ...query });
      return { page, log };
    };
    const small = await run({ per_page: 1 });
    const large = await run({ per_page: 100, user_id: a.id, status: "passed" });
    const next = await run({ per_page: 1, cursor: small.page.meta.next_cursor as string });
    expect(small.page.data).toHaveLength(1);
    expect(next.page.data).toHaveLength(1);
    expect(large.log.length).toBe(small.log.length);
    // A cursor page skips the summary: one statement fewer.
    expect(next.log.length).toBe(small.log.length - 1);
    for (const entry of [...small.log, ...large.log, ...next.log]) {
      const plan = (
        await env.DB.prepare(`EXPLAIN QUERY PLAN ${entry.sql}`)
          .bind(...entry.params)
          .all<{ detail: string }>()
      ).results
        .map((r) => r.detail)
        .join("\n");
      // No table of the report is read whole: each is searched through an index (the tenant-led ones, or the primary key).
      expect(plan, entry.sql).not.toMatch(/SCAN (?!\(subquery|json_each)/);
      // Rows of a page are found by primary key, not by walking the academy's rows.
      expect(plan, entry.sql).not.toMatch(/SEARCH \S+ USING (COVERING )?INDEX \S+ \(tenant_id=\?\)$/m);
    }
    const keys = small.log.find((e) => e.sql.includes("UNION ALL") && e.sql.includes("LIMIT")) as Recorded;
    const plan = (
      await env.DB.prepare(`EXPLAIN QUERY PLAN ${keys.sql}`)
        .bind(...keys.params)
        .all<{ detail: string }>()
    ).results
      .map((r) => r.detail)
      .join("\n");
    expect(plan).toContain("scorm_sessions_tenant_package_user_idx");
    expect(plan).toContain("package_registrations_tenant_package_user_idx");
    // A cursor page enters both indexes at the cursor's learner.
    const deep = next.log.find((e) => e.sql.includes("UNION ALL") && e.sql.includes("LIMIT")) as Recorded;
    const deepPlan = (
      await env.DB.prepare(`EXPLAIN QUERY PLAN ${deep.sql}`)
        .bind(...deep.params)
        .all<{ detail: string }>()
    ).results.map((r) => r.detail);
    expect(
      deepPlan.filter((d) => /_tenant_package_user_idx \(tenant_id=\? AND package_id=\? AND user_id>\?\)/.test(d)),
    ).toHaveLength(2);
  });
});

describe("package reports over many attempts: keyset pages and CSV pages walk every attempt once", () => {
  let t: TestTenant;
  let pkg: { id: number };
  let learners: Learner[];
  const SESSIONS_PER_LEARNER = 40;

  beforeAll(async () => {
    t = await createTenant();
    learners = await Promise.all([learnerSession(t), learnerSession(t), learnerSession(t)]);
    pkg = await importedPackage(t, zipSync({ "imsmanifest.xml": strToU8(MANIFEST_12), "index.html": page("Lesson") }));
    const course = await courseWithPackage(t, pkg.id, learners);
    for (const learner of learners) await launch(learner, course);
    // Many more attempts than a CSV page (written straight to D1 from each learner's launched session), and a
    // registration per learner on the same placement, so both sources interleave in one learner's attempts.
    await env.DB.prepare(
      `WITH RECURSIVE n(k) AS (SELECT 2 UNION ALL SELECT k + 1 FROM n WHERE k < ${SESSIONS_PER_LEARNER})
       INSERT INTO scorm_sessions (tenant_id, package_id, package_version, enrollment_id, placement_id, course_id,
         user_id, sco_identifier, standard, attempt, cmi, lesson_status, created_at, updated_at)
       SELECT s.tenant_id, s.package_id, s.package_version, s.enrollment_id, s.placement_id, s.course_id, s.user_id,
         s.sco_identifier, s.standard, n.k, s.cmi, CASE WHEN n.k % 2 THEN 'passed' ELSE 'failed' END,
         s.created_at, s.updated_at
       FROM scorm_sessions s, n WHERE s.tenant_id = ? AND s.package_id = ?`,
    )
      .bind(t.id, pkg.id)
      .run();
    const sessions = await env.DB.prepare(
      "SELECT s.enrollment_id, s.placement_id, s.course_id, s.user_id, p.module_id FROM scorm_sessions s JOIN course_placements p ON p.id = s.placement_id WHERE s.tenant_id = ? AND s.package_id = ? AND s.attempt = 1",
    )
      .bind(t.id, pkg.id)
      .all<{ enrollment_id: number; placement_id: number; course_id: number; user_id: number; module_id: number }>();
    const now = new Date().toISOString();
    await env.DB.batch(
      sessions.results.map((s) =>
        env.DB.prepare(
          `INSERT INTO package_registrations (tenant_id, registration, enrollment_id, placement_id, course_id, module_id,
             user_id, package_id, package_version, standard, activity_id, actor, actor_key, results, reported,
             created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, 'xapi', 'http://example.com/a', '{}', ?, '{}', '{"status":"completed","score":null}', ?, ?)`,
        ).bind(
          t.id,
          crypto.randomUUID(),
          s.enrollment_id,
          s.placement_id,
          s.course_id,
          s.module_id,
          s.user_id,
          pkg.id,
          `Agent|account|x|${s.user_id}`,
          now,
          now,
        ),
      ),
    );
  }, 120_000);

  const total = 3 * SESSIONS_PER_LEARNER + 3;

  it("cursor pages of any size list every attempt once, in the offset order", async () => {
    const all = await api("GET", `/v1/admin/packages/${pkg.id}/report?per_page=100`, { token: t.key });
    const second = await api("GET", `/v1/admin/packages/${pkg.id}/report?per_page=100&page=2`, { token: t.key });
    expect(all.body.meta.total).toBe(total);
    const byOffset = [...all.body.data, ...second.body.data].map((r: any) => r.attempt_id);
    expect(byOffset).toHaveLength(total);
    for (const size of [7, 40, 41]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let first = true;
      while (first || cursor) {
        const res: ApiResponse = await api(
          "GET",
          `/v1/admin/packages/${pkg.id}/report?per_page=${size}${cursor ? `&cursor=${cursor}` : ""}`,
          { token: t.key },
        );
        expectStatus(res, 200);
        seen.push(...res.body.data.map((r: any) => r.attempt_id));
        cursor = res.body.meta.next_cursor;
        first = false;
      }
      expect(seen, `per_page=${size}`).toEqual(byOffset);
    }
    // Each learner: SCORM sessions by id, then the registration.
    const mine = byOffset.filter((_, i) => all.body.data.concat(second.body.data)[i].user.id === learners[0].id);
    expect(mine.at(-1)).toMatch(/^registration-/);
    // Status filter across both sources.
    const completed = await api("GET", `/v1/admin/packages/${pkg.id}/report?status=completed`, { token: t.key });
    expect(completed.body.meta.total).toBe(3);
    expect(completed.body.data.every((r: any) => r.standard === "xapi")).toBe(true);
    const passed = await api("GET", `/v1/admin/packages/${pkg.id}/report?status=passed&per_page=100`, {
      token: t.key,
    });
    expect(passed.body.summary).toMatchObject({ attempts: passed.body.meta.total, passed: passed.body.meta.total });
    expect(passed.body.data.every((r: any) => r.status === "passed")).toBe(true);
  });

  it("the CSV walks every attempt once across its pages", async () => {
    const csv = await raw("GET", `/v1/admin/packages/${pkg.id}/report?format=csv`, {
      authorization: `Bearer ${t.key}`,
    });
    expectStatus(csv, 200);
    const rows = csv.text.trim().split("\r\n").slice(1);
    expect(rows).toHaveLength(total);
    const ids = rows.map((r) => `${r.split(",")[0]}|${r.split(",")[5]}`);
    expect(new Set(ids).size).toBe(total);
    const failed = await raw("GET", `/v1/admin/packages/${pkg.id}/report?format=csv&status=failed`, {
      authorization: `Bearer ${t.key}`,
    });
    const failedRows = failed.text.trim().split("\r\n").slice(1);
    expect(failedRows.length).toBeGreaterThan(0);
    expect(failedRows.every((r) => r.split(",")[11] === "failed")).toBe(true);
  });
});
