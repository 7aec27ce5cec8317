import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../src/index";
import { api, expectStatus } from "./api";
import { type TestTenant, unique } from "./factories";

export interface XapiResponse {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field in tests
  body: any;
  text: string;
  bytes: Uint8Array;
}

export interface LrsCredential {
  id: number;
  key: string;
  secret: string;
  basic: string;
}

export async function lrsCredential(tenant: TestTenant, scopes: ("read" | "write")[] = ["read", "write"]) {
  const res = await api("POST", "/v1/admin/lrs-credentials", {
    token: tenant.key,
    body: { name: unique("lrs"), scopes },
  });
  expectStatus(res, 201);
  return { ...res.body, basic: `Basic ${btoa(`${res.body.key}:${res.body.secret}`)}` } as LrsCredential;
}

/**
 * One call to the LRS through the Worker's fetch handler. `auth` is the Authorization header (Basic ...);
 * `version` defaults to 1.0.3 (null sends none). Bodies: `json` (serialised, application/json) or `raw` bytes.
 */
export async function xapi(
  method: string,
  path: string,
  options: {
    auth?: string;
    json?: unknown;
    raw?: Uint8Array | string;
    contentType?: string;
    version?: string | null;
    headers?: Record<string, string>;
  } = {},
): Promise<XapiResponse> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.auth) headers.authorization = options.auth;
  const version = options.version === undefined ? "1.0.3" : options.version;
  if (version !== null) headers["x-experience-api-version"] = version;
  let body: BodyInit | undefined;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers["content-type"] = options.contentType ?? "application/json";
  } else if (options.raw !== undefined) {
    body = options.raw as BodyInit;
    if (options.contentType) headers["content-type"] = options.contentType;
  }
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://lectern.test${path}`, { method, headers, body }), env, ctx);
  await waitOnExecutionContext(ctx);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const text = new TextDecoder().decode(bytes);
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON (documents, multipart)
  }
  return { status: res.status, headers: res.headers, body: parsed, text, bytes };
}

export const q = (params: Record<string, unknown>) =>
  new URLSearchParams(
    Object.entries(params).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
  ).toString();

export function statement(overrides: Record<string, unknown> = {}) {
  return {
    actor: { objectType: "Agent", name: "Ada", mbox: `mailto:${unique("ada")}@example.com` },
    verb: { id: "http://adlnet.gov/expapi/verbs/completed", display: { "en-US": "completed" } },
    object: {
      objectType: "Activity",
      id: `http://example.com/activities/${unique("act")}`,
      definition: { name: { "en-US": "Lesson" } },
    },
    ...overrides,
  };
}
