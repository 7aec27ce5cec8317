import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { tenants } from "../tenants/tables";

/**
 * LRS credentials for HTTP Basic on `/xapi/*`: the username is the public `key`, the password the secret, of
 * which only the SHA-256 is stored (like API keys). Scopes are xAPI's: `read`, `write`.
 */
export const lrsCredentials = sqliteTable(
  "lrs_credentials",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    key: text("key").notNull().unique(),
    secretHash: text("secret_hash").notNull(),
    scopes: text("scopes", { mode: "json" }).$type<string[]>().notNull(),
    createdByUserId: integer("created_by_user_id"),
    lastUsedAt: text("last_used_at"),
    revokedAt: text("revoked_at"),
    createdAt: text("created_at").notNull(),
  },
  (t) => [index("lrs_credentials_tenant_created_idx").on(t.tenantId, t.createdAt)],
);

/**
 * The tenant's statement clock: `stored` of the next statements is `max(now, last + 1)` in microseconds, so
 * `stored` is strictly increasing per tenant even for statements of one batch or of the same millisecond.
 */
export const xapiClocks = sqliteTable("xapi_clocks", {
  tenantId: integer("tenant_id")
    .primaryKey()
    .references(() => tenants.id, { onDelete: "cascade" }),
  lastStoredUs: integer("last_stored_us").notNull(),
});

/**
 * Statements as received (plus `id`, `timestamp`, `authority`, `version` the LRS sets), without `stored`,
 * which is `stored_us` rendered on read. `voided` is set by a later voiding statement.
 */
export const xapiStatements = sqliteTable(
  "xapi_statements",
  {
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    statementId: text("statement_id").notNull(),
    storedUs: integer("stored_us").notNull(),
    verbId: text("verb_id").notNull(),
    registration: text("registration"),
    /** The id of the statement a StatementRef object points at (voiding statements included). */
    refId: text("ref_id"),
    voided: integer("voided", { mode: "boolean" }).notNull().default(false),
    statement: text("statement").notNull(),
    /** The canonical (language-filtered) form needs the full statement, so nothing else is denormalised. */
    credentialId: integer("credential_id"),
  },
  (t) => [
    uniqueIndex("xapi_statements_tenant_id_uq").on(t.tenantId, t.statementId),
    uniqueIndex("xapi_statements_tenant_stored_uq").on(t.tenantId, t.storedUs),
    index("xapi_statements_tenant_ref_idx").on(t.tenantId, t.refId),
  ],
);

/**
 * What the filters of GET /xapi/statements search: one row per (statement, kind, value), keyed by the
 * statement's `stored_us` so each filter is a keyset range of one index in `stored` order. Kinds: `agent`
 * (actor or object), `related_agent` (any agent in the statement), `activity` (object), `related_activity`
 * (object, context activities, sub-statement), `verb`, `registration`. A statement whose object is a
 * StatementRef also carries the terms of its target, so filters match it when the target matches (xAPI 1.0.3
 * section 2.1.3). No foreign key to the statement: statements are never deleted one by one, and a parent
 * key check would scan this table on every statement insert.
 */
export const xapiStatementTerms = sqliteTable(
  "xapi_statement_terms",
  {
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    kind: text("kind").notNull(),
    value: text("value").notNull(),
    storedUs: integer("stored_us").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.kind, t.value, t.storedUs] })],
);

/** Attachment metadata by SHA-256; the bytes are in R2 MEDIA under `t/<tenant>/xapi-attachments/<sha2>`. */
export const xapiAttachments = sqliteTable(
  "xapi_attachments",
  {
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    sha2: text("sha2").notNull(),
    contentType: text("content_type").notNull(),
    length: integer("length").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.sha2] })],
);

/**
 * State, Activity Profile and Agent Profile documents. Unused key parts are '' so one unique index covers all
 * three kinds. `content` is base64 (documents may be binary); `etag` is the SHA-1 of the bytes, quoted on the wire.
 */
export const xapiDocuments = sqliteTable(
  "xapi_documents",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: ["state", "activity_profile", "agent_profile"] }).notNull(),
    activityId: text("activity_id").notNull(),
    agent: text("agent").notNull(),
    registration: text("registration").notNull(),
    docId: text("doc_id").notNull(),
    contentType: text("content_type").notNull(),
    content: text("content").notNull(),
    etag: text("etag").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("xapi_documents_key_uq").on(t.tenantId, t.kind, t.activityId, t.agent, t.registration, t.docId),
    index("xapi_documents_tenant_updated_idx").on(t.tenantId, t.kind, t.updatedAt),
  ],
);

/** The canonical definition of each activity seen in statements: later definitions merge in (JSON merge patch). */
export const xapiActivities = sqliteTable(
  "xapi_activities",
  {
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    activityId: text("activity_id").notNull(),
    definition: text("definition").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.activityId] })],
);
