/** The streams irisctl writes to, as much of them as it needs (fakes in tests). */
export interface Output {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface CliIo {
  readonly stdout: Output;
  readonly stderr: Output;
  /** Aborted on the first Ctrl-C (SIGINT) or SIGTERM. */
  readonly signal: AbortSignal;
}

/** Colours only on a terminal, and never with NO_COLOR or TERM=dumb. */
export function useColor(out: Output, env: NodeJS.ProcessEnv): boolean {
  return out.isTTY === true && env.NO_COLOR === undefined && env.TERM !== 'dumb';
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export { sleep } from '../../common/abortable-sleep.js';
