import { DurableObject } from "cloudflare:workers";
import { type AttemptMeta, finalizeAttempt, type GradedAnswer, recordAttemptResult } from "../modules/quizzes/finalize";
import {
  type Answer,
  answerProblem,
  correctAnswer,
  type FrozenQuestion,
  grade,
  present,
} from "../modules/quizzes/grading";
import type { Env } from "../platform/env";

/** Why a call was refused: the Worker turns it into the problem (RPC carries plain values, not ApiError). */
export interface Refusal {
  refused: { status: number; detail: string; errors?: { path: string; message: string }[]; retryAfter?: number };
}

export type AttemptStatus = "in_progress" | "submitting" | "submitted";

export interface LiveView {
  status: AttemptStatus;
  deadline_at: string | null;
  seconds_left: number | null;
  current_question_id: number | null;
  answered_count: number;
  questions: (ReturnType<typeof present> & { answer: Answer | null; feedback?: AnswerFeedback | null })[];
}

export interface AnswerFeedback {
  correct: boolean | null;
  score: number | null;
  correct_answer?: Answer;
  explanation?: string | null;
}

interface Loaded {
  meta: AttemptMeta;
  questions: FrozenQuestion[];
  byId: Map<number, FrozenQuestion>;
  answers: Map<number, Answer>;
  status: AttemptStatus;
  recorded: boolean;
}

/**
 * One object per quiz attempt (DESIGN.md section 6), named `<tenant id>:<attempt id>`: the single authority while
 * the attempt runs. It keeps the frozen questions (with their keys), the answers and the deadline in its own
 * SQLite storage, so the attempt survives eviction and restarts; saving an answer touches nothing else. Submit
 * (by the learner, or by the alarm at the deadline) grades and writes the result to D1 itself, once.
 */
export class QuizAttempt extends DurableObject<Env> {
  private loaded: Loaded | undefined;
  private submitting: Promise<void> | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS attempt (
      k INTEGER PRIMARY KEY CHECK (k = 1), meta TEXT NOT NULL, questions TEXT NOT NULL,
      status TEXT NOT NULL, recorded INTEGER NOT NULL DEFAULT 0)`);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS answers (
      question_id INTEGER PRIMARY KEY, answer TEXT NOT NULL, saved_at TEXT NOT NULL)`);
  }

  /** The attempt from storage (kept in memory until the object is evicted). */
  private load(): Loaded | undefined {
    if (this.loaded) return this.loaded;
    const row = this.ctx.storage.sql
      .exec<{ meta: string; questions: string; status: string; recorded: number }>(
        "SELECT meta, questions, status, recorded FROM attempt WHERE k = 1",
      )
      .toArray()[0];
    if (!row) return undefined;
    const questions = JSON.parse(row.questions) as FrozenQuestion[];
    const answers = new Map<number, Answer>();
    for (const a of this.ctx.storage.sql.exec<{ question_id: number; answer: string }>(
      "SELECT question_id, answer FROM answers",
    )) {
      answers.set(a.question_id, JSON.parse(a.answer));
    }
    this.loaded = {
      meta: JSON.parse(row.meta),
      questions,
      byId: new Map(questions.map((q) => [q.id, q])),
      answers,
      status: row.status as AttemptStatus,
      recorded: row.recorded === 1,
    };
    return this.loaded;
  }

  private owned(tenantId: number, userId: number | null): Loaded | undefined {
    const a = this.load();
    if (!a || a.meta.tenantId !== tenantId || (userId !== null && a.meta.userId !== userId)) return undefined;
    return a;
  }

  /** Answer saves in the current one-minute window (in memory: an evicted object starts a new window). */
  private saves = { windowStart: 0, count: 0 };

  private setStatus(a: Loaded, status: AttemptStatus, recorded = a.recorded) {
    this.ctx.storage.sql.exec("UPDATE attempt SET status = ?, recorded = ? WHERE k = 1", status, recorded ? 1 : 0);
    a.status = status;
    a.recorded = recorded;
  }

  /** Starts the attempt (idempotent: a second call with the same attempt changes nothing) and sets the alarm. */
  async init(meta: AttemptMeta, questions: FrozenQuestion[]): Promise<LiveView> {
    if (!this.load()) {
      this.ctx.storage.sql.exec(
        "INSERT INTO attempt (k, meta, questions, status) VALUES (1, ?, ?, 'in_progress')",
        JSON.stringify(meta),
        JSON.stringify(questions),
      );
      this.loaded = undefined;
      if (meta.deadlineAt) await this.ctx.storage.setAlarm(Date.parse(meta.deadlineAt));
    }
    return this.view(this.load() as Loaded);
  }

  /** The learner's view of a running attempt (auto-submits first when the deadline has passed). */
  async state(tenantId: number, userId: number | null): Promise<LiveView | Refusal> {
    const a = this.owned(tenantId, userId);
    if (!a) return notFound();
    if (a.status !== "submitted" && this.pastDeadline(a)) await this.submit(tenantId, null, "deadline");
    return this.view(a);
  }

  /**
   * Saves one answer (replacing the previous answer to that question). Answer saves skip the Worker's
   * per-credential write limiter (a Durable Object call of its own on every write): this object counts them
   * instead, in a one-minute window, against the academy's `writesPerMinute`.
   */
  async answer(
    tenantId: number,
    userId: number,
    questionId: number,
    answer: Answer,
    writesPerMinute = 600,
  ): Promise<{ question_id: number; saved_at: string; feedback: AnswerFeedback | null } | Refusal> {
    const a = this.owned(tenantId, userId);
    if (!a) return notFound();
    const now = Date.now();
    if (now - this.saves.windowStart >= 60_000) this.saves = { windowStart: now, count: 0 };
    if (++this.saves.count > writesPerMinute) {
      const retryAfter = Math.max(1, Math.ceil((this.saves.windowStart + 60_000 - now) / 1000));
      return {
        refused: {
          status: 429,
          detail: `Rate limit of ${writesPerMinute} answer saves per minute reached for this attempt; retry in ${retryAfter} seconds.`,
          retryAfter,
        },
      };
    }
    if (a.status !== "in_progress")
      return refuse(409, "This attempt has been submitted: answers can no longer change.");
    if (this.pastDeadline(a)) {
      return refuse(409, `The time for this attempt ran out at ${a.meta.deadlineAt}; the answer was not saved.`);
    }
    const q = a.byId.get(questionId);
    if (!q) return refuse(404, `Question ${questionId} is not part of this attempt.`);
    const problem = answerProblem(q, answer);
    if (problem)
      return { refused: { status: 422, detail: "The answer does not fit the question's type.", errors: [problem] } };
    if (a.meta.settings.forceSequential) {
      const missing = a.questions.find((other) => other.position < q.position && !a.answers.has(other.id));
      if (missing) {
        return refuse(
          409,
          `This quiz is answered in order: answer question ${missing.id} (position ${missing.position}) first.`,
        );
      }
    }
    if (a.meta.settings.realTimeGrading && a.answers.has(questionId)) {
      return refuse(409, `Question ${questionId} was graded when answered (real-time grading): it cannot change.`);
    }
    const savedAt = new Date().toISOString();
    this.ctx.storage.sql.exec(
      "INSERT INTO answers (question_id, answer, saved_at) VALUES (?, ?, ?) ON CONFLICT (question_id) DO UPDATE SET answer = excluded.answer, saved_at = excluded.saved_at",
      questionId,
      JSON.stringify(answer),
      savedAt,
    );
    a.answers.set(questionId, answer);
    return { question_id: questionId, saved_at: savedAt, feedback: this.feedback(a, q) };
  }

  /**
   * Grades and records the attempt: one D1 batch (attempt, answers, events), then the module status through the
   * progress contract. Idempotent: once submitted, it returns at once; an interrupted submit is finished.
   */
  async submit(tenantId: number, userId: number | null, by: "learner" | "deadline"): Promise<{ ok: true } | Refusal> {
    const a = this.owned(tenantId, userId);
    if (!a) return notFound();
    if (a.status === "submitted" && a.recorded) return { ok: true };
    if (!this.submitting) {
      // The status is stored before any I/O: answers arriving meanwhile are refused.
      if (a.status === "in_progress") this.setStatus(a, "submitting");
      this.submitting = this.finish(a, by).finally(() => {
        this.submitting = undefined;
      });
    }
    await this.submitting;
    return { ok: true };
  }

  private async finish(a: Loaded, by: "learner" | "deadline") {
    if (a.status !== "submitted") {
      const graded: GradedAnswer[] = a.questions.map((q) => {
        const answer = a.answers.get(q.id);
        return { question: q, answer: answer ?? null, ...grade(q, answer) };
      });
      const submittedBy = by === "deadline" || this.pastDeadline(a) ? "deadline" : "learner";
      await finalizeAttempt(this.env, a.meta, graded, submittedBy, new Date().toISOString());
      this.setStatus(a, "submitted", false);
    }
    if (!a.recorded) {
      await recordAttemptResult(this.env, a.meta);
      this.setStatus(a, "submitted", true);
      await this.ctx.storage.deleteAlarm();
    }
  }

  /** At the deadline: submit whatever was answered, even if the learner is gone (retried by the runtime on error). */
  async alarm() {
    const a = this.load();
    if (!a || (a.status === "submitted" && a.recorded)) return;
    if (a.status === "in_progress" && a.meta.deadlineAt && Date.now() < Date.parse(a.meta.deadlineAt)) {
      await this.ctx.storage.setAlarm(Date.parse(a.meta.deadlineAt));
      return;
    }
    await this.submit(a.meta.tenantId, null, "deadline");
  }

  private pastDeadline(a: Loaded) {
    return a.meta.deadlineAt !== null && Date.now() >= Date.parse(a.meta.deadlineAt);
  }

  private feedback(a: Loaded, q: FrozenQuestion): AnswerFeedback | null {
    if (!a.meta.settings.realTimeGrading) return null;
    const answer = a.answers.get(q.id);
    if (!answer) return null;
    const g = grade(q, answer);
    const reveal = a.meta.settings.showCorrectAnswers === "always";
    return {
      ...g,
      ...(reveal ? { correct_answer: correctAnswer(q), explanation: q.explanation } : {}),
    };
  }

  private view(a: Loaded): LiveView {
    const deadline = a.meta.deadlineAt;
    const firstOpen = a.questions.find((q) => !a.answers.has(q.id));
    return {
      status: a.status,
      deadline_at: deadline,
      seconds_left: deadline ? Math.max(0, Math.floor((Date.parse(deadline) - Date.now()) / 1000)) : null,
      current_question_id: firstOpen?.id ?? null,
      answered_count: a.answers.size,
      questions: a.questions.map((q) => ({
        ...present(q),
        answer: a.answers.get(q.id) ?? null,
        ...(a.meta.settings.realTimeGrading ? { feedback: this.feedback(a, q) } : {}),
      })),
    };
  }
}

function refuse(status: number, detail: string): Refusal {
  return { refused: { status, detail } };
}

function notFound(): Refusal {
  return refuse(404, "Attempt was not found.");
}
