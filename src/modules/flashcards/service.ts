import { and, eq } from "drizzle-orm";
import type { LearnerPrincipal, TenantContext } from "../../platform/auth";
import { ApiError } from "../../platform/errors";
import { nowIso } from "../../platform/time";
import { activityInsert } from "../activities/service";
import { FlashcardsModuleSettings } from "../content-modules/schemas";
import { assertPlacementOpen, completeModule, launchModule } from "../progress/service";
import { flashcardMarks } from "./tables";

type LearnerCtx = TenantContext<LearnerPrincipal>;

async function openDeck(ctx: LearnerCtx, moduleId: number, courseId: number, placementId: number) {
  const access = await assertPlacementOpen(ctx, courseId, placementId);
  if (access.placement.module_id !== moduleId || access.placement.module.type !== "flashcards") {
    throw ApiError.notFound(`Flashcards module ${moduleId} in placement ${placementId} of course ${courseId}`);
  }
  return { ...access, settings: FlashcardsModuleSettings.parse(access.placement.module.settings) };
}

function marksOf(ctx: LearnerCtx, enrollmentId: number, placementId: number) {
  return ctx.db
    .select({ cardId: flashcardMarks.cardId, known: flashcardMarks.known })
    .from(flashcardMarks)
    .where(
      and(
        eq(flashcardMarks.tenantId, ctx.tenantId),
        eq(flashcardMarks.enrollmentId, enrollmentId),
        eq(flashcardMarks.placementId, placementId),
      ),
    );
}

/** The deck of a placement with the learner's marks (marks of cards no longer in the deck are left out). */
export async function learnerDeck(ctx: LearnerCtx, moduleId: number, courseId: number, placementId: number) {
  const { enrollmentId, settings } = await openDeck(ctx, moduleId, courseId, placementId);
  const marks = new Map((await marksOf(ctx, enrollmentId, placementId)).map((m) => [m.cardId, m.known]));
  const cards = settings.cards.map((card) => ({
    id: card.id,
    front: card.front,
    back: card.back,
    front_media_id: card.front_media_id,
    back_media_id: card.back_media_id,
    known: marks.get(card.id) ?? null,
  }));
  return {
    module_id: moduleId,
    course_id: courseId,
    placement_id: placementId,
    orientation: settings.orientation,
    shuffle: settings.shuffle,
    total: cards.length,
    known: cards.filter((c) => c.known === true).length,
    cards,
  };
}

/**
 * Marks one card known or unknown (idempotent). When every card of the deck is known the placement completes
 * (launched first if it never was, then completed as `POST .../complete` would: progress, course completion).
 */
export async function markCard(
  ctx: LearnerCtx,
  moduleId: number,
  cardId: string,
  input: { course_id: number; placement_id: number; known: boolean },
) {
  const { enrollmentId, settings } = await openDeck(ctx, moduleId, input.course_id, input.placement_id);
  if (!settings.cards.some((c) => c.id === cardId)) {
    throw ApiError.notFound(`Card \`${cardId}\` of flashcards module ${moduleId}`);
  }
  const now = nowIso();
  const [, , marks] = await ctx.db.batch([
    ctx.db
      .insert(flashcardMarks)
      .values({
        tenantId: ctx.tenantId,
        enrollmentId,
        placementId: input.placement_id,
        moduleId,
        userId: ctx.principal.userId,
        cardId,
        known: input.known,
        updatedAt: now,
      })
      .onConflictDoUpdate({
        target: [
          flashcardMarks.tenantId,
          flashcardMarks.enrollmentId,
          flashcardMarks.placementId,
          flashcardMarks.cardId,
        ],
        set: { known: input.known, updatedAt: now },
      }),
    activityInsert(ctx.db, ctx.tenantId, {
      type: "flashcard.marked",
      userId: ctx.principal.userId,
      courseId: input.course_id,
      placementId: input.placement_id,
      data: { module_id: moduleId, card_id: cardId, known: input.known },
    }),
    marksOf(ctx, enrollmentId, input.placement_id),
  ]);
  const knownIds = new Set(marks.filter((m) => m.known).map((m) => m.cardId));
  const knownCount = settings.cards.filter((c) => knownIds.has(c.id)).length;
  const complete = knownCount === settings.cards.length;
  let state: Awaited<ReturnType<typeof completeModule>> | null = null;
  if (complete) {
    // Safe to repeat: launching again only records access, completing again changes nothing.
    await launchModule(ctx, input.course_id, input.placement_id);
    state = await completeModule(ctx, input.course_id, input.placement_id);
  }
  return {
    card_id: cardId,
    known: input.known,
    total: settings.cards.length,
    known_count: knownCount,
    deck_complete: complete,
    module_status: state ? (state.status as string) : null,
    progress_percent: state ? (state.enrollment.progress_percent as number) : null,
  };
}
