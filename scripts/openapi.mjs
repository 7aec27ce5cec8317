#!/usr/bin/env node
// Builds the OpenAPI document from the routes (the same code the Worker serves at /openapi.json).
//   --write  writes openapi.json
//   --check  fails when the committed openapi.json differs from the routes (part of `npm test`)
import { readFileSync, writeFileSync } from "node:fs";
import { build } from "esbuild";

const mode = process.argv[2];
if (mode !== "--write" && mode !== "--check") {
  console.error("usage: node scripts/openapi.mjs --write|--check");
  process.exit(2);
}

const result = await build({
  stdin: {
    contents: 'import { createApp, openApiDocument } from "./src/app"; export default openApiDocument(createApp());',
    resolveDir: process.cwd(),
    loader: "ts",
  },
  bundle: true,
  format: "esm",
  platform: "neutral",
  mainFields: ["module", "main"],
  conditions: ["workerd", "worker", "import"],
  write: false,
  logLevel: "error",
});
const url = `data:text/javascript;base64,${Buffer.from(result.outputFiles[0].text).toString("base64")}`;
const { default: document } = await import(url);
const text = `${JSON.stringify(document, null, 2)}\n`;

if (mode === "--write") {
  writeFileSync("openapi.json", text);
  console.log(`openapi.json written: ${Object.keys(document.paths).length} paths.`);
} else {
  let committed = "";
  try {
    committed = readFileSync("openapi.json", "utf8");
  } catch {}
  if (committed !== text) {
    console.error("openapi.json is out of date with the routes. Run `npm run openapi` and commit the result.");
    process.exit(1);
  }
  console.log("openapi.json matches the routes.");
}
