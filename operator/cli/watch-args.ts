/** `irisctl watch` flags (--prefix, --from, --json) as a command. Pure. */
import { ChangePositionError, type ChangePosition, parsePositionList } from '../../common/change-position.js';
import type { ControlSource } from './args.js';
import { UsageError } from './errors.js';

export interface WatchCommand {
  readonly kind: 'watch';
  readonly source: ControlSource;
  readonly prefix: string;
  /** Per-shard positions to resume after (shards not listed start from their oldest retained change); empty: from now. */
  readonly from: readonly ChangePosition[];
  readonly resume: boolean;
  readonly json: boolean;
}

export function watchCommand(v: Readonly<Record<string, string | boolean | undefined>>, source: ControlSource): WatchCommand {
  const prefix = typeof v.prefix === 'string' ? v.prefix : '';
  const fromText = typeof v.from === 'string' ? v.from : undefined;
  let from: ChangePosition[] = [];
  if (fromText !== undefined) {
    try {
      from = parsePositionList(fromText);
    } catch (err) {
      if (err instanceof ChangePositionError) throw new UsageError(`--from: ${err.message} (a comma-separated list of <shard>:<epoch>:<seq>, as watch prints when it stops)`, 'watch');
      throw err;
    }
  }
  return { kind: 'watch', source, prefix, from, resume: fromText !== undefined, json: v.json === true };
}
