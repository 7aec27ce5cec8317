import { z } from "@hono/zod-openapi";
import { LookupQuery, listQuery, paginated, Timestamp } from "../../platform/openapi";
import { IsoDateTime, Name, Slug, Timezone, Url } from "../../platform/validation";
import { MODULE_TYPES } from "./tables";

export type ModuleType = (typeof MODULE_TYPES)[number];

const Id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const Ids = (max: number) => z.array(Id).max(max);

// ---- per-type settings ----------------------------------------------------------------------------------------
// Every field has a default, so `{type, name}` alone makes a (blank) module of any type; content that lives
// elsewhere (a media file, a quiz, a SCORM package, a survey) is referenced by a nullable id that its own API fills.

const Html = (max: number) => z.string().max(max);
const MediaId = Id.nullable()
  .default(null)
  .openapi({ description: "A file of the media library (instead of `url`)", example: 12 });
const TrackCompletion = z
  .boolean()
  .default(true)
  .openapi({ description: "The course player records when the learner finishes this module" });
const ThresholdPercent = z
  .number()
  .int()
  .min(1)
  .max(100)
  .default(90)
  .openapi({ description: "Percent of the media to play before the module counts as complete" });
const DurationSeconds = z
  .number()
  .int()
  .min(0)
  .max(7 * 86_400)
  .nullable()
  .default(null);

/** `url` and `media_id` are two ways to point at the same content: at most one of them. */
function oneSource(value: { url: string | null; media_id: number | null }, ctx: z.RefinementCtx) {
  if (value.url !== null && value.media_id !== null) {
    ctx.addIssue({ code: "custom", path: ["media_id"], message: "Give either `url` or `media_id`, not both." });
  }
}

/** Keys of survey questions and flashcards: learners refer to them, so they stay when the list is edited. */
const CardId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, "Use letters, digits, `_` and `-`.");

/** Gives every item without an `id` the first free `<prefix>-<n>`. */
function withIds<T extends { id?: string | undefined }>(items: T[], prefix: string): (T & { id: string })[] {
  const taken = new Set(items.map((item) => item.id).filter((id): id is string => id !== undefined));
  let n = 0;
  return items.map((item) => {
    if (item.id !== undefined) return item as T & { id: string };
    do n++;
    while (taken.has(`${prefix}-${n}`));
    taken.add(`${prefix}-${n}`);
    return { ...item, id: `${prefix}-${n}` };
  });
}

function uniqueIds(items: { id: string }[], ctx: z.RefinementCtx) {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    if (seen.has(item.id)) ctx.addIssue({ code: "custom", path: [i, "id"], message: "Ids must be unique." });
    seen.add(item.id);
  });
}

/** File extensions an assignment may accept: each has a content signature the submission upload checks. */
export const SUBMISSION_FILE_EXTENSIONS = [
  "pdf",
  "doc",
  "docx",
  "xls",
  "xlsx",
  "ppt",
  "pptx",
  "odt",
  "ods",
  "odp",
  "rtf",
  "txt",
  "md",
  "csv",
  "png",
  "jpg",
  "jpeg",
  "gif",
  "webp",
  "zip",
  "mp3",
  "mp4",
  "mov",
] as const;

export const TextModuleSettings = z
  .strictObject({
    body: Html(200_000)
      .default("")
      .openapi({ description: "The lesson, in `format`", example: "<p>Welcome to the course.</p>" }),
    format: z.enum(["html", "markdown"]).default("html"),
    track_completion: TrackCompletion,
  })
  .openapi("TextModuleSettings", { description: "A written lesson." });

export const VideoModuleSettings = z
  .strictObject({
    url: Url.nullable()
      .default(null)
      .openapi({ description: "Where the video plays from", example: "https://vimeo.com/76979871" }),
    provider: z
      .enum(["youtube", "vimeo", "wistia", "upload", "other"])
      .default("other")
      .openapi({ description: "`upload` plays a file of the media library (`media_id`)" }),
    media_id: MediaId,
    cover_url: Url.nullable().default(null).openapi({ example: "https://cdn.example.com/cover.jpg" }),
    duration_seconds: DurationSeconds,
    track_completion: TrackCompletion,
    completion_threshold_percent: ThresholdPercent,
    disable_forward_seek: z.boolean().default(false).openapi({ description: "Learners cannot skip ahead" }),
  })
  .superRefine(oneSource)
  .openapi("VideoModuleSettings", { description: "A video from a provider or from the media library." });

export const AudioModuleSettings = z
  .strictObject({
    url: Url.nullable().default(null).openapi({ example: "https://cdn.example.com/episode-1.mp3" }),
    media_id: MediaId,
    duration_seconds: DurationSeconds,
    transcript: z.string().max(200_000).nullable().default(null),
    allow_download: z.boolean().default(false),
    track_completion: TrackCompletion,
    completion_threshold_percent: ThresholdPercent,
  })
  .superRefine(oneSource)
  .openapi("AudioModuleSettings", { description: "An audio recording." });

export const PdfModuleSettings = z
  .strictObject({
    url: Url.nullable().default(null).openapi({ example: "https://cdn.example.com/handbook.pdf" }),
    media_id: MediaId,
    allow_download: z.boolean().default(false),
    default_zoom: z
      .enum(["auto", "page_fit", "page_width", "50%", "75%", "100%", "125%", "150%", "200%"])
      .default("auto"),
    show_sidebar: z.boolean().default(false).openapi({ description: "Open with the page thumbnails shown" }),
    track_completion: TrackCompletion,
  })
  .superRefine(oneSource)
  .openapi("PdfModuleSettings", { description: "A PDF document shown in the course player." });

export const PowerpointModuleSettings = z
  .strictObject({
    url: Url.nullable().default(null).openapi({ example: "https://cdn.example.com/deck.pptx" }),
    media_id: MediaId,
    viewer: z
      .enum(["microsoft_office", "google_viewer"])
      .default("microsoft_office")
      .openapi({ description: "The online viewer that renders the slides" }),
    track_completion: TrackCompletion,
  })
  .superRefine(oneSource)
  .openapi("PowerpointModuleSettings", { description: "A slide deck." });

export const EmbedModuleSettings = z
  .strictObject({
    url: Url.nullable()
      .default(null)
      .openapi({ description: "A page shown in an iframe", example: "https://www.example.com/widget" }),
    html: z.string().max(100_000).nullable().default(null).openapi({ description: "Embed code (instead of `url`)" }),
    height: z.number().int().min(100).max(4000).default(600).openapi({ description: "Frame height in pixels" }),
    allow_fullscreen: z.boolean().default(true),
    track_completion: z.boolean().default(false),
  })
  .superRefine((value, ctx) => {
    if (value.url !== null && value.html !== null) {
      ctx.addIssue({ code: "custom", path: ["html"], message: "Give either `url` or `html`, not both." });
    }
  })
  .openapi("EmbedModuleSettings", { description: "External content: a URL in a frame, or embed code." });

export const AssignmentModuleSettings = z
  .strictObject({
    instructions: Html(200_000)
      .default("")
      .openapi({ description: "What to hand in (HTML)", example: "<p>Write a 500-word essay.</p>" }),
    submission_type: z.enum(["text", "file", "both"]).default("both").openapi({
      description: "`text`: a text answer only; `file`: files only; `both`: text and/or files (at least one)",
    }),
    allowed_file_types: z
      .array(
        z.enum(SUBMISSION_FILE_EXTENSIONS, {
          message: `Use file extensions such as \`pdf\` or \`docx\` (one of: ${SUBMISSION_FILE_EXTENSIONS.join(", ")}).`,
        }),
      )
      .max(50)
      .default([])
      .openapi({
        description:
          "File extensions accepted (each file's first bytes must match its extension); empty accepts every listed type",
        example: ["pdf", "docx"],
      }),
    max_file_mb: z.number().int().min(1).max(100).default(10).openapi({
      description: "Largest file, in MiB (files sent directly in the submission request: at most 25 MiB in all)",
    }),
    max_files: z.number().int().min(1).max(20).default(5).openapi({ description: "Files per submission" }),
    total_points: z.number().int().min(0).max(10_000).default(100),
    pass_points: z.number().int().min(0).max(10_000).nullable().default(null).openapi({
      description: "Score that passes when an evaluation gives a score but no explicit `passed`; null: half the points",
    }),
    due_at: IsoDateTime.nullable().default(null).openapi({ description: "Submission deadline; null: none" }),
    allow_late_submissions: z.boolean().default(true).openapi({
      description: "Accept submissions after `due_at` (marked `late`); false refuses them (409)",
    }),
    allow_resubmission: z.boolean().default(false).openapi({
      description:
        "The learner may submit again until a submission passes (a new one replaces one still waiting); without it, only after an instructor requests a resubmission",
    }),
    max_submissions: z.number().int().min(0).max(100).default(0).openapi({
      description: "With `allow_resubmission`: submissions per learner in all; 0 = unlimited",
    }),
  })
  .openapi("AssignmentModuleSettings", { description: "Work the learner submits for grading." });

export const QuizQuestionRule = z
  .strictObject({
    category_id: Id.openapi({ description: "A question category", example: 4 }),
    count: z.number().int().min(1).max(500).openapi({ description: "Questions drawn at random from it", example: 10 }),
  })
  .openapi("QuizQuestionRule");

export const QuizModuleSettings = z
  .strictObject({
    selection: z.enum(["static", "dynamic"]).default("static").openapi({
      description:
        "`static`: the questions chosen with `PUT /v1/admin/quizzes/{module_id}/questions`, in order; `dynamic`: `question_rules` draw questions per category when each attempt starts",
    }),
    question_rules: z
      .array(QuizQuestionRule)
      .max(50)
      .default([])
      .openapi({ description: "Dynamic quizzes: how many questions to draw from each category" }),
    pass_percent: z.number().int().min(0).max(100).default(70).openapi({
      description: "Minimum passing marks, as a percent of the quiz's points",
    }),
    time_limit_hours: z.number().int().min(0).max(24).default(0),
    time_limit_minutes: z.number().int().min(0).max(1440).default(0).openapi({
      description: "With `time_limit_hours`, the time an attempt may take (at most 24 hours); 0 and 0: untimed",
    }),
    allow_retakes: z.boolean().default(true).openapi({ description: "false: one attempt per learner" }),
    retakes_allowed: z.number().int().min(0).max(100).default(0).openapi({
      description: "Attempts after the first when `allow_retakes`; 0 = unlimited (the seed's noOfRetakesAllowed)",
    }),
    shuffle_questions: z.boolean().default(false),
    shuffle_answers: z.boolean().default(false).openapi({ description: "Shuffle the options of choice questions" }),
    force_sequential: z.boolean().default(false).openapi({
      description: "Questions must be answered in order (an answer needs every earlier question answered)",
    }),
    real_time_grading: z.boolean().default(false).openapi({
      description: "Each saved answer is graded at once (and can no longer be changed)",
    }),
    show_correct_answers: z
      .enum(["always", "never", "not_till_retake_allowed"])
      .default("not_till_retake_allowed")
      .openapi({
        description:
          "When results show the right answers: `not_till_retake_allowed` hides them while the learner may still retake",
      }),
    available_from: IsoDateTime.nullable().default(null),
    available_until: IsoDateTime.nullable().default(null).openapi({
      description: "No attempt starts after it, and a running attempt ends at it",
    }),
  })
  .superRefine((value, ctx) => {
    if (value.time_limit_hours * 60 + value.time_limit_minutes > 1440) {
      ctx.addIssue({ code: "custom", path: ["time_limit_minutes"], message: "The time limit is at most 24 hours." });
    }
    if (value.selection === "dynamic" && value.question_rules.length === 0) {
      ctx.addIssue({ code: "custom", path: ["question_rules"], message: "A dynamic quiz needs at least one rule." });
    }
    const cats = value.question_rules.map((r) => r.category_id);
    if (new Set(cats).size !== cats.length) {
      ctx.addIssue({ code: "custom", path: ["question_rules"], message: "One rule per category." });
    }
    if (
      value.available_from !== null &&
      value.available_until !== null &&
      Date.parse(value.available_until) <= Date.parse(value.available_from)
    ) {
      ctx.addIssue({ code: "custom", path: ["available_until"], message: "Must be after `available_from`." });
    }
  })
  .openapi("QuizModuleSettings", {
    description: "A graded quiz; its questions are managed with the quizzes API (`/v1/admin/quizzes/{module_id}`).",
  });

export const SurveyQuestion = z
  .strictObject({
    id: CardId.optional().openapi({
      description: "Stable key answers refer to (`q1`); assigned (`q-<n>`) when missing",
      example: "q1",
    }),
    type: z.enum(["rating", "single_choice", "multiple_choice", "text"]).openapi({
      description: "`rating`: a whole number from `scale_min` to `scale_max`; choices: `options`; `text`: free text",
    }),
    prompt: z.string().trim().min(1).max(2000).openapi({ example: "How clear was the course?" }),
    required: z.boolean().default(true),
    options: z
      .array(z.string().trim().min(1).max(500))
      .max(50)
      .default([])
      .openapi({ description: "Choice questions: 2 to 50 distinct options; answers name them by index" }),
    scale_min: z.number().int().min(0).max(10).default(1).openapi({ description: "Rating questions" }),
    scale_max: z.number().int().min(1).max(10).default(5).openapi({ description: "Rating questions" }),
    max_length: z.number().int().min(1).max(10_000).default(5000).openapi({ description: "Text questions" }),
  })
  .superRefine((q, ctx) => {
    const choice = q.type === "single_choice" || q.type === "multiple_choice";
    if (choice && q.options.length < 2) {
      ctx.addIssue({ code: "custom", path: ["options"], message: "A choice question needs at least 2 options." });
    }
    if (!choice && q.options.length > 0) {
      ctx.addIssue({ code: "custom", path: ["options"], message: "Only choice questions have options." });
    }
    if (new Set(q.options).size !== q.options.length) {
      ctx.addIssue({ code: "custom", path: ["options"], message: "Options must be distinct." });
    }
    if (q.scale_max <= q.scale_min) {
      ctx.addIssue({ code: "custom", path: ["scale_max"], message: "Must be above `scale_min`." });
    }
  })
  .openapi("SurveyQuestion");

export const SurveyModuleSettings = z
  .strictObject({
    questions: z
      .array(SurveyQuestion)
      .max(100)
      .default([])
      .transform((items) => withIds(items, "q"))
      .superRefine(uniqueIds)
      .openapi({ description: "The form (answered with `POST /v1/learner/surveys/{module_id}/responses`)" }),
    submit_button_text: z.string().trim().min(1).max(100).default("Submit"),
    anonymous: z.boolean().default(false).openapi({ description: "Answers are stored without the learner" }),
    allow_multiple_responses: z.boolean().default(false).openapi({
      description: "A learner may respond more than once (otherwise a second response is a 409)",
    }),
    track_completion: TrackCompletion,
  })
  .openapi("SurveyModuleSettings", { description: "A form of questions without right answers." });

export const ScormModuleSettings = z
  .strictObject({
    package_id: Id.nullable().default(null).openapi({ description: "The SCORM / xAPI / cmi5 package to launch" }),
    launch_in_new_window: z.boolean().default(false),
    track_completion: TrackCompletion,
  })
  .openapi("ScormModuleSettings", { description: "A SCORM, xAPI or cmi5 package." });

export const DiscussionModuleSettings = z
  .strictObject({
    prompt: Html(100_000)
      .default("")
      .openapi({ description: "The question put to learners (HTML)", example: "<p>What surprised you?</p>" }),
    min_posts: z.number().int().min(0).max(1000).default(1).openapi({
      description: "Top-level posts (not replies) a learner writes in the module's thread to complete it",
    }),
    min_replies: z.number().int().min(0).max(1000).default(0).openapi({
      description: "Replies (posts with a `parent_id`) a learner writes in the module's thread to complete it",
    }),
    graded: z.boolean().default(false),
    total_points: z.number().int().min(0).max(10_000).default(0),
  })
  .openapi("DiscussionModuleSettings", { description: "A discussion thread." });

export const Flashcard = z
  .strictObject({
    id: CardId.optional().openapi({
      description: "Stable key of the card (learners mark cards by it); assigned (`c-<n>`) when missing",
      example: "mitochondria",
    }),
    front: z.string().trim().min(1).max(2000).openapi({ example: "Mitochondria" }),
    back: z.string().trim().min(1).max(2000).openapi({ example: "The powerhouse of the cell" }),
    front_media_id: MediaId.openapi({ description: "An image or sound of the media library on the front" }),
    back_media_id: MediaId.openapi({ description: "An image or sound of the media library on the back" }),
  })
  .openapi("Flashcard");

export const FlashcardsModuleSettings = z
  .strictObject({
    cards: z
      .array(Flashcard)
      .max(500)
      .default([])
      .transform((items) => withIds(items, "c"))
      .superRefine(uniqueIds),
    orientation: z.enum(["landscape", "portrait"]).default("landscape"),
    shuffle: z.boolean().default(false),
    track_completion: TrackCompletion,
  })
  .openapi("FlashcardsModuleSettings", {
    description:
      "A deck of two-sided cards; learners mark cards known with `PUT /v1/learner/flashcards/{module_id}/cards/{card_id}`.",
  });

export const WebinarModuleSettings = z
  .strictObject({
    starts_at: IsoDateTime.nullable().default(null),
    ends_at: IsoDateTime.nullable().default(null).openapi({ description: "After `starts_at`" }),
    timezone: Timezone.default("UTC").openapi({ description: "Shown to learners", example: "Europe/Paris" }),
    provider: z.enum(["zoom", "google_meet", "microsoft_teams", "webex", "other"]).default("other"),
    join_url: Url.nullable().default(null).openapi({ example: "https://zoom.us/j/123456789" }),
    recording_url: Url.nullable().default(null).openapi({ example: "https://cdn.example.com/recording.mp4" }),
    attendance_threshold_percent: z.number().int().min(0).max(100).default(80).openapi({
      description: "Percent of the session to attend to complete the module",
    }),
  })
  .superRefine((value, ctx) => {
    if (value.ends_at !== null && value.starts_at === null) {
      ctx.addIssue({ code: "custom", path: ["starts_at"], message: "Required when `ends_at` is set." });
    }
    if (
      value.starts_at !== null &&
      value.ends_at !== null &&
      Date.parse(value.ends_at) <= Date.parse(value.starts_at)
    ) {
      ctx.addIssue({ code: "custom", path: ["ends_at"], message: "Must be after `starts_at`." });
    }
  })
  .openapi("WebinarModuleSettings", { description: "A live session." });

/** The settings schema of each type (what create validates, and PATCH validates against the module's type). */
export const SETTINGS_SCHEMAS = {
  text: TextModuleSettings,
  video: VideoModuleSettings,
  audio: AudioModuleSettings,
  pdf: PdfModuleSettings,
  powerpoint: PowerpointModuleSettings,
  embed: EmbedModuleSettings,
  assignment: AssignmentModuleSettings,
  quiz: QuizModuleSettings,
  survey: SurveyModuleSettings,
  scorm: ScormModuleSettings,
  discussion: DiscussionModuleSettings,
  flashcards: FlashcardsModuleSettings,
  webinar: WebinarModuleSettings,
} satisfies Record<ModuleType, z.ZodType>;

/** Labels, descriptions and completion rules of the types (`GET /v1/admin/modules/types`). */
export const MODULE_TYPE_INFO: Record<ModuleType, { label: string; description: string; completion: string }> = {
  text: {
    label: "Text",
    description: "A written lesson in HTML or Markdown.",
    completion: "Complete when the learner marks it complete after reading.",
  },
  video: {
    label: "Video",
    description: "A video from YouTube, Vimeo, Wistia or the media library.",
    completion: "Complete when the learner has watched `completion_threshold_percent` of it.",
  },
  audio: {
    label: "Audio",
    description: "An audio recording, with an optional transcript.",
    completion: "Complete when the learner has listened to `completion_threshold_percent` of it.",
  },
  pdf: {
    label: "PDF",
    description: "A PDF document shown in the course player.",
    completion: "Complete when the learner marks it complete after viewing.",
  },
  powerpoint: {
    label: "PowerPoint",
    description: "A slide deck rendered by an online viewer.",
    completion: "Complete when the learner marks it complete after viewing.",
  },
  embed: {
    label: "Embed",
    description: "External content in a frame: a URL or embed code.",
    completion: "Complete when opened, or when marked complete if `track_completion` is on.",
  },
  assignment: {
    label: "Assignment",
    description: "Work the learner submits (text and/or files) for an instructor to grade.",
    completion: "Submitted when the learner hands it in; passed or failed when an instructor evaluates it.",
  },
  quiz: {
    label: "Quiz",
    description: "Questions graded automatically, with a time limit and retakes.",
    completion: "Passed when a submitted attempt reaches `pass_percent` (submitted while essays wait for a grader).",
  },
  survey: {
    label: "Survey",
    description: "A form of questions without right answers.",
    completion: "Complete when the learner submits the form.",
  },
  scorm: {
    label: "SCORM/xAPI",
    description: "A SCORM 1.2/2004, xAPI or cmi5 package.",
    completion: "Complete when the package reports completion (or passing).",
  },
  discussion: {
    label: "Discussion",
    description: "A discussion thread around a prompt.",
    completion:
      "Complete after `min_posts` top-level posts and `min_replies` replies in its thread; when `graded`, an instructor's grade completes it.",
  },
  flashcards: {
    label: "Flash Cards",
    description: "A deck of two-sided cards.",
    completion: "Complete when the learner has marked every card known.",
  },
  webinar: {
    label: "Webinar",
    description: "A scheduled live session with a join link and a recording.",
    completion: "Complete when the learner attends `attendance_threshold_percent` of the session.",
  },
};

// ---- the module resource ----------------------------------------------------------------------------------------

const UsedInCourse = z.object({ id: z.number().int(), name: z.string() }).openapi("ModuleCourseRef");

const moduleFields = {
  id: z.number().int().openapi({ example: 7 }),
  name: z.string().openapi({ example: "Welcome video" }),
  slug: z.string().openapi({ example: "welcome-video" }),
  description: z.string().nullable(),
  estimated_minutes: z.number().int().nullable(),
  points: z.number().int(),
  category_ids: z.array(z.number().int()).openapi({ description: "Module categories" }),
  used_in_courses: z.array(UsedInCourse).openapi({ description: "Courses that place this module" }),
  created_at: Timestamp,
  updated_at: Timestamp,
};

const capitalized = (type: ModuleType) => `${type[0].toUpperCase()}${type.slice(1)}`;

function moduleVariant<T extends ModuleType>(type: T) {
  return z
    .object({
      ...moduleFields,
      type: z.literal(type),
      settings: SETTINGS_SCHEMAS[type] as (typeof SETTINGS_SCHEMAS)[T],
    })
    .openapi(`${capitalized(type)}Module`, { description: `A ${MODULE_TYPE_INFO[type].label} module.` });
}

export const Module = z
  .discriminatedUnion("type", [
    moduleVariant("text"),
    moduleVariant("video"),
    moduleVariant("audio"),
    moduleVariant("pdf"),
    moduleVariant("powerpoint"),
    moduleVariant("embed"),
    moduleVariant("assignment"),
    moduleVariant("quiz"),
    moduleVariant("survey"),
    moduleVariant("scorm"),
    moduleVariant("discussion"),
    moduleVariant("flashcards"),
    moduleVariant("webinar"),
  ])
  .openapi("Module", {
    description: "A reusable content item; `settings` depends on `type` (one schema per type).",
  });

export type ModuleOut = z.output<typeof Module>;

export const ModuleList = paginated(Module, "ModuleList");
export const ModuleBatch = z.object({ data: z.array(Module) }).openapi("ModuleBatch");

// ---- writes -----------------------------------------------------------------------------------------------------

const writableFields = {
  name: Name.openapi({ example: "Welcome video" }),
  slug: Slug.openapi({
    description: "Unique per academy; defaults to one made from the name",
    example: "welcome-video",
  }),
  description: z.string().max(10_000).nullable(),
  estimated_minutes: z.number().int().min(0).max(100_000).nullable().openapi({ description: "Time to complete" }),
  points: z.number().int().min(0).max(100_000).openapi({ description: "Points the module is worth" }),
  category_ids: Ids(50).openapi({ description: "Module categories (type `module`)" }),
};

const createFields = {
  name: writableFields.name,
  slug: writableFields.slug.optional(),
  description: writableFields.description.optional(),
  estimated_minutes: writableFields.estimated_minutes.optional(),
  points: writableFields.points.optional(),
  category_ids: writableFields.category_ids.optional(),
};

function createVariant<T extends ModuleType>(type: T) {
  return z
    .strictObject({
      type: z.literal(type),
      ...createFields,
      settings: (SETTINGS_SCHEMAS[type] as (typeof SETTINGS_SCHEMAS)[T]).optional(),
    })
    .openapi(`${capitalized(type)}ModuleCreate`, {
      description: `A new ${MODULE_TYPE_INFO[type].label} module; omitted settings take their defaults.`,
    });
}

/**
 * The fields every create body has, whatever the type. The create body documents them once (`allOf`) next to the
 * per-type variants (`oneOf`, discriminated by `type`), so the body reads as an object with known fields.
 */
export const ModuleCreateFields = z
  .strictObject({
    type: z.enum(MODULE_TYPES),
    ...createFields,
    settings: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({ description: "Settings of the type: see the `<Type>ModuleSettings` schemas" }),
  })
  .openapi("ModuleCreateFields", { description: "The fields of a module create body, whatever its type." });

export const ModuleCreate = z
  .discriminatedUnion("type", [
    createVariant("text"),
    createVariant("video"),
    createVariant("audio"),
    createVariant("pdf"),
    createVariant("powerpoint"),
    createVariant("embed"),
    createVariant("assignment"),
    createVariant("quiz"),
    createVariant("survey"),
    createVariant("scorm"),
    createVariant("discussion"),
    createVariant("flashcards"),
    createVariant("webinar"),
  ])
  .openapi("ModuleCreate", {
    description: "`type` and `name` are required; `settings` is validated against the type's settings schema.",
    allOf: [{ $ref: "#/components/schemas/ModuleCreateFields" }],
  } as object);

export type ModuleCreateInput = z.output<typeof ModuleCreate>;

export const ModuleUpdate = z
  .strictObject({
    type: z
      .enum(MODULE_TYPES)
      .optional()
      .openapi({ description: "A module's type cannot change: if sent, it must be the module's type" }),
    name: writableFields.name.optional(),
    slug: writableFields.slug.optional(),
    description: writableFields.description.optional(),
    estimated_minutes: writableFields.estimated_minutes.optional(),
    points: writableFields.points.optional(),
    category_ids: writableFields.category_ids.optional().openapi({ description: "Replaces the module's categories" }),
    settings: z
      .record(z.string().max(100), z.unknown())
      .optional()
      .openapi({
        description:
          "Replaces the settings: validated against the settings schema of the module's type (omitted fields take their defaults)",
        anyOf: MODULE_TYPES.map((type) => ({ $ref: `#/components/schemas/${capitalized(type)}ModuleSettings` })),
      } as object),
  })
  .openapi("ModuleUpdate");

export type ModuleUpdateInput = z.output<typeof ModuleUpdate>;

export const ModuleClone = z
  .strictObject({
    name: writableFields.name.optional().openapi({ description: "Defaults to `<name> (copy)`" }),
  })
  .openapi("ModuleClone");

export const ModuleQuickEditItem = z
  .strictObject({
    id: Id,
    name: writableFields.name.optional(),
    description: writableFields.description.optional(),
    estimated_minutes: writableFields.estimated_minutes.optional(),
    points: writableFields.points.optional(),
    category_ids: writableFields.category_ids.optional().openapi({ description: "Replaces the module's categories" }),
  })
  .openapi("ModuleQuickEditItem");

export const ModuleQuickEdit = z
  .strictObject({ items: z.array(ModuleQuickEditItem).min(1).max(100) })
  .openapi("ModuleQuickEdit");

export type ModuleQuickEditInput = z.output<typeof ModuleQuickEditItem>;

export const ModuleBulkDelete = z
  .strictObject({
    ids: Ids(100).min(1),
    force: z
      .boolean()
      .default(false)
      .openapi({ description: "Also delete modules placed in courses (removes them from those courses)" }),
  })
  .openapi("ModuleBulkDelete");

export const ModuleBulkDeleted = z.object({ deleted: z.array(z.number().int()) }).openapi("ModuleBulkDeleted");

export const ModuleForceQuery = z.object({
  force: z
    .enum(["true", "false"])
    .default("false")
    .openapi({ description: "`true` deletes the module even when courses place it (removes it from them)" }),
});

// ---- queries ----------------------------------------------------------------------------------------------------

export const ModuleListQuery = listQuery(["name", "created_at", "updated_at", "type"], "-created_at").extend({
  type: z.enum(MODULE_TYPES).optional(),
  category_id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
  course_id: z.coerce
    .number()
    .int()
    .positive()
    .max(Number.MAX_SAFE_INTEGER)
    .optional()
    .openapi({ description: "Only modules placed in this course" }),
});

export const ModuleLookupQuery = LookupQuery.extend({ type: z.enum(MODULE_TYPES).optional() });

export const ModuleLookupItem = z
  .object({ value: z.number().int(), label: z.string(), type: z.enum(MODULE_TYPES) })
  .openapi("ModuleLookupItem");
export const ModuleLookupResponse = z.array(ModuleLookupItem).openapi("ModuleLookupResponse");

export const ModuleTypeInfo = z
  .object({
    value: z.enum(MODULE_TYPES),
    label: z.string().openapi({ example: "Video" }),
    description: z.string(),
    completion: z.string().openapi({ description: "When a learner has completed a module of this type" }),
  })
  .openapi("ModuleTypeInfo");
export const ModuleTypeList = z.array(ModuleTypeInfo).openapi("ModuleTypeList");
