import { z } from "@hono/zod-openapi";
import { IdParam, listQuery, PaginationMeta, Timestamp } from "../../platform/openapi";
import { PACKAGE_STANDARDS, PACKAGE_STATUSES } from "./tables";

const Standard = z.enum(PACKAGE_STANDARDS).openapi({ description: "scorm12, scorm2004, xapi or cmi5" });
const Status = z.enum(PACKAGE_STATUSES).openapi({ description: "processing, ready or failed" });

export const PackageStructureSchema = z
  .object({
    scos: z
      .array(
        z.object({
          identifier: z.string(),
          title: z.string(),
          launch: z.string().openapi({ description: "The launch file with the item's parameters" }),
          scorm_type: z.enum(["sco", "asset"]),
          parameters: z.string().nullable(),
          mastery_score: z.number().nullable().openapi({
            description: "SCORM 1.2 adlcp:masteryscore (0-100) or SCORM 2004 minNormalizedMeasure (-1..1)",
          }),
          launch_data: z.string().nullable(),
          max_time_allowed: z.string().nullable(),
          time_limit_action: z.string().nullable(),
          completion_threshold: z.number().nullable(),
          visible: z
            .boolean()
            .optional()
            .openapi({ description: "The item's isvisible (false: not in the table of contents)" }),
          parent_controls: z
            .object({ flow: z.boolean(), choice: z.boolean(), forward_only: z.boolean() })
            .optional()
            .openapi({
              description:
                "SCORM 2004: the imsss:controlMode of the item's parent (organization or enclosing item) that governs navigation to and from it",
            }),
        }),
      )
      .optional(),
    organizations: z.array(z.object({ identifier: z.string(), title: z.string(), default: z.boolean() })).optional(),
    activities: z
      .array(
        z.object({
          id: z.string(),
          type: z.string().nullable(),
          name: z.string().nullable(),
          launch: z.string().nullable(),
        }),
      )
      .optional(),
    course_id: z.string().optional(),
    aus: z
      .array(
        z.object({
          id: z.string(),
          title: z.string(),
          url: z.string(),
          move_on: z.string(),
          mastery_score: z.number().nullable(),
          launch_method: z.string(),
          launch_parameters: z.string().nullable(),
          activity_type: z.string().nullable(),
        }),
      )
      .optional(),
  })
  .openapi("PackageStructure", {
    description: "SCORM: `scos` and `organizations`; xAPI: `activities`; cmi5: `course_id` and `aus`.",
  });

export const Package = z
  .object({
    id: z.number().int(),
    title: z.string(),
    description: z.string().nullable(),
    status: Status,
    failure_reason: z.string().nullable().openapi({ description: "Why the latest version failed to import" }),
    standard: Standard.nullable(),
    standard_version: z.string().nullable().openapi({ example: "2004 4th Edition" }),
    current_version: z.number().int().nullable().openapi({ description: "The ready version learners launch" }),
    latest_version: z.number().int().openapi({ description: "The last version uploaded (its status is `status`)" }),
    launch_path: z.string().nullable().openapi({ example: "index.html?lesson=1" }),
    structure: PackageStructureSchema.nullable(),
    job_id: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "The import job of the latest version (`GET /v1/admin/jobs/{id}`)" }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Package");

export const PackageVersion = z
  .object({
    version: z.number().int(),
    status: Status,
    failure_reason: z.string().nullable(),
    job_id: z.number().int().nullable(),
    standard: Standard.nullable(),
    standard_version: z.string().nullable(),
    title: z.string().nullable(),
    launch_path: z.string().nullable(),
    file_count: z.number().int(),
    uncompressed_bytes: z.number().int(),
    zip_bytes: z.number().int(),
    created_at: Timestamp,
    processed_at: Timestamp.nullable(),
  })
  .openapi("PackageVersion");

export const PackageVersionList = z.object({ data: z.array(PackageVersion) }).openapi("PackageVersionList");
export const PackageList = z.object({ data: z.array(Package), meta: PaginationMeta }).openapi("PackageList");

export const PackageListQuery = listQuery(["created_at", "updated_at", "title"] as const, "-created_at").extend({
  status: Status.optional(),
  standard: Standard.optional(),
});

export const UploadQuery = z.object({
  title: z.string().trim().min(1).max(200).optional().openapi({
    description: "The package's title (default: the manifest's title once imported)",
  }),
  description: z.string().max(5000).optional(),
});

export const MediaImportInput = z
  .strictObject({
    media_id: z.number().int().positive().openapi({ description: "A zip (`application/zip`) of the media library" }),
    title: z.string().trim().min(1).max(200).optional(),
    description: z.string().max(5000).optional(),
  })
  .openapi("PackageFromMediaInput");

export const MediaVersionInput = z
  .strictObject({ media_id: z.number().int().positive() })
  .openapi("PackageVersionFromMediaInput");

export const PackageUpdate = z
  .strictObject({
    title: z.string().trim().min(1).max(200).optional(),
    description: z.string().max(5000).nullable().optional(),
  })
  .openapi("PackageUpdate");

export const zipBody = {
  required: true as const,
  description:
    "The zip itself as the raw request body (not multipart/form-data), with `Content-Length`. At most 100 MB per request.",
  content: {
    "application/zip": { schema: z.string().openapi({ format: "binary" }) },
    "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) },
  },
};

// ---- player ------------------------------------------------------------------------------------------------------

const CmiState = z.record(z.string(), z.unknown()).openapi({
  description: "The CMI data model as nested JSON (the inside of `cmi`), ready for scorm-again's `loadFromJSON`.",
});

export const ScormPlayer = z
  .object({
    standard: z.enum(["scorm12", "scorm2004"]),
    package_id: z.number().int(),
    package_version: z.number().int(),
    session_id: z.number().int(),
    attempt: z.number().int(),
    resumed: z.boolean().openapi({ description: "An open attempt was resumed (its CMI state is in `cmi`)" }),
    sco: z.object({ identifier: z.string(), title: z.string() }),
    scos: z.array(
      z.object({
        identifier: z.string(),
        title: z.string(),
        scorm_type: z.enum(["sco", "asset"]),
        visible: z
          .boolean()
          .openapi({ description: "The item's isvisible: false keeps it out of the table of contents" }),
      }),
    ),
    launch_url: z.string().openapi({ description: "Load this in the player's iframe (`/content/{token}/...`)" }),
    commit_url: z.string().openapi({ description: "scorm-again's `lmsCommitUrl` (carries the launch token)" }),
    state_url: z.string(),
    token: z.string(),
    expires_at: Timestamp,
    cmi: CmiState,
    adl: z
      .object({
        nav: z.object({
          request_valid: z.object({ continue: z.enum(["true", "false"]), previous: z.enum(["true", "false"]) }),
        }),
      })
      .nullable()
      .openapi({
        description:
          'SCORM 2004: `adl.nav.request_valid` for this SCO, for scorm-again\'s `loadFromJSON(adl, "adl")` before Initialize (null for SCORM 1.2)',
      }),
    navigation: z
      .object({
        request_valid: z.object({
          continue: z.enum(["true", "false"]),
          previous: z.enum(["true", "false"]),
          choice: z
            .array(z.string())
            .openapi({ description: "Items a choice request may target (scorm-again `scoItemIds`)" }),
        }),
        followed: z
          .object({
            request: z.string(),
            from_sco: z.string(),
            valid: z.boolean(),
            action: z.enum(["deliver", "end_attempt", "suspend", "end", "none"]),
            reason: z.string().nullable(),
          })
          .nullable()
          .openapi({ description: "The navigation request of the previous SCO this launch followed (null: none)" }),
      })
      .nullable()
      .openapi({ description: "SCORM 2004 navigation between SCOs (null for SCORM 1.2); see docs/packages.md" }),
    scorm_again: z
      .record(z.string(), z.unknown())
      .openapi({ description: "Settings to pass to scorm-again's API constructor" }),
  })
  .openapi("ScormPlayer", {
    description:
      "How to play a SCORM package: scorm-again settings, the CMI state to load, and the content URL. Null when the module's package is not ready.",
  });

export const XapiPlayer = z
  .object({
    standard: z.enum(["xapi", "cmi5"]),
    package_id: z.number().int(),
    package_version: z.number().int(),
    registration: z.string().uuid().openapi({
      description: "The learner's xAPI registration for this enrollment and placement (the same on every launch)",
    }),
    actor: z.record(z.string(), z.unknown()).openapi({
      description: "The learner's Agent (account: this deployment and the learner id)",
      example: { objectType: "Agent", name: "Ada", account: { homePage: "https://lms.example", name: "42" } },
    }),
    endpoint: z.string().openapi({ description: "This deployment's LRS (`.../xapi/`)" }),
    activity_id: z.string().openapi({ description: "xAPI: the package's root activity; cmi5: the launched AU's id" }),
    launch_url: z.string().openapi({
      description:
        "Open this (iframe or window). xAPI: the TinCan launch parameters `endpoint`, `auth`, `actor`, `registration`, `activity_id`; cmi5: `endpoint`, `fetch`, `actor`, `registration`, `activityId`",
    }),
    fetch_url: z
      .string()
      .nullable()
      .openapi({ description: "cmi5: the one-time fetch URL (POST) answering the auth-token; null for xAPI" }),
    session_id: z.string().nullable().openapi({ description: "cmi5: this launch's session id; null for xAPI" }),
    au: z
      .object({ id: z.string(), title: z.string(), move_on: z.string(), launch_method: z.string() })
      .nullable()
      .openapi({ description: "cmi5: the launched AU" }),
    aus: z
      .array(z.object({ id: z.string(), title: z.string(), move_on: z.string(), satisfied: z.boolean() }))
      .nullable()
      .openapi({ description: "cmi5: every AU of the course and whether it is satisfied" }),
    expires_at: Timestamp.openapi({ description: "Until when the content URL and the launch credential work" }),
  })
  .openapi("XapiPlayer", {
    description:
      "How to play an xAPI (TinCan) or cmi5 package: the launch URL with its launch parameters; statements sent to the LRS with the launch credential drive the module's progress (docs/packages.md).",
  });

export const Player = z.union([ScormPlayer, XapiPlayer]).openapi("PackagePlayer");

export const PlayerLaunchInput = z
  .strictObject({
    sco: z.string().min(1).max(500).optional().openapi({
      description: "The SCO (or cmi5 AU id) to play (default: where the learner was / the first AU not satisfied)",
    }),
    launch_mode: z.enum(["Browse", "Review"]).optional().openapi({
      description:
        "cmi5: launch the AU in this launchMode (nothing completion-related is recorded). Default: Review when the AU is already satisfied or waived, Normal otherwise",
    }),
  })
  .openapi("ScormPlayerLaunchInput");

export const ScormSession = z
  .object({
    id: z.number().int(),
    package_id: z.number().int(),
    package_version: z.number().int(),
    course_id: z.number().int(),
    placement_id: z.number().int(),
    sco_identifier: z.string(),
    standard: z.enum(["scorm12", "scorm2004"]),
    attempt: z.number().int(),
    launch_count: z.number().int(),
    commit_sequence: z.number().int(),
    lesson_status: z.string().nullable(),
    completion_status: z.string().nullable(),
    success_status: z.string().nullable(),
    score: z.object({
      raw: z.number().nullable(),
      min: z.number().nullable(),
      max: z.number().nullable(),
      scaled: z.number().nullable(),
    }),
    total_seconds: z.number(),
    terminated_at: Timestamp.nullable(),
    last_commit_at: Timestamp.nullable(),
    created_at: Timestamp,
    cmi: CmiState,
  })
  .openapi("ScormSession");

export const CommitQuery = z.object({
  token: z
    .string()
    .max(2000)
    .optional()
    .openapi({ description: "The launch token (for sendBeacon commits, which carry no headers)" }),
  terminate: z.enum(["true", "false"]).optional().openapi({ description: "scorm-again's `terminateCommitParam`" }),
});

export const CommitResult = z
  .object({
    result: z.boolean(),
    errorCode: z.number().int().openapi({
      description:
        "0, or a SCORM error code (101 general, 143 commit after termination, 406 malformed adl.nav.request)",
    }),
    detail: z.string().optional(),
    navigation: z
      .object({
        request: z.string().openapi({ description: "The SCO's adl.nav.request, e.g. continue or {target=SCO2}choice" }),
        target: z.string().nullable(),
        valid: z.boolean().openapi({ description: "false: the sequencer does not accept it here and ignores it" }),
        action: z.enum(["deliver", "end_attempt", "suspend", "end", "none"]).openapi({
          description:
            "deliver: open the player again (POST player_url with {}) to play `sco`; end_attempt (exitAll, abandonAll): the attempt ended, close the content; suspend (suspendAll): close the content, the next launch resumes this SCO; end (exit, abandon, continue past the last item): close the content; none: nothing to do",
        }),
        sco: z.object({ identifier: z.string(), title: z.string() }).nullable(),
        reason: z.string().nullable(),
        player_url: z
          .string()
          .openapi({ description: "POST here (learner token, body {}) to get the next SCO's player" }),
      })
      .optional()
      .openapi({ description: "SCORM 2004 terminate commit that carried an adl.nav.request: where it leads" }),
  })
  .openapi("ScormCommitResult");

export const SessionParams = IdParam;

// ---- report --------------------------------------------------------------------------------------------------------

const ReportStatus = z.enum(["passed", "failed", "completed", "incomplete", "not attempted", "not_attempted"]).openapi({
  description:
    "Only attempts with this status: passed, failed, completed (completed without pass/fail), incomplete, not attempted (or not_attempted)",
});

const ReportFilters = {
  user_id: z.coerce.number().int().positive().optional().openapi({ description: "One learner's attempts" }),
  status: ReportStatus.optional(),
};

export const ReportQuery = z.object({
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  per_page: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z
    .string()
    .regex(/^\d{1,15}-[01]-\d{1,15}$/, "Use the `meta.next_cursor` of the previous page.")
    .optional()
    .openapi({ description: "Keyset pagination: `meta.next_cursor` of the previous page (then `page` is ignored)" }),
  ...ReportFilters,
  format: z
    .enum(["json", "csv"])
    .default("json")
    .openapi({ description: "csv: the whole (filtered) report as a CSV download, one row per learner and attempt" }),
});

export const ReportCsvQuery = z.object(ReportFilters);

export const ReportInteraction = z
  .object({
    index: z.number().int().openapi({ description: "Position in the attempt (0-based)" }),
    id: z.string().openapi({ description: "SCORM interaction id, or the xAPI interaction activity id" }),
    type: z
      .string()
      .nullable()
      .openapi({ description: "choice, true-false, fill-in, ... (SCORM type / xAPI interactionType)" }),
    description: z.string().nullable(),
    response: z
      .string()
      .nullable()
      .openapi({ description: "SCORM learner_response (2004) / student_response (1.2), xAPI result.response" }),
    result: z.string().nullable().openapi({
      description:
        "SCORM result (correct, incorrect, wrong, unanticipated, neutral or a number); xAPI: correct / incorrect from result.success",
    }),
    success: z.boolean().nullable().openapi({ description: "true for correct, false for incorrect / wrong" }),
    correct_responses: z.array(z.string()).openapi({ description: "Correct response patterns" }),
    weighting: z.number().nullable(),
    score_scaled: z.number().nullable().openapi({ description: "xAPI result.score (scaled)" }),
    latency_seconds: z.number().nullable().openapi({ description: "SCORM latency, xAPI result.duration" }),
    timestamp: z.string().nullable().openapi({ description: "SCORM timestamp / time, xAPI statement timestamp" }),
  })
  .openapi("PackageReportInteraction");

export const ReportRow = z
  .object({
    attempt_id: z.string().openapi({ description: "`scorm-<session_id>` or `registration-<registration>`" }),
    standard: Standard,
    session_id: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "SCORM: the runtime session (one SCO, one attempt)" }),
    registration: z.string().nullable().openapi({ description: "xAPI / cmi5: the learner's registration" }),
    user: z.object({ id: z.number().int(), name: z.string().nullable(), email: z.string().nullable() }),
    course_id: z.number().int(),
    placement_id: z.number().int(),
    sco_identifier: z.string().nullable().openapi({ description: "SCORM: the SCO; null for xAPI / cmi5" }),
    package_version: z.number().int(),
    attempt: z.number().int().openapi({ description: "SCORM attempt number of the SCO; 1 for a registration" }),
    status: z.string().openapi({ description: "passed, failed, completed, incomplete or not attempted" }),
    lesson_status: z.string().nullable().openapi({ description: "SCORM 1.2 cmi.core.lesson_status" }),
    completion_status: z.string().nullable(),
    success_status: z.string().nullable(),
    score: z
      .object({
        raw: z.number().nullable(),
        min: z.number().nullable(),
        max: z.number().nullable(),
        scaled: z.number().nullable(),
      })
      .openapi({ description: "SCORM cmi score; xAPI / cmi5: the module result's score out of 100 and scaled" }),
    total_seconds: z.number().openapi({
      description:
        "SCORM: the session times added up; xAPI / cmi5: the durations of terminated / abandoned statements, else the longest result.duration",
    }),
    launches: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "SCORM launches of the attempt, cmi5 sessions; null for xAPI" }),
    commits: z.number().int().nullable().openapi({ description: "SCORM commits; null for xAPI / cmi5" }),
    activities: z
      .array(
        z.object({
          id: z.string(),
          completed: z.boolean(),
          success: z.boolean().nullable(),
          score_scaled: z.number().nullable(),
        }),
      )
      .openapi({ description: "xAPI / cmi5: what the statements said per activity (root activity or AU)" }),
    interactions: z.array(ReportInteraction),
    started_at: Timestamp,
    last_activity_at: Timestamp.nullable(),
  })
  .openapi("PackageReportRow");

const ReportSummary = z.object({
  learners: z.number().int(),
  attempts: z.number().int(),
  completed: z.number().int().openapi({ description: "Attempts completed or passed" }),
  passed: z.number().int(),
  failed: z.number().int(),
  incomplete: z.number().int(),
  not_attempted: z.number().int(),
  average_scaled_score: z.number().nullable(),
  total_seconds: z.number().openapi({ description: "SCORM session time added up (xAPI / cmi5 time is per attempt)" }),
});

export const Report = z
  .object({
    package_id: z.number().int(),
    standard: Standard.nullable(),
    summary: ReportSummary.nullable().openapi({
      description: "Every attempt the filters keep (not only this page); null on cursor pages",
    }),
    data: z.array(ReportRow),
    meta: z.object({
      page: z.number().int().nullable().openapi({ description: "null when paging by cursor" }),
      per_page: z.number().int(),
      total: z.number().int().nullable().openapi({ description: "Attempts the filters keep; null on cursor pages" }),
      last_page: z.number().int().nullable().openapi({ description: "null on cursor pages" }),
      next_cursor: z
        .string()
        .nullable()
        .openapi({ description: "Pass as `cursor` for the next page; null at the end" }),
    }),
  })
  .openapi("PackageReport");

export const LearnerReportParams = z.object({
  id: IdParam.shape.id,
  user_id: IdParam.shape.id.openapi({ param: { name: "user_id", in: "path" } }),
});

export const LearnerReport = z
  .object({
    package_id: z.number().int(),
    standard: Standard.nullable(),
    user: z.object({ id: z.number().int(), name: z.string().nullable(), email: z.string().nullable() }),
    summary: ReportSummary.omit({ learners: true }),
    attempts: z.array(ReportRow),
  })
  .openapi("PackageLearnerReport");

export const RegistrationQuery = z.object({
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  per_page: z.coerce.number().int().min(1).max(100).default(50),
  user_id: z.coerce.number().int().positive().optional().openapi({ description: "One learner's registrations" }),
});

export const RegistrationParams = z.object({
  id: IdParam.shape.id,
  registration: z
    .string()
    .uuid()
    .openapi({ param: { name: "registration", in: "path" }, example: "0f8fad5b-d9cb-469f-a165-70867728950e" }),
});

export const Registration = z
  .object({
    registration: z.string().uuid(),
    package_id: z.number().int(),
    package_version: z.number().int(),
    standard: z.enum(["xapi", "cmi5"]),
    enrollment_id: z.number().int(),
    course_id: z.number().int(),
    placement_id: z.number().int(),
    user_id: z.number().int(),
    activity_id: z.string().openapi({ description: "xAPI: the root activity; cmi5: the course id of cmi5.xml" }),
    actor: z.record(z.string(), z.unknown()),
    result: z
      .object({ status: z.enum(["passed", "failed", "completed"]), score: z.number().nullable() })
      .nullable()
      .openapi({ description: "The module result last handed to progress" }),
    activities: z.array(
      z.object({
        id: z.string(),
        completed: z.boolean(),
        success: z.boolean().nullable(),
        score_scaled: z.number().nullable(),
        satisfied: z.boolean().openapi({ description: "cmi5: the AU met its moveOn (the LMS wrote satisfied)" }),
        waived: z.boolean(),
      }),
    ),
    satisfied_at: Timestamp.nullable().openapi({ description: "cmi5: when the course was satisfied" }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("PackageRegistration", {
    description:
      "A learner's xAPI registration on an xAPI or cmi5 package placed in a course, and what its statements said.",
  });

export const RegistrationDetail = Registration.extend({
  interactions: z.array(
    z.object({
      id: z.string().openapi({ description: "The interaction activity (the statement's object)" }),
      type: z.string().nullable().openapi({ description: "definition.interactionType" }),
      response: z.string().nullable().openapi({ description: "result.response" }),
      success: z.boolean().nullable(),
      score_scaled: z.number().nullable(),
      timestamp: Timestamp.openapi({ description: "The statement's timestamp (its stored time when it had none)" }),
    }),
  ),
}).openapi("PackageRegistrationDetail");

export const RegistrationList = z
  .object({ data: z.array(Registration), meta: PaginationMeta })
  .openapi("PackageRegistrationList");

export const WaiveInput = z
  .strictObject({
    au_id: z.string().min(1).max(2000).openapi({ description: "The AU to waive (its id in cmi5.xml)" }),
    reason: z
      .enum(["Tested Out", "Equivalent AU", "Equivalent Outside Activity", "Administrative"])
      .openapi({ description: "cmi5's waive reasons" }),
  })
  .openapi("Cmi5WaiveInput");
