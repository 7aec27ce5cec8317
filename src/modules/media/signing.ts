/**
 * Short-lived signed download URLs for media files: `/media/<tenant>/<id>/<name>?expires=<unix>&signature=<hmac>`.
 * The signature is HMAC-SHA256 over `media:<tenant>:<id>:<expires>` with MEDIA_SIGNING_SECRET, or, when that is
 * not set, with a key derived from JWT_SECRET for this purpose only (so a media signature is never a valid JWT
 * signature and the other way round).
 */
import { base64url, timingSafeEqual } from "../../platform/crypto";
import type { Env } from "../../platform/env";

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

export const DEFAULT_URL_TTL_SECONDS = 900;
export const MAX_URL_TTL_SECONDS = 7 * 86_400;

async function hmacKey(raw: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

async function signingKey(env: Env): Promise<CryptoKey> {
  const secret = env.MEDIA_SIGNING_SECRET || env.JWT_SECRET;
  const cacheKey = `${env.MEDIA_SIGNING_SECRET ? "m" : "j"}:${secret}`;
  let key = keys.get(cacheKey);
  if (!key) {
    key = (async () => {
      if (env.MEDIA_SIGNING_SECRET) return hmacKey(encoder.encode(env.MEDIA_SIGNING_SECRET));
      const base = await hmacKey(encoder.encode(env.JWT_SECRET));
      const derived = await crypto.subtle.sign("HMAC", base, encoder.encode("lectern media download urls v1"));
      return hmacKey(new Uint8Array(derived));
    })();
    keys.set(cacheKey, key);
  }
  return key;
}

async function signature(env: Env, tenantId: number, mediaId: number, expires: number): Promise<string> {
  const mac = await crypto.subtle.sign(
    "HMAC",
    await signingKey(env),
    encoder.encode(`media:${tenantId}:${mediaId}:${expires}`),
  );
  return base64url(new Uint8Array(mac));
}

/** The public path of a media file (no origin, no signature). */
export function mediaPath(tenantId: number, mediaId: number, name: string): string {
  return `/media/${tenantId}/${mediaId}/${encodeURIComponent(name)}`;
}

export async function signedMediaPath(
  env: Env,
  tenantId: number,
  mediaId: number,
  name: string,
  ttlSeconds: number,
  now = Date.now(),
): Promise<{ path: string; expiresAt: string }> {
  const expires = Math.floor(now / 1000) + ttlSeconds;
  const sig = await signature(env, tenantId, mediaId, expires);
  return {
    path: `${mediaPath(tenantId, mediaId, name)}?expires=${expires}&signature=${sig}`,
    expiresAt: new Date(expires * 1000).toISOString(),
  };
}

export type SignatureCheck = "valid" | "missing" | "expired" | "invalid";

export async function checkSignature(
  env: Env,
  tenantId: number,
  mediaId: number,
  expires: string | undefined,
  sig: string | undefined,
  now = Date.now(),
): Promise<SignatureCheck> {
  if (!expires && !sig) return "missing";
  if (!expires || !sig || !/^\d{1,12}$/.test(expires)) return "invalid";
  const expected = await signature(env, tenantId, mediaId, Number(expires));
  if (!timingSafeEqual(expected, sig)) return "invalid";
  return Number(expires) * 1000 <= now ? "expired" : "valid";
}
