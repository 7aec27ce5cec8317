/**
 * CMI data as scorm-again sends it: commit bodies in its `json`, `flattened` and `params` formats (and with
 * `renderCommonCommitFields`), times in SCORM 1.2 and 2004 notation, and the statuses a SCO reports, reduced to
 * the result a module gets.
 */

import { NAV_TYPE_MISMATCH, parseNavRequest } from "./navigation";

export type Cmi = Record<string, unknown>;
export type ScormStandard = "scorm12" | "scorm2004";

/** A commit the runtime refuses; `code` is the SCORM error code answered (101 general, 406 type mismatch). */
export class CommitBodyError extends Error {
  constructor(
    message: string,
    readonly code = 101,
  ) {
    super(message);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** `{"cmi.core.score.raw": "80"}` -> `{core: {score: {raw: "80"}}}` (array items keep their index keys). */
export function unflatten(flat: Record<string, unknown>): Cmi {
  const out: Cmi = {};
  for (const [key, value] of Object.entries(flat)) {
    if (!key.startsWith("cmi.")) continue;
    const parts = key
      .slice(4)
      .replace(/\[(\d+)\]/g, ".$1")
      .split(".")
      .filter(Boolean);
    if (parts.length === 0 || parts.some((p) => p === "__proto__" || p === "constructor" || p === "prototype"))
      continue;
    let node: Record<string, unknown> = out;
    for (const part of parts.slice(0, -1)) {
      if (!isObject(node[part])) node[part] = {};
      node = node[part] as Record<string, unknown>;
    }
    node[parts[parts.length - 1]] = value;
  }
  return out;
}

/** Arrays (scorm-again renders CMI arrays as `{"0": ..., "1": ...}`, flatten may give real arrays) -> objects. */
function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return Object.fromEntries(value.map((v, i) => [String(i), normalize(v)]));
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === "__proto__" || k === "constructor" || k === "prototype") continue;
      out[k] = normalize(v);
    }
    return out;
  }
  return value;
}

/** Later values win; objects merge (a partial commit, `sendFullCommit: false`, keeps what it does not send). */
export function merge(base: Cmi, patch: Cmi): Cmi {
  const out: Cmi = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    out[k] = isObject(v) && isObject(out[k]) ? merge(out[k] as Cmi, v) : v;
  }
  return out;
}

export interface CommitBody {
  cmi: Cmi;
  commitSequence: number | null;
  terminate: boolean;
  /**
   * SCORM 2004 `adl.nav.request` when the commit carries it (`adl: {nav: {request}}` in json, `adl.nav.request`
   * flattened or as a param; scorm-again keeps it out of its commit body, the player adds it): validated against
   * the request vocabulary, null when absent.
   */
  navRequest: string | null;
}

/** The commit's `adl.nav.request`, from a json (`adl.nav.request` nested) or flattened object. */
function navRequestOf(data: Record<string, unknown>): unknown {
  if ("adl.nav.request" in data) return data["adl.nav.request"];
  const adl = data.adl;
  if (isObject(adl) && isObject(adl.nav) && "request" in adl.nav) return adl.nav.request;
  return undefined;
}

/**
 * A commit body in any of scorm-again's formats. `terminateField` is the body field that marks the terminate
 * commit (scorm-again's `terminateCommitPayloadField`).
 */
export function parseCommitBody(text: string, terminateField = "terminate", readNavigation = true): CommitBody {
  let data: unknown;
  const trimmed = text.trim();
  if (!trimmed) throw new CommitBodyError("The commit body is empty.");
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      data = JSON.parse(trimmed);
    } catch {
      throw new CommitBodyError("The commit body is not valid JSON.");
    }
  } else {
    // `params` format sent as a form string: cmi.core.lesson_status=completed&...
    data = [...new URLSearchParams(trimmed)].map(([k, v]) => `${k}=${v}`);
  }
  if (Array.isArray(data)) {
    // `params` format: ["cmi.core.lesson_status=completed", "commitSequence=3"]
    const flat: Record<string, unknown> = {};
    for (const item of data) {
      if (typeof item !== "string" || !item.includes("="))
        throw new CommitBodyError("A params commit has an item that is not key=value.");
      const at = item.indexOf("=");
      flat[item.slice(0, at)] = item.slice(at + 1);
    }
    data = flat;
  }
  if (!isObject(data)) throw new CommitBodyError("The commit body must be a JSON object.");
  return fromObject(
    // scorm-again versions that post `{commitObject: {...}}` (renderCommonCommitFields wrapped).
    isObject(data.commitObject) && !isObject(data.cmi) && !isObject(data.runtimeData)
      ? { ...data, ...data.commitObject }
      : data,
    terminateField,
    readNavigation,
  );
}

function fromObject(data: Record<string, unknown>, terminateField: string, readNavigation: boolean): CommitBody {
  const sequenceRaw = data.commitSequence;
  const commitSequence =
    sequenceRaw === undefined || sequenceRaw === null
      ? null
      : Number.isSafeInteger(Number(sequenceRaw)) && Number(sequenceRaw) >= 0
        ? Number(sequenceRaw)
        : (() => {
            throw new CommitBodyError("commitSequence must be a non-negative integer.");
          })();
  const terminate = data[terminateField] === true || data[terminateField] === "true";
  let cmi: Cmi;
  const runtime = data.runtimeData;
  if (isObject(runtime)) {
    // renderCommonCommitFields: {successStatus, completionStatus, totalTimeSeconds, score, runtimeData}
    cmi = isObject(runtime.cmi) ? (normalize(runtime.cmi) as Cmi) : unflatten(runtime);
  } else if (isObject(data.cmi)) {
    cmi = normalize(data.cmi) as Cmi;
  } else if (Object.keys(data).some((k) => k.startsWith("cmi."))) {
    cmi = normalize(unflatten(data)) as Cmi;
  } else {
    throw new CommitBodyError("The commit has no CMI data (expected `cmi`, `cmi.*` keys or `runtimeData`).");
  }
  // SCORM 1.2 has no navigation data model: its commits' adl fields are not read.
  let navRaw = readNavigation ? navRequestOf(data) : undefined;
  if (readNavigation && navRaw === undefined && isObject(runtime)) navRaw = navRequestOf(runtime);
  let navRequest: string | null = null;
  if (navRaw !== undefined && navRaw !== null && navRaw !== "") {
    const parsed = typeof navRaw === "string" ? parseNavRequest(navRaw) : null;
    if (!parsed) {
      throw new CommitBodyError(
        `adl.nav.request "${String(navRaw).slice(0, 100)}" is not a SCORM 2004 navigation request (continue, previous, {target=ID}choice, {target=ID}jump, exit, exitAll, abandon, abandonAll, suspendAll, _none_).`,
        NAV_TYPE_MISMATCH,
      );
    }
    navRequest = parsed.raw;
  }
  return { cmi, commitSequence, terminate, navRequest };
}

// ---- time ------------------------------------------------------------------------------------------------------

/** SCORM 1.2 CMITimespan `HHHH:MM:SS.SS` or SCORM 2004 ISO 8601 duration `PT1H2M3.5S`, in seconds. */
export function parseDuration(value: unknown): number {
  if (typeof value !== "string" || !value) return 0;
  const hms = /^(\d{1,4}):(\d{1,2}):(\d{1,2}(?:\.\d{1,2})?)$/.exec(value);
  if (hms) return Number(hms[1]) * 3600 + Number(hms[2]) * 60 + Number(hms[3]);
  const iso =
    /^P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(
      value,
    );
  if (!iso || value === "P" || value.endsWith("T")) return 0;
  const [, y, mo, d, h, mi, s] = iso.map((x) => (x === undefined ? 0 : Number(x)));
  return y * 31_536_000 + mo * 2_592_000 + d * 86_400 + h * 3600 + mi * 60 + s;
}

export function formatDuration(seconds: number, standard: ScormStandard): string {
  const total = Math.max(0, Math.round(seconds * 100) / 100);
  if (standard === "scorm2004") return `PT${Number(total.toFixed(2))}S`;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total - h * 3600 - m * 60;
  const pad = (n: number, w: number) => String(n).padStart(w, "0");
  return `${pad(Math.min(h, 9999), 4)}:${pad(m, 2)}:${s.toFixed(2).padStart(5, "0")}`;
}

// ---- statuses --------------------------------------------------------------------------------------------------

const num = (v: unknown): number | null => {
  if (v === null || v === undefined || v === "") return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
};
const str = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);

export interface ScoState {
  lessonStatus: string | null;
  completionStatus: string | null;
  successStatus: string | null;
  scoreRaw: number | null;
  scoreMin: number | null;
  scoreMax: number | null;
  scoreScaled: number | null;
  sessionSeconds: number;
  exit: string | null;
  /** completed, passed or failed: the SCO is finished for progress */
  done: boolean;
  passed: boolean | null;
}

/**
 * What a SCO's CMI says, with the LMS's own rules: SCORM 1.2 mastery score (a completed SCO with a raw score
 * becomes passed or failed), SCORM 2004 scaled passing score and completion threshold.
 */
export function scoState(
  standard: ScormStandard,
  cmi: Cmi,
  sco: { mastery_score: number | null; completion_threshold: number | null },
): ScoState {
  if (standard === "scorm12") {
    const core = (isObject(cmi.core) ? cmi.core : {}) as Record<string, unknown>;
    const score = (isObject(core.score) ? core.score : {}) as Record<string, unknown>;
    let lesson = str(core.lesson_status);
    const raw = num(score.raw);
    const min = num(score.min);
    const max = num(score.max);
    if (
      sco.mastery_score !== null &&
      raw !== null &&
      core.credit !== "no-credit" &&
      lesson &&
      ["completed", "passed", "failed"].includes(lesson)
    ) {
      lesson = raw >= sco.mastery_score ? "passed" : "failed";
    }
    const scaled =
      raw === null ? null : max !== null && max > (min ?? 0) ? (raw - (min ?? 0)) / (max - (min ?? 0)) : raw / 100;
    const done = lesson === "completed" || lesson === "passed" || lesson === "failed";
    return {
      lessonStatus: lesson,
      completionStatus: done
        ? "completed"
        : lesson === "incomplete" || lesson === "browsed"
          ? "incomplete"
          : lesson
            ? "not attempted"
            : null,
      successStatus: lesson === "passed" ? "passed" : lesson === "failed" ? "failed" : "unknown",
      scoreRaw: raw,
      scoreMin: min,
      scoreMax: max,
      scoreScaled: scaled === null ? null : Math.max(0, Math.min(1, scaled)),
      sessionSeconds: parseDuration(core.session_time),
      exit: str(core.exit),
      done,
      passed: lesson === "passed" ? true : lesson === "failed" ? false : null,
    };
  }
  const score = (isObject(cmi.score) ? cmi.score : {}) as Record<string, unknown>;
  let completion = str(cmi.completion_status);
  let success = str(cmi.success_status);
  const scaled = num(score.scaled);
  const threshold = sco.completion_threshold ?? num(cmi.completion_threshold);
  const progress = num(cmi.progress_measure);
  if (threshold !== null && progress !== null) completion = progress >= threshold ? "completed" : "incomplete";
  const passing = sco.mastery_score ?? num(cmi.scaled_passing_score);
  if (passing !== null && scaled !== null) success = scaled >= passing ? "passed" : "failed";
  const done = completion === "completed" || success === "passed" || success === "failed";
  return {
    lessonStatus: null,
    completionStatus: completion,
    successStatus: success,
    scoreRaw: num(score.raw),
    scoreMin: num(score.min),
    scoreMax: num(score.max),
    scoreScaled: scaled === null ? null : Math.max(-1, Math.min(1, scaled)),
    sessionSeconds: parseDuration(cmi.session_time),
    exit: str(cmi.exit),
    done,
    passed: success === "passed" ? true : success === "failed" ? false : null,
  };
}

/** The module's result from each SCO's best state: done when every SCO is; failed if one failed. */
export function moduleResult(
  states: (ScoState | undefined)[],
): { status: "passed" | "failed" | "completed"; score: number | null } | null {
  if (states.length === 0 || states.some((s) => !s?.done)) return null;
  const done = states as ScoState[];
  const scores = done.map((s) => s.scoreScaled).filter((s): s is number => s !== null);
  const score = scores.length ? Math.round(Math.max(0, scores.reduce((a, b) => a + b, 0) / scores.length) * 100) : null;
  const status = done.some((s) => s.passed === false)
    ? "failed"
    : done.some((s) => s.passed === true)
      ? "passed"
      : "completed";
  return { status, score };
}

/** Interactions as stored (`{"0": {...}, "1": {...}}`), in order. */
export function interactionsOf(cmi: Cmi | null | undefined): Record<string, unknown>[] {
  const list = cmi && isObject(cmi.interactions) ? (cmi.interactions as Record<string, unknown>) : {};
  return Object.keys(list)
    .filter((k) => /^\d+$/.test(k))
    .sort((a, b) => Number(a) - Number(b))
    .map((k) => list[k])
    .filter(isObject);
}
