/** The CLI's own failures, each with the exit code it ends the process with. */

/** The command line is wrong (unknown verb or flag, bad value): exit 2, with the verb's usage. */
export class UsageError extends Error {
  /** verb: whose usage to point at ('' for the top level). */
  constructor(message: string, readonly verb: string = '') {
    super(message);
    this.name = 'UsageError';
  }
}

/** Something the user can act on (no local cluster in that directory, a timeout...): exit 1 by default. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number = 1) {
    super(message);
    this.name = 'CliError';
  }
}
