import { and, asc, eq, gt, gte, isNull, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { TenantContext } from "../../platform/auth";
import { inList } from "../../platform/db";
import { ApiError, type FieldError } from "../../platform/errors";
import { outboxInsert } from "../../platform/events";
import { nowIso } from "../../platform/time";
import { contentModules } from "../content-modules/tables";
import { recountCourseProgress } from "../progress/counters";
import { catalogChanged } from "../tenants/service";
import { coursePlacements, courseSections, courses, type DRIP_RULES, placementPrerequisites } from "./tables";

type DripRule = (typeof DRIP_RULES)[number];
type Batch = [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]];

export interface OutlinePlacement {
  id: number;
  section_id: number;
  module_id: number;
  position: number;
  required: boolean;
  drip_rule: DripRule;
  drip_days: number | null;
  drip_date: string | null;
  prerequisite_ids: number[];
  module: {
    id: number;
    type: string;
    name: string;
    slug: string;
    description: string | null;
    estimated_minutes: number | null;
    points: number;
    settings: Record<string, unknown>;
  };
}

export interface OutlineSection {
  id: number;
  name: string;
  description: string | null;
  position: number;
  release_at: string | null;
  placements: OutlinePlacement[];
}

export interface OutlineData {
  course_id: number;
  version: number;
  sections: OutlineSection[];
}

const inCourse = (ctx: TenantContext, courseId: number) =>
  and(eq(courseSections.tenantId, ctx.tenantId), eq(courseSections.courseId, courseId));

/**
 * The whole curriculum of a (not deleted) course in order: sections, their placements with the module, and
 * each placement's prerequisites. Four reads in one D1 batch, whatever the size of the course.
 */
export async function courseOutline(ctx: TenantContext, courseId: number): Promise<OutlineData> {
  const [course, sections, placements, prerequisites] = await ctx.db.batch([
    ctx.db
      .select({ id: courses.id, version: courses.version })
      .from(courses)
      .where(and(eq(courses.tenantId, ctx.tenantId), eq(courses.id, courseId), isNull(courses.deletedAt))),
    ctx.db
      .select()
      .from(courseSections)
      .where(inCourse(ctx, courseId))
      .orderBy(asc(courseSections.position), asc(courseSections.id)),
    // Inside a D1 batch rows come back keyed by column name, so the module's columns get their own names
    // (a plain join would let `modules.id` overwrite `course_placements.id`).
    ctx.db
      .select({
        placement: coursePlacements,
        moduleType: sql<string>`${contentModules.type}`.as("module_type"),
        moduleName: sql<string>`${contentModules.name}`.as("module_name"),
        moduleSlug: sql<string>`${contentModules.slug}`.as("module_slug"),
        moduleDescription: sql<string | null>`${contentModules.description}`.as("module_description"),
        moduleMinutes: sql<number | null>`${contentModules.estimatedMinutes}`.as("module_minutes"),
        modulePoints: sql<number>`${contentModules.points}`.as("module_points"),
        moduleSettings: sql<string>`${contentModules.settings}`.as("module_settings"),
      })
      .from(coursePlacements)
      .innerJoin(
        contentModules,
        and(eq(contentModules.id, coursePlacements.moduleId), eq(contentModules.tenantId, ctx.tenantId)),
      )
      .where(and(eq(coursePlacements.tenantId, ctx.tenantId), eq(coursePlacements.courseId, courseId)))
      .orderBy(asc(coursePlacements.position), asc(coursePlacements.id)),
    ctx.db
      .select({
        placementId: placementPrerequisites.placementId,
        prerequisiteId: placementPrerequisites.prerequisiteId,
      })
      .from(placementPrerequisites)
      .where(
        and(
          eq(placementPrerequisites.tenantId, ctx.tenantId),
          sql`${placementPrerequisites.placementId} IN (SELECT id FROM course_placements WHERE tenant_id = ${ctx.tenantId} AND course_id = ${courseId})`,
        ),
      ),
  ]);
  if (!course[0]) throw ApiError.notFound(`Course ${courseId}`);
  const prereqs = new Map<number, number[]>();
  for (const r of prerequisites) prereqs.set(r.placementId, [...(prereqs.get(r.placementId) ?? []), r.prerequisiteId]);
  const bySection = new Map<number, OutlinePlacement[]>();
  for (const { placement: p, ...m } of placements) {
    const item: OutlinePlacement = {
      id: p.id,
      section_id: p.sectionId,
      module_id: p.moduleId,
      position: p.position,
      required: p.required,
      drip_rule: p.dripRule,
      drip_days: p.dripDays,
      drip_date: p.dripDate,
      prerequisite_ids: (prereqs.get(p.id) ?? []).sort((a, b) => a - b),
      module: {
        id: p.moduleId,
        type: m.moduleType,
        name: m.moduleName,
        slug: m.moduleSlug,
        description: m.moduleDescription,
        estimated_minutes: m.moduleMinutes,
        points: m.modulePoints,
        settings: JSON.parse(m.moduleSettings) as Record<string, unknown>,
      },
    };
    bySection.set(p.sectionId, [...(bySection.get(p.sectionId) ?? []), item]);
  }
  return {
    course_id: courseId,
    version: course[0].version,
    sections: sections.map((s) => ({
      id: s.id,
      name: s.name,
      description: s.description,
      position: s.position,
      release_at: s.releaseAt,
      placements: bySection.get(s.id) ?? [],
    })),
  };
}

/** Statements that bump a course's version, mark the public catalog changed, and record the event. */
/** Curriculum changes that change what counts toward progress (reorders and renames do not). */
const COUNTED_CHANGES = new Set(["module_placed", "placement_updated", "module_removed", "section_deleted"]);

export function courseChanged(ctx: TenantContext, courseId: number, event: string, data: Record<string, unknown>) {
  const now = nowIso();
  return [
    ctx.db
      .update(courses)
      .set({ version: sql`${courses.version} + 1`, updatedAt: now })
      .where(and(eq(courses.tenantId, ctx.tenantId), eq(courses.id, courseId))),
    catalogChanged(ctx.db, ctx.tenantId),
    outboxInsert(ctx.db, ctx.tenantId, event, { course_id: courseId, ...data }),
    ...(COUNTED_CHANGES.has(String(data.change)) ? [recountCourseProgress(ctx.db, ctx.tenantId, courseId, now)] : []),
  ] as const;
}

async function findSection(ctx: TenantContext, courseId: number, sectionId: number) {
  const row = await ctx.db.query.courseSections.findFirst({
    where: and(inCourse(ctx, courseId), eq(courseSections.id, sectionId)),
  });
  if (!row) throw ApiError.notFound(`Section ${sectionId} of course ${courseId}`);
  return row;
}

async function findPlacement(ctx: TenantContext, courseId: number, placementId: number) {
  const row = await ctx.db.query.coursePlacements.findFirst({
    where: and(
      eq(coursePlacements.tenantId, ctx.tenantId),
      eq(coursePlacements.courseId, courseId),
      eq(coursePlacements.id, placementId),
    ),
  });
  if (!row) throw ApiError.notFound(`Placement ${placementId} of course ${courseId}`);
  return row;
}

function sectionOf(outline: OutlineData, sectionId: number) {
  return outline.sections.find((s) => s.id === sectionId) as OutlineSection;
}

export async function createSection(
  ctx: TenantContext,
  courseId: number,
  input: { name: string; description?: string | null; release_at?: string | null; position?: number },
) {
  const outline = await courseOutline(ctx, courseId);
  const position = Math.min(input.position ?? outline.sections.length, outline.sections.length);
  const now = nowIso();
  const [, [row]] = await ctx.db.batch([
    // Make room: sections keep positions 0..n-1 in order.
    ctx.db
      .update(courseSections)
      .set({ position: sql`${courseSections.position} + 1` })
      .where(and(inCourse(ctx, courseId), gte(courseSections.position, position))),
    ctx.db
      .insert(courseSections)
      .values({
        tenantId: ctx.tenantId,
        courseId,
        name: input.name,
        description: input.description ?? null,
        position,
        releaseAt: input.release_at ?? null,
        createdAt: now,
        updatedAt: now,
      })
      .returning(),
    ...courseChanged(ctx, courseId, "course.curriculum_changed", { change: "section_created" }),
  ]);
  return sectionOf(await courseOutline(ctx, courseId), row.id);
}

export async function getSection(ctx: TenantContext, courseId: number, sectionId: number) {
  await findSection(ctx, courseId, sectionId);
  return sectionOf(await courseOutline(ctx, courseId), sectionId);
}

export async function updateSection(
  ctx: TenantContext,
  courseId: number,
  sectionId: number,
  input: { name?: string; description?: string | null; release_at?: string | null },
) {
  await courseOutline(ctx, courseId);
  await findSection(ctx, courseId, sectionId);
  await ctx.db.batch([
    ctx.db
      .update(courseSections)
      .set({
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.release_at !== undefined ? { releaseAt: input.release_at } : {}),
        updatedAt: nowIso(),
      })
      .where(and(inCourse(ctx, courseId), eq(courseSections.id, sectionId))),
    ...courseChanged(ctx, courseId, "course.curriculum_changed", { change: "section_updated", section_id: sectionId }),
  ]);
  return sectionOf(await courseOutline(ctx, courseId), sectionId);
}

/** Deletes a section and the placements in it (the modules themselves stay in the library). */
export async function deleteSection(ctx: TenantContext, courseId: number, sectionId: number) {
  await courseOutline(ctx, courseId);
  const section = await findSection(ctx, courseId, sectionId);
  await ctx.db.batch([
    ctx.db.delete(courseSections).where(and(inCourse(ctx, courseId), eq(courseSections.id, sectionId))),
    ctx.db
      .update(courseSections)
      .set({ position: sql`${courseSections.position} - 1` })
      .where(and(inCourse(ctx, courseId), gt(courseSections.position, section.position))),
    ...courseChanged(ctx, courseId, "course.curriculum_changed", { change: "section_deleted", section_id: sectionId }),
  ]);
}

function dripProblems(rule: DripRule, days: number | null, date: string | null): FieldError[] {
  if (rule === "after_enrollment" && days === null) {
    return [{ path: "drip_days", message: "The after_enrollment drip rule needs `drip_days`." }];
  }
  if (rule === "on_date" && date === null) {
    return [{ path: "drip_date", message: "The on_date drip rule needs `drip_date`." }];
  }
  return [];
}

/** The first cycle in a prerequisite graph (node -> the nodes it needs), or undefined. */
export function findCycle(graph: Map<number, number[]>): number[] | undefined {
  const state = new Map<number, "visiting" | "done">();
  const stack: number[] = [];
  const visit = (node: number): number[] | undefined => {
    if (state.get(node) === "done") return undefined;
    if (state.get(node) === "visiting") return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, "visiting");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, "done");
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

/** Prerequisites must be other placements of the same course and must not form a cycle. */
function prerequisiteProblems(outline: OutlineData, placementId: number | undefined, prerequisiteIds: number[]) {
  const placements = outline.sections.flatMap((s) => s.placements);
  const known = new Set(placements.map((p) => p.id));
  const problems: FieldError[] = [];
  prerequisiteIds.forEach((id, i) => {
    if (!known.has(id)) {
      problems.push({ path: `prerequisite_ids.${i}`, message: `Placement ${id} is not part of this course.` });
    } else if (id === placementId) {
      problems.push({ path: `prerequisite_ids.${i}`, message: "A placement cannot be its own prerequisite." });
    }
  });
  if (problems.length || placementId === undefined) return problems;
  const graph = new Map(placements.map((p) => [p.id, p.prerequisite_ids]));
  graph.set(placementId, prerequisiteIds);
  const cycle = findCycle(graph);
  if (cycle) {
    problems.push({ path: "prerequisite_ids", message: `Circular prerequisites: ${cycle.join(" -> ")}.` });
  }
  return problems;
}

function prerequisiteInserts(ctx: TenantContext, placementId: number | unknown, prerequisiteIds: number[]) {
  return prerequisiteIds.length
    ? [
        ctx.db.insert(placementPrerequisites).values(
          prerequisiteIds.map((prerequisiteId) => ({
            tenantId: ctx.tenantId,
            placementId: placementId as number,
            prerequisiteId,
          })),
        ),
      ]
    : [];
}

export async function createPlacement(
  ctx: TenantContext,
  courseId: number,
  sectionId: number,
  input: {
    module_id: number;
    required: boolean;
    drip_rule?: DripRule;
    drip_days?: number | null;
    drip_date?: string | null;
    prerequisite_ids: number[];
    position?: number;
  },
) {
  const outline = await courseOutline(ctx, courseId);
  const section = outline.sections.find((s) => s.id === sectionId);
  if (!section) throw ApiError.notFound(`Section ${sectionId} of course ${courseId}`);
  const module = await ctx.db.query.contentModules.findFirst({
    where: and(eq(contentModules.tenantId, ctx.tenantId), eq(contentModules.id, input.module_id)),
  });
  const rule = input.drip_rule ?? "none";
  const prerequisiteIds = [...new Set(input.prerequisite_ids)];
  const problems = [
    ...(module ? [] : [{ path: "module_id", message: `Module ${input.module_id} is not a module of this academy.` }]),
    ...dripProblems(rule, input.drip_days ?? null, input.drip_date ?? null),
    ...prerequisiteProblems(outline, undefined, prerequisiteIds),
  ];
  if (problems.length) throw ApiError.validation(problems);
  const existing = outline.sections.flatMap((s) => s.placements).find((p) => p.module_id === input.module_id);
  if (existing) {
    throw ApiError.conflict(`Module ${input.module_id} is already placed in this course (placement ${existing.id}).`, {
      errors: [{ path: "module_id", message: "Already in this course." }],
    });
  }
  const position = Math.min(input.position ?? section.placements.length, section.placements.length);
  const now = nowIso();
  // The new placement's id, for its prerequisites in the same batch: (course, module) is unique.
  const newId = sql`(SELECT id FROM course_placements WHERE tenant_id = ${ctx.tenantId} AND course_id = ${courseId} AND module_id = ${input.module_id})`;
  const [, [row]] = await ctx.db.batch([
    ctx.db
      .update(coursePlacements)
      .set({ position: sql`${coursePlacements.position} + 1` })
      .where(
        and(
          eq(coursePlacements.tenantId, ctx.tenantId),
          eq(coursePlacements.sectionId, sectionId),
          gte(coursePlacements.position, position),
        ),
      ),
    ctx.db
      .insert(coursePlacements)
      .values({
        tenantId: ctx.tenantId,
        courseId,
        sectionId,
        moduleId: input.module_id,
        position,
        required: input.required,
        dripRule: rule,
        dripDays: input.drip_days ?? null,
        dripDate: input.drip_date ?? null,
        createdAt: now,
        updatedAt: now,
      })
      .returning(),
    ...prerequisiteInserts(ctx, newId, prerequisiteIds),
    ...courseChanged(ctx, courseId, "course.curriculum_changed", {
      change: "module_placed",
      module_id: input.module_id,
    }),
  ]);
  return placementOf(await courseOutline(ctx, courseId), row.id);
}

function placementOf(outline: OutlineData, placementId: number) {
  return outline.sections.flatMap((s) => s.placements).find((p) => p.id === placementId) as OutlinePlacement;
}

export async function getPlacement(ctx: TenantContext, courseId: number, placementId: number) {
  const outline = await courseOutline(ctx, courseId);
  const placement = placementOf(outline, placementId);
  if (!placement) throw ApiError.notFound(`Placement ${placementId} of course ${courseId}`);
  return placement;
}

export async function updatePlacement(
  ctx: TenantContext,
  courseId: number,
  placementId: number,
  input: {
    required?: boolean;
    drip_rule?: DripRule;
    drip_days?: number | null;
    drip_date?: string | null;
    prerequisite_ids?: number[];
  },
) {
  const outline = await courseOutline(ctx, courseId);
  const current = placementOf(outline, placementId);
  if (!current) throw ApiError.notFound(`Placement ${placementId} of course ${courseId}`);
  const rule = input.drip_rule ?? current.drip_rule;
  const days = input.drip_days !== undefined ? input.drip_days : current.drip_days;
  const date = input.drip_date !== undefined ? input.drip_date : current.drip_date;
  const prerequisiteIds = input.prerequisite_ids ? [...new Set(input.prerequisite_ids)] : undefined;
  const problems = [
    ...dripProblems(rule, days, date),
    ...(prerequisiteIds ? prerequisiteProblems(outline, placementId, prerequisiteIds) : []),
  ];
  if (problems.length) throw ApiError.validation(problems);
  await ctx.db.batch([
    ctx.db
      .update(coursePlacements)
      .set({
        ...(input.required !== undefined ? { required: input.required } : {}),
        dripRule: rule,
        dripDays: days,
        dripDate: date,
        updatedAt: nowIso(),
      })
      .where(and(eq(coursePlacements.tenantId, ctx.tenantId), eq(coursePlacements.id, placementId))),
    ...(prerequisiteIds
      ? [
          ctx.db
            .delete(placementPrerequisites)
            .where(
              and(
                eq(placementPrerequisites.tenantId, ctx.tenantId),
                eq(placementPrerequisites.placementId, placementId),
              ),
            ),
          ...prerequisiteInserts(ctx, placementId, prerequisiteIds),
        ]
      : []),
    ...courseChanged(ctx, courseId, "course.curriculum_changed", {
      change: "placement_updated",
      placement_id: placementId,
    }),
  ]);
  return placementOf(await courseOutline(ctx, courseId), placementId);
}

/** Takes a module out of the course (the module stays in the library). */
export async function deletePlacement(ctx: TenantContext, courseId: number, placementId: number) {
  await courseOutline(ctx, courseId);
  const placement = await findPlacement(ctx, courseId, placementId);
  await ctx.db.batch([
    ctx.db
      .delete(coursePlacements)
      .where(and(eq(coursePlacements.tenantId, ctx.tenantId), eq(coursePlacements.id, placementId))),
    ctx.db
      .update(coursePlacements)
      .set({ position: sql`${coursePlacements.position} - 1` })
      .where(
        and(
          eq(coursePlacements.tenantId, ctx.tenantId),
          eq(coursePlacements.sectionId, placement.sectionId),
          gt(coursePlacements.position, placement.position),
        ),
      ),
    ...courseChanged(ctx, courseId, "course.curriculum_changed", {
      change: "module_removed",
      module_id: placement.moduleId,
    }),
  ]);
}

/**
 * Reorders the whole curriculum in one statement per table: the body lists every section once and every
 * placement once (placements may move between sections). Anything missing, repeated or foreign is a 422.
 */
export async function reorderCurriculum(
  ctx: TenantContext,
  courseId: number,
  input: { sections: { id: number; placement_ids: number[] }[] },
) {
  const outline = await courseOutline(ctx, courseId);
  const problems: FieldError[] = [];
  const sectionIds = new Set(outline.sections.map((s) => s.id));
  const placementIds = new Set(outline.sections.flatMap((s) => s.placements.map((p) => p.id)));
  const seenSections = new Set<number>();
  const seenPlacements = new Set<number>();
  input.sections.forEach((section, i) => {
    if (!sectionIds.has(section.id)) {
      problems.push({ path: `sections.${i}.id`, message: `Section ${section.id} is not a section of this course.` });
    } else if (seenSections.has(section.id)) {
      problems.push({ path: `sections.${i}.id`, message: `Section ${section.id} is listed twice.` });
    }
    seenSections.add(section.id);
    section.placement_ids.forEach((id, j) => {
      if (!placementIds.has(id)) {
        problems.push({
          path: `sections.${i}.placement_ids.${j}`,
          message: `Placement ${id} is not a placement of this course.`,
        });
      } else if (seenPlacements.has(id)) {
        problems.push({ path: `sections.${i}.placement_ids.${j}`, message: `Placement ${id} is listed twice.` });
      }
      seenPlacements.add(id);
    });
  });
  const missingSections = [...sectionIds].filter((id) => !seenSections.has(id));
  const missingPlacements = [...placementIds].filter((id) => !seenPlacements.has(id));
  if (missingSections.length) {
    problems.push({ path: "sections", message: `Missing sections: ${missingSections.join(", ")}.` });
  }
  if (missingPlacements.length) {
    problems.push({ path: "sections", message: `Missing placements: ${missingPlacements.join(", ")}.` });
  }
  if (problems.length) throw ApiError.validation(problems);

  // One JSON parameter per statement carries the whole new order ({"<id>": position} and
  // {"<id>": [section_id, position]}), so the statement count is fixed whatever the size of the course.
  const sectionOrder = JSON.stringify(Object.fromEntries(input.sections.map((s, i) => [s.id, i])));
  const placementOrder = JSON.stringify(
    Object.fromEntries(input.sections.flatMap((s) => s.placement_ids.map((id, j) => [id, [s.id, j]]))),
  );
  const statements: BatchItem<"sqlite">[] = [];
  if (sectionIds.size) {
    statements.push(
      ctx.db
        .update(courseSections)
        .set({ position: sql`json_extract(${sectionOrder}, '$."' || ${courseSections.id} || '"')` })
        .where(inCourse(ctx, courseId)),
    );
  }
  if (placementIds.size) {
    statements.push(
      ctx.db
        .update(coursePlacements)
        .set({
          sectionId: sql`json_extract(${placementOrder}, '$."' || ${coursePlacements.id} || '"[0]')`,
          position: sql`json_extract(${placementOrder}, '$."' || ${coursePlacements.id} || '"[1]')`,
        })
        .where(and(eq(coursePlacements.tenantId, ctx.tenantId), eq(coursePlacements.courseId, courseId))),
    );
  }
  await ctx.db.batch([
    ...statements,
    ...courseChanged(ctx, courseId, "course.curriculum_changed", { change: "reordered" }),
  ] as unknown as Batch);
  return courseOutline(ctx, courseId);
}

/** Placements of these modules in courses (for callers that need placement ids). */
export async function placementsOfModules(ctx: TenantContext, moduleIds: number[]) {
  if (moduleIds.length === 0) return [];
  return ctx.db
    .select()
    .from(coursePlacements)
    .where(and(eq(coursePlacements.tenantId, ctx.tenantId), inList(coursePlacements.moduleId, moduleIds)));
}
