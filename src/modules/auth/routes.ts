import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { adminContext, clientIp, learnerContext, tenantContextFor } from "../../platform/auth";
import type { AppEnv } from "../../platform/env";
import { ApiError } from "../../platform/errors";
import { createRouter, errorResponses, jsonBody, jsonResponse, SECURITY } from "../../platform/openapi";
import { resolveTenant } from "../tenants/service";
import { AcceptInvitation } from "../users/schemas";
import * as users from "../users/service";
import {
  Accepted,
  LearnerSession,
  LoginRequest,
  PasswordResetConfirm,
  PasswordResetRequest,
  RefreshRequest,
  RegisterRequest,
  StaffSession,
  TenantHeader,
  TokenPair,
  VerifyEmailRequest,
} from "./schemas";
import * as auth from "./service";

const RESET_ACCEPTED = { message: "If the account exists, an email with a reset link is on its way." };

/** Paths under the admin and learner prefixes that take no credential (app.ts skips authentication for them). */
export const PUBLIC_AUTH_PATHS = new Set([
  "/v1/admin/auth/login",
  "/v1/admin/auth/refresh",
  "/v1/admin/auth/password-reset",
  "/v1/admin/auth/password-reset/confirm",
  "/v1/admin/auth/accept-invitation",
  "/v1/learner/auth/login",
  "/v1/learner/auth/register",
  "/v1/learner/auth/refresh",
  "/v1/learner/auth/password-reset",
  "/v1/learner/auth/password-reset/confirm",
  "/v1/learner/auth/verify-email",
]);

function meta(c: Context<AppEnv>) {
  return { ip: clientIp(c), userAgent: c.req.header("user-agent") };
}

async function tenantOf(c: Context<AppEnv>) {
  return tenantContextFor(c, (await resolveTenant(c)).id);
}

// ---- staff -------------------------------------------------------------------------------------------------

const adminTags = ["Admin authentication"];
export const adminAuthRouter = createRouter();

adminAuthRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/auth/login",
    operationId: "adminLogin",
    tags: adminTags,
    summary: "Staff sign-in",
    description:
      "Email and password of a staff user of the academy named by `X-Tenant`. Returns a 15-minute access token for `/v1/admin/*` and a refresh token. Repeated failures per account or IP answer 429 with `Retry-After`.",
    security: [],
    request: { headers: TenantHeader, body: jsonBody(LoginRequest) },
    responses: { 200: jsonResponse(StaffSession, "Signed in"), ...errorResponses(401, 403, 404, 413, 415, 429) },
  }),
  async (c) => {
    const ctx = await tenantOf(c);
    const { email, password } = c.req.valid("json");
    const { user, ...tokens } = await auth.login(ctx, "staff", email, password, meta(c));
    return c.json({ ...tokens, user: await users.getStaff(ctx, user.id) }, 200);
  },
);

adminAuthRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/auth/refresh",
    operationId: "adminRefresh",
    tags: adminTags,
    summary: "Refresh a staff session",
    description: "Exchanges a refresh token for a new access token and a new refresh token; the old one stops working.",
    security: [],
    request: { body: jsonBody(RefreshRequest) },
    responses: { 200: jsonResponse(TokenPair, "A new token pair"), ...errorResponses(401, 403, 413, 415) },
  }),
  async (c) => c.json(await auth.refresh(c.get("db"), c.env, c.req.valid("json").refresh_token, "staff"), 200),
);

adminAuthRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/auth/logout",
    operationId: "adminLogout",
    tags: adminTags,
    summary: "Staff sign-out",
    description: "Ends the session of the access token: it and its refresh token stop working at once.",
    security: SECURITY.admin,
    responses: { 204: { description: "Signed out" }, ...errorResponses(401, 403) },
  }),
  async (c) => {
    const ctx = adminContext(c);
    if (ctx.principal.kind !== "staff") {
      throw ApiError.forbidden("API keys and client tokens have no session; revoke them instead.");
    }
    await auth.logout(ctx, ctx.principal.sessionId);
    return c.body(null, 204);
  },
);

adminAuthRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/auth/password-reset",
    operationId: "adminRequestPasswordReset",
    tags: adminTags,
    summary: "Request a staff password reset",
    description:
      "Always 202, whether or not the email exists. The single-use token (1 hour) reaches the academy's mailer through the `staff.password_reset_requested` event.",
    security: [],
    request: { headers: TenantHeader, body: jsonBody(PasswordResetRequest) },
    responses: { 202: jsonResponse(Accepted, "Accepted"), ...errorResponses(404, 413, 415, 429) },
  }),
  async (c) => {
    await auth.requestPasswordReset(await tenantOf(c), "staff", c.req.valid("json").email);
    return c.json(RESET_ACCEPTED, 202);
  },
);

adminAuthRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/auth/password-reset/confirm",
    operationId: "adminConfirmPasswordReset",
    tags: adminTags,
    summary: "Set a new staff password with a reset token",
    description: "The token works once and expires after an hour. Every session of the user ends.",
    security: [],
    request: { headers: TenantHeader, body: jsonBody(PasswordResetConfirm) },
    responses: { 204: { description: "Password changed" }, ...errorResponses(404, 413, 415) },
  }),
  async (c) => {
    const { token, password } = c.req.valid("json");
    await auth.resetPassword(await tenantOf(c), token, password);
    return c.body(null, 204);
  },
);

adminAuthRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/auth/accept-invitation",
    operationId: "acceptInvitation",
    tags: adminTags,
    summary: "Accept a staff invitation",
    description: "Creates the staff user of the invitation with the chosen password and signs them in.",
    security: [],
    request: { body: jsonBody(AcceptInvitation) },
    responses: { 201: jsonResponse(StaffSession, "Signed in as the new staff user"), ...errorResponses(409, 413, 415) },
  }),
  async (c) => {
    const { user, tenantId } = await users.acceptInvitation(c.get("db"), c.req.valid("json"));
    const ctx = tenantContextFor(c, tenantId);
    const tokens = await auth.openSession(ctx, user, meta(c));
    return c.json({ ...tokens, user: await users.getStaff(ctx, user.id) }, 201);
  },
);

// ---- learners ----------------------------------------------------------------------------------------------

const learnerTags = ["Learner authentication"];
export const learnerAuthRouter = createRouter();

learnerAuthRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/learner/auth/register",
    operationId: "learnerRegister",
    tags: learnerTags,
    summary: "Learner sign-up",
    description:
      "Creates a learner in the academy named by `X-Tenant` (or the custom domain) and signs them in. Academies with `settings.allow_registration: false` answer 403. A verification token is sent through the `learner.email_verification_requested` event.",
    security: [],
    request: { headers: TenantHeader, body: jsonBody(RegisterRequest) },
    responses: {
      201: jsonResponse(LearnerSession, "Registered and signed in"),
      ...errorResponses(403, 404, 409, 413, 415, 429),
    },
  }),
  async (c) => {
    const tenant = await resolveTenant(c);
    if (tenant.settings.allow_registration === false) {
      throw ApiError.forbidden("This academy does not allow self-registration.");
    }
    const ctx = tenantContextFor(c, tenant.id);
    const user = await users.createLearner(ctx, c.req.valid("json"), "learner.registered");
    await auth.requestEmailVerification(ctx, user);
    const tokens = await auth.openSession(ctx, user, meta(c));
    return c.json({ ...tokens, user: users.toLearner(user) }, 201);
  },
);

learnerAuthRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/learner/auth/login",
    operationId: "learnerLogin",
    tags: learnerTags,
    summary: "Learner sign-in",
    description:
      "Email and password of a learner of the academy named by `X-Tenant` (or the custom domain). Returns a 15-minute access token for `/v1/learner/*` and a refresh token. Repeated failures answer 429 with `Retry-After`.",
    security: [],
    request: { headers: TenantHeader, body: jsonBody(LoginRequest) },
    responses: { 200: jsonResponse(LearnerSession, "Signed in"), ...errorResponses(401, 403, 404, 413, 415, 429) },
  }),
  async (c) => {
    const ctx = await tenantOf(c);
    const { email, password } = c.req.valid("json");
    const { user, ...tokens } = await auth.login(ctx, "learner", email, password, meta(c));
    return c.json({ ...tokens, user: users.toLearner(user) }, 200);
  },
);

learnerAuthRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/learner/auth/refresh",
    operationId: "learnerRefresh",
    tags: learnerTags,
    summary: "Refresh a learner session",
    description: "Exchanges a refresh token for a new pair; the old refresh token stops working.",
    security: [],
    request: { body: jsonBody(RefreshRequest) },
    responses: { 200: jsonResponse(TokenPair, "A new token pair"), ...errorResponses(401, 403, 413, 415) },
  }),
  async (c) => c.json(await auth.refresh(c.get("db"), c.env, c.req.valid("json").refresh_token, "learner"), 200),
);

learnerAuthRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/learner/auth/logout",
    operationId: "learnerLogout",
    tags: learnerTags,
    summary: "Learner sign-out",
    description: "Ends the session: its access and refresh tokens stop working at once.",
    security: SECURITY.learner,
    responses: { 204: { description: "Signed out" }, ...errorResponses(401, 403) },
  }),
  async (c) => {
    const ctx = learnerContext(c);
    await auth.logout(ctx, ctx.principal.sessionId);
    return c.body(null, 204);
  },
);

learnerAuthRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/learner/auth/password-reset",
    operationId: "learnerRequestPasswordReset",
    tags: learnerTags,
    summary: "Request a learner password reset",
    description:
      "Always 202, whether or not the email exists. The single-use token (1 hour) reaches the academy's mailer through the `learner.password_reset_requested` event.",
    security: [],
    request: { headers: TenantHeader, body: jsonBody(PasswordResetRequest) },
    responses: { 202: jsonResponse(Accepted, "Accepted"), ...errorResponses(404, 413, 415, 429) },
  }),
  async (c) => {
    await auth.requestPasswordReset(await tenantOf(c), "learner", c.req.valid("json").email);
    return c.json(RESET_ACCEPTED, 202);
  },
);

learnerAuthRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/learner/auth/password-reset/confirm",
    operationId: "learnerConfirmPasswordReset",
    tags: learnerTags,
    summary: "Set a new learner password with a reset token",
    description: "The token works once and expires after an hour. Every session of the learner ends.",
    security: [],
    request: { headers: TenantHeader, body: jsonBody(PasswordResetConfirm) },
    responses: { 204: { description: "Password changed" }, ...errorResponses(404, 413, 415) },
  }),
  async (c) => {
    const { token, password } = c.req.valid("json");
    await auth.resetPassword(await tenantOf(c), token, password);
    return c.body(null, 204);
  },
);

learnerAuthRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/learner/auth/verify-email",
    operationId: "learnerVerifyEmail",
    tags: learnerTags,
    summary: "Verify a learner's email address",
    description: "Consumes the single-use token of the `learner.email_verification_requested` event.",
    security: [],
    request: { headers: TenantHeader, body: jsonBody(VerifyEmailRequest) },
    responses: { 204: { description: "Verified" }, ...errorResponses(404, 413, 415) },
  }),
  async (c) => {
    await auth.verifyEmail(await tenantOf(c), c.req.valid("json").token);
    return c.body(null, 204);
  },
);

learnerAuthRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/learner/auth/verify-email/request",
    operationId: "learnerRequestEmailVerification",
    tags: learnerTags,
    summary: "Send a new email verification token",
    description: "For the signed-in learner; 409 when the address is already verified.",
    security: SECURITY.learner,
    responses: { 202: jsonResponse(Accepted, "Accepted"), ...errorResponses(401, 403, 409, 429) },
  }),
  async (c) => {
    const ctx = learnerContext(c);
    await auth.requestEmailVerification(ctx, await users.findUser(ctx, "learner", ctx.principal.userId));
    return c.json({ message: "A verification email is on its way." }, 202);
  },
);
