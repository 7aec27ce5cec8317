import { createRoute } from "@hono/zod-openapi";
import { adminContext } from "../../platform/auth";
import { adminAccess, createRouter, errorResponses, IdParam, jsonBody, jsonResponse } from "../../platform/openapi";
import * as curriculum from "./curriculum.service";
import {
  CurriculumOrder,
  Outline,
  Placement,
  PlacementCreate,
  PlacementParams,
  PlacementUpdate,
  Section,
  SectionCreate,
  SectionParams,
  SectionUpdate,
} from "./schemas";

const tags = ["Curriculum"];
export const curriculumRouter = createRouter();

curriculumRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/courses/{id}/curriculum",
    operationId: "getCurriculum",
    tags,
    summary: "Get a course's curriculum",
    description:
      "The whole outline in one call: sections in order, each with its placements in order; each placement carries its module (type, name, settings), whether it is required, its drip rule and its prerequisite placements.",
    ...adminAccess("courses:read"),
    request: { params: IdParam },
    responses: { 200: jsonResponse(Outline, "The outline"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => c.json(await curriculum.courseOutline(adminContext(c), c.req.valid("param").id), 200),
);

curriculumRouter.openapi(
  createRoute({
    method: "put",
    path: "/v1/admin/courses/{id}/curriculum",
    operationId: "reorderCurriculum",
    tags,
    summary: "Reorder sections and placements",
    description:
      "Sets the order of every section and every placement in one atomic request; placements may move between sections. The body must list each section of the course exactly once and each placement exactly once: missing, repeated or foreign ids are a 422 naming them, and nothing changes.",
    ...adminAccess("courses:write"),
    request: { params: IdParam, body: jsonBody(CurriculumOrder) },
    responses: { 200: jsonResponse(Outline, "The reordered outline"), ...errorResponses(401, 403, 404, 413, 415) },
  }),
  async (c) =>
    c.json(await curriculum.reorderCurriculum(adminContext(c), c.req.valid("param").id, c.req.valid("json")), 200),
);

curriculumRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/courses/{id}/sections",
    operationId: "createSection",
    tags,
    summary: "Add a section",
    description: "A named section at `position` (default: the end), optionally released at `release_at`.",
    ...adminAccess("courses:write"),
    request: { params: IdParam, body: jsonBody(SectionCreate) },
    responses: { 201: jsonResponse(Section, "The new section"), ...errorResponses(401, 403, 404, 413, 415) },
  }),
  async (c) => {
    const courseId = c.req.valid("param").id;
    const section = await curriculum.createSection(adminContext(c), courseId, c.req.valid("json"));
    c.header("Location", `/v1/admin/courses/${courseId}/sections/${section.id}`);
    return c.json(section, 201);
  },
);

curriculumRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/courses/{id}/sections/{sectionId}",
    operationId: "getSection",
    tags,
    summary: "Get a section",
    description: "One section with its placements.",
    ...adminAccess("courses:read"),
    request: { params: SectionParams },
    responses: { 200: jsonResponse(Section, "The section"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const { id, sectionId } = c.req.valid("param");
    return c.json(await curriculum.getSection(adminContext(c), id, sectionId), 200);
  },
);

curriculumRouter.openapi(
  createRoute({
    method: "patch",
    path: "/v1/admin/courses/{id}/sections/{sectionId}",
    operationId: "updateSection",
    tags,
    summary: "Update a section",
    description:
      "Renames a section or changes its description or release date (order changes go through `PUT .../curriculum`).",
    ...adminAccess("courses:write"),
    request: { params: SectionParams, body: jsonBody(SectionUpdate) },
    responses: { 200: jsonResponse(Section, "The section"), ...errorResponses(401, 403, 404, 413, 415) },
  }),
  async (c) => {
    const { id, sectionId } = c.req.valid("param");
    return c.json(await curriculum.updateSection(adminContext(c), id, sectionId, c.req.valid("json")), 200);
  },
);

curriculumRouter.openapi(
  createRoute({
    method: "delete",
    path: "/v1/admin/courses/{id}/sections/{sectionId}",
    operationId: "deleteSection",
    tags,
    summary: "Delete a section",
    description: "Removes the section and the placements in it; the modules stay in the library.",
    ...adminAccess("courses:write"),
    request: { params: SectionParams },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const { id, sectionId } = c.req.valid("param");
    await curriculum.deleteSection(adminContext(c), id, sectionId);
    return c.body(null, 204);
  },
);

curriculumRouter.openapi(
  createRoute({
    method: "post",
    path: "/v1/admin/courses/{id}/sections/{sectionId}/placements",
    operationId: "placeModule",
    tags,
    summary: "Place a module in a section",
    description:
      "Puts a module of the library into the section at `position` (default: the end). A module sits at most once in a course (409). `prerequisite_ids` are other placements of the course; drip `after_enrollment` needs `drip_days`, `on_date` needs `drip_date`.",
    ...adminAccess("courses:write"),
    request: { params: SectionParams, body: jsonBody(PlacementCreate) },
    responses: { 201: jsonResponse(Placement, "The placement"), ...errorResponses(401, 403, 404, 409, 413, 415) },
  }),
  async (c) => {
    const { id, sectionId } = c.req.valid("param");
    const placement = await curriculum.createPlacement(adminContext(c), id, sectionId, c.req.valid("json"));
    c.header("Location", `/v1/admin/courses/${id}/placements/${placement.id}`);
    return c.json(placement, 201);
  },
);

curriculumRouter.openapi(
  createRoute({
    method: "get",
    path: "/v1/admin/courses/{id}/placements/{placementId}",
    operationId: "getPlacement",
    tags,
    summary: "Get a placement",
    description: "One module placement of the course.",
    ...adminAccess("courses:read"),
    request: { params: PlacementParams },
    responses: { 200: jsonResponse(Placement, "The placement"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const { id, placementId } = c.req.valid("param");
    return c.json(await curriculum.getPlacement(adminContext(c), id, placementId), 200);
  },
);

curriculumRouter.openapi(
  createRoute({
    method: "patch",
    path: "/v1/admin/courses/{id}/placements/{placementId}",
    operationId: "updatePlacement",
    tags,
    summary: "Update a placement",
    description:
      "Changes whether the module is required, its drip rule or its prerequisites (`prerequisite_ids` replaces the list). Circular prerequisites are a 422.",
    ...adminAccess("courses:write"),
    request: { params: PlacementParams, body: jsonBody(PlacementUpdate) },
    responses: { 200: jsonResponse(Placement, "The placement"), ...errorResponses(401, 403, 404, 413, 415) },
  }),
  async (c) => {
    const { id, placementId } = c.req.valid("param");
    return c.json(await curriculum.updatePlacement(adminContext(c), id, placementId, c.req.valid("json")), 200);
  },
);

curriculumRouter.openapi(
  createRoute({
    method: "delete",
    path: "/v1/admin/courses/{id}/placements/{placementId}",
    operationId: "removePlacement",
    tags,
    summary: "Remove a module from the course",
    description: "Deletes the placement (and prerequisites pointing at it); the module stays in the library.",
    ...adminAccess("courses:write"),
    request: { params: PlacementParams },
    responses: { 204: { description: "Removed" }, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const { id, placementId } = c.req.valid("param");
    await curriculum.deletePlacement(adminContext(c), id, placementId);
    return c.body(null, 204);
  },
);
