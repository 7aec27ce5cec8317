import { errors, jwtVerify, SignJWT } from "jose";

/** Access tokens are short-lived HS256 JWTs. `aud` is the API surface the token is for. */
export type Audience = "admin" | "learner";

export interface AccessClaims {
  /** `user:<id>` for staff and learners, `client:<id>` for OAuth clients */
  sub: string;
  aud: Audience;
  /** tenant id */
  tid: number;
  /** session id, for user tokens (logout revokes it) */
  sid?: number;
  /** narrowed scopes of a client token (absent: all of the client's scopes) */
  scp?: string[];
}

const ISSUER = "lectern";

function key(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

export async function signAccessToken(secret: string, claims: AccessClaims, ttlSeconds: number): Promise<string> {
  const { sub, aud, ...rest } = claims;
  return new SignJWT(rest)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(ISSUER)
    .setSubject(sub)
    .setAudience(aud)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .setJti(crypto.randomUUID())
    .sign(key(secret));
}

export type VerifyResult = { ok: true; claims: AccessClaims } | { ok: false; reason: "expired" | "invalid" };

/** Verifies signature, issuer and expiry; only HS256 is accepted (no `alg: none`, no key confusion). */
export async function verifyAccessToken(secret: string, token: string): Promise<VerifyResult> {
  try {
    const { payload } = await jwtVerify(token, key(secret), { issuer: ISSUER, algorithms: ["HS256"] });
    const aud = Array.isArray(payload.aud) ? payload.aud[0] : payload.aud;
    if ((aud !== "admin" && aud !== "learner") || typeof payload.sub !== "string" || typeof payload.tid !== "number") {
      return { ok: false, reason: "invalid" };
    }
    return {
      ok: true,
      claims: {
        sub: payload.sub,
        aud,
        tid: payload.tid,
        sid: typeof payload.sid === "number" ? payload.sid : undefined,
        scp: Array.isArray(payload.scp) ? payload.scp.filter((s): s is string => typeof s === "string") : undefined,
      },
    };
  } catch (err) {
    return { ok: false, reason: err instanceof errors.JWTExpired ? "expired" : "invalid" };
  }
}

/**
 * Tokens for one purpose (the SCORM player, xAPI launch credentials, the cmi5 fetch URL): HS256, issuer `lectern`,
 * audience `lectern:<purpose>`, signed with a key derived from the secret and the purpose, so a token made for
 * one purpose (or an access token) never verifies as another.
 */
const purposeKey = (secret: string, purpose: string) => new TextEncoder().encode(`${purpose}:${secret}`);

export async function signPurposeToken(
  secret: string,
  purpose: string,
  claims: Record<string, unknown>,
  ttlSeconds: number,
): Promise<string> {
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(ISSUER)
    .setAudience(`lectern:${purpose}`)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(purposeKey(secret, purpose));
}

/** The payload of a valid, unexpired token of this purpose; throws jose's errors otherwise (JWTExpired, ...). */
export async function verifyPurposeToken(secret: string, purpose: string, token: string) {
  const { payload } = await jwtVerify(token, purposeKey(secret, purpose), {
    issuer: ISSUER,
    audience: `lectern:${purpose}`,
    algorithms: ["HS256"],
  });
  return payload;
}
