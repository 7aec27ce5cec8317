import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { roles } from "../roles/tables";
import { tenants } from "../tenants/tables";

/**
 * People of an academy. `kind` splits staff (who hold a role and use the admin API) from learners
 * (who use the learner API). An email is unique per tenant and kind. Fields follow Miestro's user.
 */
export const users = sqliteTable(
  "users",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: ["staff", "learner"] }).notNull(),
    email: text("email").notNull(),
    name: text("name").notNull(),
    passwordHash: text("password_hash"),
    // Deleting a role in use is refused by the roles service (409), not by the database.
    roleId: integer("role_id").references(() => roles.id),
    status: text("status", { enum: ["active", "suspended"] })
      .notNull()
      .default("active"),
    pictureSrc: text("picture_src"),
    // The public instructor profile of staff who teach (name, headline, bio, picture).
    headline: text("headline"),
    bio: text("bio"),
    companyName: text("company_name"),
    paypalEmail: text("paypal_email"),
    emailUnsubscribe: integer("email_unsubscribe", { mode: "boolean" }).notNull().default(false),
    score: integer("score").notNull().default(0),
    locale: text("locale"),
    timezone: text("timezone"),
    externalId: text("external_id"),
    emailVerifiedAt: text("email_verified_at"),
    lastLoginAt: text("last_login_at"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("users_tenant_kind_email_uq").on(t.tenantId, t.kind, t.email),
    index("users_tenant_kind_created_idx").on(t.tenantId, t.kind, t.createdAt),
    index("users_tenant_kind_name_idx").on(t.tenantId, t.kind, t.name),
    index("users_tenant_role_idx").on(t.tenantId, t.roleId),
  ],
);

/** Staff invitations: an email and a role; accepting creates the staff user. */
export const invitations = sqliteTable(
  "invitations",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: integer("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    email: text("email").notNull(),
    name: text("name"),
    roleId: integer("role_id")
      .notNull()
      .references(() => roles.id, { onDelete: "cascade" }),
    tokenHash: text("token_hash").notNull().unique(),
    invitedByUserId: integer("invited_by_user_id"),
    expiresAt: text("expires_at").notNull(),
    acceptedAt: text("accepted_at"),
    revokedAt: text("revoked_at"),
    createdAt: text("created_at").notNull(),
  },
  (t) => [index("invitations_tenant_created_idx").on(t.tenantId, t.createdAt)],
);
