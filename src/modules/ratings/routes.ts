import { createRouter } from "../../platform/openapi";

export const ratingsRouter = createRouter();
