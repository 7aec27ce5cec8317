/**
 * The live discussion protocol (`lectern.discussions.v1`, docs/discussions.md): JSON text frames.
 * Client -> room: post, edit, delete, react, unreact, ping (each may carry a `ref` echoed in its ack or error).
 * Room -> client: welcome, post.created, post.updated, thread.updated, thread.deleted, replay.truncated, ack,
 * error, pong.
 */
import { z } from "zod";

export const PROTOCOL = "lectern.discussions.v1";
/** Larger frames get an error frame (a post body is at most MAX_POST_CHARS characters anyway). */
export const MAX_FRAME_BYTES = 64 * 1024;
export const MESSAGE_TYPES = ["post", "edit", "delete", "react", "unreact", "ping"] as const;

const MAX_POST_CHARS = 10_000;
const Id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const Ref = z.string().max(100).optional();

export const PostBody = z
  .string()
  .trim()
  .min(1, "Required.")
  .max(MAX_POST_CHARS, `A post is at most ${MAX_POST_CHARS} characters.`);
export const AttachmentIds = z.array(Id).max(10, "At most 10 attachments.");
/** An emoji character sequence or a short code such as `thumbs_up`: no spaces, at most 32 characters. */
export const Emoji = z.string().min(1).max(32).regex(/^\S+$/, "Use one emoji or a short code without spaces.");

export const ClientMessage = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("post"),
    ref: Ref,
    body: PostBody,
    parent_id: Id.nullable().optional(),
    attachment_media_ids: AttachmentIds.optional(),
  }),
  z
    .strictObject({
      type: z.literal("edit"),
      ref: Ref,
      post_id: Id,
      body: PostBody.optional(),
      attachment_media_ids: AttachmentIds.optional(),
    })
    .refine((v) => v.body !== undefined || v.attachment_media_ids !== undefined, {
      message: "Give `body` or `attachment_media_ids`.",
      path: ["body"],
    }),
  z.strictObject({ type: z.literal("delete"), ref: Ref, post_id: Id }),
  z.strictObject({ type: z.literal("react"), ref: Ref, post_id: Id, emoji: Emoji }),
  z.strictObject({ type: z.literal("unreact"), ref: Ref, post_id: Id, emoji: Emoji }),
  z.strictObject({ type: z.literal("ping"), ref: Ref }),
]);

export type ClientMessage = z.infer<typeof ClientMessage>;
