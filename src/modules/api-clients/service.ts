import { and, eq, isNotNull, isNull, or } from "drizzle-orm";
import type { AdminPrincipal, TenantContext } from "../../platform/auth";
import { randomAlnum, randomToken, sha256Hex, timingSafeEqual } from "../../platform/crypto";
import type { Db, Env } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { outboxInsert } from "../../platform/events";
import { signAccessToken } from "../../platform/jwt";
import { contains, type ListParams, orderBy, paginate } from "../../platform/pagination";
import { coversAll } from "../../platform/permissions";
import {
  assertNotThrottled,
  clearFailures,
  LOGIN_PER_ACCOUNT,
  LOGIN_PER_IP,
  recordFailure,
} from "../../platform/throttle";
import { nowIso } from "../../platform/time";
import { assertCanGrant } from "../roles/service";
import { tenants } from "../tenants/tables";
import { apiClients } from "./tables";

export const CLIENT_TOKEN_TTL = 60 * 60;

type ApiClientRow = typeof apiClients.$inferSelect;

export function toApiClient(row: ApiClientRow) {
  return {
    id: row.id,
    name: row.name,
    client_id: row.clientId,
    scopes: row.scopes,
    status: (row.revokedAt ? "revoked" : "active") as "active" | "revoked",
    created_by_user_id: row.createdByUserId,
    last_used_at: row.lastUsedAt,
    revoked_at: row.revokedAt,
    created_at: row.createdAt,
  };
}

export async function createApiClient(ctx: TenantContext<AdminPrincipal>, input: { name: string; scopes?: string[] }) {
  const scopes = [...new Set(input.scopes ?? ctx.principal.permissions)];
  assertCanGrant(ctx.principal, scopes, "an API client");
  const secret = `lcs_${randomToken(32)}`;
  const [[row]] = await ctx.db.batch([
    ctx.db
      .insert(apiClients)
      .values({
        tenantId: ctx.tenantId,
        name: input.name,
        clientId: `lc_${randomAlnum(20)}`,
        secretHash: await sha256Hex(secret),
        scopes,
        createdByUserId: ctx.principal.kind === "staff" ? ctx.principal.userId : null,
        createdAt: nowIso(),
      })
      .returning(),
    outboxInsert(ctx.db, ctx.tenantId, "api_client.created", { name: input.name }),
  ]);
  return { ...toApiClient(row), client_secret: secret };
}

export async function findApiClient(ctx: TenantContext, id: number) {
  const row = await ctx.db.query.apiClients.findFirst({
    where: and(eq(apiClients.tenantId, ctx.tenantId), eq(apiClients.id, id)),
  });
  if (!row) throw ApiError.notFound(`API client ${id}`);
  return row;
}

export async function listApiClients(
  ctx: TenantContext,
  query: ListParams & { q?: string; status?: "active" | "revoked" },
) {
  const where = and(
    eq(apiClients.tenantId, ctx.tenantId),
    query.status === "active" ? isNull(apiClients.revokedAt) : undefined,
    query.status === "revoked" ? isNotNull(apiClients.revokedAt) : undefined,
    query.q ? or(contains(apiClients.name, query.q), contains(apiClients.clientId, query.q)) : undefined,
  );
  const order = orderBy(
    query.sort,
    { name: apiClients.name, created_at: apiClients.createdAt, last_used_at: apiClients.lastUsedAt },
    apiClients.id,
  );
  return paginate(ctx.db, apiClients, where, order, query, toApiClient);
}

export async function rotateApiClientSecret(ctx: TenantContext<AdminPrincipal>, id: number) {
  const row = await findApiClient(ctx, id);
  assertCanGrant(ctx.principal, row.scopes, "a new secret for a client");
  if (row.revokedAt) throw ApiError.conflict("This API client is revoked.");
  const secret = `lcs_${randomToken(32)}`;
  const [[updated]] = await ctx.db.batch([
    ctx.db
      .update(apiClients)
      .set({ secretHash: await sha256Hex(secret) })
      .where(and(eq(apiClients.tenantId, ctx.tenantId), eq(apiClients.id, id)))
      .returning(),
    outboxInsert(ctx.db, ctx.tenantId, "api_client.secret_rotated", { id }),
  ]);
  return { ...toApiClient(updated), client_secret: secret };
}

/** Revoking ends the client's access tokens at once: each admin request checks the client. */
export async function revokeApiClient(ctx: TenantContext<AdminPrincipal>, id: number) {
  const row = await findApiClient(ctx, id);
  assertCanGrant(ctx.principal, row.scopes, "the revocation of a client");
  if (row.revokedAt) return;
  await ctx.db.batch([
    ctx.db
      .update(apiClients)
      .set({ revokedAt: nowIso() })
      .where(and(eq(apiClients.tenantId, ctx.tenantId), eq(apiClients.id, id))),
    outboxInsert(ctx.db, ctx.tenantId, "api_client.revoked", { id }),
  ]);
}

const invalidClient = () =>
  new ApiError(401, "The client_id or client_secret is not valid.", {
    slug: "invalid-client",
    extra: { error: "invalid_client" },
    headers: { "WWW-Authenticate": 'Basic realm="lectern"' },
  });

/** OAuth 2.0 client credentials grant: a short-lived admin JWT for the client's tenant. */
export async function issueClientToken(
  db: Db,
  env: Env,
  input: { clientId: string; clientSecret: string; scope?: string; ip: string },
) {
  const clientKey = `oauth:${input.clientId}`;
  const ipKey = `oauth-ip:${input.ip}`;
  await assertNotThrottled(db, [clientKey, ipKey], "failed token requests");
  const [row] = await db
    .select({ client: apiClients, tenantStatus: tenants.status })
    .from(apiClients)
    .innerJoin(tenants, eq(tenants.id, apiClients.tenantId))
    .where(eq(apiClients.clientId, input.clientId))
    .limit(1);
  const ok =
    row && !row.client.revokedAt && timingSafeEqual(await sha256Hex(input.clientSecret), row.client.secretHash);
  if (!row || !ok) {
    await db.batch([recordFailure(db, clientKey, LOGIN_PER_ACCOUNT), recordFailure(db, ipKey, LOGIN_PER_IP)]);
    throw invalidClient();
  }
  if (row.tenantStatus !== "active") throw ApiError.forbidden("This academy is suspended.");
  const requested = input.scope ? input.scope.split(/\s+/).filter(Boolean) : row.client.scopes;
  if (requested.length === 0 || !coversAll(row.client.scopes, requested)) {
    throw new ApiError(400, "The requested scope exceeds the client's scopes.", {
      slug: "invalid-scope",
      extra: { error: "invalid_scope" },
    });
  }
  const token = await signAccessToken(
    env.JWT_SECRET,
    {
      sub: `client:${row.client.id}`,
      aud: "admin",
      tid: row.client.tenantId,
      scp: input.scope ? requested : undefined,
    },
    CLIENT_TOKEN_TTL,
  );
  await db.batch([
    db.update(apiClients).set({ lastUsedAt: nowIso() }).where(eq(apiClients.id, row.client.id)),
    clearFailures(db, clientKey),
  ]);
  return { token, scope: requested.join(" ") };
}
