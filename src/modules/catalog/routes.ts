import { createRouter } from "../../platform/openapi";

export const catalogRouter = createRouter();
