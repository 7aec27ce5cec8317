/**
 * The access rules of the learner runtime, as pure functions over what one read batch returns: whether the
 * learner may use the course at all (enrollment and course state), and per placement whether it is locked and
 * why. The same evaluation serves the outline (every placement) and launch / complete / progress (one placement),
 * so what the outline shows is exactly what a launch will do.
 */
import type { OutlineData, OutlinePlacement, OutlineSection } from "../courses/curriculum.service";

export const LOCK_RULES = ["section_release", "drip", "prerequisite", "sequential"] as const;
export const ACCESS_RULES = ["course", "enrollment", ...LOCK_RULES] as const;
export type LockRule = (typeof LOCK_RULES)[number];
export type AccessRule = (typeof ACCESS_RULES)[number];

export interface Lock {
  rule: LockRule;
  opens_at?: string;
  detail: string;
  prerequisite_ids?: number[];
}

/** The statuses that count as done (progress, prerequisites, sequential navigation, completion). */
export const DONE_STATUSES = ["completed", "passed"] as const;
export const isDone = (status: string | undefined) => status === "completed" || status === "passed";

export interface AccessCourse {
  id: number;
  status: string;
  deletedAt: string | null;
  sequentialNavigation: boolean;
  dripEnabled: boolean;
}

export interface AccessEnrollment {
  status: "active" | "revoked";
  enrolledAt: string;
  expiresAt: string | null;
}

/** Why a learner may not use a course at all (403 with `rule`), or undefined when they may. */
export function courseDenial(
  course: AccessCourse,
  enrollment: AccessEnrollment | undefined,
  now: string,
): { rule: "course" | "enrollment"; detail: string } | undefined {
  if (!enrollment) return { rule: "enrollment", detail: `You are not enrolled in course ${course.id}.` };
  if (enrollment.status === "revoked") {
    return { rule: "enrollment", detail: `Your access to course ${course.id} was revoked.` };
  }
  if (enrollment.expiresAt && enrollment.expiresAt <= now) {
    return { rule: "enrollment", detail: `Your access to course ${course.id} expired at ${enrollment.expiresAt}.` };
  }
  if (course.status !== "published") {
    return { rule: "course", detail: `Course ${course.id} is not published at the moment.` };
  }
  return undefined;
}

const DAY_MS = 86_400_000;

/** A stored date as a canonical ISO string (comparable as text), or undefined when it does not parse. */
function iso(value: string | number | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  const time = typeof value === "number" ? value : Date.parse(value);
  return Number.isFinite(time) ? new Date(time).toISOString() : undefined;
}

/** When a drip rule opens a placement for this enrollment (undefined: no drip). */
export function dripOpensAt(placement: OutlinePlacement, enrolledAt: string): string | undefined {
  if (placement.drip_rule === "after_enrollment" && placement.drip_days !== null) {
    return iso(Date.parse(enrolledAt) + placement.drip_days * DAY_MS);
  }
  if (placement.drip_rule === "on_date") return iso(placement.drip_date);
  return undefined;
}

/**
 * The lock of every placement, in outline order. Date rules (section release, drip) first, reporting the later
 * opening when both apply; then prerequisites; then sequential navigation (every earlier placement done).
 */
export function placementLocks(
  course: AccessCourse,
  enrollment: AccessEnrollment,
  outline: OutlineData,
  statusOf: (placementId: number) => string | undefined,
  now: string,
): Map<number, Lock | null> {
  const locks = new Map<number, Lock | null>();
  const names = new Map(outline.sections.flatMap((s) => s.placements.map((p) => [p.id, p.module.name] as const)));
  let earlierOpen: OutlinePlacement | undefined;
  for (const section of outline.sections) {
    for (const placement of section.placements) {
      locks.set(placement.id, lockOf(course, enrollment, section, placement, statusOf, names, earlierOpen, now));
      if (!earlierOpen && !isDone(statusOf(placement.id))) earlierOpen = placement;
    }
  }
  return locks;
}

function lockOf(
  course: AccessCourse,
  enrollment: AccessEnrollment,
  section: OutlineSection,
  placement: OutlinePlacement,
  statusOf: (placementId: number) => string | undefined,
  names: Map<number, string>,
  earlierOpen: OutlinePlacement | undefined,
  now: string,
): Lock | null {
  const dates: Lock[] = [];
  const opens = iso(section.release_at);
  if (opens && opens > now) {
    dates.push({ rule: "section_release", opens_at: opens, detail: `Section "${section.name}" opens at ${opens}.` });
  }
  const drip = course.dripEnabled ? dripOpensAt(placement, enrollment.enrolledAt) : undefined;
  if (drip && drip > now) {
    dates.push({ rule: "drip", opens_at: drip, detail: `This module opens at ${drip}.` });
  }
  if (dates.length) return dates.reduce((a, b) => ((b.opens_at ?? "") > (a.opens_at ?? "") ? b : a));
  const missing = placement.prerequisite_ids.filter((id) => !isDone(statusOf(id)));
  if (missing.length) {
    const list = missing.map((id) => `"${names.get(id) ?? id}"`).join(", ");
    return { rule: "prerequisite", detail: `Complete ${list} first.`, prerequisite_ids: missing };
  }
  if (course.sequentialNavigation && earlierOpen) {
    return {
      rule: "sequential",
      detail: `This course is taken in order: complete "${earlierOpen.module.name}" first.`,
    };
  }
  return null;
}
