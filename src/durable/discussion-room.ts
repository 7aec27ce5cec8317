import { DurableObject } from "cloudflare:workers";
import type { Env } from "../platform/env";

/**
 * One object per discussion thread (DESIGN.md section 6). The binding exists from the foundation; the
 * WebSocket room arrives with the discussions module. Until then every request answers 501.
 */
export class DiscussionRoom extends DurableObject<Env> {
  async fetch(): Promise<Response> {
    return Response.json({ error: "Live discussions are not available yet." }, { status: 501 });
  }
}
