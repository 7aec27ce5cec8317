import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { expect } from "vitest";
import worker from "../../src/index";

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  /** Sent as-is (for malformed JSON and wrong content types). */
  rawBody?: string;
  headers?: Record<string, string>;
  tenant?: string;
}

/**
 * Calls the Worker's own fetch handler (routing, middleware, D1, Durable Objects, Queues), as a client would,
 * and waits for its `waitUntil` work. Not through SELF.fetch: under vitest-pool-workers each SELF.fetch gets
 * slower as one workerd instance serves more of them (cloudflare/workers-sdk#15446).
 */
export async function api<T = any>(method: string, path: string, options: CallOptions = {}): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.tenant) headers["x-tenant"] = options.tenant;
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://lectern.test${path}`, { method, headers, body }), env, ctx);
  await waitOnExecutionContext(ctx);
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

export const platformToken = () => env.PLATFORM_ADMIN_TOKEN;

/** Asserts an RFC 9457 problem with the given status; returns its body for further checks. */
export function expectProblem(res: ApiResponse, status: number) {
  expect(res.status, `expected ${status}, got ${res.status}: ${res.text}`).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  expect(res.body).toMatchObject({ status, type: expect.stringContaining("https://lectern.dev/problems/") });
  expect(typeof res.body.title).toBe("string");
  expect(typeof res.body.detail).toBe("string");
  expect(res.body.request_id).toBe(res.headers.get("x-request-id"));
  expect(JSON.stringify(res.body)).not.toMatch(/at .+\.(ts|js):\d+/); // no stack traces
  return res.body as { errors?: { path: string; message: string }[]; [key: string]: unknown };
}

export function expectStatus(res: ApiResponse, status: number) {
  expect(res.status, `expected ${status}, got ${res.status}: ${res.text}`).toBe(status);
}
