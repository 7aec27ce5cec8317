import { createRoute } from "@hono/zod-openapi";
import { adminContext } from "../../platform/auth";
import { adminAccess, createRouter, errorResponses, IdParam, jsonBody, jsonResponse } from "../../platform/openapi";
import { ApiKey, ApiKeyCreate, ApiKeyCreated, ApiKeyList, ApiKeyListQuery } from "./schemas";
import * as keys from "./service";

const tags = ["API keys"];
export const apiKeysRouter = createRouter();

apiKeysRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/api-keys",
    operationId: "createApiKey",
    tags,
    summary: "Create an API key",
    description:
      "The secret `key` is in this response only; Lectern stores its SHA-256 hash and the visible prefix. Scopes cannot exceed the creating credential's permissions (403).",
    ...adminAccess("api_keys:write"),
    request: { body: jsonBody(ApiKeyCreate) },
    responses: {
      201: jsonResponse(ApiKeyCreated, "The new key, with its secret"),
      ...errorResponses(401, 403, 413, 415),
    },
  }),
  async (c) => {
    const created = await keys.createApiKey(adminContext(c), c.req.valid("json"));
    c.header("Location", `/v1/admin/api-keys/${created.id}`);
    return c.json(created, 201);
  },
);

apiKeysRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/api-keys",
    operationId: "listApiKeys",
    tags,
    summary: "List API keys",
    description: "Keys of the academy, without secrets; filter by status, search by name or prefix.",
    ...adminAccess("api_keys:read"),
    request: { query: ApiKeyListQuery },
    responses: { 200: jsonResponse(ApiKeyList, "A page of API keys"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await keys.listApiKeys(adminContext(c), c.req.valid("query")), 200),
);

apiKeysRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/api-keys/{id}",
    operationId: "getApiKey",
    tags,
    summary: "Get an API key",
    description: "One key's metadata: scopes, status, expiry and when it was last used.",
    ...adminAccess("api_keys:read"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(ApiKey, "The API key"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const ctx = adminContext(c);
    return c.json(keys.toApiKey(await keys.findApiKey(ctx, c.req.valid("param").id)), 200);
  },
);

apiKeysRouter.openapi(
  createRoute({
    method: "delete",
    path: "/v1/admin/api-keys/{id}",
    operationId: "revokeApiKey",
    tags,
    summary: "Revoke an API key",
    description: "The key stops working at once (401 afterwards). It stays listed as revoked. Repeating is harmless.",
    ...adminAccess("api_keys:write"),
    request: { params: IdParam },
    responses: { 204: { description: "Revoked" }, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    await keys.revokeApiKey(adminContext(c), c.req.valid("param").id);
    return c.body(null, 204);
  },
);
