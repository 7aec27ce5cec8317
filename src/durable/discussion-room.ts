import { DurableObject } from "cloudflare:workers";
import { ClientMessage, MAX_FRAME_BYTES, MESSAGE_TYPES, PROTOCOL } from "../modules/discussions/protocol";
import {
  changesSince,
  createPost,
  deletePost,
  editPost,
  findThread,
  getPost,
  type Member,
  moderatePost,
  type PostChange,
  postView,
  react,
  type ThreadPatch,
  threadView,
  updateThread,
} from "../modules/discussions/service";
import { completeModuleByRule, launchModule } from "../modules/progress/service";
import type { LearnerPrincipal, Principal, TenantContext } from "../platform/auth";
import { createDb } from "../platform/db";
import type { Env } from "../platform/env";
import { ApiError, type FieldError } from "../platform/errors";
import { flushOutbox } from "../platform/events";

/** The problem of a failed room operation, carried back over RPC (an ApiError does not survive the trip). */
export interface RoomProblem {
  status: number;
  detail: string;
  slug?: string;
  title?: string;
  errors?: FieldError[];
  extra?: Record<string, unknown>;
}

export type RoomResult<T> = { ok: true; value: T } | { ok: false; problem: RoomProblem };

/** A write the Worker asks the room to make (REST). The socket makes the same ones from its messages. */
export type RoomOp =
  | { op: "post"; member: Member; body: string; parent_id?: number | null; attachment_media_ids?: number[] }
  | { op: "edit"; member: Member; post_id: number; body?: string; attachment_media_ids?: number[] }
  | { op: "delete"; member: Member; post_id: number }
  | { op: "moderate"; member: Member; post_id: number; hidden?: boolean; pinned?: boolean }
  | { op: "react"; member: Member; post_id: number; emoji: string; on: boolean }
  | { op: "thread"; member: Member; patch: ThreadPatch }
  | { op: "closed"; tenantId: number; threadId: number };

/** Replays longer than this ask the client to reload the thread over REST. */
const MAX_REPLAY = 500;
/** Writes one socket may send per window (REST writes have the academy's per-credential limit instead). */
const SOCKET_WRITES = 30;
const SOCKET_WINDOW_MS = 10_000;

/**
 * One object per discussion thread (DESIGN.md section 6), named `<tenant id>:<thread id>`.
 *
 * Every change to the thread's posts, whether it comes over REST (`apply`, an RPC from the Worker) or over a
 * member's WebSocket, runs here one at a time: the write batch goes to D1 first (the system of record numbers
 * the change with the thread's next `seq`), then the change is broadcast to every connected socket. One writer
 * and a broadcast in the same turn make one order for everybody.
 *
 * Sockets use the Hibernation API: the runtime holds them while the object sleeps, and each carries its member
 * (tenant, thread, user, moderator) as its serialized attachment, so a woken object knows who sends what. Who may
 * connect is decided by the Worker before the upgrade reaches the room (docs/discussions.md).
 */
export class DiscussionRoom extends DurableObject<Env> {
  /** Writes per socket in the current window (memory only: a woken room starts counting again). */
  #writes = new WeakMap<WebSocket, { start: number; count: number }>();

  /** The tail of the queue of writes: each write starts when the previous one has finished. */
  #tail: Promise<unknown> = Promise.resolve();

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(work, work);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  #context(tenantId: number, member?: Member): TenantContext {
    const principal: Principal =
      member?.kind === "learner"
        ? { kind: "learner", tenantId, userId: member.userId, sessionId: member.sessionId, writesPerMinute: 0 }
        : { kind: "platform" };
    return {
      tenantId,
      db: createDb(this.env.DB),
      env: this.env,
      principal,
      defer: (work) => this.ctx.waitUntil(work.catch((err) => console.error("room deferred work failed", err))),
    };
  }

  // ---- WebSocket upgrade ------------------------------------------------------------------------------------------

  /** The Worker forwards an authorized upgrade with the member in `X-Room-Member` (never a client's header). */
  async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("Expected a WebSocket upgrade.", { status: 426 });
    }
    const member = JSON.parse(request.headers.get("x-room-member") ?? "null") as Member | null;
    if (!member) return new Response("No member.", { status: 400 });
    const since = Number(new URL(request.url).searchParams.get("since") ?? "");
    const pair = new WebSocketPair();
    const [client, server] = Object.values(pair) as [WebSocket, WebSocket];
    // Accepted and caught up inside the write queue: no broadcast can slip between the replay and live frames.
    await this.#serial(async () => {
      this.ctx.acceptWebSocket(server, [member.moderator ? "moderator" : "learner"]);
      server.serializeAttachment(member);
      await this.#welcome(server, member, Number.isSafeInteger(since) && since >= 0 ? since : null);
    });
    const offered = (request.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
    const headers = offered.includes(PROTOCOL) ? { "Sec-WebSocket-Protocol": PROTOCOL } : undefined;
    return new Response(null, { status: 101, webSocket: client, headers });
  }

  async #welcome(ws: WebSocket, member: Member, since: number | null) {
    const ctx = this.#context(member.tenantId);
    const thread = await findThread(ctx, member.threadId);
    const audience = member.moderator ? "moderator" : "learner";
    const missed = since === null ? [] : await changesSince(ctx, member.threadId, since, MAX_REPLAY + 1);
    const truncated = missed.length > MAX_REPLAY;
    ws.send(
      JSON.stringify({
        type: "welcome",
        protocol: PROTOCOL,
        thread: threadView(thread),
        member: { user_id: member.userId, kind: member.kind, moderator: member.moderator },
        last_seq: thread.lastSeq,
        replay: since === null ? null : { since, count: Math.min(missed.length, MAX_REPLAY), truncated },
      }),
    );
    for (const row of missed.slice(0, MAX_REPLAY)) {
      ws.send(
        JSON.stringify({
          type: row.post.seq > (since ?? 0) ? "post.created" : "post.updated",
          seq: row.post.changedSeq,
          post: postView(row, audience),
        }),
      );
    }
    if (truncated) ws.send(JSON.stringify({ type: "replay.truncated", last_seq: thread.lastSeq }));
  }

  // ---- writes -----------------------------------------------------------------------------------------------------

  /** A write asked by the Worker (REST). Problems come back as data; the Worker turns them into responses. */
  async apply(op: RoomOp): Promise<RoomResult<unknown>> {
    try {
      return { ok: true, value: await this.#run(op) };
    } catch (err) {
      const e = err instanceof ApiError ? err : toRoomError(err);
      return {
        ok: false,
        problem: {
          status: e.status,
          detail: e.detail,
          slug: e.options.slug,
          title: e.options.title,
          errors: e.options.errors,
          extra: e.options.extra,
        },
      };
    }
  }

  async #run(op: RoomOp): Promise<unknown> {
    if (op.op === "closed") {
      for (const ws of this.ctx.getWebSockets()) {
        send(ws, { type: "thread.deleted", thread_id: op.threadId });
        try {
          ws.close(4404, "The thread was deleted.");
        } catch {
          // already closing
        }
      }
      return null;
    }
    const m = op.member;
    if (m.userId <= 0 && (op.op === "post" || op.op === "edit" || op.op === "react")) {
      throw ApiError.forbidden("Posting needs a user: this credential acts for no staff user.");
    }
    const ctx = this.#context(m.tenantId, m);
    const change = await this.#serial(async () => {
      switch (op.op) {
        case "post": {
          const c = await createPost(ctx, m, op);
          this.#broadcast(c);
          return c;
        }
        case "edit": {
          const c = await editPost(ctx, m, op.post_id, op);
          this.#broadcast(c);
          return c;
        }
        case "delete": {
          const c = await deletePost(ctx, m, op.post_id);
          if (c) this.#broadcast(c);
          return c ?? (await this.#current(ctx, m, op.post_id));
        }
        case "moderate": {
          const c = await moderatePost(ctx, m, op.post_id, op);
          if (c) this.#broadcast(c);
          return c ?? (await this.#current(ctx, m, op.post_id));
        }
        case "react": {
          const c = await react(ctx, m, op.post_id, op.emoji, op.on);
          if (c) this.#broadcast(c);
          return c ?? (await this.#current(ctx, m, op.post_id));
        }
        case "thread": {
          const thread = await updateThread(ctx, m.threadId, op.patch);
          for (const ws of this.ctx.getWebSockets()) send(ws, { type: "thread.updated", thread: threadView(thread) });
          return thread;
        }
      }
    });
    this.ctx.waitUntil(flushOutbox(this.env, ctx.db, m.tenantId).catch(() => undefined));
    if (op.op === "post") await this.#complete(m, change as PostChange);
    return change;
  }

  /** The post as it is (for idempotent writes that changed nothing). */
  async #current(ctx: TenantContext, m: Member, postId: number): Promise<PostChange> {
    const row = await getPost(ctx, m.threadId, postId);
    return { kind: "post.updated", seq: row.post.changedSeq, row };
  }

  /** Sends a change to every member, each in the view of their audience (hidden bodies only to moderators). */
  #broadcast(c: PostChange) {
    const frames = {
      learner: JSON.stringify({ type: c.kind, seq: c.seq, change: c.change, post: postView(c.row, "learner") }),
      moderator: JSON.stringify({ type: c.kind, seq: c.seq, change: c.change, post: postView(c.row, "moderator") }),
    };
    for (const ws of this.ctx.getWebSockets()) {
      const member = ws.deserializeAttachment() as Member | null;
      try {
        ws.send(member?.moderator ? frames.moderator : frames.learner);
      } catch {
        // a socket closing right now: it will get the change on reconnect (since)
      }
    }
  }

  /**
   * A learner has met an ungraded discussion module's posting rules: the placement completes (launched first if
   * the learner posted without launching it), with the course's progress, grade and completion. A failure here
   * (access changed, a conflicting progress write) never undoes the post; the next post tries again.
   */
  async #complete(m: Member, change: PostChange) {
    if (!change.completion || m.kind !== "learner") return;
    const ctx = this.#context(m.tenantId, m) as TenantContext<LearnerPrincipal>;
    const { courseId, placementId, launched } = change.completion;
    try {
      if (!launched) await launchModule(ctx, courseId, placementId);
      await completeModuleByRule(ctx, courseId, placementId, ["discussion"]);
      await flushOutbox(this.env, ctx.db, m.tenantId);
    } catch (err) {
      console.error(
        JSON.stringify({
          level: "warn",
          message: "discussion completion failed",
          error: String((err as Error)?.message ?? err),
        }),
      );
    }
  }

  // ---- Hibernation API handlers -------------------------------------------------------------------------------------

  async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer) {
    const member = ws.deserializeAttachment() as Member | null;
    if (!member) {
      ws.close(1011, "No member on this socket.");
      return;
    }
    const size = typeof message === "string" ? new TextEncoder().encode(message).length : message.byteLength;
    if (size > MAX_FRAME_BYTES) {
      return send(ws, errorFrame(undefined, 413, "frame-too-large", `Frames are limited to ${MAX_FRAME_BYTES} bytes.`));
    }
    if (typeof message !== "string") {
      return send(ws, errorFrame(undefined, 400, "bad-frame", "Send text frames of JSON (see docs/discussions.md)."));
    }
    let raw: unknown;
    try {
      raw = JSON.parse(message);
    } catch {
      return send(ws, errorFrame(undefined, 400, "malformed-json", "The frame is not valid JSON."));
    }
    const ref = typeof (raw as { ref?: unknown })?.ref === "string" ? (raw as { ref: string }).ref : undefined;
    const type = (raw as { type?: unknown } | null)?.type;
    if (typeof type !== "string" || !(MESSAGE_TYPES as readonly string[]).includes(type)) {
      return send(
        ws,
        errorFrame(ref, 422, "unknown-type", `Unknown or missing \`type\`: use ${MESSAGE_TYPES.join(", ")}.`),
      );
    }
    const parsed = ClientMessage.safeParse(raw);
    if (!parsed.success) {
      return send(ws, {
        ...errorFrame(ref, 422, "validation-error", "The message has invalid fields; see `errors`."),
        errors: parsed.error.issues.map((i) => ({
          path: i.path.map(String).join(".") || "(frame)",
          message: i.message,
        })),
      });
    }
    const msg = parsed.data;
    if (msg.type === "ping") return send(ws, { type: "pong", ref: msg.ref ?? null });
    const now = Date.now();
    const window = this.#writes.get(ws);
    if (!window || now - window.start >= SOCKET_WINDOW_MS) this.#writes.set(ws, { start: now, count: 1 });
    else if (++window.count > SOCKET_WRITES) {
      const retryAfter = Math.ceil((window.start + SOCKET_WINDOW_MS - now) / 1000);
      return send(ws, {
        ...errorFrame(msg.ref, 429, "rate-limited", `At most ${SOCKET_WRITES} writes per 10 seconds per socket.`),
        retry_after: retryAfter,
      });
    }
    const op: RoomOp =
      msg.type === "post"
        ? {
            op: "post",
            member,
            body: msg.body,
            parent_id: msg.parent_id,
            attachment_media_ids: msg.attachment_media_ids,
          }
        : msg.type === "edit"
          ? { op: "edit", member, post_id: msg.post_id, body: msg.body, attachment_media_ids: msg.attachment_media_ids }
          : msg.type === "delete"
            ? { op: "delete", member, post_id: msg.post_id }
            : { op: "react", member, post_id: msg.post_id, emoji: msg.emoji, on: msg.type === "react" };
    const result = await this.apply(op);
    if (!result.ok) {
      const p = result.problem;
      return send(ws, {
        ...errorFrame(msg.ref, p.status, p.slug ?? slugOf(p.status), p.detail),
        ...(p.errors ? { errors: p.errors } : {}),
        ...(p.extra ?? {}),
      });
    }
    const change = result.value as PostChange;
    send(ws, { type: "ack", ref: msg.ref ?? null, seq: change.seq, post_id: change.row.post.id });
  }

  async webSocketClose(ws: WebSocket, code: number, reason: string) {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // already closed
    }
  }

  async webSocketError(ws: WebSocket) {
    try {
      ws.close(1011, "Socket error.");
    } catch {
      // already closed
    }
  }
}

function send(ws: WebSocket, frame: Record<string, unknown>) {
  try {
    ws.send(JSON.stringify(frame));
  } catch {
    // closed meanwhile
  }
}

function errorFrame(ref: string | undefined, status: number, code: string, message: string) {
  return { type: "error", ref: ref ?? null, status, code, message };
}

const SLUGS: Record<number, string> = {
  400: "bad-request",
  403: "forbidden",
  404: "not-found",
  409: "conflict",
  413: "payload-too-large",
  422: "validation-error",
};
const slugOf = (status: number) => SLUGS[status] ?? (status >= 500 ? "internal-error" : "bad-request");

/** An unexpected error inside the room: logged, answered as a 500 without internals. */
function toRoomError(err: unknown): ApiError {
  console.error(
    JSON.stringify({ level: "error", message: "discussion room error", error: String((err as Error)?.message ?? err) }),
  );
  return new ApiError(500, "An unexpected error occurred in the discussion room.");
}
