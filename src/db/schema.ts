// The drizzle-kit input: every module's tables, re-exported.
export * from "../modules/activities/tables";
export * from "../modules/api-clients/tables";
export * from "../modules/api-keys/tables";
export * from "../modules/auth/tables";
export * from "../modules/categories/tables";
export * from "../modules/certificates/tables";
export * from "../modules/content-modules/tables";
export * from "../modules/courses/tables";
export * from "../modules/enrollments/tables";
export * from "../modules/learning-paths/tables";
export * from "../modules/progress/tables";
export * from "../modules/ratings/tables";
export * from "../modules/roles/tables";
export * from "../modules/tenants/tables";
export * from "../modules/users/tables";
export * from "../modules/webhooks/tables";
export * from "../platform/tables";
