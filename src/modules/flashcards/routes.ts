import { createRoute } from "@hono/zod-openapi";
import { learnerContext } from "../../platform/auth";
import { createRouter, errorResponses, jsonBody, jsonResponse, SECURITY } from "../../platform/openapi";
import { CardMarkInput, CardMarkResult, CardParams, DeckParams, DeckQuery, LearnerDeck } from "./schemas";
import * as flashcards from "./service";

export const flashcardsRouter = createRouter();
const tags = ["Learner assessments"];

flashcardsRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/learner/flashcards/{module_id}",
    operationId: "getMyFlashcardDeck",
    tags,
    summary: "A flashcard deck with my marks",
    description:
      "The cards of a flashcards module placed in one of the learner's courses (`course_id`, `placement_id`), each with " +
      "the learner's mark (`known`: true, false, or null when not marked yet) and the counts. The same access rules as a " +
      "launch apply (403 with `rule`).",
    security: SECURITY.learner,
    request: { params: DeckParams, query: DeckQuery },
    responses: { 200: jsonResponse(LearnerDeck, "The deck"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const { course_id, placement_id } = c.req.valid("query");
    return c.json(
      await flashcards.learnerDeck(learnerContext(c), c.req.valid("param").module_id, course_id, placement_id),
      200,
    );
  },
);

flashcardsRouter.openapi(
  createRoute({
    method: "put",
    path: "/v1/learner/flashcards/{module_id}/cards/{card_id}",
    operationId: "markFlashcard",
    tags,
    summary: "Mark a card known or unknown",
    description:
      "Records the learner's mark on one card (idempotent: the last mark counts). When every card of the deck is known, " +
      "the placement completes (course progress and completion follow; `module.completed` is emitted) and the answer says " +
      "so with `deck_complete`, `module_status` and `progress_percent`. A card not in the deck is a 404; marking a card " +
      "unknown later does not undo the completion.",
    security: SECURITY.learner,
    request: { params: CardParams, body: jsonBody(CardMarkInput) },
    responses: {
      200: jsonResponse(CardMarkResult, "The mark and the deck's state"),
      ...errorResponses(401, 403, 404, 409, 413, 415),
    },
  }),
  async (c) => {
    const { module_id, card_id } = c.req.valid("param");
    return c.json(await flashcards.markCard(learnerContext(c), module_id, card_id, c.req.valid("json")), 200);
  },
);
