/**
 * Frozen questions and grading: pure functions shared by the QuizAttempt Durable Object (answers, submit) and
 * the admin side (manual grading, results). No I/O here.
 */
import type { QuestionType } from "../questions/schemas";

export interface ChoiceOpt {
  id: number;
  text: string;
  correct: boolean;
  feedback: string | null;
}

/**
 * A question as frozen into an attempt when it starts: its content and key as they were, and how it is shown
 * (option order, the random ids of matching and ordering items, so ids never give the answer away).
 */
export interface FrozenQuestion {
  id: number;
  position: number;
  type: QuestionType;
  title: string;
  content: string | null;
  media_ids: number[];
  hint: string | null;
  explanation: string | null;
  points: number;
  negative_points: number;
  key: Record<string, unknown>;
  /** choice types: option ids in the order shown */
  option_order?: number[];
  /** matching: the random id of pair i's right item; ordering: the random id of the item at correct position i */
  ids?: number[];
}

export type Answer = Record<string, unknown>;

export interface Graded {
  /** true right, false wrong or unanswered, null waiting for a grader (essays) */
  correct: boolean | null;
  score: number | null;
}

export function randomInt(max: number): number {
  const buf = new Uint32Array(1);
  crypto.getRandomValues(buf);
  return buf[0] % max;
}

export function shuffle<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Freezes a bank question for an attempt (shuffling answers when asked; matching/ordering items always). */
export function freeze(
  q: {
    id: number;
    type: QuestionType;
    title: string;
    content: string | null;
    mediaIds: number[];
    hint: string | null;
    explanation: string | null;
    points: number;
    negativePoints: number;
    answerKey: Record<string, unknown>;
  },
  position: number,
  shuffleAnswers: boolean,
): FrozenQuestion {
  const frozen: FrozenQuestion = {
    id: q.id,
    position,
    type: q.type,
    title: q.title,
    content: q.content,
    media_ids: q.mediaIds,
    hint: q.hint,
    explanation: q.explanation,
    points: q.points,
    negative_points: q.negativePoints,
    key: q.answerKey,
  };
  if (q.type === "multiple_choice" || q.type === "multiple_correct") {
    const ids = (q.answerKey.options as ChoiceOpt[]).map((o) => o.id);
    frozen.option_order = shuffleAnswers ? shuffle(ids) : ids;
  }
  if (q.type === "matching" || q.type === "ordering") {
    const n = (q.type === "matching" ? (q.answerKey.pairs as unknown[]) : (q.answerKey.items as unknown[])).length;
    frozen.ids = shuffle(Array.from({ length: n }, (_, i) => i + 1));
  }
  return frozen;
}

/** What a learner sees of a frozen question: never its key. */
export function present(q: FrozenQuestion) {
  const base = {
    id: q.id,
    position: q.position,
    type: q.type,
    title: q.title,
    content: q.content,
    media_ids: q.media_ids,
    hint: q.hint,
    points: q.points,
    negative_points: q.negative_points,
  };
  switch (q.type) {
    case "multiple_choice":
    case "multiple_correct": {
      const byId = new Map((q.key.options as ChoiceOpt[]).map((o) => [o.id, o]));
      return {
        ...base,
        options: (q.option_order ?? []).map((id) => ({ id, text: byId.get(id)?.text ?? "" })),
      };
    }
    case "fill_in_blanks":
      return { ...base, blank_count: (q.key.blanks as unknown[]).length };
    case "matching": {
      const pairs = q.key.pairs as { left: string; right: string }[];
      const ids = q.ids ?? [];
      return {
        ...base,
        left: pairs.map((p, i) => ({ id: i + 1, text: p.left })),
        right: pairs.map((p, i) => ({ id: ids[i], text: p.right })).sort((a, b) => a.id - b.id),
      };
    }
    case "ordering": {
      const items = q.key.items as string[];
      const ids = q.ids ?? [];
      return { ...base, items: items.map((text, i) => ({ id: ids[i], text })).sort((a, b) => a.id - b.id) };
    }
    case "essay":
      return { ...base, min_words: q.key.min_words ?? null, max_words: q.key.max_words ?? null };
    default:
      return base;
  }
}

/** The right answer in the answer format of the type (shown in results when the quiz's rules allow). */
export function correctAnswer(q: FrozenQuestion): Answer {
  switch (q.type) {
    case "multiple_choice":
      return { option_id: (q.key.options as ChoiceOpt[]).find((o) => o.correct)?.id ?? null };
    case "multiple_correct":
      return { option_ids: (q.key.options as ChoiceOpt[]).filter((o) => o.correct).map((o) => o.id) };
    case "true_false":
      return { value: q.key.correct_answer };
    case "short_answers":
      return { accepted_answers: q.key.accepted_answers };
    case "numeric":
      return { number: q.key.correct_value, tolerance: q.key.tolerance };
    case "fill_in_blanks":
      return { blanks: (q.key.blanks as { accepted_answers: string[] }[]).map((b) => b.accepted_answers) };
    case "matching":
      return { matches: (q.ids ?? []).map((rightId, i) => ({ left_id: i + 1, right_id: rightId })) };
    case "ordering":
      return { order: q.ids ?? [] };
    case "essay":
      return { reference_answer: q.key.reference_answer ?? null };
  }
}

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);

/** Checks an answer against its question's format; the message names what is wrong. */
export function answerProblem(q: FrozenQuestion, a: Answer): { path: string; message: string } | undefined {
  const only = (...keys: string[]) => {
    const extra = Object.keys(a).find((k) => !keys.includes(k));
    return extra ? { path: `answer.${extra}`, message: "Unknown field." } : undefined;
  };
  switch (q.type) {
    case "multiple_choice": {
      const ids = q.option_order ?? [];
      if (!isInt(a.option_id) || !ids.includes(a.option_id)) {
        return { path: "answer.option_id", message: `Give one of the option ids ${ids.join(", ")}.` };
      }
      return only("option_id");
    }
    case "multiple_correct": {
      const ids = q.option_order ?? [];
      const v = a.option_ids;
      if (!Array.isArray(v) || !v.every((id) => isInt(id) && ids.includes(id)) || new Set(v).size !== v.length) {
        return { path: "answer.option_ids", message: `Give distinct option ids among ${ids.join(", ")}.` };
      }
      return only("option_ids");
    }
    case "true_false":
      if (typeof a.value !== "boolean") return { path: "answer.value", message: "Give true or false." };
      return only("value");
    case "short_answers":
      if (typeof a.text !== "string" || a.text.length > 2000) {
        return { path: "answer.text", message: "Give the answer as text (at most 2000 characters)." };
      }
      return only("text");
    case "essay":
      if (typeof a.text !== "string" || a.text.length > 50_000) {
        return { path: "answer.text", message: "Give the essay as text (at most 50000 characters)." };
      }
      return only("text");
    case "numeric":
      if (typeof a.number !== "number" || !Number.isFinite(a.number)) {
        return { path: "answer.number", message: "Give a number." };
      }
      return only("number");
    case "fill_in_blanks": {
      const n = (q.key.blanks as unknown[]).length;
      const v = a.blanks;
      if (!Array.isArray(v) || v.length !== n || !v.every((s) => typeof s === "string" && s.length <= 500)) {
        return { path: "answer.blanks", message: `Give ${n} text answers, one per blank, in order.` };
      }
      return only("blanks");
    }
    case "matching": {
      const n = (q.key.pairs as unknown[]).length;
      const v = a.matches;
      const ok =
        Array.isArray(v) &&
        v.length <= n &&
        v.every(
          (m) =>
            m &&
            typeof m === "object" &&
            isInt((m as Answer).left_id) &&
            isInt((m as Answer).right_id) &&
            ((m as Answer).left_id as number) >= 1 &&
            ((m as Answer).left_id as number) <= n &&
            ((m as Answer).right_id as number) >= 1 &&
            ((m as Answer).right_id as number) <= n,
        ) &&
        new Set(v.map((m) => (m as Answer).left_id)).size === v.length;
      if (!ok) {
        return {
          path: "answer.matches",
          message: `Give [{left_id, right_id}] with ids from 1 to ${n}, each left once.`,
        };
      }
      return only("matches");
    }
    case "ordering": {
      const ids = q.ids ?? [];
      const v = a.order;
      if (
        !Array.isArray(v) ||
        v.length !== ids.length ||
        !v.every((id) => isInt(id) && ids.includes(id)) ||
        new Set(v).size !== v.length
      ) {
        return { path: "answer.order", message: `Give every item id once, in your order (${ids.length} ids).` };
      }
      return only("order");
    }
  }
}

/** Trim, collapse inner whitespace, and lower-case unless case matters. */
export function normalise(text: string, caseSensitive: boolean): string {
  const t = text.trim().replace(/\s+/g, " ");
  return caseSensitive ? t : t.toLowerCase();
}

const round = (n: number) => Math.round(n * 100) / 100;

/** Grades one answer (undefined: unanswered). Negative marking applies to answered, wholly wrong answers. */
export function grade(q: FrozenQuestion, a: Answer | undefined): Graded {
  if (a === undefined) return { correct: false, score: 0 };
  if (q.type === "essay") return { correct: null, score: null };
  const fraction = fractionRight(q, a);
  const correct = fraction >= 1;
  const score = fraction > 0 ? round(q.points * fraction) : -q.negative_points;
  return { correct, score };
}

function fractionRight(q: FrozenQuestion, a: Answer): number {
  switch (q.type) {
    case "multiple_choice":
      return (q.key.options as ChoiceOpt[]).find((o) => o.id === a.option_id)?.correct ? 1 : 0;
    case "multiple_correct": {
      const opts = q.key.options as ChoiceOpt[];
      const right = new Set(opts.filter((o) => o.correct).map((o) => o.id));
      const picked = new Set(a.option_ids as number[]);
      const exact = picked.size === right.size && [...picked].every((id) => right.has(id));
      if (exact) return 1;
      if (!q.key.partial_credit) return 0;
      const hits = [...picked].filter((id) => right.has(id)).length;
      const misses = picked.size - hits;
      return Math.max(0, (hits - misses) / right.size);
    }
    case "true_false":
      return a.value === q.key.correct_answer ? 1 : 0;
    case "short_answers": {
      const cs = q.key.case_sensitive === true;
      const given = normalise(a.text as string, cs);
      return (q.key.accepted_answers as string[]).some((acc) => normalise(acc, cs) === given) ? 1 : 0;
    }
    case "numeric": {
      const tolerance = (q.key.tolerance as number) ?? 0;
      return Math.abs((a.number as number) - (q.key.correct_value as number)) <= tolerance + 1e-9 ? 1 : 0;
    }
    case "fill_in_blanks": {
      const cs = q.key.case_sensitive === true;
      const blanks = q.key.blanks as { accepted_answers: string[] }[];
      const given = a.blanks as string[];
      const right = blanks.filter((b, i) =>
        b.accepted_answers.some((acc) => normalise(acc, cs) === normalise(given[i] ?? "", cs)),
      ).length;
      return right / blanks.length;
    }
    case "matching": {
      const ids = q.ids ?? [];
      const matches = a.matches as { left_id: number; right_id: number }[];
      const right = matches.filter((m) => ids[m.left_id - 1] === m.right_id).length;
      return right / ids.length;
    }
    case "ordering": {
      const ids = q.ids ?? [];
      const order = a.order as number[];
      return order.every((id, i) => ids[i] === id) ? 1 : 0;
    }
    default:
      return 0;
  }
}

export interface Totals {
  score: number;
  maxScore: number;
  percent: number;
  pending: boolean;
  passed: boolean | null;
}

/** An attempt's totals: the score is never below 0; `passed` is null while an answer waits for a grader. */
export function totals(items: { score: number | null; maxScore: number }[], passPercent: number): Totals {
  const maxScore = items.reduce((s, i) => s + i.maxScore, 0);
  const pending = items.some((i) => i.score === null);
  const score = round(
    Math.max(
      0,
      items.reduce((s, i) => s + (i.score ?? 0), 0),
    ),
  );
  const percent = maxScore > 0 ? round((score * 100) / maxScore) : 100;
  return { score, maxScore, percent, pending, passed: pending ? null : percent >= passPercent };
}
