/**
 * Follows a request the controller accepted: polls /status, shows progress
 * (a bar redrawn in place on a terminal, one plain line per change
 * otherwise) and returns once follow.ts says it is done, the deadline
 * passes, the user interrupts, or the controller stays unreachable.
 */
import { ControlApiError } from '../control-api/client.js';
import type { ClusterStatus } from '../core/observation.js';
import { advanceFollow, startFollow } from './follow.js';
import { type Output, sleep } from './output.js';
import { renderProgress } from './render-progress.js';
import { oneLine } from './text.js';

export type FollowResult =
  | { readonly kind: 'done'; readonly status: ClusterStatus }
  | { readonly kind: 'timeout'; readonly status: ClusterStatus | null }
  | { readonly kind: 'interrupted' }
  | { readonly kind: 'lost'; readonly error: ControlApiError };

export interface FollowOptions {
  readonly timeoutMs: number;
  readonly out: Output;
  readonly signal: AbortSignal;
  readonly pollMs?: number;
  /** Unanswered polls in a row before giving up (the controller is gone, not restarting). */
  readonly maxUnanswered?: number;
  readonly now?: () => number;
}

const CLEAR_LINE = '\r\u001b[2K';

export async function followRequest(client: { status(): Promise<ClusterStatus> }, id: string, opts: FollowOptions): Promise<FollowResult> {
  const now = opts.now ?? Date.now;
  const pollMs = opts.pollMs ?? 500;
  const maxUnanswered = opts.maxUnanswered ?? 20;
  const tty = opts.out.isTTY === true;
  // A pseudo-terminal without a size reports 0 columns.
  const width = opts.out.columns !== undefined && opts.out.columns > 0 ? opts.out.columns : 80;
  const deadline = now() + opts.timeoutMs;
  let state = startFollow(id);
  let last: ClusterStatus | null = null;
  let shown = '';
  let drawn = false;
  let unanswered = 0;

  const show = (line: string): void => {
    if (tty) {
      opts.out.write(CLEAR_LINE + line);
      drawn = true;
    } else if (line !== shown) {
      opts.out.write(line + '\n');
    }
    shown = line;
  };
  const endLine = (): void => {
    if (drawn) opts.out.write('\n');
    drawn = false;
  };

  for (;;) {
    if (opts.signal.aborted) {
      endLine();
      return { kind: 'interrupted' };
    }
    try {
      const status = await client.status();
      unanswered = 0;
      last = status;
      const step = advanceFollow(state, status);
      state = step.state;
      show(renderProgress(status, { tty, width }));
      if (step.done) {
        endLine();
        return { kind: 'done', status };
      }
    } catch (err) {
      if (!(err instanceof ControlApiError)) throw err;
      unanswered++;
      if (unanswered >= maxUnanswered && err.status === 0) {
        endLine();
        return { kind: 'lost', error: err };
      }
      show(`controller: ${oneLine(err.message)} (retrying)`);
    }
    if (now() >= deadline) {
      endLine();
      return { kind: 'timeout', status: last };
    }
    await sleep(Math.min(pollMs, Math.max(0, deadline - now())), opts.signal);
  }
}
