/**
 * PapaParse's browser build: the same API as its `main` file without the Node stream support, whose
 * `require("stream")` no Worker bundle (nor the neutral OpenAPI build of scripts/openapi.mjs) can resolve.
 */
declare module "papaparse/papaparse.min.js" {
  import Papa from "papaparse";
  export default Papa;
}
