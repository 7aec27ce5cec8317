import { createRouter } from "../../platform/openapi";

export const learningPathsRouter = createRouter();
