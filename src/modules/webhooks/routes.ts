import { createRoute } from "@hono/zod-openapi";
import { adminContext } from "../../platform/auth";
import { adminAccess, createRouter, errorResponses, IdParam, jsonBody, jsonResponse } from "../../platform/openapi";
import {
  ByUrlQuery,
  DeliveryList,
  DeliveryListQuery,
  Delivery as DeliverySchema,
  DeliveryWithAttempts,
  EventTypeList,
  EventTypeQuery,
  RedeliverFailed,
  RedeliverFailedResult,
  SecretRotated,
  TestEventResult,
  Webhook,
  WebhookCreate,
  WebhookCreated,
  WebhookList,
  WebhookListQuery,
  WebhookUpdate,
} from "./schemas";
import * as webhooks from "./service";

const tags = ["Webhooks"];
export const webhooksRouter = createRouter();

webhooksRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/event-types",
    operationId: "listEventTypes",
    tags: ["Events"],
    summary: "List event types",
    description:
      "Every domain event type a webhook endpoint can subscribe to, with its group and meaning (the payloads are the `webhooks` of this document).",
    ...adminAccess("webhooks:read"),
    request: { query: EventTypeQuery },
    responses: { 200: jsonResponse(EventTypeList, "The event types"), ...errorResponses(401, 403) },
  }),
  async (c) => {
    adminContext(c);
    return c.json(webhooks.listEventTypes(c.req.valid("query").q), 200);
  },
);

webhooksRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/webhooks",
    operationId: "createWebhook",
    tags,
    summary: "Create a webhook endpoint",
    description:
      "Subscribes a public https URL to event types (or `*`). The signing `secret` (`whsec_...`) is in this response only. Private-network, loopback and IP-address targets are refused (422 on `url`); unknown event types are a 422 naming `event_types.N`. An academy has at most 50 endpoints (409).",
    ...adminAccess("webhooks:write"),
    request: { body: jsonBody(WebhookCreate) },
    responses: {
      201: jsonResponse(WebhookCreated, "The new endpoint, with its secret"),
      ...errorResponses(401, 403, 409, 413, 415),
    },
  }),
  async (c) => {
    const created = await webhooks.createWebhook(adminContext(c), c.req.valid("json"));
    c.header("Location", `/v1/admin/webhooks/${created.id}`);
    return c.json(created, 201);
  },
);

webhooksRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/webhooks",
    operationId: "listWebhooks",
    tags,
    summary: "List webhook endpoints",
    description:
      "The academy's endpoints, without secrets; filter by `active` and by `event_type` (endpoints receiving it directly or through `*`), search URL and description with `q`.",
    ...adminAccess("webhooks:read"),
    request: { query: WebhookListQuery },
    responses: { 200: jsonResponse(WebhookList, "A page of endpoints"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await webhooks.listWebhooks(adminContext(c), c.req.valid("query")), 200),
);

// Before `/{id}`: the router takes the first matching route.
webhooksRouter.openapi(
  createRoute({
    method: "delete",
    path: "/v1/admin/webhooks/by-url",
    operationId: "deleteWebhooksByUrl",
    tags,
    summary: "Delete webhook endpoints by URL",
    description:
      "Deletes every endpoint of the academy whose URL is exactly `url` (404 when none is). Their pending deliveries are not sent.",
    ...adminAccess("webhooks:write"),
    request: { query: ByUrlQuery },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    await webhooks.deleteWebhooksByUrl(adminContext(c), c.req.valid("query").url);
    return c.body(null, 204);
  },
);

webhooksRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/webhooks/deliveries/{id}/attempts",
    operationId: "getWebhookDelivery",
    tags,
    summary: "Get a delivery and its attempts",
    description:
      "One delivery of an event to an endpoint, with every attempt: status, duration, response code, the first 2 KiB of the answer, or the error.",
    ...adminAccess("webhooks:read"),
    request: { params: IdParam },
    responses: {
      200: jsonResponse(DeliveryWithAttempts, "The delivery and its attempts"),
      ...errorResponses(401, 403, 404),
    },
  }),
  async (c) => c.json(await webhooks.getDelivery(adminContext(c), c.req.valid("param").id), 200),
);

webhooksRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/webhooks/deliveries/{id}/redeliver",
    operationId: "redeliverWebhook",
    tags,
    summary: "Redeliver one delivery",
    description:
      "Sends the delivery again now, whatever its status, with the same `webhook-id` (receivers dedupe on it), starting a new cycle of retries. 409 when its endpoint is inactive.",
    ...adminAccess("webhooks:write"),
    request: { params: IdParam },
    responses: {
      202: jsonResponse(DeliverySchema, "The delivery, pending again"),
      ...errorResponses(401, 403, 404, 409),
    },
  }),
  async (c) => c.json(await webhooks.redeliver(adminContext(c), c.req.valid("param").id), 202),
);

webhooksRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/webhooks/{id}",
    operationId: "getWebhook",
    tags,
    summary: "Get a webhook endpoint",
    description: "One endpoint (never its secret), with its failure streak and why it was disabled, if it was.",
    ...adminAccess("webhooks:read"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(Webhook, "The endpoint"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const ctx = adminContext(c);
    return c.json(webhooks.toWebhook(await webhooks.findWebhook(ctx, c.req.valid("param").id)), 200);
  },
);

webhooksRouter.openapi(
  createRoute({
    method: "patch",
    path: "/v1/admin/webhooks/{id}",
    operationId: "updateWebhook",
    tags,
    summary: "Update a webhook endpoint",
    description:
      "Changes the URL, description, event types, rate limit or `active`. Re-enabling an endpoint clears its failure streak and does not replay what it missed: use redeliver-failed for that.",
    ...adminAccess("webhooks:write"),
    request: { params: IdParam, body: jsonBody(WebhookUpdate) },
    responses: { 200: jsonResponse(Webhook, "The endpoint"), ...errorResponses(401, 403, 404, 413, 415) },
  }),
  async (c) => c.json(await webhooks.updateWebhook(adminContext(c), c.req.valid("param").id, c.req.valid("json")), 200),
);

webhooksRouter.openapi(
  createRoute({
    method: "delete",
    path: "/v1/admin/webhooks/{id}",
    operationId: "deleteWebhook",
    tags,
    summary: "Delete a webhook endpoint",
    description: "The endpoint and its delivery log go; nothing more is sent to it, not even pending retries.",
    ...adminAccess("webhooks:write"),
    request: { params: IdParam },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    await webhooks.deleteWebhook(adminContext(c), c.req.valid("param").id);
    return c.body(null, 204);
  },
);

webhooksRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/webhooks/{id}/rotate-secret",
    operationId: "rotateWebhookSecret",
    tags,
    summary: "Rotate an endpoint's signing secret",
    description:
      "A new secret, in this response only. For 24 hours every delivery carries two signatures in `webhook-signature` (new and old secret), so receivers can switch without losing messages.",
    ...adminAccess("webhooks:write"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(SecretRotated, "The new secret"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await webhooks.rotateSecret(adminContext(c), c.req.valid("param").id), 200),
);

webhooksRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/webhooks/{id}/test",
    operationId: "testWebhook",
    tags,
    summary: "Send a test event",
    description:
      "Queues a `webhook.test` event to this endpoint only, signed like every delivery; follow it with `GET /v1/admin/webhooks/deliveries/{id}/attempts`. 409 when the endpoint is inactive.",
    ...adminAccess("webhooks:write"),
    request: { params: IdParam },
    responses: {
      202: jsonResponse(TestEventResult, "The queued test delivery"),
      ...errorResponses(401, 403, 404, 409),
    },
  }),
  async (c) => c.json(await webhooks.sendTestEvent(adminContext(c), c.req.valid("param").id), 202),
);

webhooksRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/webhooks/{id}/deliveries",
    operationId: "listWebhookDeliveries",
    tags,
    summary: "List an endpoint's deliveries",
    description:
      "The delivery log, newest first, keyset-paginated: pass `meta.next_cursor` as `cursor` for the next page. Filter by `status` and `event_type`.",
    ...adminAccess("webhooks:read"),
    request: { params: IdParam, query: DeliveryListQuery },
    responses: { 200: jsonResponse(DeliveryList, "A page of deliveries"), ...errorResponses(401, 403, 404) },
  }),
  async (c) =>
    c.json(await webhooks.listDeliveries(adminContext(c), c.req.valid("param").id, c.req.valid("query")), 200),
);

webhooksRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/webhooks/{id}/redeliver-failed",
    operationId: "redeliverFailedWebhooks",
    tags,
    summary: "Redeliver failed deliveries",
    description:
      "Queues again the endpoint's failed deliveries of events since `since` (every failed one kept, without it), oldest first, at most 1,000 per call (`has_more`). Also replays what an inactive endpoint missed. 409 when the endpoint is inactive.",
    ...adminAccess("webhooks:write"),
    request: { params: IdParam, body: jsonBody(RedeliverFailed) },
    responses: {
      202: jsonResponse(RedeliverFailedResult, "How many were queued"),
      ...errorResponses(401, 403, 404, 409, 413, 415),
    },
  }),
  async (c) =>
    c.json(await webhooks.redeliverFailed(adminContext(c), c.req.valid("param").id, c.req.valid("json").since), 202),
);
