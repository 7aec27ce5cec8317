/**
 * A job that cannot succeed by retrying (bad input, a corrupt file): the job fails at once with this message as
 * its `error`. Any other error is treated as transient and retried with backoff.
 */
export class JobFailure extends Error {
  constructor(
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "JobFailure";
  }
}
