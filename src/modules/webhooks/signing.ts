/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): secrets `whsec_<base64 of 32 random bytes>`,
 * signature `v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">` keyed with the secret's
 * decoded bytes. Several signatures are space-separated (the old and the new secret during a rotation).
 */

import { openSecret, sealSecret } from "../../platform/crypto";

const SECRET_PREFIX = "whsec_";
const SECRET_BYTES = 32;
const encoder = new TextEncoder();

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
}

/** A new signing secret: shown to the client once, kept to sign every delivery. */
/** The HKDF purpose of the key that seals signing secrets at rest (derived from JWT_SECRET). */
const SEALING_PURPOSE = "lectern:webhook-signing-secret:v1";

/** A signing secret as stored: sealed (AES-GCM) and bound to its academy. */
export function sealSigningSecret(env: { JWT_SECRET: string }, tenantId: number, secret: string) {
  return sealSecret(env.JWT_SECRET, SEALING_PURPOSE, `tenant:${tenantId}`, secret);
}

/** The `whsec_...` secret of a stored value (sealed, or plaintext from before sealing). */
export function openSigningSecret(env: { JWT_SECRET: string }, tenantId: number, stored: string) {
  return openSecret(env.JWT_SECRET, SEALING_PURPOSE, `tenant:${tenantId}`, stored);
}

export function newSigningSecret(): string {
  return SECRET_PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
}

/** The `webhook-id` of an event: the same for every attempt and every redelivery, so receivers can dedupe. */
export function webhookId(eventId: number): string {
  return `evt_${eventId}`;
}

/** `v1,<base64 HMAC-SHA256>` of `{id}.{timestamp}.{body}` with one secret. */
export async function signature(secret: string, id: string, timestamp: number, body: string): Promise<string> {
  const raw = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = await crypto.subtle.importKey("raw", fromBase64(raw), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${id}.${timestamp}.${body}`));
  return `v1,${toBase64(new Uint8Array(mac))}`;
}

/** The `webhook-signature` header: one signature per secret still in force, space-separated. */
export async function signatureHeader(secrets: string[], id: string, timestamp: number, body: string) {
  const signatures = await Promise.all(secrets.map((secret) => signature(secret, id, timestamp, body)));
  return signatures.join(" ");
}
