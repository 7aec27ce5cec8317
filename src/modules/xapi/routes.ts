/**
 * The xAPI LRS at `/xapi/` (xAPI 1.0.3, 2.0.0 headers accepted). The resources follow the xAPI specification,
 * not Lectern's REST conventions: its parameter names, status codes and bodies are the contract (docs/xapi.md),
 * so these routes are plain Hono routes outside the OpenAPI document. Errors keep RFC 9457 problem bodies.
 */
import { type Context, Hono } from "hono";
import { createDb } from "../../platform/db";
import type { AppEnv } from "../../platform/env";
import { ApiError, problemResponse, toApiError } from "../../platform/errors";
import { applyStatementsToProgress, LAUNCH_DATA_ID } from "../packages/xapi-launch";
import {
  type DocumentKind,
  deleteDocuments,
  documentBytes,
  documentKey,
  getDocument,
  listDocumentIds,
  writeDocument,
} from "./documents";
import {
  assertLaunchScope,
  type LrsContext,
  lrsContext,
  SUPPORTED_VERSIONS,
  XAPI_VERSION,
  xapiAuth,
  xapiEvents,
  xapiVersion,
} from "./lrs";
import { boundaryOf, buildMultipart, parseMultipart, sha2Hex } from "./multipart";
import {
  type AttachmentBytes,
  acceptLanguages,
  assertKnownParams,
  attachmentKey,
  getStatement,
  parseAgentParam,
  parseFormat,
  queryStatements,
  renderStatement,
  type StatementRow,
  storeStatements,
} from "./statements";
import { actorKey, isIri, isJson } from "./validate";

/** Statement requests with attachments may be this large; documents have their own, smaller limit. */
export const MAX_XAPI_BODY_BYTES = 20 * 1024 * 1024;

export const xapiRouter = new Hono<AppEnv>();

xapiRouter.onError((err, c) => problemResponse(c, toApiError(err, c)));

const HEADER_FIELDS = new Set([
  "authorization",
  "x-experience-api-version",
  "content-type",
  "content-length",
  "if-match",
  "if-none-match",
]);

/**
 * The alternate request syntax (Communication 1.3): `POST ...?method=PUT` with a form body carrying headers,
 * `content` and the parameters, for clients that cannot send other methods or headers (cross-origin IE).
 */
xapiRouter.use("/xapi/*", async (c, next) => {
  if (!c.get("db")) c.set("db", createDb(c.env.DB));
  const url = new URL(c.req.url);
  // A form-encoded POST to /statements without `method` is a GET taking the form of a POST (1.0.3 Communication
  // 2.1.2, as the ADL suite sends it): its form fields are the query parameters.
  const formGet =
    c.req.method === "POST" &&
    !url.searchParams.has("method") &&
    url.pathname.replace(/\/+$/, "") === "/xapi/statements" &&
    /^application\/x-www-form-urlencoded\b/i.test(c.req.header("content-type") ?? "");
  const method = formGet ? "GET" : url.searchParams.get("method");
  if (c.req.method !== "POST" || method === null) return next();
  const refuse = (error: ApiError) => {
    const res = problemResponse(c, error);
    res.headers.set("X-Experience-API-Version", XAPI_VERSION);
    return res;
  };
  if ([...url.searchParams.keys()].some((k) => k !== "method") && !formGet)
    return refuse(ApiError.badRequest("With `method=`, every other parameter goes in the form body."));
  if (!["GET", "PUT", "POST", "DELETE", "HEAD"].includes(method.toUpperCase()))
    return refuse(ApiError.badRequest(`method=${method} is not an HTTP method of the LRS.`));
  if (!/^application\/x-www-form-urlencoded\b/i.test(c.req.header("content-type") ?? ""))
    return refuse(ApiError.badRequest("The alternate request syntax needs a form-encoded body."));
  const form = new URLSearchParams(new TextDecoder().decode(await c.req.arrayBuffer()));
  // Headers the client did send stay (Authorization, version, preconditions); form fields override them.
  const headers = new Headers();
  for (const name of ["authorization", "x-experience-api-version", "if-match", "if-none-match"]) {
    const value = c.req.header(name);
    if (value !== undefined) headers.set(name, value);
  }
  const target = new URL(url.pathname, url.origin);
  if (formGet) for (const [name, value] of url.searchParams) target.searchParams.append(name, value);
  let content: string | undefined;
  for (const [name, value] of form) {
    if (HEADER_FIELDS.has(name.toLowerCase())) headers.set(name, value);
    else if (name === "content") content = value;
    else target.searchParams.append(name, value);
  }
  headers.delete("content-length");
  const upper = method.toUpperCase();
  if (content !== undefined && !headers.has("content-type")) headers.set("content-type", "application/json");
  const forwarded = new Request(target, {
    method: upper,
    headers,
    body: upper === "GET" || upper === "HEAD" || upper === "DELETE" ? undefined : (content ?? ""),
  });
  return xapiRouter.fetch(forwarded, c.env, c.executionCtx);
});

/** The methods each LRS resource answers; any other is a 405 before authentication (Communication 3.2). */
const RESOURCE_METHODS: Record<string, string[]> = {
  "/xapi/about": ["GET", "HEAD"],
  "/xapi/statements": ["GET", "HEAD", "PUT", "POST"],
  "/xapi/activities/state": ["GET", "HEAD", "PUT", "POST", "DELETE"],
  "/xapi/activities/profile": ["GET", "HEAD", "PUT", "POST", "DELETE"],
  "/xapi/agents/profile": ["GET", "HEAD", "PUT", "POST", "DELETE"],
  "/xapi/activities": ["GET", "HEAD"],
  "/xapi/agents": ["GET", "HEAD"],
};

xapiRouter.use("/xapi/*", async (c, next) => {
  const allowed = RESOURCE_METHODS[c.req.path.replace(/\/+$/, "")];
  if (!allowed || c.req.method === "OPTIONS" || allowed.includes(c.req.method)) return next();
  const res = problemResponse(
    c,
    new ApiError(405, `${c.req.method} is not a method of ${c.req.path}.`, {
      headers: { Allow: allowed.join(", ") },
    }),
  );
  res.headers.set("X-Experience-API-Version", XAPI_VERSION);
  return res;
});

xapiRouter.use("/xapi/*", xapiVersion, async (c, next) => {
  const length = Number(c.req.header("content-length") ?? 0);
  if (length > MAX_XAPI_BODY_BYTES)
    throw new ApiError(413, `Request bodies are limited to ${MAX_XAPI_BODY_BYTES} bytes.`);
  await next();
});
xapiRouter.use("/xapi/*", xapiAuth, xapiEvents);

async function bodyBytes(c: Context<AppEnv>): Promise<Uint8Array> {
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  if (bytes.length > MAX_XAPI_BODY_BYTES)
    throw new ApiError(413, `Request bodies are limited to ${MAX_XAPI_BODY_BYTES} bytes.`);
  return bytes;
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new ApiError(400, "The body is not valid JSON.", { slug: "malformed-json", title: "Malformed JSON" });
  }
}

/** The statements and attachment parts of a PUT/POST body (application/json or multipart/mixed). */
async function readStatementsBody(c: Context<AppEnv>): Promise<{ statements: unknown; parts: AttachmentBytes[] }> {
  const contentType = c.req.header("content-type") ?? "";
  const bytes = await bodyBytes(c);
  if (/^multipart\/mixed\b/i.test(contentType)) {
    const boundary = boundaryOf(contentType);
    if (!boundary) throw ApiError.badRequest("multipart/mixed needs a boundary parameter.");
    const [first, ...rest] = parseMultipart(bytes, boundary);
    if (!first || !/^application\/json\b/i.test(first.headers["content-type"] ?? ""))
      throw ApiError.badRequest("The first part must be the statements as application/json.");
    const parts: AttachmentBytes[] = [];
    for (const part of rest) {
      const declared = part.headers["x-experience-api-hash"];
      if (!declared) throw ApiError.badRequest("Every attachment part needs an X-Experience-API-Hash header.");
      if (!part.headers["content-transfer-encoding"]?.toLowerCase().includes("binary"))
        throw ApiError.badRequest("Attachment parts need `Content-Transfer-Encoding: binary`.");
      const actual = await sha2Hex(part.body, declared.length);
      if (actual !== declared.toLowerCase())
        throw ApiError.badRequest(`An attachment's bytes do not match its X-Experience-API-Hash ${declared}.`);
      parts.push({
        sha2: declared.toLowerCase(),
        contentType: part.headers["content-type"] ?? "application/octet-stream",
        body: part.body,
      });
    }
    return { statements: parseJson(first.body), parts };
  }
  if (!/^application\/json\b/i.test(contentType))
    throw new ApiError(400, "Send statements as application/json, or multipart/mixed with attachments.");
  return { statements: parseJson(bytes), parts: [] };
}

// ---------------------------------------------------------------------------------------------------------
// About

// A 1.0.x client is told only the 1.0.x versions (its spec allows no others in `version`); a 2.0 client or one
// that names no version learns 2.0.0 too.
xapiRouter.get("/xapi/about", (c) => {
  const asked = c.req.header("x-experience-api-version")?.trim();
  const version = asked?.startsWith("1.") ? SUPPORTED_VERSIONS.filter((v) => v.startsWith("1.")) : SUPPORTED_VERSIONS;
  return c.json({ version, extensions: { "https://lectern.dev/xapi/lrs": { name: "Lectern LRS" } } });
});

// ---------------------------------------------------------------------------------------------------------
// Statements

xapiRouter.put("/xapi/statements", async (c) => {
  const ctx = lrsContext(c, "write");
  const query = c.req.query();
  const statementId = query.statementId;
  if (!statementId) throw ApiError.badRequest("PUT needs the `statementId` parameter.");
  if (Object.keys(query).some((k) => k !== "statementId"))
    throw ApiError.badRequest("PUT /xapi/statements takes only `statementId`.");
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(statementId))
    throw ApiError.badRequest("`statementId` must be a UUID.");
  const { statements, parts } = await readStatementsBody(c);
  if (Array.isArray(statements)) throw ApiError.badRequest("PUT takes one statement, not an array.");
  const { fresh } = await storeStatements(ctx, statements, parts, { putId: statementId.toLowerCase() });
  await applyStatementsToProgress(ctx, fresh, new URL(c.req.url).origin);
  return c.body(null, 204);
});

xapiRouter.post("/xapi/statements", async (c) => {
  const ctx = lrsContext(c, "write");
  if (Object.keys(c.req.query()).length > 0) throw ApiError.badRequest("POST /xapi/statements takes no parameters.");
  const { statements, parts } = await readStatementsBody(c);
  const { ids, fresh } = await storeStatements(ctx, statements, parts);
  // Statements of launched xAPI/cmi5 packages drive module progress (only those stored now, not replays).
  await applyStatementsToProgress(ctx, fresh, new URL(c.req.url).origin);
  return c.json(ids, 200);
});

xapiRouter.get("/xapi/statements", async (c) => {
  const ctx = lrsContext(c, "read");
  const query = c.req.query();
  assertKnownParams(query);
  const languages = acceptLanguages(c.req.header("accept-language"));
  const withAttachments = query.attachments === "true";
  if (query.attachments !== undefined && !["true", "false"].includes(query.attachments))
    throw ApiError.badRequest("`attachments` must be true or false.");
  const single = query.statementId ?? query.voidedStatementId;
  if (single !== undefined) {
    if (query.statementId !== undefined && query.voidedStatementId !== undefined)
      throw ApiError.badRequest("Send statementId or voidedStatementId, not both.");
    const extra = Object.keys(query).filter(
      (k) => !["statementId", "voidedStatementId", "format", "attachments"].includes(k),
    );
    if (extra.length > 0) throw ApiError.badRequest(`\`${extra[0]}\` cannot be combined with a statement id.`);
    const { row, consistentThrough } = await getStatement(ctx, single, query.voidedStatementId !== undefined);
    const statement = renderStatement(row, parseFormat(query.format), languages);
    c.header("X-Experience-API-Consistent-Through", consistentThrough);
    c.header("Last-Modified", new Date(Math.floor(row.stored_us / 1000)).toUTCString());
    return withAttachments ? multipartResponse(c, ctx.tenantId, statement, [statement]) : c.json(statement, 200);
  }
  if (ctx.scope) {
    // A launch credential queries only its learner's statements or its registration's.
    const agentKey = query.agent !== undefined ? actorKey(parseAgentParam(query.agent)) : null;
    const registration = query.registration?.toLowerCase();
    if (agentKey !== ctx.scope.agt && registration !== ctx.scope.reg)
      throw ApiError.forbidden("A launch credential queries with its learner as `agent` or its `registration`.");
  }
  const result = await queryStatements(ctx, query);
  const statements = result.rows.map((row: StatementRow) => renderStatement(row, result.format, languages));
  const body = { statements, more: result.more };
  c.header("X-Experience-API-Consistent-Through", result.consistentThrough);
  if (statements.length > 0)
    c.header("Last-Modified", new Date(Math.floor(result.rows[0].stored_us / 1000)).toUTCString());
  return withAttachments ? multipartResponse(c, ctx.tenantId, body, statements) : c.json(body, 200);
});

/** `attachments=true`: the JSON first, then each attachment's bytes (from R2) as a binary part. */
async function multipartResponse(
  c: Context<AppEnv>,
  tenantId: number,
  json: unknown,
  statements: Record<string, unknown>[],
) {
  const hashes = new Set<string>();
  const collect = (s: Record<string, unknown>) => {
    for (const a of (s.attachments as Record<string, unknown>[] | undefined) ?? [])
      if (typeof a.sha2 === "string" && a.fileUrl === undefined) hashes.add(a.sha2.toLowerCase());
    if (isJson(s.object) && s.object.objectType === "SubStatement") collect(s.object);
  };
  for (const s of statements) collect(s);
  const parts: { headers: Record<string, string>; body: Uint8Array | string }[] = [
    { headers: { "Content-Type": "application/json" }, body: JSON.stringify(json) },
  ];
  for (const sha of hashes) {
    const object = await c.env.MEDIA.get(attachmentKey(tenantId, sha));
    if (!object) continue; // declared with a fileUrl elsewhere, or never sent
    parts.push({
      headers: {
        "Content-Type": object.httpMetadata?.contentType ?? "application/octet-stream",
        "Content-Transfer-Encoding": "binary",
        "X-Experience-API-Hash": sha,
      },
      body: new Uint8Array(await object.arrayBuffer()),
    });
  }
  const { body, contentType } = buildMultipart(parts);
  return c.body(body as unknown as ArrayBuffer, 200, { "Content-Type": contentType });
}

// ---------------------------------------------------------------------------------------------------------
// Documents: State, Activity Profile, Agent Profile

/**
 * A launch credential reads and writes the state and agent profile of its own learner (state: in its
 * registration when one is named) and never writes `LMS.LaunchData`, which the LMS owns (cmi5).
 */
function documentScope(
  ctx: LrsContext,
  key: ReturnType<typeof documentKey>["key"],
  docId: string | undefined,
  write: boolean,
) {
  if (!ctx.scope) return;
  if (key.kind === "state") assertLaunchScope(ctx, key.agent, key.registration || undefined);
  if (key.kind === "agent_profile") assertLaunchScope(ctx, key.agent, undefined);
  if (write && key.kind === "state" && (docId === LAUNCH_DATA_ID || docId === undefined))
    throw ApiError.forbidden("LMS.LaunchData is written by the LMS; the AU may only read it.");
}

function documentRoutes(path: string, kind: DocumentKind) {
  xapiRouter.get(path, async (c) => {
    const ctx = lrsContext(c, "read");
    const query = c.req.query();
    const { key, docId } = documentKey(kind, query);
    documentScope(ctx, key, docId, false);
    if (docId === undefined) return c.json(await listDocumentIds(ctx, key, query.since), 200);
    const doc = await getDocument(ctx, key, docId);
    return c.body(documentBytes(doc) as unknown as ArrayBuffer, 200, {
      "Content-Type": doc.contentType,
      ETag: `"${doc.etag}"`,
      "Last-Modified": new Date(doc.updatedAt).toUTCString(),
    });
  });
  for (const method of ["PUT", "POST"] as const) {
    xapiRouter.on(method, path, async (c) => {
      const ctx = lrsContext(c, "write");
      const query = c.req.query();
      if (query.since !== undefined) throw ApiError.badRequest("`since` is only for GET.");
      const { key, docId } = documentKey(kind, query);
      documentScope(ctx, key, docId, true);
      const etag = await writeDocument(
        ctx,
        key,
        docId,
        await bodyBytes(c),
        c.req.header("content-type") ?? "",
        method,
        { ifMatch: c.req.header("if-match"), ifNoneMatch: c.req.header("if-none-match") },
      );
      return c.body(null, 204, { ETag: `"${etag}"` });
    });
  }
  xapiRouter.delete(path, async (c) => {
    const ctx = lrsContext(c, "write");
    const query = c.req.query();
    if (query.since !== undefined) throw ApiError.badRequest("`since` is only for GET.");
    const { key, docId } = documentKey(kind, query);
    documentScope(ctx, key, docId, true);
    await deleteDocuments(ctx, key, docId, {
      ifMatch: c.req.header("if-match"),
      ifNoneMatch: c.req.header("if-none-match"),
    });
    return c.body(null, 204);
  });
}

documentRoutes("/xapi/activities/state", "state");
documentRoutes("/xapi/activities/profile", "activity_profile");
documentRoutes("/xapi/agents/profile", "agent_profile");

// ---------------------------------------------------------------------------------------------------------
// Activities and Agents

xapiRouter.get("/xapi/activities", async (c) => {
  const ctx = lrsContext(c, "read");
  const activityId = c.req.query("activityId");
  if (!activityId) throw ApiError.badRequest("`activityId` is required.");
  if (!isIri(activityId)) throw ApiError.badRequest("`activityId` must be an IRI.");
  const row = await ctx.db.query.xapiActivities.findFirst({
    where: (a, { and, eq }) => and(eq(a.tenantId, ctx.tenantId), eq(a.activityId, activityId)),
  });
  const definition = row ? JSON.parse(row.definition) : {};
  return c.json(
    { objectType: "Activity", id: activityId, ...(Object.keys(definition).length > 0 ? { definition } : {}) },
    200,
  );
});

xapiRouter.get("/xapi/agents", (c) => {
  lrsContext(c, "read");
  const raw = c.req.query("agent");
  if (!raw) throw ApiError.badRequest("`agent` is required.");
  const agent = parseAgentParam(raw);
  if (!actorKey(agent)) throw ApiError.badRequest("`agent` needs an Inverse Functional Identifier.");
  // One Person per identifier: Lectern does not merge identities across IFIs.
  const person: Record<string, unknown> = { objectType: "Person" };
  if (typeof agent.name === "string") person.name = [agent.name];
  for (const k of ["mbox", "mbox_sha1sum", "openid", "account"]) if (agent[k] !== undefined) person[k] = [agent[k]];
  return c.json(person, 200);
});
