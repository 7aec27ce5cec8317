/**
 * cmi5: the LMS's statement rules for what an AU sends with its auth-token (cmi5 sections 6.3, 7.1.3, 9.3, 9.4,
 * 9.5, 9.6 and 10). The LRS calls `cmi5StatementRules` with the fresh statements of a request made with a cmi5
 * launch credential, after its own xAPI validation and before its one D1 batch. A statement that breaks a rule
 * is refused with 403 and nothing of the request is stored; otherwise the returned batch items go into the LRS's
 * batch, so the session's state (initialized, the cmi5 defined verbs used, terminated, last statement) changes
 * with the statements, atomically.
 *
 * Concurrency: the first batch item fails the whole batch (a unique-index violation, answered 409) when another
 * request meanwhile ended the session or used one of the verbs this request adds, so two concurrent requests can
 * never both store, say, a "completed" of one session. Requests adding different verbs both succeed.
 */
import { sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { batchableRaw } from "../../platform/db";
import { ApiError } from "../../platform/errors";
import { nowIso } from "../../platform/time";
import type { LrsContext } from "../xapi/lrs";
import { isJson, VOIDED_VERB } from "../xapi/validate";
import type { ActivityResult } from "./launch-tables";
import type { PackageStructure } from "./tables";

type Json = Record<string, unknown>;

export const VERBS = {
  initialized: "http://adlnet.gov/expapi/verbs/initialized",
  completed: "http://adlnet.gov/expapi/verbs/completed",
  passed: "http://adlnet.gov/expapi/verbs/passed",
  failed: "http://adlnet.gov/expapi/verbs/failed",
  launched: "http://adlnet.gov/expapi/verbs/launched",
  terminated: "http://adlnet.gov/expapi/verbs/terminated",
  satisfied: "https://w3id.org/xapi/adl/verbs/satisfied",
  abandoned: "https://w3id.org/xapi/adl/verbs/abandoned",
  waived: "https://w3id.org/xapi/adl/verbs/waived",
} as const;

export const CMI5 = {
  category: "https://w3id.org/xapi/cmi5/context/categories/cmi5",
  moveOnCategory: "https://w3id.org/xapi/cmi5/context/categories/moveon",
  sessionId: "https://w3id.org/xapi/cmi5/context/extensions/sessionid",
  launchMode: "https://w3id.org/xapi/cmi5/context/extensions/launchmode",
  launchUrl: "https://w3id.org/xapi/cmi5/context/extensions/launchurl",
  moveOn: "https://w3id.org/xapi/cmi5/context/extensions/moveon",
  launchParameters: "https://w3id.org/xapi/cmi5/context/extensions/launchparameters",
  masteryScore: "https://w3id.org/xapi/cmi5/context/extensions/masteryscore",
  courseType: "https://w3id.org/xapi/cmi5/activitytype/course",
  blockType: "https://w3id.org/xapi/cmi5/activitytype/block",
  reason: "https://w3id.org/xapi/cmi5/result/extensions/reason",
  auType: "https://w3id.org/xapi/cmi5/activitytype/au",
} as const;

/** The verbs an AU may use in cmi5 defined statements (the others of section 9.3 are the LMS's). */
const AU_VERBS = new Set<string>([VERBS.initialized, VERBS.completed, VERBS.passed, VERBS.failed, VERBS.terminated]);
/** Statements that carry a duration (cmi5 9.5.4.1). */
const NEEDS_DURATION = new Set<string>([VERBS.completed, VERBS.passed, VERBS.failed, VERBS.terminated]);

const refuse = (detail: string) => new ApiError(403, detail, { slug: "cmi5-statement-refused" });

/** The activity ids of a context's category list. */
export function categoriesOf(s: Json): Set<string> {
  const context = isJson(s.context) ? s.context : {};
  const activities = isJson(context.contextActivities) ? context.contextActivities : {};
  const list = Array.isArray(activities.category)
    ? activities.category
    : isJson(activities.category)
      ? [activities.category]
      : [];
  return new Set(list.filter(isJson).map((a) => String(a.id)));
}

/** A cmi5 defined statement: it carries the cmi5 category (cmi5 7.1.3); others are "cmi5 allowed". */
export const isCmi5Defined = (s: Json) => categoriesOf(s).has(CMI5.category);

function groupingIds(s: Json): Set<string> {
  const context = isJson(s.context) ? s.context : {};
  const activities = isJson(context.contextActivities) ? context.contextActivities : {};
  const list = Array.isArray(activities.grouping)
    ? activities.grouping
    : isJson(activities.grouping)
      ? [activities.grouping]
      : [];
  return new Set(list.filter(isJson).map((a) => String(a.id)));
}

interface SessionState {
  id: number;
  sessionId: string;
  registration: string;
  auId: string;
  launchMode: string;
  initialized: boolean;
  terminated: boolean;
  abandoned: boolean;
  verbs: Set<string>;
  added: Set<string>;
  masteryScore: number | null;
  results: Record<string, ActivityResult>;
  touched: boolean;
  initializedNow: boolean;
  terminatedNow: boolean;
}

/**
 * Checks the statements an AU sends with its cmi5 auth-token (already valid xAPI, in request order) against the
 * cmi5 rules; throws 403 naming the broken rule. Returns the batch items recording the sessions' new state.
 */
export async function cmi5StatementRules(ctx: LrsContext, statements: Json[]): Promise<BatchItem<"sqlite">[]> {
  const scope = ctx.scope;
  if (!scope?.cmi5 || statements.length === 0) return [];
  const sessionIds = new Set<string>();
  for (const s of statements) {
    const verb = String((s.verb as Json).id);
    // cmi5 6.3: the AU's credentials do not void.
    if (verb === VOIDED_VERB) throw refuse("An AU may not void statements (cmi5 section 6.3).");
    const context = isJson(s.context) ? s.context : {};
    const ext = isJson(context.extensions) ? context.extensions : {};
    const sid = ext[CMI5.sessionId];
    if (typeof sid !== "string" || sid === "")
      throw refuse(
        `Every statement of an AU carries its session id in context.extensions["${CMI5.sessionId}"] (cmi5 section 9.6.3.1), as in the contextTemplate of LMS.LaunchData.`,
      );
    // The auth-token is limited to the session it was fetched for (cmi5 8.1, fetch).
    if (scope.ses !== undefined && sid !== scope.ses)
      throw refuse(`This auth-token belongs to session ${scope.ses}; launch the AU again for another session.`);
    sessionIds.add(sid);
  }
  const rows = await ctx.db.all<{
    id: number;
    session_id: string;
    au_id: string;
    launch_mode: string;
    initialized_at: string | null;
    verbs: string;
    terminated_at: string | null;
    abandoned_at: string | null;
    registration: string;
    results: string;
    structure: string | null;
  }>(
    sql`SELECT s.id, s.session_id, s.au_id, s.launch_mode, s.initialized_at, s.verbs, s.terminated_at, s.abandoned_at,
          r.registration, r.results, v.structure
        FROM cmi5_sessions s
        JOIN package_registrations r ON r.tenant_id = s.tenant_id AND r.id = s.registration_id
        LEFT JOIN package_versions v ON v.tenant_id = r.tenant_id AND v.package_id = r.package_id AND v.version = r.package_version
        WHERE s.tenant_id = ${ctx.tenantId} AND s.session_id IN (SELECT value FROM json_each(${JSON.stringify([...sessionIds])}))`,
  );
  const sessions = new Map<string, SessionState>();
  for (const r of rows) {
    if (r.registration !== scope.reg) continue;
    const structure = r.structure ? (JSON.parse(r.structure) as PackageStructure) : null;
    const au = structure?.aus?.find((a) => a.id === r.au_id);
    sessions.set(r.session_id, {
      id: r.id,
      sessionId: r.session_id,
      registration: r.registration,
      auId: r.au_id,
      launchMode: r.launch_mode,
      initialized: r.initialized_at !== null,
      terminated: r.terminated_at !== null,
      abandoned: r.abandoned_at !== null,
      verbs: new Set(JSON.parse(r.verbs) as string[]),
      added: new Set(),
      masteryScore: au?.mastery_score ?? null,
      results: JSON.parse(r.results) as Record<string, ActivityResult>,
      touched: false,
      initializedNow: false,
      terminatedNow: false,
    });
  }
  // Results of the registration as the statements of this request change them (per AU).
  for (const s of statements) {
    const sid = String(((s.context as Json).extensions as Json)[CMI5.sessionId]);
    const session = sessions.get(sid);
    if (!session) throw refuse(`Session "${sid}" is not a session of this launch's registration.`);
    checkOne(s, session);
  }

  const now = nowIso();
  const items: BatchItem<"sqlite">[] = [];
  const t = ctx.tenantId;
  for (const session of sessions.values()) {
    if (!session.touched) continue;
    const conflicting = new Set(session.added);
    if (conflicting.has(VERBS.passed) || conflicting.has(VERBS.failed)) {
      conflicting.add(VERBS.passed);
      conflicting.add(VERBS.failed);
    }
    // Fails the batch (unique (tenant_id, session_id) index: 409) when the session ended or one of the added verbs
    // was used meanwhile by a concurrent request.
    items.push(
      batchableRaw(
        ctx.db,
        sql`INSERT INTO cmi5_sessions (tenant_id, registration_id, au_id, session_id, launch_mode, verbs, seq, created_at)
            SELECT tenant_id, registration_id, au_id, session_id, launch_mode, verbs, seq, created_at FROM cmi5_sessions
            WHERE tenant_id = ${t} AND id = ${session.id}
              AND (terminated_at IS NOT NULL OR abandoned_at IS NOT NULL
                OR EXISTS (SELECT 1 FROM json_each(verbs) WHERE value IN (SELECT value FROM json_each(${JSON.stringify([...conflicting])}))))`,
      ),
      batchableRaw(
        ctx.db,
        sql`UPDATE cmi5_sessions SET
              verbs = (SELECT json_group_array(value) FROM (
                SELECT value FROM json_each(verbs) UNION SELECT value FROM json_each(${JSON.stringify([...session.added])}))),
              initialized_at = ${session.initializedNow ? sql`coalesce(initialized_at, ${now})` : sql`initialized_at`},
              terminated_at = ${session.terminatedNow ? sql`coalesce(terminated_at, ${now})` : sql`terminated_at`},
              last_statement_at = ${now},
              seq = seq + 1
            WHERE tenant_id = ${t} AND id = ${session.id}`,
      ),
    );
  }
  return items;
}

function checkOne(s: Json, session: SessionState) {
  const verb = String((s.verb as Json).id);
  const object = s.object as Json;
  const result = isJson(s.result) ? s.result : null;
  const defined = isCmi5Defined(s);
  const name = verb.slice(verb.lastIndexOf("/") + 1);
  if (session.abandoned)
    throw refuse(`Session ${session.sessionId} was abandoned; the LMS records nothing more for it (cmi5 9.3.6).`);
  if (session.terminated)
    throw refuse(
      `Session ${session.sessionId} is terminated; statements after "terminated" are refused (cmi5 9.3.8). Launch the AU again for a new session.`,
    );
  if (!session.initialized && !(defined && verb === VERBS.initialized))
    throw refuse(
      `The first statement of a session must be the cmi5 defined "initialized" statement (cmi5 9.3.2); got ${defined ? "" : "a cmi5 allowed "}"${name}".`,
    );
  // The contextTemplate's contextActivities (the AU's publisher id in grouping) are in every statement (9.6.2).
  if (!groupingIds(s).has(session.auId))
    throw refuse(
      `The statement's context.contextActivities.grouping must keep the contextTemplate's activity "${session.auId}" (cmi5 9.6.2).`,
    );
  session.touched = true;
  if (!defined) {
    // cmi5 allowed: any verb between initialized and terminated; not counted by completion rules.
    return;
  }
  if (!AU_VERBS.has(verb))
    throw refuse(
      `"${name}" is not a cmi5 defined verb an AU may use; drop the cmi5 category for other verbs (cmi5 7.1.3).`,
    );
  if ((object.objectType ?? "Activity") !== "Activity" || object.id !== session.auId)
    throw refuse(`The object of a cmi5 defined statement is the launched AU "${session.auId}" (cmi5 9.4).`);
  if (session.verbs.has(verb) || session.added.has(verb))
    throw refuse(`"${name}" was already sent in session ${session.sessionId} (cmi5 9.3: no duplicate verbs).`);
  const judged = [VERBS.passed, VERBS.failed] as string[];
  if (judged.includes(verb) && judged.some((v) => session.verbs.has(v) || session.added.has(v)))
    throw refuse(`A session has at most one of "passed" and "failed" (cmi5 9.3).`);
  if (session.launchMode !== "Normal" && verb !== VERBS.initialized && verb !== VERBS.terminated)
    throw refuse(
      `Session ${session.sessionId} runs in ${session.launchMode} mode: only "initialized" and "terminated" are recorded (cmi5 10, launchMode).`,
    );
  const prior = session.results[session.auId] ?? { completed: false, success: null, scaled: null };
  if (verb === VERBS.completed && prior.completed)
    throw refuse(`The AU was already completed in this registration (cmi5 9.3.3: at most one "completed").`);
  if (verb === VERBS.passed && prior.success === true)
    throw refuse(`The AU was already passed in this registration (cmi5 9.3.4: at most one "passed").`);
  if (verb === VERBS.failed && prior.success === true)
    throw refuse(`"failed" may not follow "passed" in a registration (cmi5 9.3).`);

  // Result (9.5): success, completion, score, duration; the moveOn category (9.6.2.2).
  const success = result?.success;
  const completion = result?.completion;
  if (verb === VERBS.passed && success !== true) throw refuse(`"passed" needs result.success true (cmi5 9.5.2).`);
  if (verb === VERBS.failed && success !== false) throw refuse(`"failed" needs result.success false (cmi5 9.5.2).`);
  if (!judged.includes(verb) && success !== undefined)
    throw refuse(`Only "passed" and "failed" carry result.success (cmi5 9.5.2).`);
  if (verb === VERBS.completed && completion !== true)
    throw refuse(`"completed" needs result.completion true (cmi5 9.5.3).`);
  if (verb !== VERBS.completed && completion !== undefined)
    throw refuse(`Only "completed" carries result.completion (cmi5 9.5.3).`);
  if (!judged.includes(verb) && result?.score !== undefined)
    throw refuse(`Only "passed" and "failed" carry a score (cmi5 9.5.1).`);
  if (NEEDS_DURATION.has(verb) && typeof result?.duration !== "string")
    throw refuse(`"${name}" needs result.duration (cmi5 9.5.4.1).`);
  const scaled = isJson(result?.score) ? result.score.scaled : undefined;
  if (session.masteryScore !== null && typeof scaled === "number") {
    if (verb === VERBS.passed && scaled < session.masteryScore)
      throw refuse(
        `"passed" with a scaled score of ${scaled} is below the masteryScore ${session.masteryScore} (cmi5 9.3.4).`,
      );
    if (verb === VERBS.failed && scaled >= session.masteryScore)
      throw refuse(
        `"failed" with a scaled score of ${scaled} reaches the masteryScore ${session.masteryScore} (cmi5 9.3.5).`,
      );
  }
  const ext = isJson((s.context as Json).extensions) ? ((s.context as Json).extensions as Json) : {};
  const mastery = ext[CMI5.masteryScore];
  if (mastery !== undefined && session.masteryScore !== null && mastery !== session.masteryScore)
    throw refuse(
      `The masteryscore extension differs from the launch's masteryScore ${session.masteryScore} (cmi5 9.6.3.2).`,
    );
  const moveOn = categoriesOf(s).has(CMI5.moveOnCategory);
  const needsMoveOn = success !== undefined || completion !== undefined;
  if (needsMoveOn && !moveOn)
    throw refuse(
      `A cmi5 defined statement with result.success or result.completion carries the moveOn category (cmi5 9.6.2.2).`,
    );
  if (!needsMoveOn && moveOn)
    throw refuse(`Only statements with result.success or result.completion carry the moveOn category (cmi5 9.6.2.2).`);

  session.added.add(verb);
  if (verb === VERBS.initialized) {
    session.initialized = true;
    session.initializedNow = true;
  }
  if (verb === VERBS.terminated) {
    session.terminated = true;
    session.terminatedNow = true;
  }
  if (verb === VERBS.completed) session.results[session.auId] = { ...prior, completed: true };
  if (verb === VERBS.passed) session.results[session.auId] = { ...prior, success: true };
}
