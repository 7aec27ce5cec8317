/** The Statement resource: store (PUT / POST, batches), void, fetch by id, query with filters and `more`. */
import { type SQL, sql } from "drizzle-orm";
import { compactVerify, decodeProtectedHeader, importX509 } from "jose";
import { fromBase64url } from "../../platform/crypto";
import { batchableRaw } from "../../platform/db";
import { ApiError, type FieldError } from "../../platform/errors";
import { outboxInsert } from "../../platform/events";
import { nowIso } from "../../platform/time";
import { cmi5StatementRules } from "../packages/cmi5-rules";
import { CMI5_LMS_VERBS } from "./launch-credentials";
import { assertLaunchScope, type LrsContext } from "./lrs";
import {
  actorKey,
  isIri,
  isJson,
  isTimestamp,
  isUuid,
  SIGNATURE_USAGE,
  statementTerms,
  VOIDED_VERB,
  validateActor,
  validateStatement,
} from "./validate";

type Json = Record<string, unknown>;

/** Statements per request; larger batches are refused with 413. */
export const MAX_BATCH = 1000;
/** JSON handed to one INSERT ... SELECT FROM json_each(?) (D1 caps a bound value well above this). */
const MAX_CHUNK_CHARS = 512 * 1024;
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 500;

export interface AttachmentBytes {
  sha2: string;
  contentType: string;
  body: Uint8Array;
}

/** `stored_us` (microseconds since the epoch) -> ISO 8601 with microseconds. */
export function usToIso(us: number): string {
  const ms = Math.floor(us / 1000);
  return `${new Date(ms).toISOString().slice(0, 23)}${String(us % 1000).padStart(3, "0")}Z`;
}

/** An ISO 8601 timestamp -> microseconds since the epoch (digits beyond microseconds are dropped). */
export function isoToUs(iso: string): number {
  const ms = Date.parse(iso);
  const fraction = /\.(\d+)/.exec(iso)?.[1] ?? "";
  const micro = Number(`${fraction}000000`.slice(3, 6));
  return ms * 1000 + micro;
}

const bad = (detail: string, errors?: FieldError[]) => new ApiError(400, detail, { errors, slug: "invalid-statement" });

/** Two statements are "the same" for PUT/POST of an existing id when they differ only in what the LRS sets. */
function comparable(statement: Json, incoming: Json): string {
  const copy: Json = { ...statement };
  delete copy.authority;
  delete copy.stored;
  if (incoming.version === undefined) delete copy.version;
  if (incoming.timestamp === undefined) delete copy.timestamp;
  return canonicalJson(copy);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (isJson(value))
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`)
      .join(",")}}`;
  return JSON.stringify(value);
}

/** Every activity of a statement (object, context activities, sub-statement) for the canonical definitions. */
function activitiesOf(statement: Json, out: Map<string, Json>) {
  const add = (a: unknown) => {
    if (!isJson(a) || typeof a.id !== "string") return;
    const definition = isJson(a.definition) ? a.definition : {};
    const seen = out.get(a.id);
    if (!seen) return out.set(a.id, definition);
    // Language maps merge (two statements naming an activity in two languages keep both), as json_patch does.
    const merged: Json = { ...seen, ...definition };
    for (const k of ["name", "description"])
      if (isJson(seen[k]) && isJson(definition[k])) merged[k] = { ...seen[k], ...definition[k] };
    out.set(a.id, merged);
  };
  const object = statement.object as Json;
  const type = object.objectType ?? "Activity";
  if (type === "Activity") add(object);
  if (type === "SubStatement") activitiesOf(object, out);
  const ctx = statement.context;
  if (isJson(ctx) && isJson(ctx.contextActivities)) {
    for (const list of Object.values(ctx.contextActivities))
      for (const a of Array.isArray(list) ? list : [list]) add(a);
  }
}

/** Checks a signed statement's JWS (xAPI 1.0.3 Data 2.6): RS256/384/512, payload equal to the statement. */
async function verifySignature(statement: Json, jws: Uint8Array, path: string) {
  const token = new TextDecoder().decode(jws).trim();
  let header: ReturnType<typeof decodeProtectedHeader>;
  let payload: unknown;
  try {
    header = decodeProtectedHeader(token);
    const [, body] = token.split(".");
    payload = JSON.parse(new TextDecoder().decode(fromBase64url(body)));
  } catch {
    throw bad("The signature attachment is not a JWS in compact serialization.", [
      { path, message: "Not a compact JWS with a JSON payload." },
    ]);
  }
  if (!["RS256", "RS384", "RS512"].includes(String(header.alg))) {
    throw bad("Signed statements must use RS256, RS384 or RS512.", [{ path, message: `alg ${header.alg}` }]);
  }
  if (!isJson(payload)) throw bad("The JWS payload is not a statement.", [{ path, message: "Not an object." }]);
  const strip = (s: Json) => {
    const copy: Json = { ...s };
    for (const key of ["authority", "stored", "version", "attachments"]) delete copy[key];
    if (payload && isJson(payload) && payload.id === undefined) delete copy.id;
    return canonicalJson(truncateDurations(copy));
  };
  if (strip(payload) !== strip(statement)) {
    throw bad("The JWS payload does not match the statement it signs.", [{ path, message: "Payload differs." }]);
  }
  const x5c = header.x5c;
  if (Array.isArray(x5c) && x5c.length > 0) {
    try {
      const pem = `-----BEGIN CERTIFICATE-----\n${x5c[0]}\n-----END CERTIFICATE-----`;
      await compactVerify(token, await importX509(pem, String(header.alg)));
    } catch {
      throw bad("The JWS signature does not verify with the certificate in its x5c header.", [
        { path, message: "Signature invalid." },
      ]);
    }
  }
}

/**
 * Durations compare at 0.01 s precision (xAPI 2.0 4.2.7): `result.duration` seconds lose digits past hundredths,
 * in the statement and in its sub-statement.
 */
function truncateDurations(s: Json): Json {
  const out: Json = { ...s };
  if (isJson(out.result) && typeof out.result.duration === "string")
    out.result = { ...out.result, duration: out.result.duration.replace(/(\d+\.\d{2})\d+S$/, "$1S") };
  if (isJson(out.object) && out.object.objectType === "SubStatement") out.object = truncateDurations(out.object);
  return out;
}

/**
 * Stores statements (already parsed JSON) with their attachment parts. Validates everything first; then one
 * read (existing ids and voiding targets) and one D1 batch (clock, statements, filter terms, voiding,
 * activity definitions, attachments, outbox): all or nothing. Returns the ids in request order.
 */
export async function storeStatements(
  ctx: LrsContext,
  input: unknown,
  parts: AttachmentBytes[],
  /** `with`: more writes of the caller that must commit in the same D1 batch (the cmi5 launch). */
  options: { putId?: string; with?: ReturnType<typeof batchableRaw>[] } = {},
): Promise<{ ids: string[]; created: number; fresh: Json[] }> {
  const list = Array.isArray(input) ? input : [input];
  if (list.length === 0) throw bad("The batch is empty.");
  if (list.length > MAX_BATCH) throw new ApiError(413, `Send at most ${MAX_BATCH} statements per request.`);
  const v2 = ctx.version.startsWith("2.");
  const errors = list.flatMap((s, i) => validateStatement(s, Array.isArray(input) ? String(i) : "", v2));
  if (errors.length > 0) throw bad("The statement does not conform to xAPI; see `errors`.", errors);
  const statements = list as Json[];
  for (const s of statements) normalizeContextActivities(s);
  if (ctx.scope) {
    // A launch credential writes only its learner's statements, in its registration.
    for (const s of statements) {
      const context = isJson(s.context) ? s.context : {};
      assertLaunchScope(ctx, actorKey(s.actor), typeof context.registration === "string" ? context.registration : null);
      if (ctx.scope.cmi5 && CMI5_LMS_VERBS.has(String((s.verb as Json).id)))
        throw ApiError.forbidden(`An AU may not send ${(s.verb as Json).id}: the LMS writes it (cmi5 section 9.3).`);
    }
  }

  if (options.putId !== undefined) {
    const s = statements[0];
    if (s.id !== undefined && String(s.id).toLowerCase() !== options.putId.toLowerCase())
      throw bad("The statement's id differs from the statementId parameter.");
    s.id = options.putId;
  }
  const seen = new Set<string>();
  for (const s of statements) {
    if (s.id === undefined) s.id = crypto.randomUUID();
    s.id = String(s.id).toLowerCase();
    if (seen.has(s.id as string)) throw bad(`The batch has two statements with id ${s.id}.`);
    seen.add(s.id as string);
  }

  // Attachments: every part is declared by a statement; every declared one without fileUrl has its part.
  const bySha = new Map(parts.map((p) => [p.sha2.toLowerCase(), p]));
  const used = new Set<string>();
  for (const [i, s] of statements.entries()) {
    const attachments = [...((s.attachments as Json[] | undefined) ?? [])];
    const sub = s.object as Json;
    if (sub.objectType === "SubStatement") attachments.push(...((sub.attachments as Json[] | undefined) ?? []));
    let signatures = 0;
    for (const a of attachments) {
      const sha = String(a.sha2).toLowerCase();
      const part = bySha.get(sha);
      if (a.usageType === SIGNATURE_USAGE && (s.attachments as Json[] | undefined)?.includes(a)) {
        signatures++;
        if (a.contentType !== "application/octet-stream")
          throw bad("A signature attachment must have contentType application/octet-stream.");
        if (!part) throw bad("A signed statement must send its JWS signature as an attachment part.");
        await verifySignature(s, part.body, `${i}.attachments`);
      }
      if (part) used.add(sha);
      else if (a.fileUrl === undefined)
        throw bad(`Attachment ${sha} has no fileUrl and no part in the multipart/mixed body.`);
    }
    if (signatures > 1) throw bad("A statement has at most one signature attachment.");
  }
  for (const sha of bySha.keys()) {
    if (!used.has(sha)) throw bad(`The attachment part ${sha} matches no attachment of the statements.`);
  }

  // One read: statements already stored under these ids, and the targets of voiding statements.
  const voidTargets = statements
    .filter((s) => (s.verb as Json).id === VOIDED_VERB)
    .map((s) => String((s.object as Json).id).toLowerCase());
  const refTargets = statements
    .filter((s) => (s.object as Json).objectType === "StatementRef")
    .map((s) => String((s.object as Json).id).toLowerCase());
  const lookup = [...new Set([...seen, ...refTargets])];
  const existing = await ctx.db.all<{ statement_id: string; verb_id: string; statement: string; voided: number }>(
    sql`SELECT statement_id, verb_id, statement, voided FROM xapi_statements
        WHERE tenant_id = ${ctx.tenantId} AND statement_id IN (SELECT value FROM json_each(${JSON.stringify(lookup)}))`,
  );
  const stored = new Map(existing.map((r) => [r.statement_id, r]));
  const fresh: Json[] = [];
  for (const s of statements) {
    const prior = stored.get(s.id as string);
    if (!prior) {
      fresh.push(s);
      continue;
    }
    if (comparable(JSON.parse(prior.statement), s) !== comparable(s, s)) {
      throw new ApiError(409, `A different statement is already stored with id ${s.id}.`, {
        slug: "statement-conflict",
      });
    }
  }
  for (const target of voidTargets) {
    const t = stored.get(target);
    if (t && t.verb_id === VOIDED_VERB) throw bad(`Statement ${target} is a voiding statement; it cannot be voided.`);
    // A new voiding of a statement already voided is refused (the ADL suite: 400); replaying the same voiding
    // statement (its id already stored) is not new and never gets here as fresh.
    if (
      t?.voided &&
      fresh.some(
        (s) =>
          (s.object as Json).id !== undefined &&
          String((s.object as Json).id).toLowerCase() === target &&
          (s.verb as Json).id === VOIDED_VERB,
      )
    )
      throw bad(`Statement ${target} is already voided.`);
    const inBatch = fresh.find((s) => s.id === target);
    if (inBatch && (inBatch.verb as Json).id === VOIDED_VERB)
      throw bad(`Statement ${target} is a voiding statement; it cannot be voided.`);
  }
  if (fresh.length === 0) return { ids: statements.map((s) => s.id as string), created: 0, fresh };

  // Rows as JSON for INSERT ... SELECT FROM json_each: a few statements per batch whatever the count.
  const version = ctx.version.startsWith("2.") ? "2.0.0" : "1.0.0";
  const activities = new Map<string, Json>();
  for (const s of fresh) {
    s.authority = ctx.authority;
    s.version ??= version;
    delete s.stored;
  }
  const freshById = new Map(fresh.map((s) => [s.id as string, s]));
  const rows = fresh.map((s, i) => {
    activitiesOf(s, activities);
    const object = s.object as Json;
    const context = isJson(s.context) ? s.context : {};
    return {
      i,
      id: s.id,
      verb: (s.verb as Json).id,
      reg: typeof context.registration === "string" ? context.registration.toLowerCase() : null,
      ref: object.objectType === "StatementRef" ? String(object.id).toLowerCase() : null,
      json: JSON.stringify(s),
      terms: termsWithTarget(s, stored, freshById),
    };
  });
  const n = rows.length;
  const nowUs = Date.now() * 1000;
  const t = ctx.tenantId;
  const batch: ReturnType<typeof batchableRaw>[] = [
    batchableRaw(
      ctx.db,
      sql`INSERT INTO xapi_clocks (tenant_id, last_stored_us) VALUES (${t}, ${nowUs + n - 1})
          ON CONFLICT (tenant_id) DO UPDATE SET last_stored_us = max(last_stored_us + ${n}, excluded.last_stored_us)`,
    ),
  ];
  for (const part of chunkByChars(rows, (r) => r.json.length + 200 * r.terms.length)) {
    const param = JSON.stringify(part);
    batch.push(
      batchableRaw(
        ctx.db,
        sql`INSERT INTO xapi_statements (tenant_id, statement_id, stored_us, verb_id, registration, ref_id, voided, statement, credential_id)
            SELECT ${t}, json_extract(j.value, '$.id'),
              (SELECT last_stored_us FROM xapi_clocks WHERE tenant_id = ${t}) - ${n - 1} + json_extract(j.value, '$.i'),
              json_extract(j.value, '$.verb'), json_extract(j.value, '$.reg'), json_extract(j.value, '$.ref'),
              CASE WHEN json_extract(j.value, '$.verb') != ${VOIDED_VERB} AND EXISTS (
                SELECT 1 FROM xapi_statements v WHERE v.tenant_id = ${t} AND v.ref_id = json_extract(j.value, '$.id')
                  AND v.verb_id = ${VOIDED_VERB}) THEN 1 ELSE 0 END,
              json_extract(j.value, '$.json'), ${ctx.credentialId}
            FROM json_each(${param}) j`,
      ),
      // A term's stored_us is its statement's, computed from the clock as the statement INSERT does (the clock's
      // row is read once: an uncorrelated subquery), so no per-term lookup of the statement row.
      batchableRaw(
        ctx.db,
        sql`INSERT OR IGNORE INTO xapi_statement_terms (tenant_id, kind, value, stored_us)
            SELECT ${t}, json_extract(term.value, '$[0]'), json_extract(term.value, '$[1]'),
              (SELECT last_stored_us FROM xapi_clocks WHERE tenant_id = ${t}) - ${n - 1} + json_extract(j.value, '$.i')
            FROM json_each(${param}) j
            CROSS JOIN json_each(json_extract(j.value, '$.terms')) term`,
      ),
    );
  }
  if (voidTargets.length > 0) {
    batch.push(
      batchableRaw(
        ctx.db,
        sql`UPDATE xapi_statements SET voided = 1
            WHERE tenant_id = ${t} AND statement_id IN (SELECT value FROM json_each(${JSON.stringify(voidTargets)}))
              AND verb_id != ${VOIDED_VERB}`,
      ),
    );
  }
  const activityRows = [...activities].map(([id, definition]) => ({ id, d: JSON.stringify(definition) }));
  for (const part of chunkByChars(activityRows, (a) => a.d.length + a.id.length)) {
    batch.push(
      batchableRaw(
        ctx.db,
        sql`INSERT INTO xapi_activities (tenant_id, activity_id, definition)
            SELECT ${t}, json_extract(value, '$.id'), json_extract(value, '$.d') FROM json_each(${JSON.stringify(part)}) WHERE true
            ON CONFLICT (tenant_id, activity_id) DO UPDATE SET definition = json_patch(definition, excluded.definition)
            WHERE xapi_activities.definition IS NOT json_patch(xapi_activities.definition, excluded.definition)`,
      ),
    );
  }
  if (parts.length > 0) {
    const attachmentRows = parts.map((p) => ({
      sha2: p.sha2.toLowerCase(),
      type: p.contentType,
      length: p.body.length,
    }));
    batch.push(
      batchableRaw(
        ctx.db,
        sql`INSERT OR IGNORE INTO xapi_attachments (tenant_id, sha2, content_type, length, created_at)
            SELECT ${t}, json_extract(value, '$.sha2'), json_extract(value, '$.type'), json_extract(value, '$.length'), ${nowIso()}
            FROM json_each(${JSON.stringify(attachmentRows)})`,
      ),
    );
    // Content-addressed: writing the bytes first is safe (a failed batch leaves an unreferenced object).
    await Promise.all(
      parts.map((p) =>
        ctx.env.MEDIA.put(attachmentKey(t, p.sha2), p.body, { httpMetadata: { contentType: p.contentType } }),
      ),
    );
  }
  batch.push(
    outboxInsert(ctx.db, t, "xapi.statements_stored", {
      count: n,
      statement_ids: rows.slice(0, 100).map((r) => r.id),
      voided_statement_ids: voidTargets,
      credential_id: ctx.credentialId,
    }) as unknown as ReturnType<typeof batchableRaw>,
  );
  // cmi5: an AU's statements follow the LMS's rules (403 otherwise); its session state changes in this batch.
  if (options.with) batch.push(...options.with);
  if (ctx.scope?.cmi5) batch.push(...((await cmi5StatementRules(ctx, fresh)) as ReturnType<typeof batchableRaw>[]));
  await ctx.db.batch(batch as [ReturnType<typeof batchableRaw>, ...ReturnType<typeof batchableRaw>[]]);
  return { ids: statements.map((s) => s.id as string), created: n, fresh };
}

/**
 * A single context Activity (allowed for 0.95 compatibility) becomes a one-element array, in the statement and its
 * SubStatement, so every statement is stored and returned with arrays (xAPI 1.0.3 Data 2.4.6.2).
 */
function normalizeContextActivities(s: Json) {
  const context = s.context;
  if (isJson(context) && isJson(context.contextActivities)) {
    const activities = context.contextActivities;
    for (const [k, v] of Object.entries(activities)) if (!Array.isArray(v)) activities[k] = [v];
  }
  if (isJson(s.object) && s.object.objectType === "SubStatement") normalizeContextActivities(s.object);
}

/**
 * A statement's filter terms, plus those of the statement its StatementRef targets when the LRS has it (stored
 * or in the same request), so filters match statements that target matching ones (one level of reference).
 */
function termsWithTarget(
  s: Json,
  stored: Map<string, { statement: string }>,
  freshById: Map<string, Json>,
): [string, string][] {
  const own = statementTerms(s);
  const object = s.object as Json;
  if (object.objectType !== "StatementRef") return own;
  const ref = String(object.id).toLowerCase();
  const prior = stored.get(ref);
  const target = prior ? (JSON.parse(prior.statement) as Json) : freshById.get(ref);
  if (!target) return own;
  const seen = new Set(own.map(([k, v]) => `${k}\u0000${v}`));
  const merged: [string, string][] = [...own];
  for (const [k, v] of statementTerms(target)) {
    if (!seen.has(`${k}\u0000${v}`)) merged.push([k, v]);
  }
  return merged;
}

export function attachmentKey(tenantId: number, sha2: string) {
  return `t/${tenantId}/xapi-attachments/${sha2.toLowerCase()}`;
}

function chunkByChars<T>(items: T[], size: (item: T) => number): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let chars = 0;
  for (const item of items) {
    const s = size(item);
    if (current.length > 0 && chars + s > MAX_CHUNK_CHARS) {
      out.push(current);
      current = [];
      chars = 0;
    }
    current.push(item);
    chars += s;
  }
  if (current.length > 0) out.push(current);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Reading

export type Format = "exact" | "ids" | "canonical";

export interface QueryParams {
  agent?: string;
  verb?: string;
  activity?: string;
  registration?: string;
  related_activities?: string;
  related_agents?: string;
  since?: string;
  until?: string;
  limit?: string;
  format?: string;
  attachments?: string;
  ascending?: string;
  cursor?: string;
}

const QUERY_KEYS = new Set([
  "agent",
  "verb",
  "activity",
  "registration",
  "related_activities",
  "related_agents",
  "since",
  "until",
  "limit",
  "format",
  "attachments",
  "ascending",
  "cursor",
  "statementId",
  "voidedStatementId",
]);

function bool(value: string | undefined, name: string): boolean {
  if (value === undefined) return false;
  if (value === "true") return true;
  if (value === "false") return false;
  throw ApiError.badRequest(`\`${name}\` must be true or false.`);
}

export function parseFormat(value: string | undefined): Format {
  if (value === undefined) return "exact";
  if (value === "exact" || value === "ids" || value === "canonical") return value;
  throw ApiError.badRequest("`format` must be ids, exact or canonical.");
}

export function parseAgentParam(value: string, name = "agent"): Json {
  let agent: unknown;
  try {
    agent = JSON.parse(value);
  } catch {
    throw ApiError.badRequest(`\`${name}\` must be a JSON Agent or Group object.`);
  }
  const errors = validateActor(agent, name);
  if (errors.length > 0) throw new ApiError(400, `\`${name}\` is not a valid Agent or Group.`, { errors });
  return agent as Json;
}

/** Rejects unknown parameters (the spec's parameter names are case sensitive). */
export function assertKnownParams(query: Record<string, string>) {
  for (const key of Object.keys(query)) {
    if (!QUERY_KEYS.has(key)) throw ApiError.badRequest(`\`${key}\` is not a parameter of GET /xapi/statements.`);
  }
}

export interface StatementRow {
  stored_us: number;
  statement: string;
}

export function renderStatement(row: StatementRow, format: Format, languages: string[]): Json {
  const s = JSON.parse(row.statement) as Json;
  s.stored = usToIso(row.stored_us);
  s.timestamp ??= s.stored;
  if (format === "ids") return idsFormat(s);
  if (format === "canonical") return canonicalFormat(s, languages) as Json;
  return s;
}

function idsActor(a: unknown): unknown {
  if (!isJson(a)) return a;
  const out: Json = {};
  if (a.objectType) out.objectType = a.objectType;
  for (const k of ["mbox", "mbox_sha1sum", "openid", "account"]) if (a[k] !== undefined) out[k] = a[k];
  if (a.objectType === "Group" && actorKey(a) === null && Array.isArray(a.member)) out.member = a.member.map(idsActor);
  return out;
}

function idsFormat(s: Json): Json {
  const out: Json = { ...s, actor: idsActor(s.actor), verb: { id: (s.verb as Json).id } };
  const object = s.object as Json;
  const type = object.objectType ?? "Activity";
  if (type === "Activity") out.object = { id: object.id };
  else if (type === "Agent" || type === "Group") out.object = idsActor(object);
  else if (type === "SubStatement") out.object = { ...idsFormat(object), objectType: "SubStatement" };
  if (s.authority) out.authority = idsActor(s.authority);
  if (isJson(s.context)) {
    const ctx: Json = { ...s.context };
    if (ctx.instructor) ctx.instructor = idsActor(ctx.instructor);
    if (ctx.team) ctx.team = idsActor(ctx.team);
    if (isJson(ctx.contextActivities)) {
      ctx.contextActivities = Object.fromEntries(
        Object.entries(ctx.contextActivities).map(([k, list]) => [
          k,
          (Array.isArray(list) ? list : [list]).map((a) => ({ id: (a as Json).id })),
        ]),
      );
    }
    out.context = ctx;
  }
  return out;
}

const LANGUAGE_MAPS = new Set(["display", "name", "description"]);

/** Language maps reduced to the one entry that best matches Accept-Language (xAPI "canonical" format). */
function canonicalFormat(value: unknown, languages: string[], key?: string): unknown {
  if (Array.isArray(value)) return value.map((v) => canonicalFormat(v, languages));
  if (!isJson(value)) return value;
  if (key && LANGUAGE_MAPS.has(key) && Object.values(value).every((v) => typeof v === "string")) {
    const tags = Object.keys(value);
    if (tags.length <= 1) return value;
    const pick =
      languages
        .map(
          (l) =>
            tags.find((t) => t.toLowerCase() === l) ??
            tags.find((t) => t.toLowerCase().startsWith(`${l.split("-")[0]}`)),
        )
        .find(Boolean) ?? tags[0];
    return { [pick as string]: value[pick as string] };
  }
  if (key === "extensions") return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, canonicalFormat(v, languages, k)]));
}

export function acceptLanguages(header: string | undefined): string[] {
  if (!header) return [];
  return header
    .split(",")
    .map((part) => {
      const [tag, ...params] = part.trim().split(";");
      const q = Number(params.find((p) => p.trim().startsWith("q="))?.split("=")[1] ?? 1);
      return { tag: tag.trim().toLowerCase(), q: Number.isFinite(q) ? q : 0 };
    })
    .filter((l) => l.tag && l.tag !== "*" && l.q > 0)
    .sort((a, b) => b.q - a.q)
    .map((l) => l.tag);
}

/** The instant up to which every statement is visible (D1 is strongly consistent: now, or the clock if ahead). */
async function consistentThrough(ctx: LrsContext): Promise<string> {
  const [clock] = await ctx.db.all<{ last: number }>(
    sql`SELECT last_stored_us AS last FROM xapi_clocks WHERE tenant_id = ${ctx.tenantId}`,
  );
  return usToIso(Math.max(Date.now() * 1000, clock?.last ?? 0));
}

export async function getStatement(ctx: LrsContext, id: string, voided: boolean) {
  if (!isUuid(id)) throw ApiError.badRequest(`${voided ? "voidedStatementId" : "statementId"} must be a UUID.`);
  const [rows, through] = await Promise.all([
    ctx.db.all<StatementRow & { voided: number }>(
      sql`SELECT stored_us, statement, voided FROM xapi_statements
          WHERE tenant_id = ${ctx.tenantId} AND statement_id = ${id.toLowerCase()}`,
    ),
    consistentThrough(ctx),
  ]);
  const row = rows[0];
  if (!row || Boolean(row.voided) !== voided) {
    throw ApiError.notFound(voided ? `Voided statement ${id}` : `Statement ${id}`);
  }
  return { row, consistentThrough: through };
}

/** Which filter leads the scan when several apply: the most selective kinds first. */
const LEAD_ORDER = ["registration", "agent", "activity", "related_agent", "related_activity", "verb"];

/**
 * Filtered, keyset-paginated statements. With a filter, the scan walks that filter's terms in `stored` order
 * (primary key tenant_id, kind, value, stored_us) and joins each statement by (tenant_id, stored_us); other
 * filters are index lookups. Without one, it walks (tenant_id, stored_us). Voided statements are skipped.
 */
export async function queryStatements(ctx: LrsContext, query: Record<string, string>) {
  const t = ctx.tenantId;
  const terms: [string, string][] = [];
  if (query.agent !== undefined) {
    const key = actorKey(parseAgentParam(query.agent));
    if (!key) throw ApiError.badRequest("`agent` must be an Agent or an identified Group.");
    terms.push([bool(query.related_agents, "related_agents") ? "related_agent" : "agent", key]);
  } else bool(query.related_agents, "related_agents");
  if (query.verb !== undefined) {
    if (!isIri(query.verb)) throw ApiError.badRequest("`verb` must be an IRI.");
    terms.push(["verb", query.verb]);
  }
  if (query.activity !== undefined) {
    if (!isIri(query.activity)) throw ApiError.badRequest("`activity` must be an IRI.");
    terms.push([
      bool(query.related_activities, "related_activities") ? "related_activity" : "activity",
      query.activity,
    ]);
  } else bool(query.related_activities, "related_activities");
  if (query.registration !== undefined) {
    if (!isUuid(query.registration)) throw ApiError.badRequest("`registration` must be a UUID.");
    terms.push(["registration", query.registration.toLowerCase()]);
  }
  for (const name of ["since", "until"] as const) {
    if (query[name] !== undefined && !isTimestamp(query[name]))
      throw ApiError.badRequest(`\`${name}\` must be an ISO 8601 timestamp.`);
  }
  let limit = DEFAULT_LIMIT;
  if (query.limit !== undefined) {
    if (!/^\d+$/.test(query.limit)) throw ApiError.badRequest("`limit` must be a non-negative integer.");
    limit = Number(query.limit) === 0 ? MAX_LIMIT : Math.min(Number(query.limit), MAX_LIMIT);
  }
  const ascending = bool(query.ascending, "ascending");
  const format = parseFormat(query.format);
  bool(query.attachments, "attachments");
  if (query.cursor !== undefined && !/^\d+$/.test(query.cursor))
    throw ApiError.badRequest("`cursor` is not one this LRS issued.");

  terms.sort((a, b) => LEAD_ORDER.indexOf(a[0]) - LEAD_ORDER.indexOf(b[0]));
  const [lead, ...others] = terms;
  const key = lead ? sql`p.stored_us` : sql`s.stored_us`;
  const range: SQL[] = [];
  if (query.since !== undefined) range.push(sql`${key} > ${isoToUs(query.since)}`);
  if (query.until !== undefined) range.push(sql`${key} <= ${isoToUs(query.until)}`);
  if (query.cursor !== undefined)
    range.push(ascending ? sql`${key} > ${Number(query.cursor)}` : sql`${key} < ${Number(query.cursor)}`);
  const filters = others.map(
    ([kind, value]) =>
      sql`EXISTS (SELECT 1 FROM xapi_statement_terms o WHERE o.tenant_id = ${t} AND o.kind = ${kind} AND o.value = ${value} AND o.stored_us = s.stored_us)`,
  );
  const order = ascending ? sql`ASC` : sql`DESC`;
  const statement = lead
    ? sql`SELECT s.stored_us, s.statement FROM xapi_statement_terms p
          CROSS JOIN xapi_statements s ON s.tenant_id = ${t} AND s.stored_us = p.stored_us
          WHERE ${sql.join([sql`p.tenant_id = ${t}`, sql`p.kind = ${lead[0]}`, sql`p.value = ${lead[1]}`, ...range, sql`s.voided = 0`, ...filters], sql` AND `)}
          ORDER BY p.stored_us ${order} LIMIT ${limit + 1}`
    : sql`SELECT s.stored_us, s.statement FROM xapi_statements s
          WHERE ${sql.join([sql`s.tenant_id = ${t}`, ...range, sql`s.voided = 0`], sql` AND `)}
          ORDER BY s.stored_us ${order} LIMIT ${limit + 1}`;
  const [rows, through] = await Promise.all([ctx.db.all<StatementRow>(statement), consistentThrough(ctx)]);
  let more = "";
  if (rows.length > limit) {
    rows.length = limit;
    const params = new URLSearchParams(Object.entries(query).filter(([k]) => k !== "cursor"));
    params.set("cursor", String(rows[rows.length - 1].stored_us));
    more = `/xapi/statements?${params.toString()}`;
  }
  return { rows, more, format, consistentThrough: through };
}
