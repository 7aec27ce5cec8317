import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { tenants } from "../tenants/tables";
import { users } from "../users/tables";

export interface CertificateField {
  key: string;
  x: number;
  y: number;
  size: number;
  color?: string;
  text?: string;
}

/** A certificate design: page size, background image, placed text fields, how long certificates last. */
export const certificateTemplates = sqliteTable(
  "certificate_templates",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    width: integer("width").notNull().default(842),
    height: integer("height").notNull().default(595),
    backgroundUrl: text("background_url"),
    backgroundMediaId: integer("background_media_id"),
    fields: text("fields", { mode: "json" }).$type<CertificateField[]>().notNull().default(sql`'[]'`),
    expiryMonths: integer("expiry_months"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    index("certificate_templates_tenant_created_idx").on(t.tenantId, t.createdAt),
    index("certificate_templates_tenant_name_idx").on(t.tenantId, t.name),
  ],
);

/**
 * An issued certificate, verifiable by its public `code`. One per (enrollment or path enrollment, template):
 * the unique key makes a second, concurrent completion issue nothing more.
 */
export const certificates = sqliteTable(
  "certificates",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    templateId: integer("template_id").references(() => certificateTemplates.id, { onDelete: "set null" }),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    courseId: integer("course_id"),
    pathId: integer("path_id"),
    /** `course:<enrollment id>`, `path:<path enrollment id>` or `manual:<uuid>`: one certificate per source and template. */
    sourceKey: text("source_key").notNull(),
    code: text("code").notNull(),
    recipientName: text("recipient_name").notNull(),
    title: text("title").notNull(),
    issuedAt: text("issued_at").notNull(),
    expiresAt: text("expires_at"),
    revokedAt: text("revoked_at"),
    pdfKey: text("pdf_key"),
  },
  (t) => [
    uniqueIndex("certificates_code_uq").on(t.code),
    uniqueIndex("certificates_tenant_source_template_uq").on(t.tenantId, t.sourceKey, t.templateId),
    index("certificates_tenant_user_issued_idx").on(t.tenantId, t.userId, t.issuedAt),
    index("certificates_tenant_issued_idx").on(t.tenantId, t.issuedAt),
    index("certificates_tenant_course_idx").on(t.tenantId, t.courseId, t.issuedAt),
    index("certificates_user_fk_idx").on(t.userId),
    index("certificates_template_fk_idx").on(t.templateId),
  ],
);
