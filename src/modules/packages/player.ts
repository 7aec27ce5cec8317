/**
 * The player's launch token and the `/content/{token}/...` file server. The token (HS256 JWT, jose) names one
 * SCORM session and the package version it plays; it authorizes reading that version's files and committing to
 * that session (sendBeacon commits carry no headers, so the token rides in the URL). It is short-lived: a new
 * launch issues a new one.
 */
import { errors } from "jose";
import type { Env } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { signPurposeToken, verifyPurposeToken } from "../../platform/jwt";
import { contentTypeOf, versionPrefix } from "./storage";
import { safePath, ZipError } from "./zip";

/** How long a launch token works (content files and token-authenticated commits). */
export const PLAYER_TOKEN_TTL_SECONDS = 4 * 3600;
const PURPOSE = "player";

export interface PlayerClaims {
  /** tenant */
  tid: number;
  /** SCORM session */
  sid: number;
  /** package and version */
  pkg: number;
  ver: number;
  /** learner */
  uid: number;
  /** the session's launch number this token was issued for (commits of an older launch are stale) */
  lno: number;
}

export async function signPlayerToken(secret: string, claims: PlayerClaims, ttl = PLAYER_TOKEN_TTL_SECONDS) {
  const token = await signPurposeToken(secret, PURPOSE, { ...claims }, ttl);
  return { token, expiresAt: new Date(Date.now() + ttl * 1000).toISOString() };
}

/** The token's claims, or a 401 problem saying it is expired or invalid. */
export async function verifyPlayerToken(secret: string, token: string): Promise<PlayerClaims> {
  try {
    const payload = await verifyPurposeToken(secret, PURPOSE, token);
    const numbers = ["tid", "sid", "pkg", "ver", "uid", "lno"] as const;
    if (numbers.some((n) => typeof payload[n] !== "number")) throw new Error("claims");
    return payload as unknown as PlayerClaims;
  } catch (err) {
    throw ApiError.unauthorized(
      err instanceof errors.JWTExpired
        ? "The launch token has expired; launch the module again."
        : "The launch token is invalid.",
    );
  }
}

/** Is this a `.../commit?token=...` request (authenticated by the launch token, not a learner bearer token)? */
export function isPlayerTokenCommit(path: string, token: string | undefined): boolean {
  return !!token && /^\/v1\/learner\/scorm\/sessions\/\d+\/commit$/.test(path);
}

/**
 * Headers for package content: sandboxed (scripts, forms, popups and same-origin so the SCO can reach the
 * player's API in the parent frame when both are served from one origin), never sniffed, never sending the
 * token-bearing URL as a referrer, and never setting cookies (no response here carries Set-Cookie).
 */
export const CONTENT_SECURITY_POLICY =
  "sandbox allow-scripts allow-same-origin allow-forms allow-popups allow-popups-to-escape-sandbox allow-modals allow-downloads; " +
  "default-src 'self' data: blob: 'unsafe-inline' 'unsafe-eval'; connect-src 'self'; form-action 'self'; base-uri 'self'; object-src 'self'";

function contentHeaders(type: string) {
  return new Headers({
    "Content-Type": type,
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "cross-origin",
    "Cache-Control": "private, max-age=3600",
    "Accept-Ranges": "bytes",
  });
}

function parseRange(header: string | null, size: number): { offset: number; length: number } | null | "invalid" {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === "" && match[2] === "")) return "invalid";
  if (match[1] === "") {
    const suffix = Math.min(Number(match[2]), size);
    return suffix === 0 ? "invalid" : { offset: size - suffix, length: suffix };
  }
  const start = Number(match[1]);
  const end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) return "invalid";
  return { offset: start, length: end - start + 1 };
}

/** `GET /content/{token}/{path}`: one file of the token's package version, from R2. */
export async function serveContent(env: Env, request: Request, token: string, rawPath: string): Promise<Response> {
  const claims = await verifyPlayerToken(env.JWT_SECRET, token);
  let path: string;
  try {
    path = safePath(decodeURIComponent(rawPath));
  } catch (err) {
    if (err instanceof ZipError || err instanceof URIError) throw ApiError.notFound(`File ${rawPath}`);
    throw err;
  }
  if (!path) throw ApiError.notFound("File (empty path)");
  const objectKey = versionPrefix(claims.tid, claims.pkg, claims.ver) + path;
  const head = await env.PACKAGES.head(objectKey);
  if (!head) throw ApiError.notFound(`File ${path}`);
  const headers = contentHeaders(head.httpMetadata?.contentType ?? contentTypeOf(path));
  headers.set("ETag", head.httpEtag);
  const ifNoneMatch = request.headers.get("if-none-match");
  if (ifNoneMatch?.split(",").some((t) => t.trim() === head.httpEtag || t.trim() === "*")) {
    return new Response(null, { status: 304, headers });
  }
  const range = parseRange(request.headers.get("range"), head.size);
  if (range === "invalid") {
    headers.set("Content-Range", `bytes */${head.size}`);
    return new Response(null, { status: 416, headers });
  }
  if (request.method === "HEAD") {
    headers.set("Content-Length", String(head.size));
    return new Response(null, { status: 200, headers });
  }
  const object = await env.PACKAGES.get(objectKey, range ? { range } : {});
  if (!object) throw ApiError.notFound(`File ${path}`);
  if (range) {
    headers.set("Content-Range", `bytes ${range.offset}-${range.offset + range.length - 1}/${head.size}`);
    headers.set("Content-Length", String(range.length));
    return new Response(object.body, { status: 206, headers });
  }
  headers.set("Content-Length", String(head.size));
  return new Response(object.body, { status: 200, headers });
}
