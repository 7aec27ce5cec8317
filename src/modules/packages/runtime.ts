/**
 * The SCORM runtime's server side. The learner's browser runs scorm-again; Lectern keeps one session per
 * learner, placement, SCO and attempt with the full CMI state:
 *
 * - launch (through `POST /v1/learner/courses/{id}/modules/{placement_id}/launch`) resumes the open attempt or
 *   starts a new one, and answers the launch URL, the commit URL and the CMI state to load;
 * - commits store the state. scorm-again's `commitSequence` orders them within a launch (a stale or replayed
 *   one changes nothing), the terminate commit (sendBeacon, `?terminate=true` or a `terminate` field) closes
 *   the launch and adds its session time to the total;
 * - when the SCOs' statuses finish the module, the result goes to progress (`recordGradedResult`, or
 *   `completePlacement` for completion without pass/fail), once per change.
 *
 * Each request is a fixed number of D1 statements: one read batch and one conditional write (plus progress's own
 * batches when the module result changes).
 */
import { and, desc, eq, sql } from "drizzle-orm";
import type { LearnerPrincipal, TenantContext } from "../../platform/auth";
import { ApiError } from "../../platform/errors";
import { nowIso } from "../../platform/time";
import { completeModuleByRule, recordGradedResult } from "../progress/service";
import { findUser } from "../users/service";
import {
  type Cmi,
  CommitBodyError,
  formatDuration,
  merge,
  moduleResult,
  parseCommitBody,
  type ScormStandard,
  type ScoState,
  scoState,
} from "./cmi";
import { packageRegistrations } from "./launch-tables";
import { type NavOutcome, parseNavRequest, requestValid, resolveNavigation } from "./navigation";
import { type PlayerClaims, signPlayerToken, verifyPlayerToken } from "./player";
import {
  type PackageStructure,
  type PackageVersionRow,
  packages,
  packageVersions,
  type ScormSessionRow,
  scormSessions,
} from "./tables";
import { openPackageLaunch } from "./xapi-launch";

type LearnerCtx = TenantContext<LearnerPrincipal>;
type Sco = NonNullable<PackageStructure["scos"]>[number];

/** SCORM error codes answered by the commit endpoint. */
export const SCORM_ERRORS = { general: 101, commitAfterTermination2004: 143, generalCommitFailure2004: 391 } as const;

export interface LaunchInfo {
  course_id: number;
  placement_id: number;
  enrollment: { id: number };
  module: { id?: number; type: string; settings: Record<string, unknown> };
}

const isDoneStatus = (s: ScormSessionRow) =>
  s.lessonStatus === "completed" ||
  s.lessonStatus === "passed" ||
  s.lessonStatus === "failed" ||
  s.completionStatus === "completed" ||
  s.successStatus === "passed" ||
  s.successStatus === "failed";

/** The SCOs that count for completion: the `sco` resources, or every launchable item when there are none. */
function countedScos(structure: PackageStructure | null): Sco[] {
  const scos = structure?.scos ?? [];
  const real = scos.filter((s) => s.scorm_type === "sco");
  return real.length ? real : scos;
}

function encodeLaunchPath(path: string): string {
  const at = path.search(/[?#]/);
  const file = at < 0 ? path : path.slice(0, at);
  const rest = at < 0 ? "" : path.slice(at);
  return file.split("/").map(encodeURIComponent).join("/") + rest;
}

/** The CMI a fresh attempt starts with (what `loadFromJSON` gets), in the session's standard. */
function initialCmi(standard: ScormStandard, sco: Sco, learner: { id: number; name: string }): Cmi {
  if (standard === "scorm12") {
    return {
      core: {
        student_id: String(learner.id),
        student_name: learner.name,
        lesson_location: "",
        credit: "credit",
        lesson_status: "not attempted",
        entry: "ab-initio",
        total_time: "0000:00:00.00",
        lesson_mode: "normal",
        score: { raw: "", min: "", max: "" },
      },
      suspend_data: "",
      launch_data: sco.launch_data ?? "",
      student_data: {
        mastery_score: sco.mastery_score === null ? "" : String(sco.mastery_score),
        max_time_allowed: sco.max_time_allowed ?? "",
        time_limit_action: sco.time_limit_action ?? "",
      },
    };
  }
  return {
    learner_id: String(learner.id),
    learner_name: learner.name,
    location: "",
    credit: "credit",
    mode: "normal",
    entry: "ab-initio",
    completion_status: "unknown",
    success_status: "unknown",
    total_time: "PT0S",
    suspend_data: "",
    launch_data: sco.launch_data ?? "",
    ...(sco.mastery_score === null ? {} : { scaled_passing_score: String(sco.mastery_score) }),
    ...(sco.completion_threshold === null ? {} : { completion_threshold: String(sco.completion_threshold) }),
    ...(sco.max_time_allowed ? { max_time_allowed: sco.max_time_allowed } : {}),
    ...(sco.time_limit_action ? { time_limit_action: sco.time_limit_action } : {}),
  };
}

/** The stored state prepared for the next launch: entry, total time, and no write-only session fields. */
export function resumeCmi(session: ScormSessionRow): Cmi {
  const cmi = { ...(session.cmi ?? {}) } as Cmi;
  const total = formatDuration(session.totalSeconds, session.standard);
  const suspended = session.exitMode === "suspend" || session.exitMode === "logout";
  const entry = suspended ? "resume" : session.commitCount > 0 ? "resume" : "ab-initio";
  if (session.standard === "scorm12") {
    const core = { ...((cmi.core as Cmi | undefined) ?? {}) };
    delete core.session_time;
    delete core.exit;
    core.entry = entry;
    core.total_time = total;
    cmi.core = core;
  } else {
    delete cmi.session_time;
    delete cmi.exit;
    cmi.entry = entry;
    cmi.total_time = total;
  }
  return cmi;
}

export function sessionView(s: ScormSessionRow) {
  return {
    id: s.id,
    package_id: s.packageId,
    package_version: s.packageVersion,
    course_id: s.courseId,
    placement_id: s.placementId,
    sco_identifier: s.scoIdentifier,
    standard: s.standard,
    attempt: s.attempt,
    launch_count: s.launchCount,
    commit_sequence: s.commitSequence,
    lesson_status: s.lessonStatus,
    completion_status: s.completionStatus,
    success_status: s.successStatus,
    score: { raw: s.scoreRaw, min: s.scoreMin, max: s.scoreMax, scaled: s.scoreScaled },
    total_seconds: s.totalSeconds + s.sessionSeconds,
    terminated_at: s.terminatedAt,
    last_commit_at: s.lastCommitAt,
    created_at: s.createdAt,
    cmi: resumeCmi(s),
  };
}

/**
 * The player for a launched package module: for SCORM the session (resumed or new) and its URLs; for xAPI and
 * cmi5 the registration and the launch URL with their launch parameters (xapi-launch.ts). `null` when the module
 * has no ready package (no package yet, still processing, failed).
 */
export async function openPlayer(
  ctx: LearnerCtx,
  launch: LaunchInfo,
  baseUrl: string,
  scoIdentifier?: string,
  launchMode?: "Browse" | "Review",
) {
  if (launch.module.type !== "scorm") return null;
  const packageId = launch.module.settings.package_id;
  if (typeof packageId !== "number") return null;
  const t = ctx.tenantId;
  const [pkgRows, versionRows, sessionRows, registrationRows] = await ctx.db.batch([
    ctx.db
      .select()
      .from(packages)
      .where(and(eq(packages.tenantId, t), eq(packages.id, packageId)))
      .limit(1),
    ctx.db
      .select()
      .from(packageVersions)
      .where(
        and(
          eq(packageVersions.tenantId, t),
          eq(packageVersions.packageId, packageId),
          eq(packageVersions.status, "ready"),
        ),
      )
      .orderBy(desc(packageVersions.version))
      .limit(50),
    ctx.db
      .select()
      .from(scormSessions)
      .where(
        and(
          eq(scormSessions.tenantId, t),
          eq(scormSessions.enrollmentId, launch.enrollment.id),
          eq(scormSessions.placementId, launch.placement_id),
        ),
      )
      .orderBy(desc(scormSessions.updatedAt), desc(scormSessions.id))
      .limit(200),
    ctx.db
      .select()
      .from(packageRegistrations)
      .where(
        and(
          eq(packageRegistrations.tenantId, t),
          eq(packageRegistrations.enrollmentId, launch.enrollment.id),
          eq(packageRegistrations.placementId, launch.placement_id),
        ),
      )
      .limit(1),
  ]);
  const pkg = pkgRows[0];
  const current = versionRows.find((v) => v.version === pkg?.currentVersion);
  if (pkg && current && (current.standard === "xapi" || current.standard === "cmi5")) {
    // xAPI / cmi5: launched with the TinCan / cmi5 launch parameters (xapi-launch.ts).
    return openPackageLaunch(
      ctx,
      {
        course_id: launch.course_id,
        placement_id: launch.placement_id,
        enrollment: launch.enrollment,
        module_id: launch.module.id ?? 0,
      },
      baseUrl,
      pkg,
      current,
      registrationRows[0],
      scoIdentifier,
      launchMode,
    );
  }
  if (!pkg || !current || (current.standard !== "scorm12" && current.standard !== "scorm2004")) return null;
  const standard = current.standard;

  const scos = current.structure?.scos ?? [];
  // SCORM 2004 exitAll / abandonAll ended the attempt on the whole package: the sessions before it are closed
  // (every SCO starts a new attempt, ab-initio).
  const ender =
    standard === "scorm2004"
      ? sessionRows.find((r) => r.terminatedAt && (r.navRequest === "exitAll" || r.navRequest === "abandonAll"))
      : undefined;
  const boundary = ender?.terminatedAt ?? null;
  const live = boundary ? sessionRows.filter((r) => r.createdAt > boundary) : sessionRows;
  let sco: Sco | undefined;
  let followed: (NavOutcome & { from: string }) | null = null;
  let suspendAll = false;
  if (scoIdentifier) {
    sco = scos.find((s) => s.identifier === scoIdentifier);
    if (!sco) throw ApiError.validation([{ path: "sco", message: `The package has no SCO "${scoIdentifier}".` }]);
  } else {
    // SCORM 2004: the navigation request the last SCO left when it terminated (continue, previous, choice, ...).
    const last = sessionRows[0];
    const request =
      standard === "scorm2004" && last?.terminatedAt && last.navRequest ? parseNavRequest(last.navRequest) : null;
    if (last && request) {
      followed = { ...resolveNavigation(scos, last.scoIdentifier, request), from: last.scoIdentifier };
      if (followed.action === "deliver" && followed.sco) sco = followed.sco;
      if (followed.action === "suspend" && followed.sco) {
        sco = followed.sco;
        suspendAll = true;
      }
    }
    // Else resume where the learner was, else the first SCO not finished, else the first.
    const lastLive = live[0];
    sco ??=
      (lastLive && !isDoneStatus(lastLive) ? scos.find((s) => s.identifier === lastLive.scoIdentifier) : undefined) ??
      countedScos(current.structure).find(
        (s) => !live.some((r) => r.scoIdentifier === s.identifier && isDoneStatus(r)),
      ) ??
      scos[0];
  }
  if (!sco) return null;
  const attempts = sessionRows.filter((r) => r.scoIdentifier === sco.identifier).sort((a, b) => b.attempt - a.attempt);
  const latest = attempts.find((r) => !boundary || r.createdAt > boundary);
  // An attempt continues until it is finished and was left without suspending (SCORM's cmi.exit, or suspendAll).
  const resume =
    latest && (suspendAll || !(latest.terminatedAt && isDoneStatus(latest) && latest.exitMode !== "suspend"));
  const versionOf = resume ? versionRows.find((v) => v.version === latest.packageVersion) : current;
  const playVersion: PackageVersionRow = versionOf ?? current;
  const playSco = playVersion.structure?.scos?.find((s) => s.identifier === sco.identifier) ?? sco;
  const now = nowIso();
  let session: ScormSessionRow;
  if (resume && versionOf) {
    const [row] = await ctx.db
      .update(scormSessions)
      .set({
        launchCount: sql`${scormSessions.launchCount} + 1`,
        commitSequence: 0,
        // A launch that never terminated still counts its time.
        totalSeconds: sql`${scormSessions.totalSeconds} + CASE WHEN ${scormSessions.terminatedAt} IS NULL THEN ${scormSessions.sessionSeconds} ELSE 0 END`,
        sessionSeconds: 0,
        terminatedAt: null,
        navRequest: null,
        updatedAt: now,
      })
      .where(and(eq(scormSessions.tenantId, t), eq(scormSessions.id, latest.id)))
      .returning();
    session = row;
  } else {
    const learner = await findUser(ctx, "learner", ctx.principal.userId);
    const [row] = await ctx.db
      .insert(scormSessions)
      .values({
        tenantId: t,
        packageId,
        packageVersion: current.version,
        enrollmentId: launch.enrollment.id,
        placementId: launch.placement_id,
        courseId: launch.course_id,
        userId: ctx.principal.userId,
        scoIdentifier: sco.identifier,
        standard,
        attempt: (attempts[0]?.attempt ?? 0) + 1,
        cmi: initialCmi(standard, sco, { id: learner.id, name: learner.name }),
        createdAt: now,
        updatedAt: now,
      })
      .returning();
    session = row;
  }
  const { token, expiresAt } = await signPlayerToken(ctx.env.JWT_SECRET, {
    tid: t,
    sid: session.id,
    pkg: packageId,
    ver: session.packageVersion,
    uid: ctx.principal.userId,
    lno: session.launchCount,
  });
  const commitUrl = `${baseUrl}/v1/learner/scorm/sessions/${session.id}/commit?token=${token}`;
  const playScos = playVersion.structure?.scos ?? [];
  const valid = standard === "scorm2004" ? requestValid(playScos, playSco.identifier) : null;
  return {
    standard,
    package_id: packageId,
    package_version: session.packageVersion,
    session_id: session.id,
    attempt: session.attempt,
    resumed: !!resume,
    sco: { identifier: playSco.identifier, title: playSco.title },
    scos: playScos.map((s) => ({
      identifier: s.identifier,
      title: s.title,
      scorm_type: s.scorm_type,
      visible: s.visible ?? true,
    })),
    launch_url: `${baseUrl}/content/${token}/${encodeLaunchPath(playSco.launch)}`,
    commit_url: commitUrl,
    state_url: `${baseUrl}/v1/learner/scorm/sessions/${session.id}`,
    token,
    expires_at: expiresAt,
    cmi: resumeCmi(session),
    // SCORM 2004: what the SCO's Next / Previous / choice buttons may ask (load with `loadFromJSON(adl, "adl")`),
    // and the request this launch followed.
    adl: valid ? { nav: { request_valid: { continue: valid.continue, previous: valid.previous } } } : null,
    navigation: valid
      ? {
          request_valid: valid,
          followed: followed
            ? {
                request: followed.request,
                from_sco: followed.from,
                valid: followed.valid,
                action: followed.action,
                reason: followed.reason,
              }
            : null,
        }
      : null,
    scorm_again: {
      ...(valid ? { scoItemIds: valid.choice } : {}),
      lmsCommitUrl: commitUrl,
      dataCommitFormat: "json",
      includeCommitSequence: true,
      terminateCommitParam: "terminate",
      autocommit: true,
      autocommitSeconds: 30,
      sendFullCommit: true,
      mastery_override: false,
    },
  };
}

async function findSession(ctx: TenantContext, id: number, userId: number) {
  const [row] = await ctx.db
    .select()
    .from(scormSessions)
    .where(and(eq(scormSessions.tenantId, ctx.tenantId), eq(scormSessions.id, id), eq(scormSessions.userId, userId)))
    .limit(1);
  if (!row) throw ApiError.notFound(`SCORM session ${id}`);
  return row;
}

export async function getSession(ctx: LearnerCtx, id: number) {
  return sessionView(await findSession(ctx, id, ctx.principal.userId));
}

/**
 * The commit's answer. SCORM-level refusals are HTTP 200 with `result: false` (scorm-again reads `result` and
 * `errorCode`); HTTP errors are kept for authentication and unknown sessions (problem+json).
 */
export type CommitAnswer = {
  status: 200;
  body: {
    result: boolean;
    errorCode: number;
    detail?: string;
    /** SCORM 2004 terminate commit with an `adl.nav.request`: where it leads (see navigation.ts) */
    navigation?: {
      request: string;
      target: string | null;
      valid: boolean;
      action: NavOutcome["action"];
      sco: { identifier: string; title: string } | null;
      reason: string | null;
      player_url: string;
    };
  };
};

/** Who commits: a learner (bearer token, current launch) or a launch token (the launch it was issued for). */
export type Committer = { kind: "learner"; userId: number } | { kind: "token"; token: string };

/**
 * Stores a commit. Answers scorm-again's `{result, errorCode}`: stale or replayed commits (sequence not above the
 * stored one) answer true and change nothing; a commit of an older launch, or after the launch terminated,
 * answers false.
 */
export async function commitSession(
  ctx: TenantContext,
  id: number,
  committer: Committer,
  body: { text: string; contentType: string; terminateParam: boolean },
): Promise<CommitAnswer> {
  let claims: PlayerClaims | null = null;
  if (committer.kind === "token") {
    claims = await verifyPlayerToken(ctx.env.JWT_SECRET, committer.token);
    if (claims.sid !== id || claims.tid !== ctx.tenantId) throw ApiError.notFound(`SCORM session ${id}`);
  }
  const userId = committer.kind === "learner" ? committer.userId : (claims as PlayerClaims).uid;
  const [sessionRows, versionRows] = await ctx.db.batch([
    ctx.db
      .select()
      .from(scormSessions)
      .where(and(eq(scormSessions.tenantId, ctx.tenantId), eq(scormSessions.id, id), eq(scormSessions.userId, userId)))
      .limit(1),
    ctx.db
      .select({ version: packageVersions.version, structure: packageVersions.structure })
      .from(packageVersions)
      .where(
        and(
          eq(packageVersions.tenantId, ctx.tenantId),
          sql`(${packageVersions.packageId}, ${packageVersions.version}) = (SELECT package_id, package_version FROM scorm_sessions WHERE tenant_id = ${ctx.tenantId} AND id = ${id})`,
        ),
      )
      .limit(1),
  ]);
  const session = sessionRows[0];
  if (!session) throw ApiError.notFound(`SCORM session ${id}`);
  const fail = (detail: string, code = SCORM_ERRORS.general as number): CommitAnswer => ({
    status: 200,
    body: { result: false, errorCode: code, detail },
  });
  let parsed: ReturnType<typeof parseCommitBody>;
  try {
    parsed = parseCommitBody(body.text, "terminate", session.standard === "scorm2004");
  } catch (err) {
    if (err instanceof CommitBodyError) return fail(err.message, err.code);
    throw err;
  }
  const terminate = parsed.terminate || body.terminateParam || body.contentType.startsWith("text/plain");
  const launch = claims?.lno ?? session.launchCount;
  if (launch !== session.launchCount) {
    return fail(
      `This commit belongs to launch ${launch}; the session has been launched again since (launch ${session.launchCount}).`,
    );
  }
  const sequence = parsed.commitSequence;
  if (sequence !== null && sequence <= session.commitSequence) {
    return {
      status: 200,
      body: { result: true, errorCode: 0, detail: "Already stored (stale or replayed commit): nothing changed." },
    };
  }
  if (session.terminatedAt) {
    return fail(
      "The launch has terminated: launch the module again to continue.",
      session.standard === "scorm2004" ? SCORM_ERRORS.commitAfterTermination2004 : SCORM_ERRORS.general,
    );
  }

  const sco = versionRows[0]?.structure?.scos?.find((s) => s.identifier === session.scoIdentifier);
  const rules = { mastery_score: sco?.mastery_score ?? null, completion_threshold: sco?.completion_threshold ?? null };
  const cmi = merge(session.cmi ?? {}, parsed.cmi);
  const state = scoState(session.standard, cmi, rules);
  const now = nowIso();
  const [written] = await ctx.db
    .update(scormSessions)
    .set({
      cmi,
      commitSequence: sequence ?? session.commitSequence,
      commitCount: sql`${scormSessions.commitCount} + 1`,
      lessonStatus: state.lessonStatus,
      completionStatus: state.completionStatus,
      successStatus: state.successStatus,
      scoreRaw: state.scoreRaw,
      scoreMin: state.scoreMin,
      scoreMax: state.scoreMax,
      scoreScaled: state.scoreScaled,
      exitMode: state.exit,
      ...(session.standard === "scorm2004" && parsed.navRequest !== null ? { navRequest: parsed.navRequest } : {}),
      ...(terminate
        ? {
            totalSeconds: sql`${scormSessions.totalSeconds} + ${state.sessionSeconds}`,
            sessionSeconds: 0,
            terminatedAt: now,
          }
        : { sessionSeconds: state.sessionSeconds }),
      lastCommitAt: now,
      updatedAt: now,
    })
    .where(
      and(
        eq(scormSessions.tenantId, ctx.tenantId),
        eq(scormSessions.id, id),
        eq(scormSessions.launchCount, session.launchCount),
        sql`${scormSessions.terminatedAt} IS NULL`,
        sequence === null
          ? sql`${scormSessions.commitCount} = ${session.commitCount}`
          : sql`${scormSessions.commitSequence} < ${sequence}`,
      ),
    )
    .returning();
  if (!written) {
    // Another commit got there first (a concurrent one with a higher sequence, or the terminate).
    return {
      status: 200,
      body: { result: true, errorCode: 0, detail: "A newer commit was stored first: nothing changed." },
    };
  }
  await reportProgress(ctx, written, state, versionRows[0]?.structure ?? null);
  const request =
    terminate && written.standard === "scorm2004" && written.navRequest ? parseNavRequest(written.navRequest) : null;
  if (!request) return { status: 200, body: { result: true, errorCode: 0 } };
  const outcome = resolveNavigation(versionRows[0]?.structure?.scos ?? [], written.scoIdentifier, request);
  return {
    status: 200,
    body: {
      result: true,
      errorCode: 0,
      navigation: {
        request: outcome.request,
        target: outcome.target,
        valid: outcome.valid,
        action: outcome.action,
        sco: outcome.sco ? { identifier: outcome.sco.identifier, title: outcome.sco.title } : null,
        reason: outcome.reason,
        player_url: `/v1/learner/courses/${written.courseId}/modules/${written.placementId}/player`,
      },
    },
  };
}

/** Hands the module's result to progress when the SCOs finish it, once per distinct result. */
async function reportProgress(
  ctx: TenantContext,
  session: ScormSessionRow,
  committed: ScoState,
  structure: PackageStructure | null,
) {
  if (!committed.done) return;
  const scos = countedScos(structure);
  const others = scos.some((s) => s.identifier !== session.scoIdentifier)
    ? await ctx.db
        .select()
        .from(scormSessions)
        .where(
          and(
            eq(scormSessions.tenantId, ctx.tenantId),
            eq(scormSessions.enrollmentId, session.enrollmentId),
            eq(scormSessions.placementId, session.placementId),
          ),
        )
        .limit(500)
    : [session];
  const rank = (s: ScoState) => (s.passed === true ? 3 : s.done && s.passed === null ? 2 : s.done ? 1 : 0);
  const best = new Map<string, ScoState>();
  for (const row of others) {
    const sco = scos.find((s) => s.identifier === row.scoIdentifier);
    if (!sco) continue;
    const state =
      row.id === session.id
        ? committed
        : scoState(row.standard, row.cmi ?? {}, {
            mastery_score: sco.mastery_score,
            completion_threshold: sco.completion_threshold,
          });
    const prior = best.get(row.scoIdentifier);
    if (!prior || rank(state) > rank(prior)) best.set(row.scoIdentifier, state);
  }
  const result = moduleResult(scos.map((s) => best.get(s.identifier)));
  if (!result) return;
  const key = JSON.stringify(result);
  if (session.reported === key) return;
  if (result.status === "completed") {
    // The learner's own context (a beacon commit has only the launch token): completion follows the access rules.
    const learnerCtx: LearnerCtx = {
      ...ctx,
      principal: { kind: "learner", tenantId: ctx.tenantId, userId: session.userId, sessionId: 0, writesPerMinute: 0 },
    };
    await completeModuleByRule(learnerCtx, session.courseId, session.placementId, ["scorm"]);
  } else {
    await recordGradedResult(ctx, {
      enrollmentId: session.enrollmentId,
      placementId: session.placementId,
      score: result.score ?? (result.status === "passed" ? 100 : 0),
      maxScore: 100,
      passed: result.status === "passed",
    });
  }
  await ctx.db
    .update(scormSessions)
    .set({ reported: key })
    .where(and(eq(scormSessions.tenantId, ctx.tenantId), eq(scormSessions.id, session.id)));
}
