import { z } from "@hono/zod-openapi";
import { Email, Name, Password } from "../../platform/validation";
import { Learner, Staff } from "../users/schemas";

export const TenantHeader = z.object({
  "x-tenant": z
    .string()
    .max(64)
    .optional()
    .openapi({
      param: { name: "x-tenant", in: "header" },
      description: "The academy's slug. May be omitted when calling the academy's custom domain.",
      example: "demo",
    }),
});

export const LoginRequest = z
  .strictObject({ email: Email, password: z.string().min(1, "Required.").max(256) })
  .openapi("LoginRequest");

export const RefreshRequest = z.strictObject({ refresh_token: z.string().min(1).max(200) }).openapi("RefreshRequest");

export const TokenPair = z
  .object({
    token_type: z.literal("Bearer"),
    access_token: z.string().openapi({ description: "JWT; send as `Authorization: Bearer <access_token>`" }),
    expires_in: z.number().int().openapi({ example: 900, description: "Seconds until the access token expires" }),
    refresh_token: z.string().openapi({ description: "Single use; exchange at .../auth/refresh for a new pair" }),
    refresh_expires_in: z.number().int(),
  })
  .openapi("TokenPair");

export const StaffSession = TokenPair.extend({ user: Staff }).openapi("StaffSession");
export const LearnerSession = TokenPair.extend({ user: Learner }).openapi("LearnerSession");

export const PasswordResetRequest = z.strictObject({ email: Email }).openapi("PasswordResetRequest");

export const PasswordResetConfirm = z
  .strictObject({ token: z.string().min(10).max(200), password: Password })
  .openapi("PasswordResetConfirm");

export const VerifyEmailRequest = z.strictObject({ token: z.string().min(10).max(200) }).openapi("VerifyEmailRequest");

export const RegisterRequest = z
  .strictObject({ name: Name, email: Email, password: Password })
  .openapi("RegisterRequest");

export const Accepted = z
  .object({ message: z.string().openapi({ example: "If the account exists, an email is on its way." }) })
  .openapi("Accepted");
