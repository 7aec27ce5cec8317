import { createRoute } from "@hono/zod-openapi";
import { adminContext } from "../../platform/auth";
import { adminAccess, createRouter, errorResponses, IdParam, jsonBody, jsonResponse } from "../../platform/openapi";
import {
  LrsCredential,
  LrsCredentialCreate,
  LrsCredentialCreated,
  LrsCredentialList,
  LrsCredentialListQuery,
} from "./credentials.schemas";
import * as credentials from "./credentials.service";

const tags = ["LRS credentials"];
export const lrsCredentialsRouter = createRouter();

lrsCredentialsRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/lrs-credentials",
    operationId: "createLrsCredential",
    tags,
    summary: "Create an LRS credential",
    description:
      "HTTP Basic credentials for the xAPI LRS at `/xapi/` (username `key`, password `secret`). The `secret` is in this response only; Lectern stores its SHA-256. Statements sent with it get an `authority` naming this credential.",
    ...adminAccess("api_keys:write"),
    request: { body: jsonBody(LrsCredentialCreate) },
    responses: {
      201: jsonResponse(LrsCredentialCreated, "The new credential, with its secret"),
      ...errorResponses(401, 403, 413, 415),
    },
  }),
  async (c) => {
    const created = await credentials.createLrsCredential(adminContext(c), c.req.valid("json"));
    c.header("Location", `/v1/admin/lrs-credentials/${created.id}`);
    return c.json(created, 201);
  },
);

lrsCredentialsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/lrs-credentials",
    operationId: "listLrsCredentials",
    tags,
    summary: "List LRS credentials",
    description: "The academy's LRS credentials, without secrets; filter by status, search by name or key.",
    ...adminAccess("api_keys:read"),
    request: { query: LrsCredentialListQuery },
    responses: { 200: jsonResponse(LrsCredentialList, "A page of LRS credentials"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await credentials.listLrsCredentials(adminContext(c), c.req.valid("query")), 200),
);

lrsCredentialsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/lrs-credentials/{id}",
    operationId: "getLrsCredential",
    tags,
    summary: "Get an LRS credential",
    description: "One credential's metadata: key, scopes, status and when it was last used.",
    ...adminAccess("api_keys:read"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(LrsCredential, "The LRS credential"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const ctx = adminContext(c);
    return c.json(credentials.toLrsCredential(await credentials.findLrsCredential(ctx, c.req.valid("param").id)), 200);
  },
);

lrsCredentialsRouter.openapi(
  createRoute({
    method: "delete",
    path: "/v1/admin/lrs-credentials/{id}",
    operationId: "revokeLrsCredential",
    tags,
    summary: "Revoke an LRS credential",
    description:
      "The credential stops working at once (401 on `/xapi/`). It stays listed as revoked. Repeating is harmless.",
    ...adminAccess("api_keys:write"),
    request: { params: IdParam },
    responses: { 204: { description: "Revoked" }, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    await credentials.revokeLrsCredential(adminContext(c), c.req.valid("param").id);
    return c.body(null, 204);
  },
);
