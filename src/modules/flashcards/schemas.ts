import { z } from "@hono/zod-openapi";

const Id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const QueryId = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);

export const DeckParams = z.object({
  module_id: QueryId.openapi({
    param: { name: "module_id", in: "path" },
    example: 12,
    description: "The flashcards module",
  }),
});

export const CardParams = DeckParams.extend({
  card_id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "card_id", in: "path" }, example: "c-1", description: "The card's `id` in the deck" }),
});

export const DeckQuery = z.object({
  course_id: QueryId.openapi({ description: "The course the deck is studied in", example: 3 }),
  placement_id: QueryId.openapi({ description: "The deck's placement in that course", example: 17 }),
});

export const CardMarkInput = z
  .strictObject({
    course_id: Id.openapi({ example: 3 }),
    placement_id: Id.openapi({ example: 17 }),
    known: z.boolean().openapi({ description: "true: the learner knows the card; false: to study again" }),
  })
  .openapi("FlashcardMarkInput");

export const LearnerCard = z
  .object({
    id: z.string(),
    front: z.string(),
    back: z.string(),
    front_media_id: z.number().int().nullable(),
    back_media_id: z.number().int().nullable(),
    known: z.boolean().nullable().openapi({ description: "The learner's mark; null: not marked yet" }),
  })
  .openapi("LearnerFlashcard");

export const LearnerDeck = z
  .object({
    module_id: z.number().int(),
    course_id: z.number().int(),
    placement_id: z.number().int(),
    orientation: z.enum(["landscape", "portrait"]),
    shuffle: z.boolean(),
    total: z.number().int(),
    known: z.number().int().openapi({ description: "Cards marked known" }),
    cards: z.array(LearnerCard),
  })
  .openapi("LearnerFlashcardDeck");

export const CardMarkResult = z
  .object({
    card_id: z.string(),
    known: z.boolean(),
    total: z.number().int(),
    known_count: z.number().int(),
    deck_complete: z.boolean().openapi({ description: "Every card of the deck is marked known" }),
    module_status: z.string().nullable().openapi({
      description: "The placement's status when the deck is complete (`completed`); null otherwise",
      example: "completed",
    }),
    progress_percent: z.number().nullable().openapi({ description: "The course progress when the deck is complete" }),
  })
  .openapi("FlashcardMarkResult");
