/**
 * Launching xAPI (TinCan) and cmi5 packages, and statements driving progress.
 *
 * - Every learner gets one xAPI registration per enrollment and placement (`package_registrations`), created at
 *   the first launch. The launch answers a `/content/{token}/...` URL carrying the launch parameters: TinCan's
 *   `endpoint`, `auth` (a short-lived launch credential scoped to that learner and registration), `actor`,
 *   `registration`, `activity_id`; cmi5's `endpoint`, `fetch`, `actor`, `registration`, `activityId`.
 * - cmi5 (Lectern as the spec's LMS): each launch of an AU is a session (`cmi5_sessions`); before answering,
 *   the `LMS.LaunchData` state document and the LMS "launched" statement are written to the LRS. The fetch URL
 *   answers `{"auth-token": ...}` once, then the spec's error JSON.
 * - When the LRS stores statements (`applyStatementsToProgress`, called by the statement routes after the
 *   store), those of a known registration of the tenant whose actor is its learner update what the registration
 *   knows (completed / passed / failed, result.completion / success / score.scaled). xAPI: the root activity's
 *   result goes to progress as a SCORM commit's does (passed -> passed with score, failed -> failed, completed ->
 *   completed). cmi5: an AU satisfying its moveOn gets the LMS "satisfied" statement; when every AU is satisfied
 *   the course gets one too and the module completes (passed with the AUs' mean score when an AU passed).
 */
import { and, eq, sql } from "drizzle-orm";
import type { LearnerPrincipal, TenantContext } from "../../platform/auth";
import { base64url } from "../../platform/crypto";
import { batchableRaw } from "../../platform/db";
import type { Db, Env } from "../../platform/env";
import { ApiError, isUniqueConstraint } from "../../platform/errors";
import { outboxInsert } from "../../platform/events";
import { signPurposeToken, verifyPurposeToken } from "../../platform/jwt";
import { nowIso } from "../../platform/time";
import { completeModuleByRule, recordGradedResult } from "../progress/service";
import { findUser } from "../users/service";
import { sha1Hex } from "../xapi/documents";
import { LAUNCH_CREDENTIAL_TTL_SECONDS, signLaunchCredential } from "../xapi/launch-credentials";
import type { LrsContext } from "../xapi/lrs";
import { storeStatements, usToIso } from "../xapi/statements";
import { xapiDocuments } from "../xapi/tables";
import { actorKey, isJson } from "../xapi/validate";
import { CMI5, isCmi5Defined, VERBS } from "./cmi5-rules";
import {
  type ActivityResult,
  type Cmi5SessionRow,
  cmi5Sessions,
  type PackageRegistrationRow,
  packageRegistrations,
} from "./launch-tables";
import { signPlayerToken } from "./player";
import type { PackageRow, PackageStructure, PackageVersionRow } from "./tables";

type Json = Record<string, unknown>;
type LearnerCtx = TenantContext<LearnerPrincipal>;
type Au = NonNullable<PackageStructure["aus"]>[number];
type Block = NonNullable<PackageStructure["blocks"]>[number];

const VERB_NAMES: Record<string, string> = {
  [VERBS.launched]: "launched",
  [VERBS.satisfied]: "satisfied",
  [VERBS.abandoned]: "abandoned",
  [VERBS.waived]: "waived",
};

export { CMI5, VERBS };
export const LAUNCH_DATA_ID = "LMS.LaunchData";

export interface PackageLaunchInfo {
  course_id: number;
  placement_id: number;
  enrollment: { id: number };
  module_id: number;
}

function encodeLaunchPath(path: string): string {
  const at = path.search(/[?#]/);
  const file = at < 0 ? path : path.slice(0, at);
  const rest = at < 0 ? "" : path.slice(at);
  return file.split("/").map(encodeURIComponent).join("/") + rest;
}

/** Appends launch parameters to a URL (before its fragment), percent-encoded as TinCan and cmi5 expect. */
function withQuery(url: string, params: Record<string, string>): string {
  const hash = url.indexOf("#");
  const base = hash < 0 ? url : url.slice(0, hash);
  const fragment = hash < 0 ? "" : url.slice(hash);
  const query = Object.entries(params)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join("&");
  return `${base}${base.includes("?") ? "&" : "?"}${query}${fragment}`;
}

/** An LRS context acting as the LMS itself (its own statements and documents), for one tenant. */
export function lmsLrsContext(
  tenantId: number,
  db: Db,
  env: Env,
  baseUrl: string,
  defer: (work: Promise<unknown>) => void,
): LrsContext {
  return {
    tenantId,
    db,
    env,
    canRead: true,
    canWrite: true,
    credentialId: null,
    authority: { objectType: "Agent", name: "Lectern LMS", account: { homePage: `${baseUrl}/xapi/`, name: "lms" } },
    version: "1.0.3",
    scope: null,
    defer,
  };
}

// ---- launch ------------------------------------------------------------------------------------------------------

/** The registration of this enrollment and placement, created at the first launch. */
async function registrationFor(
  ctx: LearnerCtx,
  launch: PackageLaunchInfo,
  pkg: PackageRow,
  version: PackageVersionRow,
  existing: PackageRegistrationRow | undefined,
  baseUrl: string,
): Promise<PackageRegistrationRow> {
  const standard = version.standard as "xapi" | "cmi5";
  const activityId =
    standard === "xapi" ? (version.structure?.activities?.[0]?.id ?? "") : (version.structure?.course_id ?? "");
  if (existing && existing.packageVersion === version.version) return existing;
  if (existing) {
    // The package got a new version: the registration follows it (results stay keyed by activity / AU id).
    const [row] = await ctx.db
      .update(packageRegistrations)
      .set({ packageVersion: version.version, standard, activityId, updatedAt: nowIso() })
      .where(and(eq(packageRegistrations.tenantId, ctx.tenantId), eq(packageRegistrations.id, existing.id)))
      .returning();
    return row ?? existing;
  }
  const learner = await findUser(ctx, "learner", ctx.principal.userId);
  const actor = {
    objectType: "Agent",
    name: learner.name,
    account: { homePage: baseUrl, name: String(learner.id) },
  };
  const now = nowIso();
  const [row] = await ctx.db
    .insert(packageRegistrations)
    .values({
      tenantId: ctx.tenantId,
      registration: crypto.randomUUID(),
      enrollmentId: launch.enrollment.id,
      placementId: launch.placement_id,
      courseId: launch.course_id,
      moduleId: launch.module_id,
      userId: ctx.principal.userId,
      packageId: pkg.id,
      packageVersion: version.version,
      standard,
      activityId,
      actor,
      actorKey: actorKey(actor) as string,
      results: {},
      createdAt: now,
      updatedAt: now,
    })
    // A concurrent first launch: the registration that won stays (the update touches only updated_at).
    .onConflictDoUpdate({
      target: [packageRegistrations.tenantId, packageRegistrations.enrollmentId, packageRegistrations.placementId],
      set: { updatedAt: now },
    })
    .returning();
  return row;
}

/**
 * The player of an xAPI or cmi5 package: the registration, the launch URL with its parameters, and for cmi5 the
 * session of this AU launch (LaunchData and the "launched" statement already in the LRS).
 */
export async function openPackageLaunch(
  ctx: LearnerCtx,
  launch: PackageLaunchInfo,
  baseUrl: string,
  pkg: PackageRow,
  version: PackageVersionRow,
  existing: PackageRegistrationRow | undefined,
  auId?: string,
  requestedMode?: "Browse" | "Review",
) {
  const standard = version.standard as "xapi" | "cmi5";
  let au: Au | undefined;
  if (standard === "cmi5") {
    const aus = version.structure?.aus ?? [];
    if (auId !== undefined) {
      au = aus.find((a) => a.id === auId);
      if (!au) throw ApiError.validation([{ path: "sco", message: `The package has no AU "${auId}".` }]);
    } else {
      const results = existing?.results ?? {};
      au = aus.find((a) => !results[a.id]?.satisfied && !results[a.id]?.waived) ?? aus[0];
    }
    if (!au) return null;
  }
  const reg = await registrationFor(ctx, launch, pkg, version, existing, baseUrl);
  if (standard === "cmi5" && !existing) {
    // cmi5 9.6.1: moveOn is evaluated at registration: blocks (or a course) of NotApplicable AUs are satisfied now.
    const lrs = lmsLrsContext(ctx.tenantId, ctx.db, ctx.env, baseUrl, ctx.defer);
    await applyToRegistration(lrs, reg, [], baseUrl, undefined, true);
  }
  const { token, expiresAt } = await signPlayerToken(ctx.env.JWT_SECRET, {
    tid: ctx.tenantId,
    // No SCORM session: 0 names none, so this token cannot commit to one.
    sid: 0,
    pkg: pkg.id,
    ver: version.version,
    uid: ctx.principal.userId,
    lno: 0,
  });
  const endpoint = `${baseUrl}/xapi/`;
  const contentUrl = (path: string) =>
    /^[a-z][a-z0-9+.-]*:/i.test(path) ? path : `${baseUrl}/content/${token}/${encodeLaunchPath(path)}`;
  const common = {
    standard,
    package_id: pkg.id,
    package_version: version.version,
    registration: reg.registration,
    actor: reg.actor,
    endpoint,
    expires_at: expiresAt,
  };

  if (standard === "xapi") {
    const root = version.structure?.activities?.[0];
    if (!root?.launch) return null;
    const credential = await signLaunchCredential(ctx.env.JWT_SECRET, {
      tid: ctx.tenantId,
      reg: reg.registration,
      agt: reg.actorKey,
      uid: ctx.principal.userId,
    });
    return {
      ...common,
      activity_id: root.id,
      launch_url: withQuery(contentUrl(root.launch), {
        endpoint,
        auth: credential.authorization,
        actor: JSON.stringify(reg.actor),
        registration: reg.registration,
        activity_id: root.id,
      }),
      fetch_url: null,
      session_id: null,
      au: null,
      aus: null,
    };
  }

  // cmi5: a new session for this AU launch; LaunchData and "launched" before the URL is handed out. Earlier
  // sessions of the registration that never terminated are abandoned (cmi5 section 9.3.6: "abandoned"). One D1
  // batch writes it all (abandoned sessions, the new session, LaunchData, the abandoned and launched statements):
  // a failure leaves none of it.
  const theAu = au as Au;
  const now = nowIso();
  const sessionId = crypto.randomUUID();
  const t = ctx.tenantId;
  const open = existing
    ? await ctx.db
        .select()
        .from(cmi5Sessions)
        .where(
          and(
            eq(cmi5Sessions.tenantId, t),
            eq(cmi5Sessions.registrationId, reg.id),
            sql`${cmi5Sessions.terminatedAt} IS NULL AND ${cmi5Sessions.abandonedAt} IS NULL`,
          ),
        )
    : [];
  // launchMode (cmi5 10): Review once the AU met its moveOn (or was waived), Normal before; Browse or Review when
  // the launch asks for it.
  const launchMode = requestedMode ?? (auDone(theAu, reg.results[theAu.id]) ? "Review" : "Normal");
  const fetchToken = await signFetchToken(ctx.env.JWT_SECRET, { tid: t, sid: sessionId });
  const fetchUrl = `${baseUrl}/cmi5/fetch/${fetchToken}`;
  const returnUrl = `${baseUrl}/v1/learner/courses/${launch.course_id}/outline`;
  const lrs = lmsLrsContext(t, ctx.db, ctx.env, baseUrl, ctx.defer);
  const launchData = {
    contextTemplate: {
      contextActivities: { grouping: [{ objectType: "Activity", id: theAu.id }] },
      extensions: { [CMI5.sessionId]: sessionId },
    },
    launchMode,
    launchMethod: theAu.launch_method,
    moveOn: theAu.move_on,
    returnURL: returnUrl,
    ...(theAu.mastery_score !== null ? { masteryScore: theAu.mastery_score } : {}),
    ...(theAu.launch_parameters ? { launchParameters: theAu.launch_parameters } : {}),
    ...(theAu.entitlement_key ? { entitlementKey: { courseStructure: theAu.entitlement_key } } : {}),
  };
  const launchUrl = withQuery(contentUrl(theAu.url), {
    endpoint,
    fetch: fetchUrl,
    actor: JSON.stringify(reg.actor),
    registration: reg.registration,
    activityId: theAu.id,
  });
  const auById = new Map((version.structure?.aus ?? []).map((a) => [a.id, a]));
  const abandonStatements = open.map((old) => abandonedStatement(reg, old, auById, version.structure?.course_id));
  const ids = JSON.stringify(open.map((o) => o.id));
  const writes = [
    ...(open.length > 0
      ? [
          // A session that ended meanwhile (terminated by its AU, abandoned by a concurrent launch) fails the
          // batch (unique (tenant_id, session_id): 409) rather than being abandoned wrongly.
          batchableRaw(
            ctx.db,
            sql`INSERT INTO cmi5_sessions (tenant_id, registration_id, au_id, session_id, launch_mode, verbs, seq, created_at)
                SELECT tenant_id, registration_id, au_id, session_id, launch_mode, verbs, seq, created_at FROM cmi5_sessions
                WHERE tenant_id = ${t} AND id IN (SELECT value FROM json_each(${ids}))
                  AND (terminated_at IS NOT NULL OR abandoned_at IS NOT NULL)`,
          ),
          batchableRaw(
            ctx.db,
            sql`UPDATE cmi5_sessions SET abandoned_at = ${now}, seq = seq + 1
                WHERE tenant_id = ${t} AND id IN (SELECT value FROM json_each(${ids}))`,
          ),
        ]
      : []),
    batchableRaw(
      ctx.db,
      sql`INSERT INTO cmi5_sessions (tenant_id, registration_id, au_id, session_id, launch_mode, expires_at, created_at)
          VALUES (${t}, ${reg.id}, ${theAu.id}, ${sessionId}, ${launchMode},
            ${new Date(Date.parse(now) + LAUNCH_CREDENTIAL_TTL_SECONDS * 1000).toISOString()}, ${now})`,
    ),
    ...(await launchDataWrites(lrs, reg, theAu.id, launchData)),
  ];
  await storeStatements(
    lrs,
    [
      ...abandonStatements,
      lmsStatement(reg, VERBS.launched, auActivity(theAu), sessionId, version.structure?.course_id, {
        [CMI5.launchMode]: launchMode,
        [CMI5.launchUrl]: launchUrl.split("?")[0],
        [CMI5.moveOn]: theAu.move_on,
        ...(theAu.launch_parameters ? { [CMI5.launchParameters]: theAu.launch_parameters } : {}),
        ...(theAu.mastery_score !== null ? { [CMI5.masteryScore]: theAu.mastery_score } : {}),
      }),
    ],
    [],
    { with: writes },
  );
  return {
    ...common,
    activity_id: theAu.id,
    launch_url: launchUrl,
    fetch_url: fetchUrl,
    session_id: sessionId,
    au: { id: theAu.id, title: theAu.title, move_on: theAu.move_on, launch_method: theAu.launch_method },
    aus: (version.structure?.aus ?? []).map((a) => ({
      id: a.id,
      title: a.title,
      move_on: a.move_on,
      satisfied: !!reg.results[a.id]?.satisfied,
    })),
  };
}

/**
 * The batch items writing the `LMS.LaunchData` state document (cmi5 10) as the LRS stores state documents
 * (src/modules/xapi/documents.ts owns the format: base64url content, SHA-1 etag, the xapi.document_changed
 * event), so it commits with the rest of the launch.
 */
async function launchDataWrites(lrs: LrsContext, reg: PackageRegistrationRow, auId: string, launchData: Json) {
  const bytes = new TextEncoder().encode(JSON.stringify(launchData));
  const etag = await sha1Hex(bytes);
  const content = base64url(bytes);
  const [prior] = await lrs.db
    .select({ id: xapiDocuments.id })
    .from(xapiDocuments)
    .where(
      and(
        eq(xapiDocuments.tenantId, lrs.tenantId),
        eq(xapiDocuments.kind, "state"),
        eq(xapiDocuments.activityId, auId),
        eq(xapiDocuments.agent, reg.actorKey),
        eq(xapiDocuments.registration, reg.registration),
        eq(xapiDocuments.docId, LAUNCH_DATA_ID),
      ),
    )
    .limit(1);
  return [
    batchableRaw(
      lrs.db,
      sql`INSERT INTO xapi_documents (tenant_id, kind, activity_id, agent, registration, doc_id, content_type, content, etag, updated_at)
          VALUES (${lrs.tenantId}, 'state', ${auId}, ${reg.actorKey}, ${reg.registration}, ${LAUNCH_DATA_ID}, 'application/json', ${content}, ${etag}, ${nowIso()})
          ON CONFLICT (tenant_id, kind, activity_id, agent, registration, doc_id) DO UPDATE SET
            content_type = excluded.content_type, content = excluded.content, etag = excluded.etag, updated_at = excluded.updated_at`,
    ),
    outboxInsert(lrs.db, lrs.tenantId, "xapi.document_changed", {
      kind: "state",
      activity_id: auId,
      document_id: LAUNCH_DATA_ID,
      action: prior ? "replaced" : "created",
    }) as unknown as ReturnType<typeof batchableRaw>,
  ];
}

/** Has the AU met its moveOn (satisfied, waived; NotApplicable: once it reported completed or passed)? */
function auDone(au: Au, r: ActivityResult | undefined): boolean {
  if (!r) return false;
  if (r.satisfied || r.waived) return true;
  return au.move_on === "NotApplicable" ? r.completed || r.success === true : moveOnMet(au.move_on, r);
}

/**
 * The LMS "abandoned" statement of a session the AU never terminated (cmi5 9.3.6); its duration runs from the
 * launch to the AU's last statement of the session (9.5.4.2).
 */
function abandonedStatement(
  reg: PackageRegistrationRow,
  old: Cmi5SessionRow,
  auById: Map<string, Au>,
  courseId: string | undefined,
): Json {
  const end = Date.parse(old.lastStatementAt ?? old.createdAt);
  const seconds = Math.max(0, Math.round((end - Date.parse(old.createdAt)) / 1000));
  return {
    ...lmsStatement(
      reg,
      VERBS.abandoned,
      auById.has(old.auId) ? auActivity(auById.get(old.auId) as Au) : { objectType: "Activity", id: old.auId },
      old.sessionId,
      courseId,
    ),
    result: { duration: `PT${seconds}S` },
  };
}

const auActivity = (au: Au) => ({
  objectType: "Activity",
  id: au.id,
  definition: { type: CMI5.auType, name: { und: au.title } },
});

/** An LMS-written cmi5 statement about the registration's learner. */
function lmsStatement(
  reg: PackageRegistrationRow,
  verb: string,
  object: Json,
  sessionId: string | null,
  courseId: string | undefined,
  extensions: Json = {},
  categories: string[] = [CMI5.category],
): Json {
  return {
    id: crypto.randomUUID(),
    actor: reg.actor,
    verb: { id: verb, display: { "en-US": VERB_NAMES[verb] ?? verb } },
    object,
    timestamp: nowIso(),
    context: {
      registration: reg.registration,
      contextActivities: {
        category: categories.map((id) => ({ objectType: "Activity", id })),
        ...(courseId && object.id !== courseId ? { grouping: [{ objectType: "Activity", id: courseId }] } : {}),
      },
      extensions: { ...(sessionId ? { [CMI5.sessionId]: sessionId } : {}), ...extensions },
    },
  };
}

// ---- the cmi5 fetch URL --------------------------------------------------------------------------------------------

const FETCH_PURPOSE = "cmi5-fetch";

function signFetchToken(secret: string, claims: { tid: number; sid: string }) {
  return signPurposeToken(secret, FETCH_PURPOSE, claims, 8 * 3600);
}

/** cmi5 fetch errors (cmi5 section 8.2.3): 1 already used or expired, 2 security (invalid token), 3 general. */
export function fetchError(code: "1" | "2" | "3", text: string) {
  return { "error-code": code, "error-text": text };
}

/**
 * `POST {fetch}`: the auth-token for the session's launch, once. Later calls (and unknown or expired tokens)
 * answer the spec's error JSON, with status 200 as cmi5 8.2.2 requires of every valid request.
 */
export async function fetchAuthToken(
  db: Db,
  env: Env,
  token: string,
): Promise<{ status: 200; body: Record<string, string> }> {
  // sid: the session id; cs: a session row id (fetch URLs issued before the launch became one batch).
  let claims: { tid: number; sid?: string; cs?: number };
  try {
    const payload = await verifyPurposeToken(env.JWT_SECRET, FETCH_PURPOSE, token);
    if (typeof payload.tid !== "number") throw new Error("claims");
    if (typeof payload.sid === "string") claims = { tid: payload.tid, sid: payload.sid };
    else if (typeof payload.cs === "number") claims = { tid: payload.tid, cs: payload.cs };
    else throw new Error("claims");
  } catch {
    return { status: 200, body: fetchError("2", "The fetch URL is invalid or has expired.") };
  }
  const now = nowIso();
  // The auth-token lives as long as the session can: the session expires with it (the abandon sweep's clock).
  const [session] = await db
    .update(cmi5Sessions)
    .set({
      fetchedAt: now,
      expiresAt: new Date(Date.parse(now) + LAUNCH_CREDENTIAL_TTL_SECONDS * 1000).toISOString(),
      seq: sql`${cmi5Sessions.seq} + 1`,
    })
    .where(
      and(
        eq(cmi5Sessions.tenantId, claims.tid),
        claims.sid !== undefined ? eq(cmi5Sessions.sessionId, claims.sid) : eq(cmi5Sessions.id, claims.cs as number),
        sql`${cmi5Sessions.fetchedAt} IS NULL AND ${cmi5Sessions.terminatedAt} IS NULL AND ${cmi5Sessions.abandonedAt} IS NULL`,
      ),
    )
    .returning();
  if (!session) {
    return {
      status: 200,
      body: fetchError("1", "This fetch URL was already used or its session ended; launch the AU again."),
    };
  }
  const [reg] = await db
    .select()
    .from(packageRegistrations)
    .where(and(eq(packageRegistrations.tenantId, claims.tid), eq(packageRegistrations.id, session.registrationId)))
    .limit(1);
  if (!reg) return { status: 200, body: fetchError("3", "The registration of this launch no longer exists.") };
  const credential = await signLaunchCredential(env.JWT_SECRET, {
    tid: claims.tid,
    reg: reg.registration,
    agt: reg.actorKey,
    uid: reg.userId,
    cmi5: true,
    ses: session.sessionId,
  });
  return { status: 200, body: { "auth-token": credential.basic } };
}

// ---- statements -> progress ------------------------------------------------------------------------------------------

function scaledOf(result: Json): number | null {
  const score = isJson(result.score) ? result.score : null;
  if (!score) return null;
  if (typeof score.scaled === "number") return Math.max(-1, Math.min(1, score.scaled));
  if (typeof score.raw === "number" && typeof score.max === "number") {
    const min = typeof score.min === "number" ? score.min : 0;
    if (score.max > min) return Math.max(0, Math.min(1, (score.raw - min) / (score.max - min)));
  }
  return null;
}

/** What one statement says about its object's result, merged into what was known. */
function merge(prior: ActivityResult | undefined, s: Json): ActivityResult {
  const next: ActivityResult = { completed: false, success: null, scaled: null, ...prior };
  const verb = String((s.verb as Json).id);
  const result = isJson(s.result) ? s.result : {};
  const scaled = scaledOf(result);
  if (verb === VERBS.completed || result.completion === true) next.completed = true;
  const success = verb === VERBS.passed ? true : verb === VERBS.failed ? false : result.success;
  if (success === true) {
    next.success = true;
    if (scaled !== null) next.scaled = scaled;
  } else if (success === false && next.success !== true) {
    next.success = false;
    if (scaled !== null) next.scaled = scaled;
  } else if (scaled !== null && next.success === null) next.scaled = scaled;
  return next;
}

/** cmi5 moveOn (section 10): is the AU satisfied by what its statements said? */
export function moveOnMet(moveOn: string, r: ActivityResult | undefined): boolean {
  if (r?.waived) return true;
  const completed = !!r?.completed;
  const passed = r?.success === true;
  switch (moveOn) {
    case "Completed":
      return completed;
    case "Passed":
      return passed;
    case "CompletedAndPassed":
      return completed && passed;
    case "CompletedOrPassed":
      return completed || passed;
    default:
      return true; // NotApplicable
  }
}

type ModuleOutcome = { status: "passed" | "failed" | "completed"; score: number | null };

function outcomeOf(r: ActivityResult | undefined): ModuleOutcome | null {
  if (!r) return null;
  const score = r.scaled === null ? null : Math.round(Math.max(0, r.scaled) * 100);
  if (r.success === true) return { status: "passed", score };
  if (r.success === false) return { status: "failed", score };
  if (r.completed) return { status: "completed", score };
  return null;
}

function cmi5Outcome(aus: Au[], results: Record<string, ActivityResult>): ModuleOutcome | null {
  const counted = aus.filter((a) => a.move_on !== "NotApplicable");
  const satisfied = aus.every((a) => moveOnMet(a.move_on, results[a.id]));
  const scores = counted.map((a) => results[a.id]?.scaled).filter((s): s is number => typeof s === "number");
  const score = scores.length ? Math.round(Math.max(0, scores.reduce((x, y) => x + y, 0) / scores.length) * 100) : null;
  if (satisfied) {
    return counted.some((a) => results[a.id]?.success === true)
      ? { status: "passed", score }
      : { status: "completed", score };
  }
  const failed = counted.some(
    (a) => results[a.id]?.success === false && (a.move_on === "Passed" || a.move_on === "CompletedAndPassed"),
  );
  return failed ? { status: "failed", score } : null;
}

/**
 * After statements are stored: those of known registrations of the tenant (one indexed read for the batch) whose
 * actor is the registration's learner update its results, and a changed result goes to progress. Only statements
 * the LRS stored now (not replays) are given; a result equal to the one last reported changes nothing. Failures
 * of progress (an enrollment revoked meanwhile) are logged: the statements are stored either way.
 */
export async function applyStatementsToProgress(ctx: LrsContext, statements: Json[], baseUrl: string) {
  const byRegistration = new Map<string, Json[]>();
  for (const s of statements) {
    const context = isJson(s.context) ? s.context : null;
    if (!context || typeof context.registration !== "string") continue;
    const verb = String((s.verb as Json).id);
    if (verb === VERBS.satisfied || verb === VERBS.launched) continue;
    const reg = context.registration.toLowerCase();
    const list = byRegistration.get(reg) ?? [];
    list.push(s);
    byRegistration.set(reg, list);
  }
  if (byRegistration.size === 0) return;
  const rows = await ctx.db.all<Record<string, unknown>>(
    sql`SELECT * FROM package_registrations
        WHERE tenant_id = ${ctx.tenantId} AND registration IN (SELECT value FROM json_each(${JSON.stringify([...byRegistration.keys()])}))`,
  );
  for (const raw of rows) {
    const reg = rowOf(raw);
    const mine = (byRegistration.get(reg.registration) ?? []).filter((s) => actorKey(s.actor) === reg.actorKey);
    if (mine.length === 0) continue;
    try {
      await applyToRegistration(ctx, reg, mine, baseUrl);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      console.warn(`registration ${reg.registration}: progress not updated (${err.status} ${err.message})`);
    }
  }
}

function rowOf(raw: Record<string, unknown>): PackageRegistrationRow {
  return {
    id: raw.id as number,
    tenantId: raw.tenant_id as number,
    registration: raw.registration as string,
    enrollmentId: raw.enrollment_id as number,
    placementId: raw.placement_id as number,
    courseId: raw.course_id as number,
    moduleId: raw.module_id as number,
    userId: raw.user_id as number,
    packageId: raw.package_id as number,
    packageVersion: raw.package_version as number,
    standard: raw.standard as "xapi" | "cmi5",
    activityId: raw.activity_id as string,
    actor: JSON.parse(raw.actor as string),
    actorKey: raw.actor_key as string,
    results: JSON.parse(raw.results as string),
    reported: (raw.reported as string | null) ?? null,
    satisfiedAt: (raw.satisfied_at as string | null) ?? null,
    createdAt: raw.created_at as string,
    updatedAt: raw.updated_at as string,
  };
}

/** The cmi5 course structure of the registration's package version (AUs and course id). */
async function structureOf(ctx: { db: Db; tenantId: number }, reg: PackageRegistrationRow) {
  const [version] = await ctx.db.all<{ structure: string | null }>(
    sql`SELECT structure FROM package_versions WHERE tenant_id = ${ctx.tenantId} AND package_id = ${reg.packageId} AND version = ${reg.packageVersion}`,
  );
  return version?.structure ? (JSON.parse(version.structure) as PackageStructure) : null;
}

/**
 * Applies statements (and an administrator's waive) to a registration. The registration is claimed by
 * compare-and-set on what it knew (`results`, `reported`): concurrent requests for the same registration each
 * merge into the latest state (a lost race re-reads and recomputes), and only the request whose claim wins
 * writes the LMS statements and hands the result to progress, so nothing is lost or written twice.
 */
async function applyToRegistration(
  ctx: LrsContext,
  first: PackageRegistrationRow,
  statements: Json[],
  baseUrl: string,
  waive?: { auId: string; reason: string },
  evaluate = false,
) {
  let aus: Au[] = [];
  let blocks: Block[] = [];
  let courseActivity: string | undefined;
  if (first.standard === "cmi5") {
    const structure = await structureOf(ctx, first);
    aus = structure?.aus ?? [];
    blocks = structure?.blocks ?? [];
    courseActivity = structure?.course_id;
  }
  const targets = first.standard === "xapi" ? new Set([first.activityId]) : new Set(aus.map((a) => a.id));
  let lastSession: string | null = null;
  const terminated: string[] = [];
  const counted: Json[] = [];
  for (const s of statements) {
    const object = s.object as Json;
    if ((object.objectType ?? "Activity") !== "Activity" || !targets.has(String(object.id))) continue;
    // cmi5: only cmi5 defined statements count ("cmi5 allowed" ones are outside the completion rules, 7.1.3).
    if (first.standard === "cmi5" && !isCmi5Defined(s)) continue;
    counted.push(s);
    const ext = isJson(s.context) && isJson(s.context.extensions) ? s.context.extensions : {};
    if (typeof ext[CMI5.sessionId] === "string") {
      lastSession = ext[CMI5.sessionId] as string;
      if ((s.verb as Json).id === VERBS.terminated) terminated.push(lastSession);
    }
  }
  if (first.standard === "cmi5" && terminated.length > 0) {
    // The AU ended these sessions: a later launch does not abandon them.
    await ctx.db
      .update(cmi5Sessions)
      .set({ terminatedAt: nowIso() })
      .where(
        and(
          eq(cmi5Sessions.tenantId, ctx.tenantId),
          eq(cmi5Sessions.registrationId, first.id),
          sql`${cmi5Sessions.sessionId} IN (SELECT value FROM json_each(${JSON.stringify(terminated)}))`,
          sql`${cmi5Sessions.terminatedAt} IS NULL`,
        ),
      );
  }
  if (counted.length === 0 && !waive && !evaluate) return;

  let reg = first;
  for (let attempt = 0; attempt < 5; attempt++) {
    const plan = planFor(reg, counted, aus, blocks, courseActivity, lastSession, waive);
    const [claimed] = await ctx.db
      .update(packageRegistrations)
      .set({
        results: plan.results,
        satisfiedAt: plan.satisfiedAt,
        updatedAt: nowIso(),
        ...(plan.changed ? { reported: plan.key } : {}),
      })
      .where(
        and(
          eq(packageRegistrations.tenantId, ctx.tenantId),
          eq(packageRegistrations.id, reg.id),
          sql`${packageRegistrations.results} = ${JSON.stringify(reg.results)}`,
          sql`${packageRegistrations.reported} IS ${reg.reported}`,
        ),
      )
      .returning({ id: packageRegistrations.id });
    if (!claimed) {
      // Another request changed the registration meanwhile: merge into what it wrote.
      const [fresh] = await ctx.db
        .select()
        .from(packageRegistrations)
        .where(and(eq(packageRegistrations.tenantId, ctx.tenantId), eq(packageRegistrations.id, reg.id)))
        .limit(1);
      if (!fresh) return;
      reg = fresh;
      if (waive && (fresh.results[waive.auId]?.waived || fresh.results[waive.auId]?.satisfied))
        throw ApiError.conflict(`AU "${waive.auId}" is already waived or satisfied.`);
      continue;
    }
    if (plan.lmsStatements.length > 0) {
      await storeStatements(lmsLrsContext(ctx.tenantId, ctx.db, ctx.env, baseUrl, ctx.defer), plan.lmsStatements, []);
    }
    if (plan.changed && plan.outcome) await reportOutcome(ctx, reg, plan.outcome);
    return;
  }
  throw new ApiError(503, "The registration is changing too often; send the statements again.");
}

function planFor(
  reg: PackageRegistrationRow,
  statements: Json[],
  aus: Au[],
  blocks: Block[],
  courseActivity: string | undefined,
  lastSession: string | null,
  waive?: { auId: string; reason: string },
) {
  const results: Record<string, ActivityResult> = { ...reg.results };
  // A waive is a session of its own (cmi5 9.3.7): the waived statement and the satisfied ones it triggers. So is
  // anything triggered outside an AU session (statements without a session id, cmi5 9.6.1).
  const session = waive || !lastSession ? crypto.randomUUID() : lastSession;
  for (const s of statements) {
    const id = String((s.object as Json).id);
    results[id] = merge(results[id], s);
  }
  const lmsStatements: Json[] = [];
  if (waive) {
    // cmi5 9.3.8: the LMS "waived" statement, with the reason; the AU then counts as meeting its moveOn.
    const au = aus.find((a) => a.id === waive.auId) as Au;
    results[au.id] = { ...(results[au.id] ?? { completed: false, success: null, scaled: null }), waived: true };
    lmsStatements.push({
      ...lmsStatement(reg, VERBS.waived, auActivity(au), session, courseActivity, {}, [
        CMI5.category,
        CMI5.moveOnCategory,
      ]),
      result: { success: true, completion: true, extensions: { [CMI5.reason]: waive.reason } },
    });
  }
  let satisfiedAt = reg.satisfiedAt;
  let outcome: ModuleOutcome | null;
  if (reg.standard === "cmi5") {
    // An AU meeting its moveOn is remembered (the next launch picks another AU, or Review); "satisfied" statements
    // are about blocks and the course only (cmi5 9.3.9, 9.4), each written once per registration.
    for (const au of aus) {
      const r = results[au.id];
      if (au.move_on === "NotApplicable" || !r || r.satisfied || r.waived || !moveOnMet(au.move_on, r)) continue;
      results[au.id] = { ...r, satisfied: true };
    }
    for (const block of blocks) {
      if (block.au_ids.length === 0 || results[block.id]?.satisfied) continue;
      const inBlock = aus.filter((a) => block.au_ids.includes(a.id));
      if (inBlock.length === 0 || !inBlock.every((a) => moveOnMet(a.move_on, results[a.id]))) continue;
      results[block.id] = { completed: false, success: null, scaled: null, satisfied: true };
      lmsStatements.push(
        lmsStatement(
          reg,
          VERBS.satisfied,
          { objectType: "Activity", id: block.id, definition: { type: CMI5.blockType } },
          session,
          courseActivity,
        ),
      );
    }
    if (!satisfiedAt && aus.length > 0 && aus.every((a) => moveOnMet(a.move_on, results[a.id]))) {
      satisfiedAt = nowIso();
      const course = courseActivity ?? reg.activityId;
      lmsStatements.push(
        lmsStatement(
          reg,
          VERBS.satisfied,
          { objectType: "Activity", id: course, definition: { type: CMI5.courseType } },
          session,
          course,
        ),
      );
    }
    outcome = cmi5Outcome(aus, results);
  } else {
    outcome = outcomeOf(results[reg.activityId]);
  }
  const key = outcome ? JSON.stringify(outcome) : null;
  return { results, satisfiedAt, lmsStatements, outcome, key, changed: key !== null && key !== reg.reported };
}

/**
 * Hands a new module result to progress as a SCORM commit's does. When progress refuses (an enrollment revoked
 * meanwhile), the registration forgets that it reported it, so the next statement saying it tries again.
 */
async function reportOutcome(ctx: LrsContext, reg: PackageRegistrationRow, outcome: ModuleOutcome) {
  const tenantCtx: TenantContext = {
    tenantId: ctx.tenantId,
    db: ctx.db,
    env: ctx.env,
    defer: ctx.defer,
    principal: { kind: "learner", tenantId: ctx.tenantId, userId: reg.userId, sessionId: 0, writesPerMinute: 0 },
  };
  try {
    if (outcome.status === "completed") {
      // Completion follows the access rules of the learner's own launch.
      await completeModuleByRule(tenantCtx as LearnerCtx, reg.courseId, reg.placementId, ["scorm"]);
    } else {
      await recordGradedResult(tenantCtx, {
        enrollmentId: reg.enrollmentId,
        placementId: reg.placementId,
        score: outcome.score ?? (outcome.status === "passed" ? 100 : 0),
        maxScore: 100,
        passed: outcome.status === "passed",
      });
    }
  } catch (err) {
    await ctx.db
      .update(packageRegistrations)
      .set({ reported: reg.reported })
      .where(and(eq(packageRegistrations.tenantId, ctx.tenantId), eq(packageRegistrations.id, reg.id)));
    throw err;
  }
}

// ---- admin: registrations and waive ------------------------------------------------------------------------------------

export function registrationView(r: PackageRegistrationRow) {
  return {
    registration: r.registration,
    package_id: r.packageId,
    package_version: r.packageVersion,
    standard: r.standard,
    enrollment_id: r.enrollmentId,
    course_id: r.courseId,
    placement_id: r.placementId,
    user_id: r.userId,
    activity_id: r.activityId,
    actor: r.actor,
    result: r.reported ? (JSON.parse(r.reported) as ModuleOutcome) : null,
    activities: Object.entries(r.results).map(([id, v]) => ({
      id,
      completed: v.completed,
      success: v.success,
      score_scaled: v.scaled,
      satisfied: !!v.satisfied,
      waived: !!v.waived,
    })),
    satisfied_at: r.satisfiedAt,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
  };
}

export async function listRegistrations(
  ctx: TenantContext,
  packageId: number,
  query: { page: number; per_page: number; user_id?: number },
) {
  const where = and(
    eq(packageRegistrations.tenantId, ctx.tenantId),
    eq(packageRegistrations.packageId, packageId),
    query.user_id === undefined ? undefined : eq(packageRegistrations.userId, query.user_id),
  );
  const [rows, totals] = await ctx.db.batch([
    ctx.db
      .select()
      .from(packageRegistrations)
      .where(where)
      .orderBy(packageRegistrations.createdAt, packageRegistrations.id)
      .limit(query.per_page)
      .offset((query.page - 1) * query.per_page),
    ctx.db.select({ total: sql<number>`count(*)` }).from(packageRegistrations).where(where),
  ]);
  const total = totals[0]?.total ?? 0;
  return {
    data: rows.map(registrationView),
    meta: {
      page: query.page,
      per_page: query.per_page,
      total,
      last_page: Math.max(1, Math.ceil(total / query.per_page)),
    },
  };
}

export async function findRegistration(ctx: TenantContext, packageId: number, registration: string) {
  const [row] = await ctx.db
    .select()
    .from(packageRegistrations)
    .where(
      and(
        eq(packageRegistrations.tenantId, ctx.tenantId),
        eq(packageRegistrations.registration, registration.toLowerCase()),
        eq(packageRegistrations.packageId, packageId),
      ),
    )
    .limit(1);
  if (!row) throw ApiError.notFound(`Registration ${registration} of package ${packageId}`);
  return row;
}

const ANSWERED = "http://adlnet.gov/expapi/verbs/answered";

/**
 * The learner's interactions in a registration: its `answered` statements (not voided), oldest first, from the
 * LRS's registration index (at most 500).
 */
export async function registrationInteractions(ctx: TenantContext, reg: PackageRegistrationRow) {
  const rows = await ctx.db.all<{ statement: string; stored_us: number }>(
    sql`SELECT s.statement, s.stored_us FROM xapi_statement_terms p
        CROSS JOIN xapi_statements s ON s.tenant_id = ${ctx.tenantId} AND s.stored_us = p.stored_us
        WHERE p.tenant_id = ${ctx.tenantId} AND p.kind = 'registration' AND p.value = ${reg.registration}
          AND s.verb_id = ${ANSWERED} AND s.voided = 0
        ORDER BY p.stored_us LIMIT 500`,
  );
  return rows
    .map((r): Json => ({ ...(JSON.parse(r.statement) as Json), stored: usToIso(r.stored_us) }))
    .filter((s) => actorKey(s.actor) === reg.actorKey)
    .map((s) => {
      const object = s.object as Json;
      const definition = isJson(object.definition) ? object.definition : {};
      const result = isJson(s.result) ? s.result : {};
      return {
        id: String(object.id),
        type: typeof definition.interactionType === "string" ? definition.interactionType : null,
        response: typeof result.response === "string" ? result.response : null,
        success: typeof result.success === "boolean" ? result.success : null,
        score_scaled: scaledOf(result),
        timestamp: String(typeof s.timestamp === "string" ? s.timestamp : s.stored),
      };
    });
}

export const WAIVE_REASONS = ["Tested Out", "Equivalent AU", "Equivalent Outside Activity", "Administrative"] as const;

/**
 * cmi5 waive (an administrator's decision): the AU counts as meeting its moveOn. Writes the LMS "waived"
 * statement, and the satisfied statements and module completion that follow when it satisfies the course.
 */
export async function waiveAu(
  ctx: TenantContext,
  packageId: number,
  registration: string,
  input: { au_id: string; reason: (typeof WAIVE_REASONS)[number] },
  baseUrl: string,
) {
  const reg = await findRegistration(ctx, packageId, registration);
  if (reg.standard !== "cmi5") throw ApiError.conflict("Only AUs of cmi5 packages are waived.");
  const structure = await structureOf(ctx, reg);
  if (!structure?.aus?.some((a) => a.id === input.au_id))
    throw ApiError.validation([{ path: "au_id", message: `The package has no AU "${input.au_id}".` }]);
  const current = reg.results[input.au_id];
  if (current?.waived || current?.satisfied)
    throw ApiError.conflict(`AU "${input.au_id}" is already ${current.waived ? "waived" : "satisfied"}.`);
  const lrs = lmsLrsContext(ctx.tenantId, ctx.db, ctx.env, baseUrl, ctx.defer);
  await applyToRegistration(lrs, reg, [], baseUrl, { auId: input.au_id, reason: input.reason });
  return registrationView(await findRegistration(ctx, packageId, registration));
}

export type { Cmi5SessionRow };

// ---- the abandon sweep (scheduled) ------------------------------------------------------------------------------------

/**
 * The Worker's scheduled handler: cmi5 sessions past their expiry (their fetch URL or auth-token can no longer
 * send anything) that neither terminated nor were abandoned by a later launch are abandoned now, with the LMS
 * "abandoned" statement (cmi5 9.3.6), at most `limit` per run, oldest first. Each session is abandoned with its
 * statement in one batch, which fails when the session ended meanwhile (a statement request or a launch racing
 * the sweep wins or loses cleanly).
 */
export async function abandonExpiredSessions(env: Env, db: Db, limit = 100, now = nowIso()) {
  const rows = await db.all<Record<string, unknown>>(
    sql`SELECT s.id AS s_id, s.seq AS s_seq, s.session_id AS s_session_id, s.au_id AS s_au_id,
          s.created_at AS s_created_at, s.last_statement_at AS s_last_statement_at, r.*, v.structure AS v_structure
        FROM cmi5_sessions s
        JOIN package_registrations r ON r.tenant_id = s.tenant_id AND r.id = s.registration_id
        LEFT JOIN package_versions v ON v.tenant_id = r.tenant_id AND v.package_id = r.package_id AND v.version = r.package_version
        WHERE s.expires_at < ${now} AND s.terminated_at IS NULL AND s.abandoned_at IS NULL
        ORDER BY s.expires_at LIMIT ${limit}`,
  );
  let abandoned = 0;
  for (const raw of rows) {
    const reg = rowOf(raw);
    const t = reg.tenantId;
    const sessionRowId = raw.s_id as number;
    const structure = raw.v_structure ? (JSON.parse(raw.v_structure as string) as PackageStructure) : null;
    const auById = new Map((structure?.aus ?? []).map((a) => [a.id, a]));
    const old = {
      id: sessionRowId,
      sessionId: raw.s_session_id as string,
      auId: raw.s_au_id as string,
      createdAt: raw.s_created_at as string,
      lastStatementAt: (raw.s_last_statement_at as string | null) ?? null,
    } as Cmi5SessionRow;
    const homePage = String((reg.actor.account as Json | undefined)?.homePage ?? "");
    const lrs = lmsLrsContext(t, db, env, homePage, () => {});
    try {
      // One batch: the session abandoned and its statement; a session that ended meanwhile (a terminated
      // statement, a launch) fails the batch instead (unique (tenant_id, session_id)).
      await storeStatements(lrs, [abandonedStatement(reg, old, auById, structure?.course_id)], [], {
        with: [
          batchableRaw(
            db,
            sql`INSERT INTO cmi5_sessions (tenant_id, registration_id, au_id, session_id, launch_mode, verbs, seq, created_at)
                SELECT tenant_id, registration_id, au_id, session_id, launch_mode, verbs, seq, created_at FROM cmi5_sessions
                WHERE tenant_id = ${t} AND id = ${sessionRowId} AND (terminated_at IS NOT NULL OR abandoned_at IS NOT NULL)`,
          ),
          batchableRaw(
            db,
            sql`UPDATE cmi5_sessions SET abandoned_at = ${now}, seq = seq + 1 WHERE tenant_id = ${t} AND id = ${sessionRowId}`,
          ),
        ],
      });
      abandoned++;
    } catch (err) {
      if (!isUniqueConstraint(err)) throw err;
      // It ended meanwhile: nothing to abandon.
    }
  }
  return abandoned;
}
