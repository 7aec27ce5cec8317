import { JobFailure } from "../jobs/errors";
import type { JobKind } from "../jobs/handlers";
import { failImport, importPackage } from "./import";

/** Tries of a job before it fails for good (src/modules/jobs/runner.ts JOB_MAX_ATTEMPTS). */
const LAST_ATTEMPT = 6;

/**
 * `package.import`: unpacks an uploaded package version (input `{package_id, version, set_title}`). A refused zip
 * fails the job with the reason (the package version says it too); storage errors are retried, and on the last
 * try the version is marked failed so it never stays `processing`.
 */
export const packageImportJob: JobKind = {
  permission: "media:read",
  description: "Unpacks an uploaded SCORM / xAPI / cmi5 package version into storage and reads its manifest.",
  async run(job) {
    const packageId = Number(job.input.package_id);
    const version = Number(job.input.version);
    try {
      const result = await importPackage(job.env, job.tenantId, packageId, {
        version,
        setTitle: job.input.set_title === true,
      });
      if (result.status === "failed") throw new JobFailure(result.reason, { package_id: packageId, version });
      return { package_id: packageId, ...result };
    } catch (err) {
      if (!(err instanceof JobFailure) && job.attempt >= LAST_ATTEMPT) {
        await failImport(
          job.env,
          job.tenantId,
          packageId,
          version,
          `Import gave up: ${String((err as Error)?.message ?? err)}`,
        );
      }
      throw err;
    }
  },
};
