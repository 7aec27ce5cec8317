import { createRoute } from "@hono/zod-openapi";
import { adminContext, clientIp } from "../../platform/auth";
import { ApiError } from "../../platform/errors";
import { adminAccess, createRouter, errorResponses, IdParam, jsonBody, jsonResponse } from "../../platform/openapi";
import {
  ApiClient,
  ApiClientCreate,
  ApiClientList,
  ApiClientListQuery,
  ApiClientWithSecret,
  TokenRequest,
  TokenResponse,
} from "./schemas";
import * as clients from "./service";

const tags = ["API clients (OAuth)"];
export const apiClientsRouter = createRouter();

apiClientsRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/api-clients",
    operationId: "createApiClient",
    tags,
    summary: "Create an OAuth API client",
    description:
      "A client-credentials application. `client_secret` is in this response only. Exchange the pair at `POST /v1/oauth/token` for an access token.",
    ...adminAccess("api_clients:write"),
    request: { body: jsonBody(ApiClientCreate) },
    responses: {
      201: jsonResponse(ApiClientWithSecret, "The new client, with its secret"),
      ...errorResponses(401, 403, 413, 415),
    },
  }),
  async (c) => {
    const created = await clients.createApiClient(adminContext(c), c.req.valid("json"));
    c.header("Location", `/v1/admin/api-clients/${created.id}`);
    return c.json(created, 201);
  },
);

apiClientsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/api-clients",
    operationId: "listApiClients",
    tags,
    summary: "List OAuth API clients",
    description: "Clients of the academy, without secrets.",
    ...adminAccess("api_clients:read"),
    request: { query: ApiClientListQuery },
    responses: { 200: jsonResponse(ApiClientList, "A page of API clients"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await clients.listApiClients(adminContext(c), c.req.valid("query")), 200),
);

apiClientsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/api-clients/{id}",
    operationId: "getApiClient",
    tags,
    summary: "Get an OAuth API client",
    description: "One client's metadata.",
    ...adminAccess("api_clients:read"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(ApiClient, "The API client"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const ctx = adminContext(c);
    return c.json(clients.toApiClient(await clients.findApiClient(ctx, c.req.valid("param").id)), 200);
  },
);

apiClientsRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/api-clients/{id}/rotate-secret",
    operationId: "rotateApiClientSecret",
    tags,
    summary: "Rotate an API client's secret",
    description: "Issues a new secret (shown once); the old one stops working for new token requests at once.",
    ...adminAccess("api_clients:write"),
    request: { params: IdParam },
    responses: {
      200: jsonResponse(ApiClientWithSecret, "The client, with its new secret"),
      ...errorResponses(401, 403, 404, 409),
    },
  }),
  async (c) => {
    const ctx = adminContext(c);
    return c.json(await clients.rotateApiClientSecret(ctx, c.req.valid("param").id), 200);
  },
);

apiClientsRouter.openapi(
  createRoute({
    method: "delete",
    path: "/v1/admin/api-clients/{id}",
    operationId: "revokeApiClient",
    tags,
    summary: "Revoke an OAuth API client",
    description: "The client can no longer get tokens, and its tokens already issued stop working at once.",
    ...adminAccess("api_clients:write"),
    request: { params: IdParam },
    responses: { 204: { description: "Revoked" }, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    await clients.revokeApiClient(adminContext(c), c.req.valid("param").id);
    return c.body(null, 204);
  },
);

function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  const match = header && /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return undefined;
  try {
    const decoded = atob(match[1]);
    const colon = decoded.indexOf(":");
    if (colon < 0) return undefined;
    return {
      id: decodeURIComponent(decoded.slice(0, colon)),
      secret: decodeURIComponent(decoded.slice(colon + 1)),
    };
  } catch {
    return undefined;
  }
}

export const oauthRouter = createRouter();

oauthRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/oauth/token",
    operationId: "createOAuthToken",
    tags: ["Authentication"],
    summary: "Get an access token (client credentials)",
    description:
      "OAuth 2.0 client credentials grant (RFC 6749 section 4.4). Send `client_id` and `client_secret` as JSON, form fields or HTTP Basic. The answer is MSAAQ's envelope `{status, code, data:{token_type, expires_in, access_token}}`, with the same fields also at top level for standard OAuth clients. Use the token as `Authorization: Bearer <access_token>` on `/v1/admin/*`.",
    security: [],
    request: {
      body: {
        required: false,
        content: {
          "application/json": { schema: TokenRequest },
          "application/x-www-form-urlencoded": { schema: TokenRequest },
        },
      },
    },
    responses: { 200: jsonResponse(TokenResponse, "An access token"), ...errorResponses(401, 403, 413, 415, 429) },
  }),
  async (c) => {
    const json = c.req.valid("json") as Partial<typeof TokenRequest._output>;
    const form = c.req.valid("form") as Partial<typeof TokenRequest._output>;
    const body = { ...form, ...json };
    const basic = basicCredentials(c.req.header("authorization"));
    const clientId = basic?.id ?? body.client_id;
    const clientSecret = basic?.secret ?? body.client_secret;
    if (!clientId || !clientSecret) {
      throw ApiError.validation(
        [
          ...(clientId ? [] : [{ path: "client_id", message: "Required." }]),
          ...(clientSecret ? [] : [{ path: "client_secret", message: "Required." }]),
        ],
        "Send client_id and client_secret in the body or as HTTP Basic credentials.",
      );
    }
    const { token, scope } = await clients.issueClientToken(c.get("db"), c.env, {
      clientId,
      clientSecret,
      scope: body.scope,
      ip: clientIp(c),
    });
    const data = {
      token_type: "Bearer" as const,
      expires_in: clients.CLIENT_TOKEN_TTL,
      access_token: token,
      scope,
    };
    c.header("Cache-Control", "no-store");
    return c.json({ status: "success" as const, code: "200" as const, data, ...data }, 200);
  },
);
