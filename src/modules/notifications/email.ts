/**
 * The email outbox's sending side. Rows of `emails` are written in the batch that decides to send them (the
 * notification consumer); nothing sends mail inside a request. The cron (`scheduled`, every minute) calls
 * `sendDueEmails`, which claims due rows with a lease, sends them through the configured sender, and records the
 * outcome: sent, retried later with backoff, or failed after the last try (or at once for a refusal that a retry
 * cannot fix).
 *
 * Senders (deployment configuration, secrets through `wrangler secret put`):
 * - `EMAIL_PROVIDER=http`: a JSON POST per email to `EMAIL_API_URL` with `Authorization: Bearer EMAIL_API_KEY`,
 *   in the shape of Resend's `POST /emails` (`{from, to: [..], subject, text, html, reply_to}`), so Resend works
 *   as is and any relay that accepts that JSON does too. An `Idempotency-Key` header lets the provider drop a
 *   repeat of the same email.
 * - `EMAIL_PROVIDER=log`: writes each email to the Worker log (development).
 * - unset: `log` where ENVIRONMENT is development or test; elsewhere no sender, and emails fail with a reason.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Db, Env } from "../../platform/env";
import { addSeconds, nowIso } from "../../platform/time";
import { tenants } from "../tenants/tables";
import { type EmailRow, emails } from "./tables";

/** Optional email settings of the deployment (wrangler.toml vars and secrets). */
export interface EmailEnv {
  EMAIL_PROVIDER?: string;
  EMAIL_API_URL?: string;
  EMAIL_API_KEY?: string;
  /** Default sender address when the academy's `settings.email.from` is not set. */
  EMAIL_FROM?: string;
}

/** Seconds to wait after failed attempt N (index N-1): 1 min, 5 min, 30 min, 2 h; the 5th failure is final. */
export const EMAIL_RETRY_SCHEDULE = [60, 300, 1800, 7200] as const;
export const EMAIL_MAX_ATTEMPTS = EMAIL_RETRY_SCHEDULE.length + 1;
/** A claimed row is someone's for this long; past it (a crashed sweep) the next sweep takes it again. */
const LEASE_SECONDS = 300;
const REQUEST_TIMEOUT_MS = 10_000;
const LOCAL_ENVIRONMENTS = new Set(["development", "test"]);

export interface OutgoingEmail {
  id: number;
  tenantId: number;
  from: string;
  replyTo: string | null;
  to: string;
  subject: string;
  text: string;
  html: string | null;
}

export interface SendResult {
  ok: boolean;
  providerMessageId?: string | null;
  error?: string;
  /** A refusal that retrying cannot change (a 4xx other than 408/429): the email fails at once. */
  permanent?: boolean;
}

export interface EmailSender {
  name: string;
  send(email: OutgoingEmail): Promise<SendResult>;
}

/** Development: the email goes to the Worker log, nowhere else. */
export const logSender: EmailSender = {
  name: "log",
  async send(email) {
    console.log(
      JSON.stringify({
        level: "info",
        message: "email (log sender)",
        email_id: email.id,
        from: email.from,
        to: email.to,
        subject: email.subject,
        text: email.text,
      }),
    );
    return { ok: true, providerMessageId: `log-${email.id}` };
  },
};

/** A Resend-compatible JSON API. */
export function httpSender(url: string, apiKey: string | undefined): EmailSender {
  return {
    name: "http",
    async send(email) {
      let response: Response;
      try {
        response = await fetch(url, {
          method: "POST",
          redirect: "manual",
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
          headers: {
            "content-type": "application/json",
            "idempotency-key": `lectern-email-${email.tenantId}-${email.id}`,
            "user-agent": "Lectern-Email/1",
            ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
          },
          body: JSON.stringify({
            from: email.from,
            to: [email.to],
            subject: email.subject,
            text: email.text,
            ...(email.html ? { html: email.html } : {}),
            ...(email.replyTo ? { reply_to: email.replyTo } : {}),
          }),
        });
      } catch (err) {
        return { ok: false, error: `Request failed: ${String((err as Error)?.message ?? err)}`.slice(0, 500) };
      }
      const text = await response.text().catch(() => "");
      if (response.ok) {
        let id: string | null = null;
        try {
          const parsed = JSON.parse(text) as { id?: unknown };
          if (typeof parsed.id === "string" || typeof parsed.id === "number") id = String(parsed.id);
        } catch {
          // A provider that answers no JSON: sent, without an id.
        }
        return { ok: true, providerMessageId: id };
      }
      const status = response.status;
      return {
        ok: false,
        error: `Provider answered ${status}: ${text.slice(0, 300)}`,
        permanent: status >= 400 && status < 500 && status !== 408 && status !== 429,
      };
    },
  };
}

/** Why no sender can be built (a configuration problem), or the sender. */
export function senderFor(env: Env & EmailEnv): EmailSender | string {
  const local = LOCAL_ENVIRONMENTS.has(env.ENVIRONMENT ?? "");
  const provider = env.EMAIL_PROVIDER ?? (local ? "log" : "");
  if (provider === "log") return logSender;
  if (provider === "http") {
    if (!env.EMAIL_API_URL) return "EMAIL_PROVIDER is http but EMAIL_API_URL is not set.";
    let url: URL;
    try {
      url = new URL(env.EMAIL_API_URL);
    } catch {
      return "EMAIL_API_URL is not a URL.";
    }
    const loopback = url.hostname === "127.0.0.1" || url.hostname === "localhost" || url.hostname === "[::1]";
    if (url.protocol !== "https:" && !(local && loopback)) {
      return "EMAIL_API_URL must be https (plain http only to loopback in development).";
    }
    return httpSender(url.toString(), env.EMAIL_API_KEY);
  }
  return provider
    ? `Unknown EMAIL_PROVIDER "${provider}" (use http or log).`
    : "No email provider is configured (set EMAIL_PROVIDER, EMAIL_API_URL and EMAIL_API_KEY).";
}

export function retryDelaySeconds(attempt: number): number {
  return EMAIL_RETRY_SCHEDULE[Math.min(Math.max(attempt, 1), EMAIL_RETRY_SCHEDULE.length) - 1];
}

interface TenantEmailSettings {
  from?: unknown;
  from_name?: unknown;
  reply_to?: unknown;
}

function fromOf(env: EmailEnv, tenant: { name: string; settings: Record<string, unknown> } | undefined) {
  const settings = (tenant?.settings.email ?? {}) as TenantEmailSettings;
  const address =
    typeof settings.from === "string" && settings.from ? settings.from : env.EMAIL_FROM || "no-reply@lectern.dev";
  const name = typeof settings.from_name === "string" ? settings.from_name : (tenant?.name ?? "");
  const safeName = name.replace(/["\r\n<>]/g, "").trim();
  return {
    from: safeName ? `"${safeName}" <${address}>` : address,
    replyTo: typeof settings.reply_to === "string" && settings.reply_to ? settings.reply_to : null,
  };
}

/**
 * Claims up to `limit` due emails (pending ones whose time has come, and sending ones whose lease ran out), sends
 * them, and records each outcome. Safe to run concurrently: a row is claimed by one sweep at a time.
 */
export async function sendDueEmails(env: Env & EmailEnv, db: Db, limit = 50) {
  const now = nowIso();
  const claimed = (await db
    .update(emails)
    .set({
      status: "sending",
      attempts: sql`${emails.attempts} + 1`,
      nextAttemptAt: addSeconds(now, LEASE_SECONDS),
      updatedAt: now,
    })
    .where(
      sql`${emails.id} IN (SELECT id FROM emails WHERE status IN ('pending', 'sending') AND next_attempt_at <= ${now} ORDER BY next_attempt_at LIMIT ${limit})`,
    )
    .returning()) as EmailRow[];
  const outcome = { sent: 0, retried: 0, failed: 0 };
  if (claimed.length === 0) return outcome;

  const tenantRows = await db
    .select({ id: tenants.id, name: tenants.name, settings: tenants.settings })
    .from(tenants)
    .where(inArray(tenants.id, [...new Set(claimed.map((e) => e.tenantId))]));
  const tenantById = new Map(tenantRows.map((t) => [t.id, t]));
  const sender = senderFor(env);

  const results = await Promise.all(
    claimed.map(async (row): Promise<[EmailRow, SendResult]> => {
      if (typeof sender === "string") return [row, { ok: false, error: sender, permanent: true }];
      const { from, replyTo } = fromOf(env, tenantById.get(row.tenantId));
      try {
        const result = await sender.send({
          id: row.id,
          tenantId: row.tenantId,
          from,
          replyTo,
          to: row.toAddress,
          subject: row.subject,
          text: row.textBody,
          html: row.htmlBody,
        });
        return [row, result];
      } catch (err) {
        return [row, { ok: false, error: String((err as Error)?.message ?? err).slice(0, 500) }];
      }
    }),
  );

  const done = nowIso();
  const updates = results.map(([row, result]) => {
    const final = !result.ok && (result.permanent || row.attempts >= EMAIL_MAX_ATTEMPTS);
    if (result.ok) outcome.sent++;
    else if (final) outcome.failed++;
    else outcome.retried++;
    return db
      .update(emails)
      .set(
        result.ok
          ? {
              status: "sent",
              sentAt: done,
              lastError: null,
              providerMessageId: result.providerMessageId ?? null,
              updatedAt: done,
            }
          : {
              status: final ? "failed" : "pending",
              lastError: result.error ?? "Unknown error",
              nextAttemptAt: final ? done : addSeconds(done, retryDelaySeconds(row.attempts)),
              updatedAt: done,
            },
      )
      .where(and(eq(emails.tenantId, row.tenantId), eq(emails.id, row.id), eq(emails.status, "sending")));
  });
  await db.batch(updates as unknown as [(typeof updates)[number]]);
  return outcome;
}

/**
 * The cron's share: rounds of `sendDueEmails` while each round finds a full batch, up to `maxEmails` per run
 * (each email is one subrequest; a run stays well inside the Workers limits).
 */
export async function sweepEmails(env: Env & EmailEnv, db: Db, batchSize = 50, maxEmails = 500) {
  const total = { sent: 0, retried: 0, failed: 0 };
  for (let done = 0; done < maxEmails; done += batchSize) {
    const round = await sendDueEmails(env, db, batchSize);
    total.sent += round.sent;
    total.retried += round.retried;
    total.failed += round.failed;
    if (round.sent + round.retried + round.failed < batchSize) break;
  }
  return total;
}
