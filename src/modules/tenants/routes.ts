import { createRoute } from "@hono/zod-openapi";
import { createRouter, errorResponses, IdParam, jsonBody, jsonResponse, SECURITY } from "../../platform/openapi";
import { ApiKeyCreated } from "../api-keys/schemas";
import {
  OwnerKeyCreate,
  Tenant,
  TenantCreate,
  TenantCreated,
  TenantList,
  TenantListQuery,
  TenantUpdate,
} from "./schemas";
import * as tenants from "./service";

const tags = ["Platform: tenants"];
const security = SECURITY.platform;

/** `/v1/platform/*`: the operator of the deployment; platformAuth guards the whole prefix in app.ts. */
export const tenantsRouter = createRouter();

tenantsRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/platform/tenants",
    operationId: "createTenant",
    tags,
    summary: "Create an academy (tenant)",
    description:
      "Creates the tenant with the built-in roles, an optional Owner staff user, and a first owner API key whose secret is in this response only.",
    security,
    request: { body: jsonBody(TenantCreate) },
    responses: {
      201: jsonResponse(TenantCreated, "The tenant and its owner API key"),
      ...errorResponses(401, 409, 413, 415),
    },
  }),
  async (c) => {
    const created = await tenants.createTenant(c.get("db"), c.req.valid("json"));
    c.header("Location", `/v1/platform/tenants/${created.id}`);
    return c.json(created, 201);
  },
);

tenantsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/platform/tenants",
    operationId: "listTenants",
    tags,
    summary: "List academies",
    description: "Every tenant of the deployment; filter by status or exact slug, search by name.",
    security,
    request: { query: TenantListQuery },
    responses: { 200: jsonResponse(TenantList, "A page of tenants"), ...errorResponses(401) },
  }),
  async (c) => c.json(await tenants.listTenants(c.get("db"), c.req.valid("query")), 200),
);

tenantsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/platform/tenants/{id}",
    operationId: "getTenant",
    tags,
    summary: "Get an academy",
    description: "One tenant with its custom domains and settings.",
    security,
    request: { params: IdParam },
    responses: { 200: jsonResponse(Tenant, "The tenant"), ...errorResponses(401, 404) },
  }),
  async (c) => c.json(await tenants.getTenant(c.get("db"), c.req.valid("param").id), 200),
);

tenantsRouter.openapi(
  createRoute({
    method: "patch",
    path: "/v1/platform/tenants/{id}",
    operationId: "updateTenant",
    tags,
    summary: "Update an academy",
    description:
      "Change name, slug, domains, locale, timezone or settings. `status: suspended` makes every credential of the tenant answer 403 until it is `active` again. `custom_domains` replaces the list.",
    security,
    request: { params: IdParam, body: jsonBody(TenantUpdate) },
    responses: { 200: jsonResponse(Tenant, "The updated tenant"), ...errorResponses(401, 404, 409, 413, 415) },
  }),
  async (c) => c.json(await tenants.updateTenant(c.get("db"), c.req.valid("param").id, c.req.valid("json")), 200),
);

tenantsRouter.openapi(
  createRoute({
    method: "delete",
    path: "/v1/platform/tenants/{id}",
    operationId: "deleteTenant",
    tags,
    summary: "Delete an academy",
    description: "Deletes the tenant and everything it owns. This cannot be undone; suspend instead to pause it.",
    security,
    request: { params: IdParam },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 404) },
  }),
  async (c) => {
    await tenants.deleteTenant(c.get("db"), c.req.valid("param").id);
    return c.body(null, 204);
  },
);

tenantsRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/platform/tenants/{id}/api-keys",
    operationId: "issueTenantOwnerKey",
    tags,
    summary: "Issue an owner API key for an academy",
    description: "For recovery or hand-over: a new API key with every permission; its secret is in this response only.",
    security,
    request: { params: IdParam, body: jsonBody(OwnerKeyCreate) },
    responses: { 201: jsonResponse(ApiKeyCreated, "The new key"), ...errorResponses(401, 404, 413, 415) },
  }),
  async (c) => {
    const created = await tenants.issueOwnerKey(c.get("db"), c.req.valid("param").id, c.req.valid("json").name);
    return c.json(created, 201);
  },
);
