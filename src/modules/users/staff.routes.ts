import { createRoute } from "@hono/zod-openapi";
import { adminContext } from "../../platform/auth";
import {
  adminAccess,
  createRouter,
  errorResponses,
  IdParam,
  jsonBody,
  jsonResponse,
  LookupQuery,
  LookupResponse,
  listQuery,
} from "../../platform/openapi";
import {
  Invitation,
  InvitationCreate,
  InvitationCreated,
  InvitationList,
  Staff,
  StaffCreate,
  StaffList,
  StaffListQuery,
  StaffUpdate,
} from "./schemas";
import * as users from "./service";

const tags = ["Staff"];
export const staffRouter = createRouter();

staffRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/staff",
    operationId: "listStaff",
    tags,
    summary: "List staff users",
    description: "Staff of the academy with their roles; filter by status or role, search name and email.",
    ...adminAccess("staff:read"),
    request: { query: StaffListQuery },
    responses: { 200: jsonResponse(StaffList, "A page of staff users"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await users.listStaff(adminContext(c), c.req.valid("query")), 200),
);

staffRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/staff/lookup",
    operationId: "lookupStaff",
    tags,
    summary: "Staff picker",
    description: "`[{value, label}]` pairs (label `Name <email>`) for an instructor or staff picker.",
    ...adminAccess("staff:read"),
    request: { query: LookupQuery },
    responses: { 200: jsonResponse(LookupResponse, "Matching staff users"), ...errorResponses(401, 403) },
  }),
  async (c) => {
    const ctx = adminContext(c);
    const { q, limit } = c.req.valid("query");
    return c.json(await users.lookupUsers(ctx, "staff", q, limit), 200);
  },
);

staffRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/staff",
    operationId: "createStaff",
    tags,
    summary: "Add a staff user",
    description:
      "Adds a staff user with a role directly (use invitations to let them choose their password). You can only give a role whose permissions you hold; only an Owner makes Owners.",
    ...adminAccess("staff:write"),
    request: { body: jsonBody(StaffCreate) },
    responses: { 201: jsonResponse(Staff, "The new staff user"), ...errorResponses(401, 403, 409, 413, 415) },
  }),
  async (c) => {
    const staff = await users.createStaff(adminContext(c), c.req.valid("json"));
    c.header("Location", `/v1/admin/staff/${staff.id}`);
    return c.json(staff, 201);
  },
);

staffRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/staff/{id}",
    operationId: "getStaff",
    tags,
    summary: "Get a staff user",
    description: "One staff user with their role.",
    ...adminAccess("staff:read"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(Staff, "The staff user"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await users.getStaff(adminContext(c), c.req.valid("param").id), 200),
);

staffRouter.openapi(
  createRoute({
    method: "patch",
    path: "/v1/admin/staff/{id}",
    operationId: "updateStaff",
    tags,
    summary: "Update a staff user",
    description:
      "Profile, role, status or password. A new password or `status: suspended` ends the user's sessions. The last Owner cannot be demoted or suspended (409).",
    ...adminAccess("staff:write"),
    request: { params: IdParam, body: jsonBody(StaffUpdate) },
    responses: { 200: jsonResponse(Staff, "The updated staff user"), ...errorResponses(401, 403, 404, 409, 413, 415) },
  }),
  async (c) => c.json(await users.updateStaff(adminContext(c), c.req.valid("param").id, c.req.valid("json")), 200),
);

staffRouter.openapi(
  createRoute({
    method: "delete",
    path: "/v1/admin/staff/{id}",
    operationId: "deleteStaff",
    tags,
    summary: "Remove a staff user",
    description: "Removes the user and ends their sessions. The last Owner cannot be removed (409).",
    ...adminAccess("staff:write"),
    request: { params: IdParam },
    responses: { 204: { description: "Removed" }, ...errorResponses(401, 403, 404, 409) },
  }),
  async (c) => {
    await users.deleteStaff(adminContext(c), c.req.valid("param").id);
    return c.body(null, 204);
  },
);

// ---- invitations -------------------------------------------------------------------------------------------

const invitationTags = ["Staff invitations"];

staffRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/invitations",
    operationId: "createInvitation",
    tags: invitationTags,
    summary: "Invite a staff user",
    description:
      "Creates a single-use invitation (default 7 days) for an email and role. The token is in this response and in the `invitation.created` event for your mailer; the invitee accepts at `POST /v1/admin/auth/accept-invitation`.",
    ...adminAccess("staff:write"),
    request: { body: jsonBody(InvitationCreate) },
    responses: { 201: jsonResponse(InvitationCreated, "The invitation"), ...errorResponses(401, 403, 409, 413, 415) },
  }),
  async (c) => {
    const invitation = await users.createInvitation(adminContext(c), c.req.valid("json"));
    c.header("Location", `/v1/admin/invitations/${invitation.id}`);
    return c.json(invitation, 201);
  },
);

staffRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/invitations",
    operationId: "listInvitations",
    tags: invitationTags,
    summary: "List invitations",
    description: "Invitations with their status: pending, accepted, revoked or expired.",
    ...adminAccess("staff:read"),
    request: { query: listQuery(["created_at", "email"], "-created_at") },
    responses: { 200: jsonResponse(InvitationList, "A page of invitations"), ...errorResponses(401, 403) },
  }),
  async (c) => c.json(await users.listInvitations(adminContext(c), c.req.valid("query")), 200),
);

staffRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/invitations/{id}",
    operationId: "getInvitation",
    tags: invitationTags,
    summary: "Get an invitation",
    description: "One invitation and its status (the token is never shown again).",
    ...adminAccess("staff:read"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(Invitation, "The invitation"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const ctx = adminContext(c);
    return c.json(users.toInvitation(await users.findInvitation(ctx, c.req.valid("param").id)), 200);
  },
);

staffRouter.openapi(
  createRoute({
    method: "delete",
    path: "/v1/admin/invitations/{id}",
    operationId: "revokeInvitation",
    tags: invitationTags,
    summary: "Revoke an invitation",
    description: "The invitation can no longer be accepted. Accepted invitations answer 409.",
    ...adminAccess("staff:write"),
    request: { params: IdParam },
    responses: { 204: { description: "Revoked" }, ...errorResponses(401, 403, 404, 409) },
  }),
  async (c) => {
    await users.revokeInvitation(adminContext(c), c.req.valid("param").id);
    return c.body(null, 204);
  },
);
