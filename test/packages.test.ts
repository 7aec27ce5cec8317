/**
 * E-learning packages and the SCORM runtime: SCORM 1.2 and SCORM 2004 zips built here with fflate are uploaded
 * (streamed to R2), imported (`importPackage`, the JOBS handler's work), launched through the progress launch,
 * played through `/content/{token}/...` and committed to exactly as scorm-again does (json, flattened, the
 * text/plain sendBeacon commit with the token in the URL, commitSequence), resumed, and complete their module.
 * Malicious and broken zips are each refused with a reason and leave nothing in storage.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { strToU8, type Zippable, zipSync } from "fflate";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../src/index";
import { importPackage } from "../src/modules/packages/import";
import { signPlayerToken } from "../src/modules/packages/player";
import { versionPrefix } from "../src/modules/packages/storage";
import { type ApiResponse, api, expectProblem, expectStatus } from "./helpers/api";
import { createTenant, keyWithout, learnerSession, type TestTenant, unique } from "./helpers/factories";
import { courseWithPackage, post } from "./helpers/packages";
import { runQueue } from "./helpers/webhooks";

type Learner = Awaited<ReturnType<typeof learnerSession>>;

async function raw(
  method: string,
  path: string,
  options: { token?: string; body?: BodyInit | Uint8Array; headers?: Record<string, string> } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const url = path.startsWith("http") ? path : `http://lectern.test${path}`;
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(url, { method, headers, body: options.body as BodyInit }), env, ctx);
  await waitOnExecutionContext(ctx);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body: body as any, text };
}

function uploadZip(t: TestTenant, zip: Uint8Array, path = "/v1/admin/packages", token = t.key) {
  return raw("POST", path, {
    token,
    body: zip,
    headers: { "content-type": "application/zip", "content-length": String(zip.length) },
  });
}

const MANIFEST_12 = `<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="com.example.fire" version="1"
  xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2" xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">
  <metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata>
  <organizations default="org1">
    <organization identifier="org1">
      <title>Fire Safety &amp; You</title>
      <item identifier="item1" identifierref="res1" parameters="?lang=en">
        <title>Lesson 1</title>
        <adlcp:masteryscore>80</adlcp:masteryscore>
        <adlcp:datafromlms>level=1</adlcp:datafromlms>
      </item>
    </organization>
  </organizations>
  <resources>
    <resource identifier="res1" type="webcontent" adlcp:scormtype="sco" href="lesson/index.html">
      <file href="lesson/index.html"/>
      <file href="lesson/app.js"/>
    </resource>
  </resources>
</manifest>`;

const MANIFEST_2004 = `<?xml version="1.0" standalone="no"?>
<!-- SCORM 2004 4th edition, resources under an xml:base -->
<manifest identifier="com.example.privacy" version="1.0"
  xmlns="http://www.imsglobal.org/xsd/imscp_v1p1" xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_v1p3"
  xmlns:imsss="http://www.imsglobal.org/xsd/imsss">
  <metadata><schema>ADL SCORM</schema><schemaversion>2004 4th Edition</schemaversion></metadata>
  <organizations default="o1">
    <organization identifier="o1">
      <title><![CDATA[Data Privacy 2004]]></title>
      <item identifier="i1" identifierref="r1">
        <title>Module A</title>
        <imsss:sequencing>
          <imsss:objectives>
            <imsss:primaryObjective objectiveID="p1" satisfiedByMeasure="true">
              <imsss:minNormalizedMeasure>0.7</imsss:minNormalizedMeasure>
            </imsss:primaryObjective>
          </imsss:objectives>
        </imsss:sequencing>
      </item>
    </organization>
  </organizations>
  <resources xml:base="content/">
    <resource identifier="r1" type="webcontent" adlcp:scormType="sco" href="sco.html">
      <file href="sco.html"/>
    </resource>
  </resources>
</manifest>`;

const html = (title: string) =>
  strToU8(`<!doctype html><html><head><title>${title}</title></head><body>${title}</body></html>`);

function scorm12Zip(extra: Zippable = {}) {
  return zipSync({
    "imsmanifest.xml": strToU8(MANIFEST_12),
    lesson: { "index.html": html("Lesson 1"), "app.js": strToU8("window.lessonLoaded = true;\n".repeat(200)) },
    ...extra,
  });
}

function scorm2004Zip() {
  return zipSync({ "imsmanifest.xml": strToU8(MANIFEST_2004), content: { "sco.html": html("Module A") } });
}

/** Uploads and imports a zip; answers the package as the API shows it. */
async function imported(t: TestTenant, zip: Uint8Array, title?: string) {
  const res = await uploadZip(
    t,
    zip,
    title ? `/v1/admin/packages?title=${encodeURIComponent(title)}` : "/v1/admin/packages",
  );
  expectStatus(res, 201);
  const result = await importPackage(env, t.id, res.body.id);
  // The JOBS consumer may have run it first; either way the package ends ready or failed.
  expect(["ready", "failed", "skipped"]).toContain(result.status);
  const pkg = await api("GET", `/v1/admin/packages/${res.body.id}`, { token: t.key });
  expectStatus(pkg, 200);
  return pkg.body;
}

const launchPath = (c: number, p: number) => `/v1/learner/courses/${c}/modules/${p}/launch`;
const pathOf = (url: string) => url.replace(/^https?:\/\/[^/]+/, "");

async function progressOf(t: TestTenant, placementId: number, userId: number) {
  return env.DB.prepare(
    "SELECT status, score, max_score, attempts FROM module_progress WHERE tenant_id = ? AND placement_id = ? AND user_id = ?",
  )
    .bind(t.id, placementId, userId)
    .first<{ status: string; score: number | null; max_score: number | null; attempts: number }>();
}

async function storedKeys(prefix: string) {
  return (await env.PACKAGES.list({ prefix })).objects.map((o) => o.key);
}

describe("SCORM 1.2: upload, import, launch, content, commits, resume, completion", () => {
  let t: TestTenant;
  let learner: Learner;
  let other: Learner;
  let pkg: any;
  let course: Awaited<ReturnType<typeof courseWithPackage>>;

  beforeAll(async () => {
    t = await createTenant();
    learner = await learnerSession(t);
    other = await learnerSession(t);
  });

  it("streams the zip to storage, records the package processing with its job, and imports it", async () => {
    const zip = scorm12Zip();
    const res = await uploadZip(t, zip);
    expectStatus(res, 201);
    expect(res.headers.get("location")).toBe(`/v1/admin/packages/${res.body.id}`);
    expect(res.body).toMatchObject({
      status: "processing",
      latest_version: 1,
      current_version: null,
      title: "Untitled package",
    });
    expect(res.body.job_id).toEqual(expect.any(Number));
    const job = await api("GET", `/v1/admin/jobs/${res.body.job_id}`, { token: t.key });
    expectStatus(job, 200);
    expect(job.body.kind).toBe("package.import");

    const result = await importPackage(env, t.id, res.body.id);
    expect(["ready", "skipped"]).toContain(result.status);
    const got = await api("GET", `/v1/admin/packages/${res.body.id}`, { token: t.key });
    expectStatus(got, 200);
    pkg = got.body;
    expect(pkg).toMatchObject({
      status: "ready",
      standard: "scorm12",
      standard_version: "1.2",
      current_version: 1,
      title: "Fire Safety & You",
      launch_path: "lesson/index.html?lang=en",
      failure_reason: null,
    });
    expect(pkg.structure.scos).toEqual([
      expect.objectContaining({
        identifier: "item1",
        title: "Lesson 1",
        scorm_type: "sco",
        mastery_score: 80,
        launch_data: "level=1",
      }),
    ]);
    const keys = await storedKeys(versionPrefix(t.id, pkg.id, 1));
    expect(keys.sort()).toEqual(
      ["imsmanifest.xml", "lesson/app.js", "lesson/index.html"].map((k) => versionPrefix(t.id, pkg.id, 1) + k),
    );
    // Importing again changes nothing (a redelivered job).
    expect((await importPackage(env, t.id, pkg.id)).status).toBe("skipped");
    const versions = await api("GET", `/v1/admin/packages/${pkg.id}/versions`, { token: t.key });
    expect(versions.body.data).toEqual([expect.objectContaining({ version: 1, status: "ready", file_count: 3 })]);
  });

  it("lists and searches packages, and edits the title", async () => {
    const list = await api("GET", "/v1/admin/packages?standard=scorm12&q=fire", { token: t.key });
    expectStatus(list, 200);
    expect(list.body.data.map((p: any) => p.id)).toEqual([pkg.id]);
    const patched = await api("PATCH", `/v1/admin/packages/${pkg.id}`, {
      token: t.key,
      body: { description: "Basics" },
    });
    expectStatus(patched, 200);
    expect(patched.body.description).toBe("Basics");
    expectProblem(
      await api("PATCH", `/v1/admin/packages/${pkg.id}`, { token: t.key, body: { standard: "xapi" } }),
      422,
    );
  });

  it("launch answers the player: a session, the content URL with a token, scorm-again settings and a fresh CMI", async () => {
    course = await courseWithPackage(t, pkg.id, [learner, other]);
    const res = await api("POST", launchPath(course.courseId, course.placementId), { token: learner.token });
    expectStatus(res, 200);
    const player = res.body.player;
    expect(player).toMatchObject({
      standard: "scorm12",
      package_id: pkg.id,
      attempt: 1,
      resumed: false,
      sco: { identifier: "item1" },
    });
    expect(pathOf(player.launch_url)).toMatch(/^\/content\/[^/]+\/lesson\/index\.html\?lang=en$/);
    expect(player.scorm_again).toMatchObject({
      lmsCommitUrl: player.commit_url,
      includeCommitSequence: true,
      dataCommitFormat: "json",
    });
    expect(player.cmi.core).toMatchObject({
      student_id: String(learner.id),
      entry: "ab-initio",
      lesson_status: "not attempted",
    });
    expect(player.cmi.launch_data).toBe("level=1");
    expect(player.cmi.student_data.mastery_score).toBe("80");
  });

  it("serves the package's files with their type and restrictive headers, Range and ETag; nothing outside it", async () => {
    const launched = await api("POST", launchPath(course.courseId, course.placementId), { token: learner.token });
    const url = pathOf(launched.body.player.launch_url);
    const page = await raw("GET", url);
    expectStatus(page, 200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.text).toContain("Lesson 1");
    expect(page.headers.get("content-security-policy")).toMatch(/^sandbox allow-scripts/);
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    expect(page.headers.get("set-cookie")).toBeNull();
    const base = url.replace(/index\.html\?lang=en$/, "");
    const js = await raw("GET", `${base}app.js`);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    const part = await raw("GET", `${base}app.js`, { headers: { range: "bytes=0-5" } });
    expectStatus(part, 206);
    expect(part.text).toBe("window");
    expect(part.headers.get("content-range")).toMatch(/^bytes 0-5\/\d+$/);
    const cached = await raw("GET", `${base}app.js`, {
      headers: { "if-none-match": js.headers.get("etag") as string },
    });
    expectStatus(cached, 304);
    expectProblem(await raw("GET", `${base}missing.js`), 404);
    expectProblem(await raw("GET", `${base}..%2F..%2F..%2Fv2%2Flesson%2Findex.html`), 404);
    expectProblem(await raw("GET", url.replace(/\/content\/[^/]+\//, "/content/not-a-token/")), 401);
  });

  it("stores json, flattened and beacon commits in order, ignores replays, ends the launch at terminate", async () => {
    const launched = await api("POST", launchPath(course.courseId, course.placementId), { token: learner.token });
    const player = launched.body.player;
    const commitPath = pathOf(player.commit_url);
    // 1. scorm-again json format, with the learner's bearer token.
    const first = await raw("POST", commitPath, {
      token: learner.token,
      headers: { "content-type": "application/json;charset=UTF-8" },
      body: JSON.stringify({
        cmi: {
          suspend_data: "slide=4",
          core: {
            lesson_status: "incomplete",
            lesson_location: "p4",
            exit: "",
            session_time: "00:05:00",
            score: { raw: "", min: "", max: "" },
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
            },
          },
          objectives: { "0": { id: "obj1", status: "incomplete", score: { raw: "", min: "", max: "" } } },
        },
        commitSequence: 1,
      }),
    });
    expectStatus(first, 200);
    expect(first.body).toEqual({ result: true, errorCode: 0 });

    // A replay of sequence 1 with other data changes nothing.
    const replay = await raw("POST", commitPath, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ cmi: { suspend_data: "REPLAYED" }, commitSequence: 1 }),
    });
    expectStatus(replay, 200);
    expect(replay.body).toMatchObject({ result: true, errorCode: 0 });

    // 2. flattened format, authenticated by the token in the URL only.
    const flattened = await raw("POST", commitPath, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        "cmi.core.lesson_location": "p5",
        "cmi.core.session_time": "00:08:00",
        "cmi.interactions.1.id": "q2",
        "cmi.interactions.1.result": "wrong",
        commitSequence: 2,
      }),
    });
    expect(flattened.body).toEqual({ result: true, errorCode: 0 });

    const state = await api("GET", `/v1/learner/scorm/sessions/${player.session_id}`, { token: learner.token });
    expectStatus(state, 200);
    expect(state.body.cmi.suspend_data).toBe("slide=4");
    expect(state.body.cmi.core.lesson_location).toBe("p5");
    expect(state.body.cmi.interactions["1"]).toMatchObject({ id: "q2", result: "wrong" });
    expect(state.body).toMatchObject({
      commit_sequence: 2,
      lesson_status: "incomplete",
      total_seconds: 480,
      terminated_at: null,
    });

    // 3. sendBeacon on unload: text/plain, no headers but the content type, token in the URL: the terminate commit.
    const beacon = await raw("POST", commitPath, {
      headers: { "content-type": "text/plain;charset=UTF-8" },
      body: JSON.stringify({
        cmi: { core: { exit: "suspend", session_time: "00:10:00", lesson_location: "p6" } },
        commitSequence: 3,
      }),
    });
    expect(beacon.body).toEqual({ result: true, errorCode: 0 });
    // The beacon may be sent twice: the replay is answered true and changes nothing.
    const beaconAgain = await raw("POST", commitPath, {
      headers: { "content-type": "text/plain;charset=UTF-8" },
      body: JSON.stringify({
        cmi: { core: { exit: "suspend", session_time: "00:10:00", lesson_location: "p6" } },
        commitSequence: 3,
      }),
    });
    expect(beaconAgain.body.result).toBe(true);
    // After the terminate a new commit of that launch is refused.
    const late = await raw("POST", commitPath, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ cmi: { core: { lesson_location: "p7" } }, commitSequence: 4 }),
    });
    expectStatus(late, 200);
    expect(late.body).toMatchObject({ result: false, errorCode: 101 });

    const after = await api("GET", `/v1/learner/scorm/sessions/${player.session_id}`, { token: learner.token });
    expect(after.body).toMatchObject({ total_seconds: 600, commit_sequence: 3 });
    expect(after.body.terminated_at).toEqual(expect.any(String));
    expect(after.body.cmi.core).toMatchObject({ lesson_location: "p6", entry: "resume", total_time: "0000:10:00.00" });
    expect(after.body.cmi.core.session_time).toBeUndefined();
    expect((await progressOf(t, course.placementId, learner.id))?.status).toBe("in_progress");
  });

  it("resumes the suspended attempt on the next launch, refuses the old launch's token, and completes the module", async () => {
    const before = await api("POST", launchPath(course.courseId, course.placementId), { token: learner.token });
    const oldCommit = pathOf(before.body.player.commit_url);
    const res = await api("POST", launchPath(course.courseId, course.placementId), { token: learner.token });
    const player = res.body.player;
    expect(player).toMatchObject({ resumed: true, attempt: 1, session_id: before.body.player.session_id });
    expect(player.cmi.core).toMatchObject({ entry: "resume", lesson_location: "p6", total_time: "0000:10:00.00" });
    expect(player.cmi.suspend_data).toBe("slide=4");

    const stale = await raw("POST", oldCommit, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ cmi: { core: { lesson_status: "failed" } }, commitSequence: 1 }),
    });
    expectStatus(stale, 200);
    expect(stale.body).toMatchObject({ result: false, errorCode: 101 });

    // Completed with a raw score of 90 and a mastery score of 80: passed, 90%.
    const done = await raw(`POST`, `${pathOf(player.commit_url)}&terminate=true`, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        cmi: {
          core: {
            lesson_status: "completed",
            exit: "",
            session_time: "00:02:30",
            score: { raw: "90", min: "0", max: "100" },
          },
        },
        commitSequence: 1,
      }),
    });
    expect(done.body).toEqual({ result: true, errorCode: 0 });
    expect(await progressOf(t, course.placementId, learner.id)).toMatchObject({
      status: "passed",
      score: 90,
      max_score: 100,
    });
    const outline = await api("GET", `/v1/learner/courses/${course.courseId}/outline`, { token: learner.token });
    expect(JSON.stringify(outline.body)).toContain('"status":"passed"');
    const session = await api("GET", `/v1/learner/scorm/sessions/${player.session_id}`, { token: learner.token });
    expect(session.body).toMatchObject({
      lesson_status: "passed",
      total_seconds: 750,
      score: { raw: 90, scaled: 0.9 },
    });

    // Finished and not suspended: the next launch starts attempt 2.
    const next = await api("POST", launchPath(course.courseId, course.placementId), { token: learner.token });
    expect(next.body.player).toMatchObject({ attempt: 2, resumed: false });
    expect(next.body.player.cmi.core.entry).toBe("ab-initio");
  });

  it("keeps learners apart: another learner's session is a 404, with or without a token of theirs", async () => {
    const mine = await api("POST", launchPath(course.courseId, course.placementId), { token: learner.token });
    const theirs = await api("POST", launchPath(course.courseId, course.placementId), { token: other.token });
    const sessionId = mine.body.player.session_id;
    expectProblem(await api("GET", `/v1/learner/scorm/sessions/${sessionId}`, { token: other.token }), 404);
    expectProblem(
      await raw("POST", `/v1/learner/scorm/sessions/${sessionId}/commit`, {
        token: other.token,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ cmi: { core: { lesson_status: "failed" } } }),
      }),
      404,
    );
    // The other learner's launch token names their own session, not this one.
    const token = new URL(theirs.body.player.commit_url).searchParams.get("token") as string;
    expectProblem(
      await raw("POST", `/v1/learner/scorm/sessions/${sessionId}/commit?token=${token}`, {
        headers: { "content-type": "text/plain" },
        body: JSON.stringify({ cmi: { core: { lesson_status: "failed" } } }),
      }),
      404,
    );
    expectProblem(await api("GET", `/v1/learner/scorm/sessions/${sessionId}`), 401);
  });

  it("refuses an expired or forged launch token with 401, and a malformed commit with result false", async () => {
    const mine = await api("POST", launchPath(course.courseId, course.placementId), { token: learner.token });
    const p = mine.body.player;
    const { token: expired } = await signPlayerToken(
      env.JWT_SECRET,
      { tid: t.id, sid: p.session_id, pkg: pkg.id, ver: 1, uid: learner.id, lno: 1 },
      0,
    );
    const commit = await raw("POST", `/v1/learner/scorm/sessions/${p.session_id}/commit?token=${expired}`, {
      headers: { "content-type": "text/plain" },
      body: JSON.stringify({ cmi: { core: { lesson_status: "failed" } } }),
    });
    expect(expectProblem(commit, 401).detail).toMatch(/expired/);
    expectProblem(await raw("GET", `/content/${expired}/lesson/index.html`), 401);
    const forged = `${p.token.slice(0, -4)}AAAA`;
    expectProblem(await raw("GET", `/content/${forged}/lesson/index.html`), 401);

    const bad = await raw("POST", pathOf(p.commit_url), {
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expectStatus(bad, 200);
    expect(bad.body).toMatchObject({ result: false, errorCode: 101 });
    const empty = await raw("POST", pathOf(p.commit_url), {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ foo: 1 }),
    });
    expect(empty.body).toMatchObject({ result: false, errorCode: 101 });
    expectProblem(
      await raw("POST", pathOf(p.commit_url), { headers: { "content-type": "application/xml" }, body: "<x/>" }),
      415,
    );
  });

  it("reports per learner and attempt with interactions, as JSON and CSV", async () => {
    const report = await api("GET", `/v1/admin/packages/${pkg.id}/report`, { token: t.key });
    expectStatus(report, 200);
    expect(report.body.summary).toMatchObject({ learners: 2, passed: 1 });
    const row = report.body.data.find((r: any) => r.user.id === learner.id && r.attempt === 1);
    expect(row).toMatchObject({
      status: "passed",
      score: { raw: 90 },
      total_seconds: 750,
      user: { email: learner.email },
    });
    expect(row.interactions.map((i: any) => i.id)).toEqual(["q1", "q2"]);
    const one = await api("GET", `/v1/admin/packages/${pkg.id}/report?user_id=${other.id}`, { token: t.key });
    expect(one.body.data.every((r: any) => r.user.id === other.id)).toBe(true);
    const csv = await raw("GET", `/v1/admin/packages/${pkg.id}/report?format=csv`, { token: t.key });
    expectStatus(csv, 200);
    expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    const lines = csv.text.trim().split("\r\n");
    expect(lines[0]).toMatch(/^session_id,learner_id,learner_name,learner_email/);
    expect(lines.length).toBe(1 + report.body.meta.total);
    expect(csv.text).toContain(learner.email);
    expectProblem(await api("GET", `/v1/admin/packages/${pkg.id}/report?format=pdf`, { token: t.key }), 422);
    expectProblem(
      await api("GET", `/v1/admin/packages/${pkg.id}/report`, { token: await keyWithout(t, "reports:read") }),
      403,
    );
  });

  it("replaces the content with a new version; learners get it on their next attempt", async () => {
    const zip = scorm12Zip({ "lesson/extra.html": html("Extra") });
    const res = await uploadZip(t, zip, `/v1/admin/packages/${pkg.id}/versions`);
    expectStatus(res, 201);
    expect(res.body).toMatchObject({ version: 2, status: "processing" });
    const during = await api("GET", `/v1/admin/packages/${pkg.id}`, { token: t.key });
    expect(during.body).toMatchObject({ status: "processing", current_version: 1, latest_version: 2 });
    await importPackage(env, t.id, pkg.id, { version: 2 });
    const after = await api("GET", `/v1/admin/packages/${pkg.id}`, { token: t.key });
    expect(after.body).toMatchObject({ status: "ready", current_version: 2, latest_version: 2 });
    expect(await storedKeys(`${versionPrefix(t.id, pkg.id, 2)}lesson/extra.html`)).toHaveLength(1);
  });

  it("imports a zip from the media library (the path for large, multipart uploads) without copying it", async () => {
    const zip = scorm12Zip();
    const media = await raw("POST", "/v1/admin/media?name=course.zip", {
      token: t.key,
      body: zip,
      headers: { "content-type": "application/zip", "content-length": String(zip.length) },
    });
    expectStatus(media, 201);
    const created = await api("POST", "/v1/admin/packages/from-media", {
      token: t.key,
      body: { media_id: media.body.id, title: "From media" },
    });
    expectStatus(created, 201);
    expect(await importPackage(env, t.id, created.body.id)).toMatchObject({
      status: expect.stringMatching(/ready|skipped/),
    });
    const got = await api("GET", `/v1/admin/packages/${created.body.id}`, { token: t.key });
    expect(got.body).toMatchObject({ status: "ready", title: "From media", standard: "scorm12" });
    const version = await api("POST", `/v1/admin/packages/${created.body.id}/versions/from-media`, {
      token: t.key,
      body: { media_id: media.body.id },
    });
    expect(version.body).toMatchObject({ version: 2, status: "processing" });
    // Not a zip, and another academy's file: refused.
    const text = await raw("POST", "/v1/admin/media?name=notes.txt", {
      token: t.key,
      body: "plain notes",
      headers: { "content-type": "text/plain", "content-length": "11" },
    });
    expectProblem(
      await api("POST", "/v1/admin/packages/from-media", { token: t.key, body: { media_id: text.body.id } }),
      422,
    );
    const stranger = await createTenant();
    expectProblem(
      await api("POST", "/v1/admin/packages/from-media", { token: stranger.key, body: { media_id: media.body.id } }),
      404,
    );
  });

  it("refuses to delete a package a module uses (409 naming it), deletes an unused one with its files", async () => {
    const inUse = await api("DELETE", `/v1/admin/packages/${pkg.id}`, { token: t.key });
    const problem = expectProblem(inUse, 409);
    expect(problem.modules).toEqual([{ id: course.moduleId, name: expect.any(String) }]);
    expect(problem.detail).toContain(String(course.moduleId));

    const spare = await imported(t, scorm12Zip(), "Spare");
    expect(spare.title).toBe("Spare");
    expect(await storedKeys(versionPrefix(t.id, spare.id, 1))).not.toHaveLength(0);
    expectStatus(await api("DELETE", `/v1/admin/packages/${spare.id}`, { token: t.key }), 204);
    expectProblem(await api("GET", `/v1/admin/packages/${spare.id}`, { token: t.key }), 404);
    expect(await storedKeys(versionPrefix(t.id, spare.id, 1))).toHaveLength(0);
  });
});

describe("SCORM 2004 4th edition: xml:base, scaled passing score, completion without pass/fail", () => {
  let t: TestTenant;
  let pkg: any;

  beforeAll(async () => {
    t = await createTenant();
    pkg = await imported(t, scorm2004Zip());
  });

  it("imports the version, the launch file under xml:base and the SCO's passing score", () => {
    expect(pkg).toMatchObject({
      status: "ready",
      standard: "scorm2004",
      standard_version: "2004 4th Edition",
      launch_path: "content/sco.html",
      title: "Data Privacy 2004",
    });
    expect(pkg.structure.scos[0]).toMatchObject({ identifier: "i1", mastery_score: 0.7 });
  });

  it("passes the module on a scaled score above the passing score", async () => {
    const learner = await learnerSession(t);
    const course = await courseWithPackage(t, pkg.id, [learner]);
    const res = await api("POST", launchPath(course.courseId, course.placementId), { token: learner.token });
    const player = res.body.player;
    expect(player.standard).toBe("scorm2004");
    expect(player.cmi).toMatchObject({
      learner_id: String(learner.id),
      entry: "ab-initio",
      completion_status: "unknown",
      scaled_passing_score: "0.7",
    });
    const page = await raw("GET", pathOf(player.launch_url));
    expect(page.text).toContain("Module A");
    const commit = await raw("POST", `${pathOf(player.commit_url)}&terminate=true`, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        cmi: {
          completion_status: "completed",
          success_status: "unknown",
          score: { scaled: "0.85", raw: "85" },
          session_time: "PT1M30S",
          exit: "normal",
        },
        commitSequence: 1,
      }),
    });
    expect(commit.body).toEqual({ result: true, errorCode: 0 });
    expect(await progressOf(t, course.placementId, learner.id)).toMatchObject({ status: "passed", score: 85 });
    const state = await api("GET", `/v1/learner/scorm/sessions/${player.session_id}`, { token: learner.token });
    expect(state.body).toMatchObject({ success_status: "passed", completion_status: "completed", total_seconds: 90 });
    expect(state.body.cmi.total_time).toBe("PT90S");
  });

  it("completes the module when the SCO completes without a score, and fails it below the passing score", async () => {
    const a = await learnerSession(t);
    const b = await learnerSession(t);
    const course = await courseWithPackage(t, pkg.id, [a, b]);
    const pa = (await api("POST", launchPath(course.courseId, course.placementId), { token: a.token })).body.player;
    await raw("POST", pathOf(pa.commit_url), {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ cmi: { completion_status: "completed", success_status: "unknown" }, commitSequence: 1 }),
    });
    expect((await progressOf(t, course.placementId, a.id))?.status).toBe("completed");
    const pb = (await api("POST", launchPath(course.courseId, course.placementId), { token: b.token })).body.player;
    await raw("POST", pathOf(pb.commit_url), {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ "cmi.completion_status": "completed", "cmi.score.scaled": "0.5", commitSequence: 1 }),
    });
    expect(await progressOf(t, course.placementId, b.id)).toMatchObject({ status: "failed", score: 50 });
  });
});

describe("bad zips are refused with a reason and leave nothing behind", () => {
  let t: TestTenant;
  beforeAll(async () => {
    t = await createTenant();
  });

  async function refused(zip: Uint8Array, reason: RegExp) {
    const res = await uploadZip(t, zip);
    expectStatus(res, 201);
    const result = await importPackage(env, t.id, res.body.id);
    const pkg = await api("GET", `/v1/admin/packages/${res.body.id}`, { token: t.key });
    expect(pkg.body.status, JSON.stringify(result)).toBe("failed");
    expect(pkg.body.failure_reason).toMatch(reason);
    expect(pkg.body.current_version).toBeNull();
    expect(await storedKeys(versionPrefix(t.id, res.body.id, 1))).toEqual([]);
    return pkg.body;
  }

  const base = () => ({
    "imsmanifest.xml": strToU8(MANIFEST_12),
    lesson: { "index.html": html("x"), "app.js": strToU8("1") },
  });

  it("zip slip (..)", async () => {
    await refused(zipSync({ ...base(), "../../evil.html": html("evil") }), /zip slip/);
  });

  it("an absolute path", async () => {
    await refused(zipSync({ ...base(), "/etc/cron.d/evil": strToU8("x") }), /absolute path/);
  });

  it("a symbolic link (unix mode in the external attributes)", async () => {
    await refused(
      zipSync({ ...base(), "lesson/link": [strToU8("/etc/passwd"), { os: 3, attrs: (0o120777 << 16) >>> 0 }] }),
      /symbolic link/,
    );
  });

  it("a zip bomb by compression ratio", async () => {
    await refused(
      zipSync({ ...base(), "lesson/big.bin": [new Uint8Array(8 * 1024 * 1024), { level: 9 }] }),
      /zip bomb/,
    );
  });

  it("too many entries", async () => {
    const files: Zippable = base();
    for (let i = 0; i < 10_001; i++) files[`f/${i}.txt`] = [new Uint8Array(0), { level: 0 }];
    await refused(zipSync(files), /at most 10000/);
  });

  it("no manifest", async () => {
    await refused(zipSync({ "index.html": html("x") }), /no manifest/);
  });

  it("a manifest pointing at a missing file", async () => {
    await refused(
      zipSync({ "imsmanifest.xml": strToU8(MANIFEST_12), lesson: { "index.html": html("x") } }),
      /missing from the zip: lesson\/app\.js/,
    );
  });

  it("a corrupt zip and a malformed manifest", async () => {
    await refused(strToU8("PK this is not a zip at all, just text"), /not a zip/);
    await refused(
      zipSync({ "imsmanifest.xml": strToU8("<manifest><organizations>"), "a.html": html("x") }),
      /not well-formed/,
    );
  });

  it("a failed new version leaves the current one playing", async () => {
    const good = await imported(t, scorm12Zip());
    expectStatus(
      await uploadZip(t, zipSync({ "index.html": html("x") }), `/v1/admin/packages/${good.id}/versions`),
      201,
    );
    await importPackage(env, t.id, good.id, { version: 2 });
    const pkg = await api("GET", `/v1/admin/packages/${good.id}`, { token: t.key });
    expect(pkg.body).toMatchObject({
      status: "failed",
      current_version: 1,
      latest_version: 2,
      launch_path: "lesson/index.html?lang=en",
    });
    expect(pkg.body.failure_reason).toMatch(/no manifest/);
  });
});

describe("the import runs in the JOBS consumer", () => {
  it("succeeds the job for a good zip and fails it with the package's reason for a bad one", async () => {
    const t = await createTenant();
    const good = await uploadZip(t, scorm2004Zip());
    const bad = await uploadZip(t, zipSync({ "imsmanifest.xml": strToU8(MANIFEST_12), "other.html": html("x") }));
    expectStatus(good, 201);
    expectStatus(bad, 201);
    // The consumer as the queue runs it (a message that was already consumed is skipped: jobs are idempotent).
    const run = await runQueue("lectern-jobs", [
      { body: { job_id: good.body.job_id, tenant_id: t.id } },
      { body: { job_id: bad.body.job_id, tenant_id: t.id } },
    ]);
    expect(run.acked).toEqual([true, true]);
    const goodJob = await api("GET", `/v1/admin/jobs/${good.body.job_id}`, { token: t.key });
    expect(goodJob.body).toMatchObject({ kind: "package.import", status: "succeeded" });
    expect(goodJob.body.result).toMatchObject({ package_id: good.body.id });
    const badJob = await api("GET", `/v1/admin/jobs/${bad.body.job_id}`, { token: t.key });
    expect(badJob.body).toMatchObject({ kind: "package.import", status: "failed" });
    expect(badJob.body.error).toMatch(/missing from the zip: lesson\/index\.html/);
    const pkg = await api("GET", `/v1/admin/packages/${bad.body.id}`, { token: t.key });
    expect(pkg.body).toMatchObject({ status: "failed", failure_reason: badJob.body.error });
    expect((await api("GET", `/v1/admin/packages/${good.body.id}`, { token: t.key })).body.status).toBe("ready");
  });
});

describe("package API: validation, authentication, permissions, tenants", () => {
  let t: TestTenant;
  let otherTenant: TestTenant;
  let pkg: any;
  beforeAll(async () => {
    t = await createTenant();
    otherTenant = await createTenant();
    pkg = await imported(t, scorm12Zip());
  });

  it("refuses uploads that are not a zip body, empty, or without a length", async () => {
    const zip = scorm12Zip();
    expectProblem(
      await raw("POST", "/v1/admin/packages", {
        token: t.key,
        body: zip,
        headers: { "content-type": "multipart/form-data; boundary=x", "content-length": String(zip.length) },
      }),
      415,
    );
    expectProblem(
      await raw("POST", "/v1/admin/packages", {
        token: t.key,
        body: new Uint8Array(0),
        headers: { "content-type": "application/zip", "content-length": "0" },
      }),
      422,
    );
    expectProblem(
      await raw("POST", "/v1/admin/packages?title=", {
        token: t.key,
        body: zip,
        headers: { "content-type": "application/zip", "content-length": String(zip.length) },
      }),
      422,
    );
  });

  it("needs a credential with the right permission on the right surface", async () => {
    const zip = scorm12Zip();
    expectProblem(
      await raw("POST", "/v1/admin/packages", {
        body: zip,
        headers: { "content-type": "application/zip", "content-length": String(zip.length) },
      }),
      401,
    );
    expectProblem(await uploadZip(t, zip, "/v1/admin/packages", await keyWithout(t, "media:write")), 403);
    expectProblem(await api("GET", "/v1/admin/packages", { token: await keyWithout(t, "media:read") }), 403);
    const learner = await learnerSession(t);
    expectProblem(await api("GET", "/v1/admin/packages", { token: learner.token }), 403);
    expectProblem(await api("GET", "/v1/admin/packages"), 401);
  });

  it("answers 404 for another academy's package everywhere", async () => {
    const o = otherTenant.key;
    expectProblem(await api("GET", `/v1/admin/packages/${pkg.id}`, { token: o }), 404);
    expectProblem(await api("GET", `/v1/admin/packages/${pkg.id}/versions`, { token: o }), 404);
    expectProblem(await api("GET", `/v1/admin/packages/${pkg.id}/report`, { token: o }), 404);
    expectProblem(await api("PATCH", `/v1/admin/packages/${pkg.id}`, { token: o, body: { title: "Mine" } }), 404);
    expectProblem(await api("DELETE", `/v1/admin/packages/${pkg.id}`, { token: o }), 404);
    expectProblem(await uploadZip(otherTenant, scorm12Zip(), `/v1/admin/packages/${pkg.id}/versions`), 404);
    const list = await api("GET", "/v1/admin/packages", { token: o });
    expect(list.body.data.map((p: any) => p.id)).not.toContain(pkg.id);
  });

  it("launch of a module whose package is not ready answers no player; the player endpoint answers 409", async () => {
    const learner = await learnerSession(t);
    const processing = await uploadZip(t, scorm12Zip());
    const course = await courseWithPackage(t, processing.body.id, [learner]);
    const res = await api("POST", launchPath(course.courseId, course.placementId), { token: learner.token });
    expectStatus(res, 200);
    // The queue may have imported it already; until then there is no player.
    if (res.body.player === null) {
      expectProblem(
        await api("POST", `/v1/learner/courses/${course.courseId}/modules/${course.placementId}/player`, {
          token: learner.token,
          body: {},
        }),
        409,
      );
    }
    expectProblem(
      await api("POST", `/v1/learner/courses/${course.courseId}/modules/${course.placementId}/player`, {
        token: learner.token,
        body: { sco: 5 },
      }),
      422,
    );
  });
});

const MANIFEST_2004_NAV = `<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="com.example.nav" version="1"
  xmlns="http://www.imsglobal.org/xsd/imscp_v1p1" xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_v1p3"
  xmlns:imsss="http://www.imsglobal.org/xsd/imsss">
  <metadata><schema>ADL SCORM</schema><schemaversion>2004 4th Edition</schemaversion></metadata>
  <organizations default="o1">
    <organization identifier="o1">
      <title>Navigation course</title>
      <item identifier="s1" identifierref="r1"><title>One</title></item>
      <item identifier="s2" identifierref="r2"><title>Two</title></item>
      <item identifier="s3" identifierref="r3" isvisible="false"><title>Three (hidden)</title></item>
      <item identifier="c1">
        <title>Locked cluster</title>
        <item identifier="s4" identifierref="r4"><title>Four</title></item>
        <imsss:sequencing><imsss:controlMode choice="false" flow="false"/></imsss:sequencing>
      </item>
      <imsss:sequencing><imsss:controlMode choice="true" flow="true"/></imsss:sequencing>
    </organization>
  </organizations>
  <resources>
    <resource identifier="r1" type="webcontent" adlcp:scormType="sco" href="one.html"><file href="one.html"/></resource>
    <resource identifier="r2" type="webcontent" adlcp:scormType="sco" href="two.html"><file href="two.html"/></resource>
    <resource identifier="r3" type="webcontent" adlcp:scormType="sco" href="three.html"><file href="three.html"/></resource>
    <resource identifier="r4" type="webcontent" adlcp:scormType="sco" href="four.html"><file href="four.html"/></resource>
  </resources>
</manifest>`;

describe("SCORM 2004 navigation between SCOs (adl.nav.request)", () => {
  let t: TestTenant;
  let pkg: any;

  beforeAll(async () => {
    t = await createTenant();
    pkg = await imported(
      t,
      zipSync({
        "imsmanifest.xml": strToU8(MANIFEST_2004_NAV),
        "one.html": html("SCO One"),
        "two.html": html("SCO Two"),
        "three.html": html("SCO Three"),
        "four.html": html("SCO Four"),
      }),
    );
  });

  /** A terminate commit of the player's session, json or flattened. */
  const terminate = (player: any, body: Record<string, unknown>) =>
    raw("POST", `${pathOf(player.commit_url)}&terminate=true`, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ commitSequence: 1, ...body }),
    });
  const openPlayer = async (learner: Learner, course: { courseId: number; placementId: number }, body = {}) => {
    const res = await api("POST", `/v1/learner/courses/${course.courseId}/modules/${course.placementId}/player`, {
      token: learner.token,
      body,
    });
    expectStatus(res, 200);
    return res.body;
  };

  it("reads the items' order, isvisible and each parent's controlMode", () => {
    expect(pkg.status).toBe("ready");
    const scos = pkg.structure.scos;
    expect(scos.map((s: any) => s.identifier)).toEqual(["s1", "s2", "s3", "s4"]);
    expect(scos[0]).toMatchObject({
      visible: true,
      parent_controls: { flow: true, choice: true, forward_only: false },
    });
    expect(scos[2].visible).toBe(false);
    expect(scos[3].parent_controls).toEqual({ flow: false, choice: false, forward_only: false });
  });

  it("continue, previous, choice, jump and exitAll move the learner between SCOs; the module completes with all four", async () => {
    const learner = await learnerSession(t);
    const course = await courseWithPackage(t, pkg.id, [learner]);

    // 1. The first launch plays s1: Next is valid, Previous is not, choice may target s1..s3 (s4's parent forbids it).
    let player = (await api("POST", launchPath(course.courseId, course.placementId), { token: learner.token })).body
      .player;
    expect(player.sco.identifier).toBe("s1");
    expect(player.scos.find((s: any) => s.identifier === "s3").visible).toBe(false);
    expect(player.adl).toEqual({ nav: { request_valid: { continue: "true", previous: "false" } } });
    expect(player.navigation).toEqual({
      request_valid: { continue: "true", previous: "false", choice: ["s1", "s2", "s3"] },
      followed: null,
    });
    expect(player.scorm_again.scoItemIds).toEqual(["s1", "s2", "s3"]);

    // 2. s1 completes and asks to continue (json: adl.nav.request nested): the answer says where it leads.
    let commit = await terminate(player, {
      cmi: { completion_status: "completed", exit: "normal", session_time: "PT10S" },
      adl: { nav: { request: "continue" } },
    });
    expect(commit.body).toEqual({
      result: true,
      errorCode: 0,
      navigation: {
        request: "continue",
        target: null,
        valid: true,
        action: "deliver",
        sco: { identifier: "s2", title: "Two" },
        reason: null,
        player_url: `/v1/learner/courses/${course.courseId}/modules/${course.placementId}/player`,
      },
    });
    expect((await progressOf(t, course.placementId, learner.id))?.status).not.toBe("completed");

    // 3. The next launch without `sco` plays s2, where Previous is now valid.
    player = await openPlayer(learner, course);
    expect(player.sco.identifier).toBe("s2");
    expect(player.cmi.entry).toBe("ab-initio");
    expect(player.navigation.followed).toEqual({
      request: "continue",
      from_sco: "s1",
      valid: true,
      action: "deliver",
      reason: null,
    });
    expect(player.adl.nav.request_valid).toEqual({ continue: "true", previous: "true" });

    // 4. s2 suspends and goes back (flattened format): s1 again, a new attempt since s1 was finished.
    commit = await terminate(player, {
      "cmi.completion_status": "incomplete",
      "cmi.exit": "suspend",
      "cmi.location": "page-3",
      "adl.nav.request": "previous",
    });
    expect(commit.body.navigation).toMatchObject({ valid: true, action: "deliver", sco: { identifier: "s1" } });
    player = (await api("POST", launchPath(course.courseId, course.placementId), { token: learner.token })).body.player;
    expect(player.sco.identifier).toBe("s1");
    expect(player).toMatchObject({ attempt: 2, resumed: false });

    // 5. s1 jumps by choice to the hidden s3 (choice is allowed; isvisible only hides it from the TOC).
    commit = await terminate(player, { cmi: { exit: "normal" }, adl: { nav: { request: "{target=s3}choice" } } });
    expect(commit.body.navigation).toMatchObject({ valid: true, target: "s3", sco: { identifier: "s3" } });
    player = await openPlayer(learner, course);
    expect(player.sco.identifier).toBe("s3");
    // Flow into s4 is disabled by its cluster's controlMode: Next is not valid from s3.
    expect(player.adl.nav.request_valid).toEqual({ continue: "false", previous: "true" });

    // 6. s3 completes and asks to continue anyway: stored, the request is not valid and ignored; the next launch
    //    plays where the learner was: the first SCO not finished, s2, resumed from its suspend.
    commit = await terminate(player, {
      cmi: { completion_status: "completed" },
      adl: { nav: { request: "continue" } },
    });
    expect(commit.body).toMatchObject({
      result: true,
      errorCode: 0,
      navigation: { valid: false, action: "none", sco: null },
    });
    expect(commit.body.navigation.reason).toContain("flow");
    player = await openPlayer(learner, course);
    expect(player.sco.identifier).toBe("s2");
    expect(player.resumed).toBe(true);
    expect(player.cmi).toMatchObject({ entry: "resume", location: "page-3" });
    expect(player.navigation.followed).toMatchObject({ request: "continue", from_sco: "s3", valid: false });

    // 7. s2 completes; a choice of s4 is refused by s4's parent (choice="false") ...
    commit = await terminate(player, {
      cmi: { completion_status: "completed", exit: "normal" },
      adl: { nav: { request: "{target=s4}choice" } },
    });
    expect(commit.body.navigation).toMatchObject({ valid: false, action: "none" });
    expect(commit.body.navigation.reason).toContain("choice");
    // ... and s4 is the only SCO left unfinished, so the next launch plays it anyway; s4 completes with exitAll.
    player = await openPlayer(learner, course);
    expect(player.sco.identifier).toBe("s4");
    commit = await terminate(player, { cmi: { completion_status: "completed" }, adl: { nav: { request: "exitAll" } } });
    expect(commit.body.navigation).toMatchObject({ valid: true, action: "end_attempt", sco: null });

    // Every counted SCO finished: the module is completed.
    expect((await progressOf(t, course.placementId, learner.id))?.status).toBe("completed");

    // 8. exitAll ended the attempt on the package: the next launch starts over at s1, a new attempt, ab-initio;
    //    s2 too starts a new attempt instead of resuming the old one.
    player = await openPlayer(learner, course);
    expect(player).toMatchObject({ sco: { identifier: "s1" }, attempt: 3, resumed: false });
    expect(player.cmi.entry).toBe("ab-initio");
    expect(player.navigation.followed).toMatchObject({ request: "exitAll", action: "end_attempt" });

    // 9. suspendAll: the next launch resumes the same SCO's session.
    commit = await terminate(player, {
      cmi: { completion_status: "incomplete", exit: "suspend", suspend_data: "s1-state" },
      adl: { nav: { request: "suspendAll" } },
    });
    expect(commit.body.navigation).toMatchObject({ action: "suspend", sco: { identifier: "s1" } });
    const resumed = await openPlayer(learner, course);
    expect(resumed).toMatchObject({ sco: { identifier: "s1" }, session_id: player.session_id, resumed: true });
    expect(resumed.cmi).toMatchObject({ entry: "resume", suspend_data: "s1-state" });
    const s2 = await openPlayer(learner, course, { sco: "s2" });
    expect(s2).toMatchObject({ attempt: 2, resumed: false });

    // The jump to s4 ignores the control modes (SCORM 2004 4th edition jump).
    commit = await terminate(s2, { cmi: {}, adl: { nav: { request: "{target=s4}jump" } } });
    expect(commit.body.navigation).toMatchObject({ valid: true, action: "deliver", sco: { identifier: "s4" } });
    expect((await openPlayer(learner, course)).sco.identifier).toBe("s4");
  });

  it("SCORM 1.2 has no navigation: no request_valid in its player, an adl.nav.request in its commit is ignored", async () => {
    const pkg12 = await imported(t, scorm12Zip());
    const learner = await learnerSession(t);
    const course = await courseWithPackage(t, pkg12.id, [learner]);
    const player = (await api("POST", launchPath(course.courseId, course.placementId), { token: learner.token })).body
      .player;
    expect(player).toMatchObject({ standard: "scorm12", adl: null, navigation: null });
    expect(player.scorm_again.scoItemIds).toBeUndefined();
    const commit = await terminate(player, {
      cmi: { core: { lesson_status: "incomplete" } },
      adl: { nav: { request: "continue" } },
    });
    expect(commit.body).toEqual({ result: true, errorCode: 0 });
    const next = await openPlayer(learner, course);
    expect(next.navigation).toBeNull();
    const odd = await terminate(next, {
      cmi: { core: { lesson_status: "completed" } },
      adl: { nav: { request: "forward" } },
    });
    expect(odd.body).toEqual({ result: true, errorCode: 0 });
  });

  it("refuses a malformed adl.nav.request with errorCode 406 and stores nothing; ignores impossible ones", async () => {
    const learner = await learnerSession(t);
    const course = await courseWithPackage(t, pkg.id, [learner]);
    const player = (await api("POST", launchPath(course.courseId, course.placementId), { token: learner.token })).body
      .player;
    for (const request of ["forward", "{target=}choice", "choice", "{target=s2}continue", 7]) {
      const refused = await terminate(player, {
        cmi: { completion_status: "completed" },
        adl: { nav: { request } },
      });
      expect(refused.body, String(request)).toMatchObject({ result: false, errorCode: 406 });
      expect(refused.body.detail).toContain("adl.nav.request");
    }
    const flattened = await terminate(player, { "cmi.completion_status": "completed", "adl.nav.request": "next" });
    expect(flattened.body).toMatchObject({ result: false, errorCode: 406 });
    const state = await api("GET", `/v1/learner/scorm/sessions/${player.session_id}`, { token: learner.token });
    expect(state.body).toMatchObject({ commit_sequence: 0, completion_status: null, terminated_at: null });

    // previous from the first item and a choice of an unknown item: stored, not valid, ignored by the next launch.
    const first = await terminate(player, {
      cmi: { completion_status: "incomplete" },
      adl: { nav: { request: "previous" } },
    });
    expect(first.body).toMatchObject({ result: true, navigation: { valid: false, action: "none" } });
    const again = await openPlayer(learner, course);
    expect(again).toMatchObject({ sco: { identifier: "s1" }, session_id: player.session_id });
    const unknown = await terminate(again, { cmi: {}, adl: { nav: { request: "{target=nope}choice" } } });
    expect(unknown.body.navigation).toMatchObject({ valid: false, target: "nope" });
    expect(unknown.body.navigation.reason).toContain("nope");
    const last = await openPlayer(learner, course);
    expect(last.sco.identifier).toBe("s1");

    // The params format carries it as one more key=value item.
    const params = await raw("POST", `${pathOf(last.commit_url)}&terminate=true`, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify(["cmi.exit=normal", "adl.nav.request=exitAll", "commitSequence=1"]),
    });
    expect(params.body).toMatchObject({ result: true, navigation: { request: "exitAll", action: "end_attempt" } });
    const fresh = await openPlayer(learner, course);
    expect(fresh).toMatchObject({ sco: { identifier: "s1" }, attempt: 2 });

    // ... and scorm-again posts that format as a form (its params joined with &), the beacon too.
    const form = await raw("POST", `${pathOf(fresh.commit_url)}&terminate=true`, {
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "cmi.completion_status=completed&adl.nav.request={target=s2}choice&commitSequence=1",
    });
    expect(form.body).toMatchObject({ result: true, navigation: { valid: true, sco: { identifier: "s2" } } });
    const stored = await api("GET", `/v1/learner/scorm/sessions/${fresh.session_id}`, { token: learner.token });
    expect(stored.body).toMatchObject({ completion_status: "completed", commit_sequence: 1 });
  });
});
