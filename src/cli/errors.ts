/** A user-facing CLI failure: printed to stderr without a stack, exit code 1. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}
