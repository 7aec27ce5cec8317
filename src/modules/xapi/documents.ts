/**
 * Document resources (xAPI 1.0.3 Communication 2.3-2.7): State, Activity Profile, Agent Profile. One table;
 * the unused parts of the key are ''. Concurrency by ETag (SHA-1 of the bytes) with If-Match / If-None-Match.
 */
import { and, eq, gt, type SQL } from "drizzle-orm";
import { base64url, fromBase64url } from "../../platform/crypto";
import { ApiError } from "../../platform/errors";
import { outboxInsert } from "../../platform/events";
import { nowIso } from "../../platform/time";
import type { LrsContext } from "./lrs";
import { parseAgentParam } from "./statements";
import { xapiDocuments } from "./tables";
import { actorKey, isIri, isJson, isTimestamp, isUuid } from "./validate";

export type DocumentKind = "state" | "activity_profile" | "agent_profile";

export const MAX_DOCUMENT_BYTES = 1024 * 1024;

interface Key {
  kind: DocumentKind;
  activityId: string;
  agent: string;
  registration: string;
}

const PARAMS: Record<DocumentKind, { id: string; allowed: string[] }> = {
  state: { id: "stateId", allowed: ["activityId", "agent", "registration", "stateId", "since"] },
  activity_profile: { id: "profileId", allowed: ["activityId", "profileId", "since"] },
  agent_profile: { id: "profileId", allowed: ["agent", "profileId", "since"] },
};

/** The document's key from the query parameters; 400 for missing or malformed ones. */
export function documentKey(kind: DocumentKind, query: Record<string, string>): { key: Key; docId?: string } {
  for (const name of Object.keys(query)) {
    if (!PARAMS[kind].allowed.includes(name))
      throw ApiError.badRequest(`\`${name}\` is not a parameter of this resource.`);
  }
  let activityId = "";
  let agent = "";
  let registration = "";
  if (kind !== "agent_profile") {
    if (query.activityId === undefined) throw ApiError.badRequest("`activityId` is required.");
    if (!isIri(query.activityId)) throw ApiError.badRequest("`activityId` must be an IRI.");
    activityId = query.activityId;
  }
  if (kind !== "activity_profile") {
    if (query.agent === undefined) throw ApiError.badRequest("`agent` is required.");
    const key = actorKey(parseAgentParam(query.agent));
    if (!key) throw ApiError.badRequest("`agent` must be an Agent with an Inverse Functional Identifier.");
    agent = key;
  }
  if (kind === "state" && query.registration !== undefined) {
    if (!isUuid(query.registration)) throw ApiError.badRequest("`registration` must be a UUID.");
    registration = query.registration.toLowerCase();
  }
  if (query.since !== undefined && !isTimestamp(query.since))
    throw ApiError.badRequest("`since` must be an ISO 8601 timestamp.");
  const docId = query[PARAMS[kind].id];
  return { key: { kind, activityId, agent, registration }, docId };
}

function keyWhere(ctx: LrsContext, key: Key): SQL {
  return and(
    eq(xapiDocuments.tenantId, ctx.tenantId),
    eq(xapiDocuments.kind, key.kind),
    eq(xapiDocuments.activityId, key.activityId),
    eq(xapiDocuments.agent, key.agent),
    eq(xapiDocuments.registration, key.registration),
  ) as SQL;
}

async function findDocument(ctx: LrsContext, key: Key, docId: string) {
  return ctx.db.query.xapiDocuments.findFirst({ where: and(keyWhere(ctx, key), eq(xapiDocuments.docId, docId)) });
}

export type Document = NonNullable<Awaited<ReturnType<typeof findDocument>>>;

export function documentBytes(doc: Document): Uint8Array {
  return fromBase64url(doc.content);
}

/** A document's ETag: the SHA-1 of its bytes, in hex. */
export async function sha1Hex(bytes: Uint8Array) {
  const digest = await crypto.subtle.digest("SHA-1", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function getDocument(ctx: LrsContext, key: Key, docId: string) {
  const doc = await findDocument(ctx, key, docId);
  if (!doc) throw ApiError.notFound(`Document ${docId}`);
  return doc;
}

/** The ids of the documents under a key, changed after `since` when given. */
export async function listDocumentIds(ctx: LrsContext, key: Key, since?: string) {
  const rows = await ctx.db
    .select({ id: xapiDocuments.docId })
    .from(xapiDocuments)
    .where(and(keyWhere(ctx, key), since ? gt(xapiDocuments.updatedAt, new Date(since).toISOString()) : undefined))
    .orderBy(xapiDocuments.docId)
    .limit(10_000);
  return rows.map((r) => r.id);
}

export interface Preconditions {
  ifMatch?: string;
  ifNoneMatch?: string;
}

function etags(header: string): string[] {
  return header.split(",").map((t) => t.trim().replace(/^W\//, "").replace(/^"|"$/g, ""));
}

/**
 * If-Match / If-None-Match (412 when they fail). For profiles, a PUT over an existing document without either
 * is a 409 (the client must show it knows the current version); State does not require them.
 */
function checkPreconditions(
  kind: DocumentKind,
  existing: Document | undefined,
  pre: Preconditions,
  method: string,
  v2 = false,
) {
  if (pre.ifMatch !== undefined) {
    const tags = etags(pre.ifMatch);
    if (!existing || !(tags.includes("*") || tags.includes(existing.etag)))
      throw new ApiError(412, "If-Match does not match the document's current ETag.", {
        slug: "precondition-failed",
        title: "Precondition failed",
      });
  }
  if (pre.ifNoneMatch !== undefined) {
    const tags = etags(pre.ifNoneMatch);
    if (existing && (tags.includes("*") || tags.includes(existing.etag)))
      throw new ApiError(412, "If-None-Match: the document already exists.", {
        slug: "precondition-failed",
        title: "Precondition failed",
      });
  }
  // xAPI 2.0 (4.1.4) extends the 409 for a PUT over an existing document without a precondition to State too.
  if (
    method === "PUT" &&
    kind === "state" &&
    v2 &&
    existing &&
    pre.ifMatch === undefined &&
    pre.ifNoneMatch === undefined
  )
    throw new ApiError(409, "This document exists: send If-Match with its ETag (or If-None-Match: *) to change it.", {
      slug: "precondition-required",
    });
  if (method === "PUT" && kind !== "state" && pre.ifMatch === undefined && pre.ifNoneMatch === undefined) {
    // Profiles are written with optimistic concurrency (Communication 3.1): an existing one needs If-Match (409),
    // a new one If-None-Match: * (400 without either header, as the ADL conformance suite requires).
    if (existing)
      throw new ApiError(409, "This document exists: send If-Match with its ETag (or If-None-Match: *) to change it.", {
        slug: "precondition-required",
      });
    throw ApiError.badRequest("PUT of a profile needs If-None-Match: * (new document) or If-Match with its ETag.");
  }
}

/** PUT (replace) or POST (merge JSON objects, xAPI 1.0.3 Communication 2.3.3.4). */
export async function writeDocument(
  ctx: LrsContext,
  key: Key,
  docId: string | undefined,
  body: Uint8Array,
  contentType: string,
  method: "PUT" | "POST",
  pre: Preconditions,
) {
  const idParam = PARAMS[key.kind].id;
  if (docId === undefined || docId === "") throw ApiError.badRequest(`\`${idParam}\` is required.`);
  if (body.length > MAX_DOCUMENT_BYTES)
    throw new ApiError(413, `Documents are limited to ${MAX_DOCUMENT_BYTES} bytes.`);
  const existing = await findDocument(ctx, key, docId);
  checkPreconditions(key.kind, existing, pre, method, ctx.version.startsWith("2."));
  let bytes = body;
  let type = contentType || "application/octet-stream";
  if (method === "POST" && /^application\/json\b/i.test(type)) {
    try {
      JSON.parse(new TextDecoder().decode(body));
    } catch {
      throw ApiError.badRequest("The document is labelled application/json but is not valid JSON.");
    }
  }
  // POST without a stored document stores it as PUT would (Communication 2.2); with one, it merges JSON objects.
  if (method === "POST" && existing) {
    const incoming = parseJsonObject(body, type);
    if (!incoming) throw ApiError.badRequest("POST merges JSON objects: send an `application/json` object.");
    {
      const current = parseJsonObject(documentBytes(existing), existing.contentType);
      if (!current) throw ApiError.badRequest("The stored document is not a JSON object; replace it with PUT.");
      bytes = new TextEncoder().encode(JSON.stringify({ ...current, ...incoming }));
      type = "application/json";
    }
  }
  const values = {
    contentType: type,
    content: base64url(bytes),
    etag: await sha1Hex(bytes),
    updatedAt: nowIso(),
  };
  const event = outboxInsert(ctx.db, ctx.tenantId, "xapi.document_changed", {
    kind: key.kind,
    activity_id: key.activityId || null,
    document_id: docId,
    action: existing ? (method === "POST" ? "merged" : "replaced") : "created",
  });
  if (existing) {
    const [updated] = await ctx.db.batch([
      ctx.db
        .update(xapiDocuments)
        .set(values)
        .where(
          and(
            eq(xapiDocuments.tenantId, ctx.tenantId),
            eq(xapiDocuments.id, existing.id),
            eq(xapiDocuments.etag, existing.etag),
          ),
        )
        .returning({ id: xapiDocuments.id }),
      event,
    ]);
    if (updated.length === 0)
      throw new ApiError(412, "The document changed meanwhile; read it again.", { slug: "precondition-failed" });
  } else {
    await ctx.db.batch([
      ctx.db.insert(xapiDocuments).values({ tenantId: ctx.tenantId, ...key, docId, ...values }),
      event,
    ]);
  }
  return values.etag;
}

function parseJsonObject(bytes: Uint8Array, contentType: string): Record<string, unknown> | null {
  if (!/^application\/json\b/i.test(contentType)) return null;
  try {
    const value = JSON.parse(new TextDecoder().decode(bytes));
    return isJson(value) ? value : null;
  } catch {
    return null;
  }
}

/** DELETE one document, or (State without stateId) every state under the key. 204 either way. */
export async function deleteDocuments(ctx: LrsContext, key: Key, docId: string | undefined, pre: Preconditions) {
  if (docId === undefined && key.kind !== "state") throw ApiError.badRequest("`profileId` is required.");
  if (docId !== undefined) {
    const existing = await findDocument(ctx, key, docId);
    checkPreconditions(key.kind, existing, pre, "DELETE", ctx.version.startsWith("2."));
    if (!existing) return;
  }
  await ctx.db.batch([
    ctx.db
      .delete(xapiDocuments)
      .where(and(keyWhere(ctx, key), docId !== undefined ? eq(xapiDocuments.docId, docId) : undefined)),
    outboxInsert(ctx.db, ctx.tenantId, "xapi.document_changed", {
      kind: key.kind,
      activity_id: key.activityId || null,
      document_id: docId ?? null,
      action: "deleted",
    }),
  ]);
}
