import { z } from "@hono/zod-openapi";
import { listQuery, paginated, Timestamp } from "../../platform/openapi";
import { Name } from "../../platform/validation";

export const FIELD_KEYS = [
  "recipient_name",
  "course_name",
  "issued_at",
  "expires_at",
  "code",
  "verify_url",
  "text",
] as const;
export const CERTIFICATE_STATUSES = ["valid", "revoked", "expired"] as const;

const Id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const QueryId = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);

export const CertificateFieldSchema = z
  .strictObject({
    key: z.enum(FIELD_KEYS).openapi({
      description:
        "What the field prints: the learner's name, the course (or title), the issue or expiry date, the verification code or URL, or `text` (a fixed text)",
    }),
    x: z
      .number()
      .min(0)
      .max(5000)
      .openapi({ description: "Points from the page's left edge to the start of the text", example: 120 }),
    y: z.number().min(0).max(5000).openapi({
      description: "Points from the page's top edge down to the text's baseline (at least `size`)",
      example: 300,
    }),
    size: z.number().min(4).max(200).openapi({ description: "Font size in points", example: 28 }),
    color: z
      .string()
      .regex(/^#[0-9a-fA-F]{6}$/, "Use a hex color such as `#1f2937`.")
      .optional()
      .openapi({ description: "Text color (default black)", example: "#1f2937" }),
    text: z.string().min(1).max(500).optional().openapi({ description: "The text of a `text` field (required there)" }),
  })
  .superRefine((field, ctx) => {
    if (field.key === "text" && field.text === undefined) {
      ctx.addIssue({ code: "custom", path: ["text"], message: "A `text` field needs its text." });
    }
    if (field.key !== "text" && field.text !== undefined) {
      ctx.addIssue({ code: "custom", path: ["text"], message: "Only `text` fields take a text." });
    }
  })
  .openapi("CertificateField", {
    description: "One text placed on the certificate, drawn in Helvetica.",
  });

const HttpsUrl = z
  .string()
  .max(2048)
  .url()
  .refine((v) => /^https:\/\//i.test(v), "Use an https URL.")
  .openapi({ example: "https://cdn.example.com/certificate-background.png" });

const templateFields = {
  name: Name.openapi({ example: "Course completion" }),
  width: z.number().int().min(72).max(5000).openapi({ description: "Page width in points (842: A4 landscape)" }),
  height: z.number().int().min(72).max(5000).openapi({ description: "Page height in points (595: A4 landscape)" }),
  background_url: HttpsUrl.nullable().openapi({
    description:
      "Background image as an https URL (shown by clients; PDFs draw only backgrounds stored in this academy's media)",
  }),
  background_media_id: Id.nullable().openapi({
    description:
      "Background image from the academy's media library (PNG or JPEG), drawn full-page in the PDF; give this or `background_url`, not both",
  }),
  fields: z.array(CertificateFieldSchema).max(50).openapi({ description: "The texts placed on the page" }),
  expiry_months: z
    .number()
    .int()
    .min(1)
    .max(1200)
    .nullable()
    .openapi({ description: "Certificates expire this many months after issue; null: never" }),
};

export const CertificateTemplate = z
  .object({
    id: z.number().int(),
    name: z.string(),
    width: z.number().int(),
    height: z.number().int(),
    background_url: z.string().nullable(),
    background_media_id: z.number().int().nullable(),
    fields: z.array(
      z.object({
        key: z.enum(FIELD_KEYS),
        x: z.number(),
        y: z.number(),
        size: z.number(),
        color: z.string().optional(),
        text: z.string().optional(),
      }),
    ),
    expiry_months: z.number().int().nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("CertificateTemplate");

export const CertificateTemplateCreate = z
  .strictObject({
    name: templateFields.name,
    width: templateFields.width.default(842),
    height: templateFields.height.default(595),
    background_url: templateFields.background_url.default(null),
    background_media_id: templateFields.background_media_id.default(null),
    fields: templateFields.fields.default([]),
    expiry_months: templateFields.expiry_months.default(null),
  })
  .openapi("CertificateTemplateCreate");

export const CertificateTemplateUpdate = z
  .strictObject({
    name: templateFields.name.optional(),
    width: templateFields.width.optional(),
    height: templateFields.height.optional(),
    background_url: templateFields.background_url.optional(),
    background_media_id: templateFields.background_media_id.optional(),
    fields: templateFields.fields.optional(),
    expiry_months: templateFields.expiry_months.optional(),
  })
  .openapi("CertificateTemplateUpdate");

export const CertificateTemplateListQuery = listQuery(["name", "created_at"] as const, "-created_at");
export const CertificateTemplateList = paginated(CertificateTemplate, "CertificateTemplateList");

export const TemplateDeleteQuery = z.object({
  force: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true")
    .openapi({ description: "Delete even when courses award the template (removes it from them)" }),
});

export const Certificate = z
  .object({
    id: z.number().int(),
    code: z.string().openapi({ example: "7K2Q-9MXD-4HTB-P0RS-V3WN" }),
    status: z.enum(CERTIFICATE_STATUSES),
    template_id: z.number().int().nullable().openapi({ description: "Null once the template is deleted" }),
    learner_id: z.number().int(),
    course_id: z.number().int().nullable(),
    path_id: z.number().int().nullable(),
    recipient_name: z.string(),
    title: z.string(),
    source: z.enum(["course", "path", "manual"]).openapi({
      description: "What issued it: completing a course, completing a learning path, or an admin",
    }),
    issued_at: Timestamp,
    expires_at: Timestamp.nullable(),
    revoked_at: Timestamp.nullable(),
    verify_url: z.string().openapi({ description: "The public verification address" }),
  })
  .openapi("Certificate");

export const CertificateList = paginated(Certificate, "CertificateList");

export const CertificateListQuery = listQuery(["issued_at"] as const, "-issued_at").extend({
  learner_id: QueryId.optional().openapi({ description: "Only this learner's certificates" }),
  course_id: QueryId.optional().openapi({ description: "Only certificates of this course" }),
  template_id: QueryId.optional().openapi({ description: "Only certificates of this template" }),
  status: z.enum(CERTIFICATE_STATUSES).optional().openapi({ description: "Only valid, revoked or expired ones" }),
});

export const LearnerCertificateListQuery = listQuery(["issued_at"] as const, "-issued_at");

export const CertificateAssign = z
  .strictObject({
    template_id: Id,
    learner_id: Id,
    course_id: Id.nullable()
      .optional()
      .openapi({ description: "The course it is for (its name is the default title)" }),
    title: z.string().trim().min(1).max(300).optional().openapi({
      description: "What the certificate is for; defaults to the course's name, else the template's",
    }),
  })
  .openapi("CertificateAssign");

export const CodeParam = z.object({
  code: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "code", in: "path" }, example: "7K2Q-9MXD-4HTB-P0RS-V3WN" }),
});

export const CertificateVerification = z
  .object({
    valid: z.boolean().openapi({ description: "True only while neither revoked nor expired" }),
    status: z.enum(CERTIFICATE_STATUSES),
    code: z.string(),
    recipient_name: z.string(),
    title: z.string(),
    course_name: z.string().nullable(),
    learning_path_name: z.string().nullable(),
    issued_at: Timestamp,
    expires_at: Timestamp.nullable(),
    revoked_at: Timestamp.nullable(),
    academy_name: z.string(),
  })
  .openapi("CertificateVerification");

export const PdfHeaders = {
  ETag: { description: "The stored PDF's entity tag", schema: { type: "string" as const } },
  "Content-Disposition": { description: "`inline; filename=...`", schema: { type: "string" as const } },
};

export const IfNoneMatchHeader = z.object({
  "if-none-match": z
    .string()
    .max(8192)
    .optional()
    .openapi({
      param: { name: "if-none-match", in: "header" },
      description: "The ETag of an earlier download: 304 while it is unchanged",
    }),
});
