import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { adminContext, learnerContext, tenantContextFor } from "../../platform/auth";
import type { AppEnv } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import {
  adminAccess,
  createRouter,
  errorResponses,
  IdParam,
  jsonBody,
  jsonResponse,
  LookupQuery,
  LookupResponse,
  SECURITY,
} from "../../platform/openapi";
import { TenantHeader } from "../auth/schemas";
import { resolveTenant } from "../tenants/service";
import {
  Certificate,
  CertificateAssign,
  CertificateList,
  CertificateListQuery,
  CertificateTemplate,
  CertificateTemplateCreate,
  CertificateTemplateList,
  CertificateTemplateListQuery,
  CertificateTemplateUpdate,
  CertificateVerification,
  CodeParam,
  IfNoneMatchHeader,
  LearnerCertificateListQuery,
  PdfHeaders,
  TemplateDeleteQuery,
} from "./schemas";
import * as service from "./service";

const tags = ["Certificates"];
export const certificatesRouter = createRouter();

const originOf = (c: Context<AppEnv>) => new URL(c.req.url).origin;

const pdfResponses = {
  200: {
    description: "The certificate as a PDF",
    headers: PdfHeaders,
    content: { "application/pdf": { schema: z.string().openapi({ format: "binary" }) } },
  },
  304: {
    description: "Not modified: the ETag in `If-None-Match` is still current",
    headers: { ETag: PdfHeaders.ETag },
  },
};

/** Streams the stored (or just rendered) PDF, with its ETag; a 304 while the client's copy is current. */
async function sendPdf(
  c: Context<AppEnv>,
  ctx: Parameters<typeof service.certificatePdf>[0],
  row: Parameters<typeof service.certificatePdf>[1],
) {
  const pdf = await service.certificatePdf(ctx, row, originOf(c), c.req.header("if-none-match"));
  const headers: Record<string, string> = {
    ETag: pdf.etag,
    "Cache-Control": "private, no-cache",
  };
  if (pdf.notModified) return new Response(null, { status: 304, headers }) as never;
  return new Response(pdf.body, {
    status: 200,
    headers: {
      ...headers,
      "Content-Type": "application/pdf",
      "Content-Length": String(pdf.size),
      "Content-Disposition": `inline; filename="certificate-${row.code}.pdf"`,
    },
  }) as never;
}

// ---- templates -----------------------------------------------------------------------------------------------

certificatesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/certificate-templates",
    operationId: "listCertificateTemplates",
    tags,
    summary: "List certificate templates",
    description:
      "The academy's certificate designs; search by name, sort by name or created_at (newest first by default).",
    ...adminAccess("certificates:read"),
    request: { query: CertificateTemplateListQuery },
    responses: { 200: jsonResponse(CertificateTemplateList, "A page of templates"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await service.listTemplates(adminContext(c), c.req.valid("query")), 200),
);

certificatesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/certificate-templates/lookup",
    operationId: "lookupCertificateTemplates",
    tags,
    summary: "Certificate template picker",
    description:
      "`[{value, label}]` pairs for a template picker (for example a course's `certificate_template_ids`), by name.",
    ...adminAccess("certificates:read"),
    request: { query: LookupQuery },
    responses: { 200: jsonResponse(LookupResponse, "Matching templates"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await service.lookupTemplates(adminContext(c), c.req.valid("query")), 200),
);

certificatesRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/certificate-templates",
    operationId: "createCertificateTemplate",
    tags,
    summary: "Create a certificate template",
    description:
      "A page size in points (default A4 landscape, 842 x 595), a background, the texts to place (`fields`: what, where, how big) and how many months certificates stay valid. " +
      "Every field must lie inside the page (`x` < width, `size` <= `y` <= height; 422 naming `fields.N.x` or `fields.N.y`).",
    ...adminAccess("certificates:write"),
    request: { body: jsonBody(CertificateTemplateCreate) },
    responses: {
      201: jsonResponse(CertificateTemplate, "The new template"),
      ...errorResponses(401, 403, 413, 415),
    },
  }),
  async (c) => {
    const template = await service.createTemplate(adminContext(c), c.req.valid("json"));
    c.header("Location", `/v1/admin/certificate-templates/${template.id}`);
    return c.json(template, 201);
  },
);

certificatesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/certificate-templates/{id}",
    operationId: "getCertificateTemplate",
    tags,
    summary: "Get a certificate template",
    description: "One certificate template.",
    ...adminAccess("certificates:read"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(CertificateTemplate, "The template"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(service.toTemplate(await service.findTemplate(adminContext(c), c.req.valid("param").id)), 200),
);

certificatesRouter.openapi(
  createRoute({
    method: "patch",
    path: "/v1/admin/certificate-templates/{id}",
    operationId: "updateCertificateTemplate",
    tags,
    summary: "Update a certificate template",
    description:
      "Changes any of the template's settings; the fields are checked against the resulting page size. " +
      "Certificates whose PDF was already produced keep it; the others render with the new design.",
    ...adminAccess("certificates:write"),
    request: { params: IdParam, body: jsonBody(CertificateTemplateUpdate) },
    responses: {
      200: jsonResponse(CertificateTemplate, "The updated template"),
      ...errorResponses(401, 403, 404, 413, 415),
    },
  }),
  async (c) => c.json(await service.updateTemplate(adminContext(c), c.req.valid("param").id, c.req.valid("json")), 200),
);

certificatesRouter.openapi(
  createRoute({
    method: "delete",
    path: "/v1/admin/certificate-templates/{id}",
    operationId: "deleteCertificateTemplate",
    tags,
    summary: "Delete a certificate template",
    description:
      "Deletes the template. While courses award it (their `certificate_template_ids`) this is a 409 whose `used_by` names them; " +
      "`?force=true` removes it from those courses and deletes it. Certificates already issued stay valid.",
    ...adminAccess("certificates:write"),
    request: { params: IdParam, query: TemplateDeleteQuery },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404, 409) },
  }),
  async (c) => {
    await service.deleteTemplate(adminContext(c), c.req.valid("param").id, c.req.valid("query").force);
    return c.body(null, 204);
  },
);

// ---- issued certificates (admin) -----------------------------------------------------------------------------

certificatesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/certificates",
    operationId: "listCertificates",
    tags,
    summary: "List issued certificates",
    description:
      "Certificates issued in the academy, newest first; filter by learner, course, template and status (`valid`, `revoked`, `expired`), search recipient names and titles with `q`.",
    ...adminAccess("certificates:read"),
    request: { query: CertificateListQuery },
    responses: { 200: jsonResponse(CertificateList, "A page of certificates"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await service.listCertificates(adminContext(c), c.req.valid("query"), originOf(c)), 200),
);

certificatesRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/certificates",
    operationId: "assignCertificate",
    tags,
    summary: "Issue a certificate by hand",
    description:
      "Issues a certificate of a template to a learner, optionally for a course; the title defaults to the course's name, else the template's. " +
      "Unknown template, learner or course ids are a 422 naming the field. Emits `certificate.issued`.",
    ...adminAccess("certificates:write"),
    request: { body: jsonBody(CertificateAssign) },
    responses: { 201: jsonResponse(Certificate, "The issued certificate"), ...errorResponses(401, 403, 413, 415) },
  }),
  async (c) => {
    const certificate = await service.assignCertificate(adminContext(c), c.req.valid("json"), originOf(c));
    c.header("Location", `/v1/admin/certificates/${certificate.id}`);
    return c.json(certificate, 201);
  },
);

certificatesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/certificates/{id}",
    operationId: "getCertificate",
    tags,
    summary: "Get an issued certificate",
    description: "One issued certificate with its status and verification URL.",
    ...adminAccess("certificates:read"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(Certificate, "The certificate"), ...errorResponses(401, 403, 404) },
  }),
  async (c) =>
    c.json(
      service.toCertificate(await service.findCertificate(adminContext(c), c.req.valid("param").id), originOf(c)),
      200,
    ),
);

certificatesRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/certificates/{id}/revoke",
    operationId: "revokeCertificate",
    tags,
    summary: "Revoke a certificate",
    description:
      "From now on verification answers `revoked`. Emits `certificate.revoked`; revoking a revoked certificate changes nothing.",
    ...adminAccess("certificates:write"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(Certificate, "The revoked certificate"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await service.revokeCertificate(adminContext(c), c.req.valid("param").id, originOf(c)), 200),
);

certificatesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/certificates/{id}/pdf",
    operationId: "getCertificatePdf",
    tags,
    summary: "Download a certificate's PDF",
    description:
      "The certificate as a PDF, produced with its template on the first request and stored in the academy's files; later requests serve the stored file (ETag, `If-None-Match`).",
    ...adminAccess("certificates:read"),
    request: { params: IdParam, headers: IfNoneMatchHeader },
    responses: { ...pdfResponses, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const ctx = adminContext(c);
    return sendPdf(c, ctx, await service.findCertificate(ctx, c.req.valid("param").id));
  },
);

// ---- the signed-in learner -----------------------------------------------------------------------------------

certificatesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/learner/certificates",
    operationId: "listMyCertificates",
    tags,
    summary: "My certificates",
    description: "The signed-in learner's certificates, newest first, with status and verification URL.",
    security: SECURITY.learner,
    request: { query: LearnerCertificateListQuery },
    responses: {
      200: jsonResponse(CertificateList, "A page of the learner's certificates"),
      ...errorResponses(401, 403),
    },
  }),
  async (c) => c.json(await service.listMyCertificates(learnerContext(c), c.req.valid("query"), originOf(c)), 200),
);

certificatesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/learner/certificates/{id}/pdf",
    operationId: "getMyCertificatePdf",
    tags,
    summary: "Download my certificate's PDF",
    description:
      "One of the signed-in learner's certificates as a PDF (another learner's certificate is a 404). A revoked certificate is a 409.",
    security: SECURITY.learner,
    request: { params: IdParam, headers: IfNoneMatchHeader },
    responses: { ...pdfResponses, ...errorResponses(401, 403, 404, 409) },
  }),
  async (c) => {
    const ctx = learnerContext(c);
    const row = await service.findMyCertificate(ctx, c.req.valid("param").id);
    if (row.revokedAt) throw ApiError.conflict("This certificate was revoked; it can no longer be downloaded.");
    return sendPdf(c, ctx, row);
  },
);

// ---- public verification -------------------------------------------------------------------------------------

certificatesRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/public/certificates/{code}",
    operationId: "verifyCertificate",
    security: [],
    tags,
    summary: "Verify a certificate",
    description:
      "Anyone holding a certificate's code can check it: who received it, for what, when, until when, and whether it is still valid (`status`: valid, revoked or expired). " +
      "No credential: the academy comes from `X-Tenant` or the custom domain. Unknown codes, and codes of other academies, answer 404. Never shows an email.",
    request: { params: CodeParam, headers: TenantHeader },
    responses: {
      200: jsonResponse(CertificateVerification, "The certificate's public facts"),
      ...errorResponses(403, 404),
    },
  }),
  async (c) => {
    const tenant = await resolveTenant(c);
    const ctx = tenantContextFor(c, tenant.id);
    return c.json(await service.verifyCertificate(ctx, c.req.valid("param").code, tenant.name), 200);
  },
);
