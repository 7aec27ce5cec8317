import { DurableObject } from "cloudflare:workers";
import type { Env } from "../platform/env";

/**
 * One object per in-progress quiz attempt (DESIGN.md section 6). The binding exists from the foundation so
 * deployments keep a stable class; the attempt logic arrives with the assessments module. Until then every
 * request answers 501 so nothing can mistake it for a working attempt.
 */
export class QuizAttempt extends DurableObject<Env> {
  async fetch(): Promise<Response> {
    return Response.json({ error: "Quiz attempts are not available yet." }, { status: 501 });
  }
}
