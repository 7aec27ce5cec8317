import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ZodError } from "zod";
import type { AppEnv } from "./env";

/** Base of the `type` URI of every problem; each slug is described in docs/errors.md. */
export const PROBLEM_BASE = "https://lectern.dev/problems/";

export interface FieldError {
  path: string;
  message: string;
}

const TITLES: Record<number, [slug: string, title: string]> = {
  400: ["bad-request", "Bad request"],
  401: ["unauthorized", "Authentication required"],
  403: ["forbidden", "Permission denied"],
  404: ["not-found", "Not found"],
  405: ["method-not-allowed", "Method not allowed"],
  409: ["conflict", "Conflict"],
  413: ["payload-too-large", "Request body too large"],
  415: ["unsupported-media-type", "Unsupported media type"],
  422: ["validation-error", "Validation failed"],
  429: ["rate-limited", "Too many requests"],
  500: ["internal-error", "Internal server error"],
  503: ["unavailable", "Service unavailable"],
};

/**
 * The one error type handlers and services throw. `onError` turns it into an RFC 9457 problem;
 * nothing else builds an error body.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly options: {
      slug?: string;
      title?: string;
      errors?: FieldError[];
      headers?: Record<string, string>;
      extra?: Record<string, unknown>;
    } = {},
  ) {
    super(detail);
  }

  static badRequest(detail: string, errors?: FieldError[]) {
    return new ApiError(400, detail, { errors });
  }
  static unauthorized(detail = "A valid credential is required: send `Authorization: Bearer <token>`.") {
    return new ApiError(401, detail, { headers: { "WWW-Authenticate": 'Bearer realm="lectern"' } });
  }
  static forbidden(detail: string) {
    return new ApiError(403, detail);
  }
  static notFound(what: string) {
    return new ApiError(404, `${what} was not found.`);
  }
  static conflict(detail: string, extra?: Record<string, unknown>) {
    return new ApiError(409, detail, { extra });
  }
  static validation(errors: FieldError[], detail = "The request has invalid fields; see `errors`.") {
    return new ApiError(422, detail, { errors });
  }
  static tooManyRequests(retryAfterSeconds: number, detail: string) {
    return new ApiError(429, detail, { headers: { "Retry-After": String(Math.max(1, Math.ceil(retryAfterSeconds))) } });
  }
}

export function problemBody(
  status: number,
  detail: string,
  instance: string,
  requestId: string,
  options: ApiError["options"] = {},
) {
  const [slug, title] = TITLES[status] ?? [status >= 500 ? "internal-error" : "bad-request", "Error"];
  return {
    type: PROBLEM_BASE + (options.slug ?? slug),
    title: options.title ?? title,
    status,
    detail,
    instance,
    request_id: requestId,
    ...(options.errors ? { errors: options.errors } : {}),
    ...(options.extra ?? {}),
  };
}

export function problemResponse(c: Context<AppEnv>, error: ApiError): Response {
  const body = problemBody(
    error.status,
    error.detail,
    new URL(c.req.url).pathname,
    c.get("requestId") ?? "",
    error.options,
  );
  return new Response(JSON.stringify(body), {
    status: error.status,
    headers: { "Content-Type": "application/problem+json", ...(error.options.headers ?? {}) },
  });
}

/** zod issues -> `[{path, message}]` with dotted paths (`items.0.name`). */
export function zodFieldErrors(error: ZodError, prefix?: string): FieldError[] {
  return error.issues.flatMap((issue) => {
    const base = [prefix, ...issue.path.map(String)].filter(Boolean).join(".");
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({ path: base ? `${base}.${key}` : key, message: "Unknown field." }));
    }
    return [{ path: base || "(body)", message: issue.message }];
  });
}

/** Maps anything thrown to an ApiError; unknown errors become a logged 500 with no internals exposed. */
export function toApiError(err: unknown, c: Context<AppEnv>): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HTTPException) {
    const status = err.status;
    if (status === 400 && /json/i.test(err.message)) {
      return new ApiError(400, "The request body is not valid JSON.", {
        slug: "malformed-json",
        title: "Malformed JSON",
      });
    }
    if (status === 415) {
      return new ApiError(415, "Send the body as `application/json` (or a media type this operation documents).");
    }
    if (status === 413) return new ApiError(413, "The request body is larger than this operation accepts.");
    return new ApiError(status, err.message || TITLES[status]?.[1] || "Request failed");
  }
  if (isUniqueConstraint(err)) {
    return ApiError.conflict("A resource with the same unique value already exists.");
  }
  console.error(
    JSON.stringify({
      level: "error",
      request_id: c.get("requestId"),
      path: new URL(c.req.url).pathname,
      error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      stack: err instanceof Error ? err.stack : undefined,
    }),
  );
  return new ApiError(500, "An unexpected error occurred. Quote the request id when you report it.");
}

export function isUniqueConstraint(err: unknown): boolean {
  const message = err instanceof Error ? `${err.message} ${(err as { cause?: Error }).cause?.message ?? ""}` : "";
  return /UNIQUE constraint failed/i.test(message);
}
