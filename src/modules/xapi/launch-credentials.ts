/**
 * Launch credentials: short-lived LRS credentials Lectern hands to xAPI (TinCan `auth=`) and cmi5 (fetch URL
 * `auth-token`) content it launches. HTTP Basic with the username `LAUNCH_USER` and a signed token (HS256 JWT)
 * as the password; the token names the tenant, the learner's Agent and the registration, and the LRS lets it
 * write statements and state only for that Agent and registration (see `assertLaunchScope` users in lrs.ts,
 * statements.ts, documents.ts). Nothing is stored: the signature and the expiry are the credential.
 */
import { signPurposeToken, verifyPurposeToken } from "../../platform/jwt";

export const LAUNCH_USER = "lectern-launch";
/** How long a launch credential works (a long lesson, with margin). */
export const LAUNCH_CREDENTIAL_TTL_SECONDS = 8 * 3600;
const PURPOSE = "lrs-launch";

export interface LaunchScope {
  /** tenant */
  tid: number;
  /** the registration (UUID, lower case) */
  reg: string;
  /** the learner's Agent key (`actorKey`) */
  agt: string;
  /** learner */
  uid: number;
  /** a cmi5 AU's credential: the LMS-only verbs (launched, satisfied, waived, abandoned) are refused */
  cmi5?: boolean;
  /** a cmi5 auth-token's session id: its statements belong to that session only (cmi5 8.1, fetch) */
  ses?: string;
}

export async function signLaunchCredential(secret: string, scope: LaunchScope, ttl = LAUNCH_CREDENTIAL_TTL_SECONDS) {
  const token = await signPurposeToken(secret, PURPOSE, { ...scope }, ttl);
  /** The value of an `Authorization: Basic ...` header (cmi5's auth-token). */
  const basic = btoa(`${LAUNCH_USER}:${token}`);
  return { basic, authorization: `Basic ${basic}`, expiresAt: new Date(Date.now() + ttl * 1000).toISOString() };
}

/** The credential's scope, or null when the token is invalid or expired. */
export async function verifyLaunchCredential(secret: string, token: string): Promise<LaunchScope | null> {
  try {
    const payload = await verifyPurposeToken(secret, PURPOSE, token);
    if (typeof payload.tid !== "number" || typeof payload.uid !== "number") return null;
    if (typeof payload.reg !== "string" || typeof payload.agt !== "string") return null;
    return {
      tid: payload.tid,
      reg: payload.reg,
      agt: payload.agt,
      uid: payload.uid,
      cmi5: payload.cmi5 === true,
      ...(typeof payload.ses === "string" ? { ses: payload.ses } : {}),
    };
  } catch {
    return null;
  }
}

/** Verbs only the LMS uses in cmi5 (cmi5 section 9.3): an AU sending one is refused. */
export const CMI5_LMS_VERBS = new Set([
  "http://adlnet.gov/expapi/verbs/launched",
  "https://w3id.org/xapi/adl/verbs/satisfied",
  "https://w3id.org/xapi/adl/verbs/waived",
  "https://w3id.org/xapi/adl/verbs/abandoned",
]);
