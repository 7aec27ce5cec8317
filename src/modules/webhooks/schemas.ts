import { z } from "@hono/zod-openapi";
import { listQuery, paginated, Timestamp } from "../../platform/openapi";
import { IsoDateTime } from "../../platform/validation";
import { ALL_EVENTS, DIRECTED_TYPES, isEventType } from "./catalog";
import { DELIVERY_STATUSES } from "./tables";
import { MAX_URL_LENGTH } from "./url-guard";

/** An event type of the catalog (`GET /v1/admin/event-types`) or `*`; anything else is a 422 naming it. */
const EventTypeName = z
  .string()
  .max(100)
  .superRefine((type, ctx) => {
    if (type === ALL_EVENTS || (isEventType(type) && !DIRECTED_TYPES.has(type))) return;
    ctx.addIssue({
      code: "custom",
      message: DIRECTED_TYPES.has(type)
        ? `\`${type}\` is sent by POST /v1/admin/webhooks/{id}/test only.`
        : `Unknown event type \`${type}\`; see GET /v1/admin/event-types.`,
    });
  })
  .openapi({ example: "enrollment.created", pattern: "^(\\*|[a-z][a-z_]*\\.[a-z][a-z_]*)$" });

const WebhookUrl = z.string().min(1).max(MAX_URL_LENGTH).openapi({
  format: "uri",
  example: "https://hooks.example.com/lectern",
  description:
    "A public https URL: IP addresses, private-use names, credentials in the URL and unusual ports are refused (422).",
});

const EventTypes = z
  .array(EventTypeName)
  .min(1)
  .max(100)
  .openapi({
    description:
      'The event types to receive (`GET /v1/admin/event-types`), or `["*"]` for all. Unknown types are a 422 naming `event_types.N`.',
    example: ["enrollment.created", "course.published"],
  });

const RateLimit = z.number().int().min(1).max(1000).openapi({
  description:
    "At most this many delivery attempts per second to this endpoint; the rest wait on the queue (null: no limit).",
  example: 10,
});

const Description = z.string().trim().max(500).openapi({ example: "CRM sync" });

export const Webhook = z
  .object({
    id: z.number().int(),
    url: z.string().openapi({ example: "https://hooks.example.com/lectern" }),
    description: z.string().nullable(),
    event_types: z.array(z.string()).openapi({ example: ["enrollment.created"] }),
    active: z.boolean().openapi({ description: "Inactive endpoints receive nothing (their deliveries fail)" }),
    rate_limit_per_second: z.number().int().nullable(),
    disabled_reason: z
      .enum(["failing"])
      .nullable()
      .openapi({ description: "`failing`: Lectern disabled the endpoint after 5 days of failed deliveries" }),
    disabled_at: Timestamp.nullable(),
    failing_since: Timestamp.nullable().openapi({
      description: "First failed attempt of the current failure streak (null once an attempt succeeds)",
    }),
    previous_secret_expires_at: Timestamp.nullable().openapi({
      description: "After a rotation, the old secret also signs until then",
    }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Webhook");

const Secret = z.string().openapi({
  example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  description: "The signing secret. Shown once: store it now.",
});

export const WebhookCreated = Webhook.extend({ secret: Secret }).openapi("WebhookCreated");

export const WebhookCreate = z
  .strictObject({
    url: WebhookUrl,
    description: Description.nullish(),
    event_types: EventTypes,
    active: z.boolean().default(true),
    rate_limit_per_second: RateLimit.nullish(),
  })
  .openapi("WebhookCreate");

export const WebhookUpdate = z
  .strictObject({
    url: WebhookUrl,
    description: Description.nullable(),
    event_types: EventTypes,
    active: z.boolean().openapi({
      description:
        "Re-enabling clears the failure streak; events missed meanwhile are failed deliveries (replay them with redeliver-failed)",
    }),
    rate_limit_per_second: RateLimit.nullable(),
  })
  .partial()
  .openapi("WebhookUpdate");

export const WebhookListQuery = listQuery(["created_at", "url"], "-created_at").extend({
  active: z
    .enum(["true", "false"])
    .optional()
    .transform((v) => (v === undefined ? undefined : v === "true"))
    .openapi({ description: "Only active (`true`) or inactive (`false`) endpoints" }),
  event_type: z
    .string()
    .max(100)
    .optional()
    .openapi({ description: "Only endpoints that receive this event type (directly or through `*`)" }),
});

export const WebhookList = paginated(Webhook, "WebhookList");

export const ByUrlQuery = z.object({
  url: z.string().min(1).max(MAX_URL_LENGTH).openapi({ example: "https://hooks.example.com/lectern" }),
});

export const SecretRotated = z
  .object({
    id: z.number().int(),
    secret: Secret,
    previous_secret_expires_at: Timestamp.openapi({ description: "The old secret also signs until then (24 hours)" }),
  })
  .openapi("WebhookSecretRotated");

export const EventTypeList = z
  .object({
    data: z.array(
      z.object({
        type: z.string().openapi({ example: "course.published" }),
        group: z.string().openapi({ example: "Catalog" }),
        description: z.string(),
      }),
    ),
  })
  .openapi("EventTypeList");

export const EventTypeQuery = z.object({
  q: z.string().max(200).optional().openapi({ description: "Case-insensitive search in the type and description" }),
});

export const Attempt = z
  .object({
    id: z.number().int(),
    attempt: z.number().int().openapi({ description: "1 for the first try of a delivery (counting redeliveries)" }),
    status: z.enum(["succeeded", "failed"]),
    response_status: z.number().int().nullable(),
    response_body: z.string().nullable().openapi({ description: "The first 2 KiB of the receiver's answer" }),
    error: z.string().nullable().openapi({ description: "Timeout, network error, or why nothing was sent" }),
    duration_ms: z.number().int(),
    created_at: Timestamp,
  })
  .openapi("WebhookAttempt");

export const Delivery = z
  .object({
    id: z.number().int(),
    endpoint_id: z.number().int(),
    event_id: z.number().int(),
    event_type: z.string(),
    webhook_id: z.string().openapi({ description: "The `webhook-id` header it is sent with", example: "evt_1042" }),
    status: z.enum(DELIVERY_STATUSES),
    attempts: z.number().int(),
    last_attempt_at: Timestamp.nullable(),
    last_response_status: z.number().int().nullable(),
    last_error: z.string().nullable(),
    next_attempt_at: Timestamp.nullable().openapi({ description: "When the next retry is due, while pending" }),
    delivered_at: Timestamp.nullable(),
    failed_at: Timestamp.nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("WebhookDelivery");

export const DeliveryWithAttempts = Delivery.extend({
  attempts_log: z.array(Attempt).openapi({ description: "Every attempt, oldest first" }),
}).openapi("WebhookDeliveryDetail");

export const DeliveryListQuery = z.object({
  cursor: z
    .string()
    .regex(/^\d{1,15}$/, "Use the `meta.next_cursor` of the previous page.")
    .optional()
    .openapi({ description: "`meta.next_cursor` of the previous page; omit for the newest deliveries" }),
  per_page: z.coerce.number().int().min(1).max(100).default(25),
  status: z.enum(DELIVERY_STATUSES).optional(),
  event_type: z.string().max(100).optional(),
});

export const DeliveryList = z
  .object({
    data: z.array(Delivery),
    meta: z.object({
      per_page: z.number().int(),
      next_cursor: z
        .string()
        .nullable()
        .openapi({ description: "Pass as `cursor` for the next page; null at the end" }),
    }),
  })
  .openapi("WebhookDeliveryList");

export const RedeliverFailed = z
  .strictObject({
    since: IsoDateTime.optional().openapi({
      description: "Only deliveries of events since then (default: every failed delivery still kept, 30 days)",
    }),
  })
  .openapi("WebhookRedeliverFailed");

export const RedeliverFailedResult = z
  .object({
    queued: z.number().int().openapi({ description: "How many failed deliveries were queued again" }),
    has_more: z.boolean().openapi({ description: "More remain (at most 1,000 per call): call again" }),
  })
  .openapi("WebhookRedeliverFailedResult");

export const TestEventResult = z
  .object({
    event_id: z.number().int(),
    delivery: Delivery,
  })
  .openapi("WebhookTestResult");
