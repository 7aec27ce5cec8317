/**
 * Sending generated requests to the Worker and judging every answer against the operation's contract.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../src/index";
import type { ApiResponse, CallOptions } from "../helpers/api";
import type { RequestParts } from "./arbitraries";
import type { JsonSchema, Operation, SchemaValidators } from "./openapi";
import { serializeJson } from "./payloads";

export interface Sent {
  url: string;
  method: string;
  status: number;
  headers: Headers;
  text: string;
  body: unknown;
}

/*
 * Client addresses. Per-IP limits (sign-in requests per minute, failed sign-ins) must never couple requests
 * (or test files), yet every new address is a new rate-limiter Durable Object, and vitest-pool-workers wraps a
 * Durable Object class's prototype in one more Proxy each time it constructs an instance: a few thousand
 * objects overflow the stack. So addresses come from small pools, each spread enough to stay under the limits.
 */
const pool = (prefix: string, size: number) => {
  let next = 0;
  return () => `${prefix}.${(next++ % size) + 1}`;
};
/** Fuzzed requests (their sign-ins may fail and be throttled: never used for sign-ins that must succeed). */
const fuzzIp = pool("192.0.2", 64);
/** Sign-ins and calls the suites need to succeed. */
export const clientIp = pool("198.51.100", 32);

/**
 * Hands a request to the Worker's own fetch handler (src/index.ts: routing, middleware, D1, Durable Objects,
 * waitUntil work awaited). Not through SELF.fetch: under vitest-pool-workers each SELF.fetch gets slower as one
 * workerd instance serves more of them (cloudflare/workers-sdk#15446, ~6 ms to ~370 ms per request after 1,500),
 * and thousands of fuzz cases would spend minutes there.
 */
export async function dispatch(request: Request): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** `api()` of test/helpers, through `dispatch` (for suites that send many requests). */
export async function call<T = unknown>(
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { "cf-connecting-ip": clientIp(), ...(options.headers ?? {}) };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.tenant) headers["x-tenant"] = options.tenant;
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  const res = await dispatch(new Request(`http://lectern.test${path}`, { method, headers, body }));
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

export function urlOf(operation: Operation, parts: RequestParts): string {
  const path = operation.path.replace(/\{([^}]+)\}/g, (_, name: string) => parts.path[name] ?? "");
  const query = [
    ...parts.query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`),
    ...(parts.rawQuery ? [parts.rawQuery] : []),
  ].join("&");
  return `http://lectern.test${path}${query ? `?${query}` : ""}`;
}

export async function send(operation: Operation, parts: RequestParts, token: string | undefined): Promise<Sent> {
  const headers: Record<string, string> = { "cf-connecting-ip": fuzzIp(), ...parts.headers };
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (parts.body?.kind === "json") {
    body = serializeJson(parts.body.value);
    headers["content-type"] = parts.body.contentType ?? "application/json";
  } else if (parts.body?.kind === "raw") {
    body = parts.body.text;
    if (parts.body.contentType) headers["content-type"] = parts.body.contentType;
  }
  const url = urlOf(operation, parts);
  const method = operation.method.toUpperCase();
  const res = await dispatch(new Request(url, { method, headers, body }));
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { url, method, status: res.status, headers: res.headers, text, body: parsed };
}

/** The contract every answer must keep; returns the broken rules (empty when the answer is fine). */
export function contractViolations(
  validators: SchemaValidators,
  operation: Operation,
  res: Sent,
  mustReject: boolean,
): string[] {
  const problems: string[] = [];
  const { status } = res;
  const documented = Object.keys(operation.op.responses);
  const hasParams = operation.path.includes("{");
  if (status >= 500) problems.push(`server error ${status}`);
  const allowed =
    documented.includes(String(status)) || documented.includes("default") || (status === 404 && hasParams);
  if (!allowed) problems.push(`undocumented status ${status} (documented: ${documented.join(", ")})`);
  const requestId = res.headers.get("x-request-id");
  if (!requestId) problems.push("no X-Request-Id header");
  const contentType = res.headers.get("content-type") ?? "";
  // An error the operation documents as plain JSON with its own schema (the cmi5 fetch URL's spec-defined
  // `{"error-code", "error-text"}`) must match that schema; every other error is an RFC 9457 problem.
  const ownErrorSchema: JsonSchema | undefined =
    status >= 400 ? operation.op.responses[String(status)]?.content?.["application/json"]?.schema : undefined;
  if (ownErrorSchema) {
    if (!contentType.includes("application/json")) problems.push(`${status} with Content-Type "${contentType}"`);
    const check = validators.check(ownErrorSchema, res.body);
    if (!check.valid) problems.push(`${status} body does not match its schema: ${check.errors.join("; ")}`);
  } else if (status >= 400) {
    if (!contentType.includes("application/problem+json")) problems.push(`error with Content-Type "${contentType}"`);
    const problem = validators.check({ $ref: "#/components/schemas/Problem" }, res.body);
    if (!problem.valid) problems.push(`problem does not match Problem: ${problem.errors.join("; ")}`);
    const body = res.body as { request_id?: unknown; status?: unknown } | undefined;
    if (body?.request_id !== requestId)
      problems.push(`request_id ${String(body?.request_id)} != X-Request-Id ${requestId}`);
    if (body?.status !== status) problems.push(`problem status ${String(body?.status)} != ${status}`);
    if (/\bat .+\.(ts|js):\d+/.test(res.text)) problems.push("stack trace in the response");
  }
  if (status >= 200 && status < 300) {
    if (mustReject) problems.push(`invalid request accepted with ${status}`);
    const response = operation.op.responses[String(status)];
    const schema: JsonSchema | undefined = response?.content?.["application/json"]?.schema;
    if (schema) {
      if (!contentType.includes("application/json")) problems.push(`${status} with Content-Type "${contentType}"`);
      const check = validators.check(schema, res.body);
      if (!check.valid) problems.push(`${status} body does not match its schema: ${check.errors.join("; ")}`);
    } else if (response && !response.content && res.text !== "") {
      problems.push(`${status} has a body but documents none`);
    }
  }
  return problems;
}

/** One line describing a request, for failure messages. */
export function describeRequest(res: Sent, parts: RequestParts): string {
  const body =
    parts.body === undefined
      ? ""
      : parts.body.kind === "json"
        ? serializeJson(parts.body.value)
        : `[${parts.body.contentType ?? "no content type"}] ${parts.body.text}`;
  const shortBody = body.length > 300 ? `${body.slice(0, 300)}... (${body.length} chars)` : body;
  const answer = res.text.length > 400 ? `${res.text.slice(0, 400)}...` : res.text;
  return `${res.method} ${res.url.replace("http://lectern.test", "")} ${shortBody}\n  -> ${res.status} ${answer}`;
}
