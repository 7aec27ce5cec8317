import { and, asc, eq, gt, isNotNull, isNull, lte, or, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { LearnerPrincipal, TenantContext } from "../../platform/auth";
import { batchableRaw } from "../../platform/db";
import { ApiError, type FieldError } from "../../platform/errors";
import { outboxInsert, outboxInsertFor } from "../../platform/events";
import { contains, type ListParams, orderBy, paginate } from "../../platform/pagination";
import { nowIso } from "../../platform/time";
import { findCourse } from "../courses/service";
import { findUser } from "../users/service";
import type { CERTIFICATE_STATUSES, FIELD_KEYS } from "./schemas";
import { type CertificateField, certificates, certificateTemplates } from "./tables";

type TemplateRow = typeof certificateTemplates.$inferSelect;
type CertificateRow = typeof certificates.$inferSelect;
type CertificateStatus = (typeof CERTIFICATE_STATUSES)[number];

/** How many courses a 409 names when a template is still awarded by courses (the total is in `used_by_count`). */
const USAGE_LIMIT = 20;

/** Background images bigger than this are left out of PDFs. */
const MAX_BACKGROUND_BYTES = 10 * 1024 * 1024;

// ---- templates -----------------------------------------------------------------------------------------------

export function toTemplate(row: TemplateRow) {
  return {
    id: row.id,
    name: row.name,
    width: row.width,
    height: row.height,
    background_url: row.backgroundUrl,
    background_media_id: row.backgroundMediaId,
    fields: row.fields as (CertificateField & { key: (typeof FIELD_KEYS)[number] })[],
    expiry_months: row.expiryMonths,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

export async function listTemplates(ctx: TenantContext, query: ListParams & { q?: string }) {
  const where = and(
    eq(certificateTemplates.tenantId, ctx.tenantId),
    query.q ? contains(certificateTemplates.name, query.q) : undefined,
  );
  const order = orderBy(
    query.sort,
    { name: certificateTemplates.name, created_at: certificateTemplates.createdAt },
    certificateTemplates.id,
  );
  return paginate(ctx.db, certificateTemplates, where, order, query, toTemplate);
}

export async function lookupTemplates(ctx: TenantContext, query: { q?: string; limit: number }) {
  return ctx.db
    .select({ value: certificateTemplates.id, label: certificateTemplates.name })
    .from(certificateTemplates)
    .where(
      and(
        eq(certificateTemplates.tenantId, ctx.tenantId),
        query.q ? contains(certificateTemplates.name, query.q) : undefined,
      ),
    )
    .orderBy(asc(certificateTemplates.name), asc(certificateTemplates.id))
    .limit(query.limit);
}

export async function findTemplate(ctx: TenantContext, id: number) {
  const row = await ctx.db.query.certificateTemplates.findFirst({
    where: and(eq(certificateTemplates.tenantId, ctx.tenantId), eq(certificateTemplates.id, id)),
  });
  if (!row) throw ApiError.notFound(`Certificate template ${id}`);
  return row;
}

interface TemplateLayout {
  width: number;
  height: number;
  background_url: string | null;
  background_media_id: number | null;
  fields: CertificateField[];
}

/** Every field inside the page (its baseline at least `size` below the top), one background source at most. */
function layoutProblems(layout: TemplateLayout): FieldError[] {
  const problems: FieldError[] = [];
  if (layout.background_url !== null && layout.background_media_id !== null) {
    problems.push({
      path: "background_media_id",
      message: "Give `background_url` or `background_media_id`, not both.",
    });
  }
  layout.fields.forEach((field, i) => {
    if (field.x >= layout.width) {
      problems.push({
        path: `fields.${i}.x`,
        message: `Must be inside the page (less than its width, ${layout.width}).`,
      });
    }
    if (field.y > layout.height) {
      problems.push({
        path: `fields.${i}.y`,
        message: `Must be inside the page (at most its height, ${layout.height}).`,
      });
    } else if (field.y < field.size) {
      problems.push({
        path: `fields.${i}.y`,
        message: `Must be at least the font size (${field.size}): the text would stick out of the page's top.`,
      });
    }
  });
  return problems;
}

export interface TemplateInput {
  name?: string;
  width?: number;
  height?: number;
  background_url?: string | null;
  background_media_id?: number | null;
  fields?: CertificateField[];
  expiry_months?: number | null;
}

function templateColumns(input: TemplateInput) {
  const values: Partial<TemplateRow> = {};
  if (input.name !== undefined) values.name = input.name;
  if (input.width !== undefined) values.width = input.width;
  if (input.height !== undefined) values.height = input.height;
  if (input.background_url !== undefined) values.backgroundUrl = input.background_url;
  if (input.background_media_id !== undefined) values.backgroundMediaId = input.background_media_id;
  if (input.fields !== undefined) values.fields = input.fields.map(cleanField);
  if (input.expiry_months !== undefined) values.expiryMonths = input.expiry_months;
  return values;
}

/** The stored form of a field: only the keys the field has (no `undefined` members). */
function cleanField(field: CertificateField): CertificateField {
  const out: CertificateField = { key: field.key, x: field.x, y: field.y, size: field.size };
  if (field.color !== undefined) out.color = field.color;
  if (field.text !== undefined) out.text = field.text;
  return out;
}

export async function createTemplate(ctx: TenantContext, input: Required<TemplateInput> & { name: string }) {
  const problems = layoutProblems(input);
  if (problems.length) throw ApiError.validation(problems);
  const now = nowIso();
  const [[row]] = await ctx.db.batch([
    ctx.db
      .insert(certificateTemplates)
      .values({ ...(templateColumns(input) as TemplateRow), tenantId: ctx.tenantId, createdAt: now, updatedAt: now })
      .returning(),
    // The template's id is the rowid of the insert just before, on the batch's one connection.
    outboxInsertFor(ctx.db, ctx.tenantId, "certificate_template.created", sql`last_insert_rowid()`, {
      name: input.name,
    }),
  ]);
  return toTemplate(row);
}

export async function updateTemplate(ctx: TenantContext, id: number, input: TemplateInput) {
  const current = await findTemplate(ctx, id);
  const problems = layoutProblems({
    width: input.width ?? current.width,
    height: input.height ?? current.height,
    background_url: input.background_url !== undefined ? input.background_url : current.backgroundUrl,
    background_media_id:
      input.background_media_id !== undefined ? input.background_media_id : current.backgroundMediaId,
    fields: input.fields ?? current.fields,
  });
  if (problems.length) throw ApiError.validation(problems);
  const [[row]] = await ctx.db.batch([
    ctx.db
      .update(certificateTemplates)
      .set({ ...templateColumns(input), updatedAt: nowIso() })
      .where(and(eq(certificateTemplates.tenantId, ctx.tenantId), eq(certificateTemplates.id, id)))
      .returning(),
    outboxInsert(ctx.db, ctx.tenantId, "certificate_template.updated", { id, changed: Object.keys(input) }),
  ]);
  if (!row) throw ApiError.notFound(`Certificate template ${id}`);
  return toTemplate(row);
}

/** Courses (deleted ones too: they can be restored) whose `certificate_template_ids` holds the template. */
async function coursesAwarding(ctx: TenantContext, templateId: number) {
  const { results } = await ctx.env.DB.prepare(
    `SELECT id, name, deleted_at, COUNT(*) OVER () AS total FROM courses
     WHERE tenant_id = ?1 AND EXISTS (SELECT 1 FROM json_each(courses.certificate_template_ids) WHERE value = ?2)
     ORDER BY id LIMIT ?3`,
  )
    .bind(ctx.tenantId, templateId, USAGE_LIMIT)
    .all<{ id: number; name: string; deleted_at: string | null; total: number }>();
  return { courses: results.map((r) => ({ id: r.id, name: r.name })), total: results[0]?.total ?? 0 };
}

/**
 * Deletes a template. Courses that award it make this a 409 naming them, unless `force` removes it from their
 * `certificate_template_ids` in the same batch. Certificates already issued stay valid (their `template_id`
 * becomes null; their PDFs are stored or render with the default layout).
 */
export async function deleteTemplate(ctx: TenantContext, id: number, force: boolean) {
  const row = await findTemplate(ctx, id);
  const usage = await coursesAwarding(ctx, id);
  if (usage.total > 0 && !force) {
    const names = usage.courses.map((c) => `"${c.name}"`).join(", ");
    throw ApiError.conflict(
      `Certificate template "${row.name}" is awarded by ${usage.total} course${usage.total === 1 ? "" : "s"} (${names}${
        usage.total > usage.courses.length ? ", ..." : ""
      }); remove it from them first, or delete with ?force=true to remove it from them.`,
      { used_by: { courses: usage.courses }, used_by_count: usage.total },
    );
  }
  const now = nowIso();
  await ctx.db.batch([
    batchableRaw(
      ctx.db,
      sql`UPDATE courses SET
            certificate_template_ids = (SELECT json_group_array(value) FROM json_each(courses.certificate_template_ids) WHERE value != ${id}),
            version = version + 1, updated_at = ${now}
          WHERE tenant_id = ${ctx.tenantId}
            AND EXISTS (SELECT 1 FROM json_each(courses.certificate_template_ids) WHERE value = ${id})`,
    ),
    ctx.db
      .delete(certificateTemplates)
      .where(and(eq(certificateTemplates.tenantId, ctx.tenantId), eq(certificateTemplates.id, id))),
    outboxInsert(ctx.db, ctx.tenantId, "certificate_template.deleted", {
      id,
      name: row.name,
      removed_from_course_ids: usage.courses.map((c) => c.id),
    }),
  ]);
}

// ---- issuing -------------------------------------------------------------------------------------------------

/** Crockford's base32 (no I, L, O, U): 32 symbols, so each random byte maps without bias. */
const CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A verification code: 20 random symbols (100 bits) in groups of four, `7K2Q-9MXD-4HTB-P0RS-V3WN`. */
export function newCertificateCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  const symbols = Array.from(bytes, (b) => CODE_ALPHABET[b % 32]).join("");
  return symbols.match(/.{4}/g)?.join("-") ?? symbols;
}

/** A code as typed by a person: upper case, `O`/`I`/`L` read as the digits they resemble. */
export function normalizeCode(code: string): string {
  return code.trim().toUpperCase().replace(/O/g, "0").replace(/[IL]/g, "1");
}

/** The event and activity statements of a certificate change, effective only for rows that match `guard`. */
function certificateEventStatements(
  ctx: TenantContext,
  type: "certificate.issued" | "certificate.revoked",
  actor: "learner" | "staff" | "system",
  guard: SQL,
): BatchItem<"sqlite">[] {
  const now = nowIso();
  const data = sql`json_object('id', c.id, 'code', c.code, 'learner_id', c.user_id, 'course_id', c.course_id,
    'path_id', c.path_id, 'template_id', c.template_id, 'title', c.title, 'issued_at', c.issued_at,
    'expires_at', c.expires_at, 'revoked_at', c.revoked_at, 'source', substr(c.source_key, 1, instr(c.source_key, ':') - 1))`;
  return [
    batchableRaw(
      ctx.db,
      sql`INSERT INTO outbox (tenant_id, type, data, occurred_at)
          SELECT c.tenant_id, ${type}, ${data}, ${now} FROM certificates c WHERE c.tenant_id = ${ctx.tenantId} AND ${guard}`,
    ),
    batchableRaw(
      ctx.db,
      sql`INSERT INTO activities (tenant_id, type, user_id, course_id, placement_id, actor, data, occurred_at)
          SELECT c.tenant_id, ${type}, c.user_id, c.course_id, NULL, ${actor},
                 json_object('certificate_id', c.id, 'code', c.code, 'title', c.title, 'template_id', c.template_id, 'path_id', c.path_id),
                 ${now}
          FROM certificates c WHERE c.tenant_id = ${ctx.tenantId} AND ${guard}`,
    ),
  ];
}

/**
 * The statements that issue one certificate per template for a source (a completed enrollment
 * `course:<enrollment id>`, a path enrollment `path:<id>`, or `manual:<uuid>`), to put in the caller's batch.
 * Each INSERT does nothing when the (tenant, source, template) certificate exists already or the template is not
 * one of this academy's; the `certificate.issued` event and activity select the row by this statement's fresh
 * code, so they exist only when this batch's row is the one in the table: two concurrent completions issue one
 * certificate and one event. `expires_at` comes from the template's `expiry_months`, in SQL.
 */
export function certificateIssueStatements(
  ctx: TenantContext,
  input: {
    userId: number;
    recipientName: string;
    title: string;
    courseId?: number | null;
    pathId?: number | null;
    sourceKey: string;
    templateIds: number[];
    /** Who issued it, for the activity log (default `system`: completion). */
    actor?: "learner" | "staff" | "system";
  },
): BatchItem<"sqlite">[] {
  const now = nowIso();
  const items: BatchItem<"sqlite">[] = [];
  for (const templateId of [...new Set(input.templateIds)]) {
    const code = newCertificateCode();
    items.push(
      batchableRaw(
        ctx.db,
        sql`INSERT INTO certificates (tenant_id, template_id, user_id, course_id, path_id, source_key, code,
                                      recipient_name, title, issued_at, expires_at)
            SELECT t.tenant_id, t.id, ${input.userId}, ${input.courseId ?? null}, ${input.pathId ?? null},
                   ${input.sourceKey}, ${code}, ${input.recipientName}, ${input.title}, ${now},
                   CASE WHEN t.expiry_months IS NULL THEN NULL
                        ELSE strftime('%Y-%m-%dT%H:%M:%fZ', ${now}, '+' || t.expiry_months || ' months') END
            FROM certificate_templates t WHERE t.tenant_id = ${ctx.tenantId} AND t.id = ${templateId}
            ON CONFLICT DO NOTHING`,
      ),
      ...certificateEventStatements(ctx, "certificate.issued", input.actor ?? "system", sql`c.code = ${code}`),
    );
  }
  return items;
}

// ---- issued certificates -------------------------------------------------------------------------------------

export function certificateStatus(row: Pick<CertificateRow, "revokedAt" | "expiresAt">, now = nowIso()) {
  if (row.revokedAt) return "revoked" as const;
  if (row.expiresAt && row.expiresAt <= now) return "expired" as const;
  return "valid" as const;
}

export function verifyPath(code: string) {
  return `/v1/public/certificates/${encodeURIComponent(code)}`;
}

export function toCertificate(row: CertificateRow, origin: string) {
  const source = row.sourceKey.split(":", 1)[0];
  return {
    id: row.id,
    code: row.code,
    status: certificateStatus(row),
    template_id: row.templateId,
    learner_id: row.userId,
    course_id: row.courseId,
    path_id: row.pathId,
    recipient_name: row.recipientName,
    title: row.title,
    source: (source === "course" || source === "path" ? source : "manual") as "course" | "path" | "manual",
    issued_at: row.issuedAt,
    expires_at: row.expiresAt,
    revoked_at: row.revokedAt,
    verify_url: origin + verifyPath(row.code),
  };
}

function statusFilter(status: CertificateStatus | undefined, now: string): SQL | undefined {
  switch (status) {
    case "revoked":
      return isNotNull(certificates.revokedAt);
    case "expired":
      return and(isNull(certificates.revokedAt), lte(certificates.expiresAt, now));
    case "valid":
      return and(isNull(certificates.revokedAt), or(isNull(certificates.expiresAt), gt(certificates.expiresAt, now)));
    default:
      return undefined;
  }
}

/**
 * Issued certificates, newest first. Index-backed: `(tenant_id, user_id, issued_at)` serves the learner filter,
 * `(tenant_id, course_id, issued_at)` the course filter, `(tenant_id, issued_at)` the rest.
 */
export async function listCertificates(
  ctx: TenantContext,
  query: ListParams & {
    q?: string;
    learner_id?: number;
    course_id?: number;
    template_id?: number;
    status?: CertificateStatus;
  },
  origin: string,
) {
  const where = and(
    eq(certificates.tenantId, ctx.tenantId),
    query.learner_id ? eq(certificates.userId, query.learner_id) : undefined,
    query.course_id ? eq(certificates.courseId, query.course_id) : undefined,
    query.template_id ? eq(certificates.templateId, query.template_id) : undefined,
    statusFilter(query.status, nowIso()),
    query.q ? or(contains(certificates.recipientName, query.q), contains(certificates.title, query.q)) : undefined,
  );
  const order = orderBy(query.sort, { issued_at: certificates.issuedAt }, certificates.id);
  return paginate(ctx.db, certificates, where, order, query, (row: CertificateRow) => toCertificate(row, origin));
}

export async function findCertificate(ctx: TenantContext, id: number) {
  const row = await ctx.db.query.certificates.findFirst({
    where: and(eq(certificates.tenantId, ctx.tenantId), eq(certificates.id, id)),
  });
  if (!row) throw ApiError.notFound(`Certificate ${id}`);
  return row;
}

/** A 404 of a referenced id becomes a 422 naming the field. */
async function referenced<T>(path: string, find: () => Promise<T>, message: string): Promise<T> {
  try {
    return await find();
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) throw ApiError.validation([{ path, message }]);
    throw err;
  }
}

/** Issues a certificate by hand (source `manual:<uuid>`): the learner's name, the course's name or the template's. */
export async function assignCertificate(
  ctx: TenantContext,
  input: { template_id: number; learner_id: number; course_id?: number | null; title?: string },
  origin: string,
) {
  const [template, learner, course] = await Promise.all([
    referenced(
      "template_id",
      () => findTemplate(ctx, input.template_id),
      `Certificate template ${input.template_id} is not a template of this academy.`,
    ),
    referenced(
      "learner_id",
      () => findUser(ctx, "learner", input.learner_id),
      `Learner ${input.learner_id} is not a learner of this academy.`,
    ),
    input.course_id
      ? referenced(
          "course_id",
          () => findCourse(ctx, input.course_id as number),
          `Course ${input.course_id} is not a course of this academy.`,
        )
      : Promise.resolve(undefined),
  ]);
  const sourceKey = `manual:${crypto.randomUUID()}`;
  await ctx.db.batch(
    certificateIssueStatements(ctx, {
      userId: learner.id,
      recipientName: learner.name,
      title: input.title ?? course?.name ?? template.name,
      courseId: course?.id ?? null,
      sourceKey,
      templateIds: [template.id],
      actor: "staff",
    }) as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]],
  );
  const row = await ctx.db.query.certificates.findFirst({
    where: and(eq(certificates.tenantId, ctx.tenantId), eq(certificates.sourceKey, sourceKey)),
  });
  // The template may have been deleted between the check and the insert: then nothing was issued.
  if (!row) throw ApiError.validation([{ path: "template_id", message: "The template was deleted meanwhile." }]);
  return toCertificate(row, origin);
}

/**
 * Revokes a certificate: verification answers `revoked` from now on. Revoking a revoked certificate changes
 * nothing and emits nothing (the event and activity only follow this batch's own revocation).
 */
export async function revokeCertificate(ctx: TenantContext, id: number, origin: string) {
  const row = await findCertificate(ctx, id);
  if (row.revokedAt) return toCertificate(row, origin);
  const now = nowIso();
  const [[updated]] = await ctx.db.batch([
    ctx.db
      .update(certificates)
      .set({ revokedAt: now })
      .where(and(eq(certificates.tenantId, ctx.tenantId), eq(certificates.id, id), isNull(certificates.revokedAt)))
      .returning(),
    ...(certificateEventStatements(
      ctx,
      "certificate.revoked",
      "staff",
      sql`c.id = ${id} AND c.revoked_at = ${now}`,
    ) as [BatchItem<"sqlite">, BatchItem<"sqlite">]),
  ]);
  return toCertificate(updated ?? (await findCertificate(ctx, id)), origin);
}

// ---- the learner's own ---------------------------------------------------------------------------------------

export async function listMyCertificates(ctx: TenantContext<LearnerPrincipal>, query: ListParams, origin: string) {
  const where = and(eq(certificates.tenantId, ctx.tenantId), eq(certificates.userId, ctx.principal.userId));
  const order = orderBy(query.sort, { issued_at: certificates.issuedAt }, certificates.id);
  return paginate(ctx.db, certificates, where, order, query, (row: CertificateRow) => toCertificate(row, origin));
}

export async function findMyCertificate(ctx: TenantContext<LearnerPrincipal>, id: number) {
  const row = await ctx.db.query.certificates.findFirst({
    where: and(
      eq(certificates.tenantId, ctx.tenantId),
      eq(certificates.id, id),
      eq(certificates.userId, ctx.principal.userId),
    ),
  });
  if (!row) throw ApiError.notFound(`Certificate ${id}`);
  return row;
}

// ---- public verification -------------------------------------------------------------------------------------

/** What anyone holding the code may see: never an email or an internal id of the learner. */
export async function verifyCertificate(ctx: TenantContext, code: string, academyName: string) {
  const row = await ctx.env.DB.prepare(
    `SELECT c.code, c.recipient_name, c.title, c.issued_at, c.expires_at, c.revoked_at,
            (SELECT name FROM courses WHERE tenant_id = c.tenant_id AND id = c.course_id) AS course_name,
            (SELECT name FROM learning_paths WHERE tenant_id = c.tenant_id AND id = c.path_id) AS path_name
     FROM certificates c WHERE c.code = ?1 AND c.tenant_id = ?2`,
  )
    .bind(normalizeCode(code), ctx.tenantId)
    .first<{
      code: string;
      recipient_name: string;
      title: string;
      issued_at: string;
      expires_at: string | null;
      revoked_at: string | null;
      course_name: string | null;
      path_name: string | null;
    }>();
  if (!row) throw ApiError.notFound("Certificate");
  const status = certificateStatus({ revokedAt: row.revoked_at, expiresAt: row.expires_at });
  return {
    valid: status === "valid",
    status,
    code: row.code,
    recipient_name: row.recipient_name,
    title: row.title,
    course_name: row.course_name,
    learning_path_name: row.path_name,
    issued_at: row.issued_at,
    expires_at: row.expires_at,
    revoked_at: row.revoked_at,
    academy_name: academyName,
  };
}

// ---- PDF -----------------------------------------------------------------------------------------------------

/** Whether `If-None-Match` (`*`, or a comma-separated list of strong or weak tags) names `etag`. */
function etagListed(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const bare = (tag: string) => tag.trim().replace(/^W\//, "");
  return ifNoneMatch.split(",").some((tag) => tag.trim() === "*" || bare(tag) === bare(etag));
}

export function pdfKey(tenantId: number, code: string) {
  return `t/${tenantId}/certificates/${code}.pdf`;
}

/** The background image of a template from the academy's media on R2 (`t/<tenant>/media/<id>/...`), if any. */
async function backgroundBytes(ctx: TenantContext, template: TemplateRow | undefined): Promise<Uint8Array | null> {
  if (!template?.backgroundMediaId) return null;
  const listed = await ctx.env.MEDIA.list({
    prefix: `t/${ctx.tenantId}/media/${template.backgroundMediaId}/`,
    limit: 1,
  });
  const object = listed.objects[0];
  if (!object || object.size > MAX_BACKGROUND_BYTES) return null;
  const body = await ctx.env.MEDIA.get(object.key);
  return body ? new Uint8Array(await body.arrayBuffer()) : null;
}

async function renderPdf(ctx: TenantContext, row: CertificateRow, origin: string): Promise<Uint8Array> {
  // pdf-lib is loaded on the first PDF only, so its module code stays out of every Worker start-up.
  const { DEFAULT_LAYOUT, printableDate, renderCertificatePdf } = await import("./pdf");
  const template = row.templateId
    ? await ctx.db.query.certificateTemplates.findFirst({
        where: and(eq(certificateTemplates.tenantId, ctx.tenantId), eq(certificateTemplates.id, row.templateId)),
      })
    : undefined;
  const layout = template ?? DEFAULT_LAYOUT;
  return renderCertificatePdf({
    width: layout.width,
    height: layout.height,
    fields: layout.fields,
    background: await backgroundBytes(ctx, template),
    title: row.title,
    issuedAt: row.issuedAt,
    values: {
      recipient_name: row.recipientName,
      course_name: row.title,
      issued_at: printableDate(row.issuedAt),
      expires_at: printableDate(row.expiresAt),
      code: row.code,
      verify_url: origin + verifyPath(row.code),
    },
  });
}

/**
 * The certificate's PDF from R2 MEDIA (`t/<tenant>/certificates/<code>.pdf`), rendered and stored on the first
 * request. A stored PDF is the certificate as issued: later template edits do not change it.
 * `ifNoneMatch` matching the stored ETag gives `notModified` and no body.
 */
export async function certificatePdf(
  ctx: TenantContext,
  row: CertificateRow,
  origin: string,
  ifNoneMatch: string | undefined,
): Promise<
  | { notModified: true; etag: string }
  | { notModified: false; etag: string; body: ReadableStream | Uint8Array; size: number }
> {
  const key = pdfKey(ctx.tenantId, row.code);
  const stored = await ctx.env.MEDIA.get(key);
  if (stored) {
    if (etagListed(ifNoneMatch, stored.httpEtag)) {
      await stored.body.cancel();
      return { notModified: true, etag: stored.httpEtag };
    }
    return { notModified: false, etag: stored.httpEtag, body: stored.body, size: stored.size };
  }
  const bytes = await renderPdf(ctx, row, origin);
  const put = await ctx.env.MEDIA.put(key, bytes, {
    httpMetadata: { contentType: "application/pdf" },
    customMetadata: { certificate_id: String(row.id), tenant_id: String(ctx.tenantId) },
  });
  if (row.pdfKey !== key) {
    await ctx.db
      .update(certificates)
      .set({ pdfKey: key })
      .where(and(eq(certificates.tenantId, ctx.tenantId), eq(certificates.id, row.id)));
  }
  return { notModified: false, etag: put.httpEtag, body: bytes, size: bytes.byteLength };
}
