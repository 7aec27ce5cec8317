import { createRouter } from "../../platform/openapi";

export const modulesRouter = createRouter();
