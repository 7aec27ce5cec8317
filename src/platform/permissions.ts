/**
 * Permission strings (`<area>:<action>`). Every admin operation names the one it needs; roles and API keys
 * hold lists of them. `*` stands for every permission (the Owner role and the first owner key).
 */
export const PERMISSIONS = {
  "staff:read": "See staff users and invitations",
  "staff:write": "Invite, update and remove staff users",
  "roles:read": "See roles and their permissions",
  "roles:write": "Create, update and delete custom roles",
  "api_keys:read": "See API keys",
  "api_keys:write": "Create and revoke API keys",
  "api_clients:read": "See OAuth API clients",
  "api_clients:write": "Create and revoke OAuth API clients",
  "learners:read": "See learners",
  "learners:write": "Create, update and delete learners",
  "categories:read": "See categories",
  "categories:write": "Create, update and delete categories",
  "courses:read": "See courses and their curriculum",
  "courses:write": "Create, update, publish and delete courses",
  "modules:read": "See modules",
  "modules:write": "Create, update and delete modules",
  "enrollments:read": "See enrollments and progress",
  "enrollments:write": "Enroll, unenroll and reset learners",
  "assessments:read": "See questions, quizzes and attempts",
  "assessments:write": "Manage questions, quizzes and surveys",
  "grading:write": "Grade submissions and override scores",
  "certificates:read": "See certificate templates and issued certificates",
  "certificates:write": "Manage certificate templates, issue and revoke certificates",
  "media:read": "See the media library and packages",
  "media:write": "Upload and delete media and packages",
  "discussions:moderate": "Hide, lock and pin discussion posts",
  "webhooks:read": "See webhook endpoints and deliveries",
  "webhooks:write": "Manage webhook endpoints and redeliver",
  "reports:read": "See reports and activity logs",
  "settings:read": "See academy settings",
  "settings:write": "Change academy settings",
} as const;

export type Permission = keyof typeof PERMISSIONS;
export const ALL_PERMISSIONS = Object.keys(PERMISSIONS) as Permission[];
export const WILDCARD = "*";

export function isPermission(value: string): value is Permission {
  return value in PERMISSIONS;
}

/** Built-in roles of every tenant (the seeds' Owner, Admin, Instructor, Assistant, Support Specialist). */
export const SYSTEM_ROLES: { key: string; name: string; description: string; permissions: string[] }[] = [
  {
    key: "owner",
    name: "Owner",
    description: "Full control of the academy, including its owners.",
    permissions: [WILDCARD],
  },
  {
    key: "admin",
    name: "Admin",
    description: "Everything except changing owners.",
    permissions: ALL_PERMISSIONS,
  },
  {
    key: "instructor",
    name: "Instructor",
    description: "Builds courses and assessments, teaches and grades.",
    permissions: [
      "learners:read",
      "categories:read",
      "categories:write",
      "courses:read",
      "courses:write",
      "modules:read",
      "modules:write",
      "enrollments:read",
      "enrollments:write",
      "assessments:read",
      "assessments:write",
      "grading:write",
      "certificates:read",
      "media:read",
      "media:write",
      "discussions:moderate",
      "reports:read",
    ],
  },
  {
    key: "assistant",
    name: "Assistant",
    description: "Helps instructors: grades, moderates, reads courses and learners.",
    permissions: [
      "learners:read",
      "courses:read",
      "modules:read",
      "enrollments:read",
      "assessments:read",
      "grading:write",
      "discussions:moderate",
      "reports:read",
    ],
  },
  {
    key: "support_specialist",
    name: "Support Specialist",
    description: "Helps learners: manages their accounts and enrollments.",
    permissions: [
      "learners:read",
      "learners:write",
      "courses:read",
      "enrollments:read",
      "enrollments:write",
      "reports:read",
    ],
  },
];

export function hasPermission(granted: readonly string[], needed: Permission): boolean {
  return granted.includes(WILDCARD) || granted.includes(needed);
}

/** True when every permission of `requested` is held by `granted` (no escalation through keys or roles). */
export function coversAll(granted: readonly string[], requested: readonly string[]): boolean {
  if (granted.includes(WILDCARD)) return true;
  return requested.every((p) => p !== WILDCARD && granted.includes(p));
}
