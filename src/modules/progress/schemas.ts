import { z } from "@hono/zod-openapi";
import { listQuery, paginated, Timestamp } from "../../platform/openapi";
import { Player } from "../packages/schemas";
import { LOCK_RULES } from "./access";
import { MY_COURSE_FILTERS, MY_COURSE_SORTS } from "./service";
import { MODULE_STATUSES } from "./tables";

const Id = z.number().int();

export const CoursePlacementParams = z.object({
  id: z.coerce
    .number()
    .int()
    .positive()
    .max(Number.MAX_SAFE_INTEGER)
    .openapi({ param: { name: "id", in: "path" }, example: 42, description: "The course id" }),
  placement_id: z.coerce
    .number()
    .int()
    .positive()
    .max(Number.MAX_SAFE_INTEGER)
    .openapi({
      param: { name: "placement_id", in: "path" },
      example: 7,
      description: "The placement (a module's place in the course outline)",
    }),
});

export const MyCoursesQuery = listQuery(MY_COURSE_SORTS, "-enrolled_at").extend({
  status: z
    .enum(MY_COURSE_FILTERS)
    .optional()
    .openapi({ description: "Only courses not started, in progress, or completed" }),
});

export const LearnerEnrollment = z
  .object({
    id: Id.openapi({ description: "The enrollment id" }),
    status: z.enum(["active", "revoked"]),
    access: z
      .enum(["active", "revoked", "expired"])
      .openapi({ description: "Whether the learner may use the course now" }),
    progress_status: z.enum(["not_started", "in_progress", "completed"]),
    enrolled_at: Timestamp,
    started_at: Timestamp.nullable(),
    expires_at: Timestamp.nullable(),
    completed_at: Timestamp.nullable(),
    last_accessed_at: Timestamp.nullable(),
    resume_placement_id: Id.nullable().openapi({ description: "The placement opened last (where to resume)" }),
    required_total: Id.openapi({ description: "Required placements (every placement when none is required)" }),
    required_done: Id.openapi({ description: "Of those, completed or passed" }),
    progress_percent: z.number().int().min(0).max(100),
    grade: z.number().int().nullable().openapi({ description: "The course grade by its grading rule (percent)" }),
  })
  .openapi("LearnerEnrollment", { description: "The learner's enrollment in a course and their progress." });

const Resume = z
  .object({
    placement_id: Id,
    module_id: Id,
    module_name: z.string(),
    module_type: z.string(),
  })
  .openapi("ResumePoint", { description: "Where the learner continues." });

export const MyCourse = z
  .object({
    id: Id.openapi({ description: "The course id" }),
    name: z.string(),
    slug: z.string(),
    picture_url: z.string().nullable(),
    thumbnail_url: z.string().nullable(),
    course_status: z.enum(["draft", "published", "archived"]),
    enrollment: LearnerEnrollment,
    resume: Resume.nullable(),
  })
  .openapi("MyCourse");

export const MyCourseList = paginated(MyCourse, "MyCourseList");

const ModuleStatus = z.enum(MODULE_STATUSES).openapi({ description: "Where the learner stands on this placement" });

export const ModuleLock = z
  .object({
    rule: z.enum(LOCK_RULES),
    opens_at: Timestamp.nullable().openapi({ description: "When a date rule (section release, drip) opens it" }),
    detail: z.string(),
  })
  .openapi("ModuleLock", { description: "Why a placement is locked." });

const progressFields = {
  status: ModuleStatus,
  first_accessed_at: Timestamp.nullable(),
  last_accessed_at: Timestamp.nullable(),
  completed_at: Timestamp.nullable(),
  watched_seconds: z.number().int().openapi({ description: "Video and audio: the furthest point watched" }),
  score: z.number().nullable(),
  max_score: z.number().nullable(),
  attempts: z.number().int(),
};

const ModuleSummary = z.object({
  id: Id,
  type: z.string(),
  name: z.string(),
  slug: z.string(),
  description: z.string().nullable(),
  estimated_minutes: z.number().int().nullable(),
  points: z.number().int(),
});

export const LearnerOutline = z
  .object({
    course: z.object({
      id: Id,
      name: z.string(),
      slug: z.string(),
      sequential_navigation: z.boolean(),
      drip_enabled: z.boolean(),
      completion_rule: z.string(),
      version: z.number().int(),
    }),
    enrollment: LearnerEnrollment,
    resume: Resume.nullable(),
    sections: z.array(
      z.object({
        id: Id,
        name: z.string(),
        description: z.string().nullable(),
        position: z.number().int(),
        release_at: Timestamp.nullable(),
        placements: z.array(
          z.object({
            id: Id,
            module_id: Id,
            position: z.number().int(),
            required: z.boolean(),
            drip_rule: z.enum(["none", "after_enrollment", "on_date"]),
            drip_days: z.number().int().nullable(),
            drip_date: z.string().nullable(),
            prerequisite_ids: z.array(Id),
            module: ModuleSummary,
            ...progressFields,
            locked: z.boolean(),
            lock: ModuleLock.nullable(),
          }),
        ),
      }),
    ),
  })
  .openapi("LearnerOutline");

export const ModuleState = z
  .object({
    course_id: Id,
    placement_id: Id,
    ...progressFields,
    enrollment: LearnerEnrollment,
  })
  .openapi("LearnerModuleState", { description: "The learner's state on a placement and in the course." });

export const ModuleLaunch = ModuleState.extend({
  module: ModuleSummary.extend({
    settings: z.record(z.string(), z.unknown()).openapi({ description: "The module's content settings (by type)" }),
  }),
  player: Player.nullable().optional().openapi({
    description:
      "Package modules: the SCORM player (session, launch URL, scorm-again settings) or the xAPI/cmi5 launch (registration, launch URL with its launch parameters); null when the package is not ready",
  }),
}).openapi("ModuleLaunch", { description: "An opened placement: its state and the module's content." });

export const MediaProgressInput = z
  .strictObject({
    watched_seconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 86_400)
      .openapi({ description: "How far the learner has watched or listened, in seconds", example: 540 }),
    position_seconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 86_400)
      .optional()
      .openapi({ description: "The current playback position (accepted; not stored yet)", example: 530 }),
  })
  .openapi("MediaProgressInput");

export const MediaProgressResult = ModuleState.extend({
  duration_seconds: z.number().int().nullable(),
  completion_threshold_percent: z.number().int(),
}).openapi("MediaProgressResult");
