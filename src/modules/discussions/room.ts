import type { DiscussionRoom, RoomOp, RoomResult } from "../../durable/discussion-room";
import type { Env } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import type { Member } from "./service";

/** The thread's room: one Durable Object per thread, named by academy and thread. */
export function roomOf(env: Env, tenantId: number, threadId: number) {
  const ns = env.DISCUSSION_ROOM as unknown as DurableObjectNamespace<DiscussionRoom>;
  return ns.get(ns.idFromName(`${tenantId}:${threadId}`));
}

/** Runs a write in the thread's room (which orders and broadcasts it); its problem becomes this request's. */
export async function roomWrite<T>(env: Env, tenantId: number, threadId: number, op: RoomOp): Promise<T> {
  // The RPC result is plain data; its declared type is the room's own.
  const result = (await roomOf(env, tenantId, threadId).apply(op)) as unknown as RoomResult<unknown>;
  if (!result.ok) {
    const p = result.problem;
    throw new ApiError(p.status, p.detail, { slug: p.slug, title: p.title, errors: p.errors, extra: p.extra });
  }
  return result.value as T;
}

/**
 * Hands an authorized WebSocket upgrade to the room. The member travels in a header only the Worker sets (the
 * room is not reachable from outside); the client's offered subprotocols go along so the room can answer one.
 */
export function roomConnect(env: Env, request: Request, member: Member, since: number | undefined) {
  const headers = new Headers({ Upgrade: "websocket", "X-Room-Member": JSON.stringify(member) });
  const offered = request.headers.get("sec-websocket-protocol");
  if (offered) headers.set("Sec-WebSocket-Protocol", offered);
  const url = `https://discussion-room/connect${since !== undefined ? `?since=${since}` : ""}`;
  return roomOf(env, member.tenantId, member.threadId).fetch(url, { headers });
}
