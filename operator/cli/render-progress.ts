/**
 * One line of progress for the long verbs (scale, rebalance, failover,
 * switchover): the operation's moves, slots and keys, or the failovers
 * under way, or the phase and the first reason it is not Ready. On a
 * terminal it starts with a bar and fits `width` (the caller redraws it in
 * place); otherwise it carries only what changes at stage granularity, so a
 * log gets one line per change. Pure, never any escape code or newline.
 */
import type { ClusterStatus, OperationView } from '../core/observation.js';
import { formatBytes, formatCount, oneLine, truncate } from './text.js';

export interface ProgressOptions {
  readonly tty: boolean;
  readonly width: number;
}

export function renderProgress(status: ClusterStatus, opts: ProgressOptions): string {
  const op = status.operation;
  let line: string;
  if (op !== null) {
    // On a terminal the reason is left out (irisctl printed it when the request was accepted) to leave room for the live counters.
    line = opts.tty ? `${bar(fraction(op), opts.width >= 120 ? 20 : 10)} ${liveOperation(op)}` : `${oneLine(op.reason)}: ${renderOperation(op)}`;
  } else {
    const failovers = status.shards.filter((s) => s.failover !== null).map((s) => {
      const f = s.failover!;
      return `${oneLine(s.id)} ${f.kind} ${f.stage}${f.candidate !== null ? ` → ${oneLine(f.candidate)}` : ''}` +
        (f.blocked !== null ? ` (blocked: ${oneLine(f.blocked)})` : '');
    });
    if (failovers.length > 0) line = failovers.join(' · ');
    else line = `phase ${status.phase}${status.messages.length > 0 ? `: ${oneLine(status.messages[0]!)}` : ''}`;
  }
  return opts.tty ? truncate(line, Math.max(1, opts.width - 1)) : line;
}

/**
 * The operation's progress without its reason, at stage granularity:
 * stage, moves, slots, keys moved by finished moves, the running migration.
 */
export function renderOperation(op: OperationView): string {
  const parts = [
    `${op.stage}`,
    `moves ${op.movesDone}/${op.movesTotal}`,
    `slots ${formatCount(op.slotsDone)}/${formatCount(op.slotsTotal)}`,
    `${formatCount(op.keysMoved)} keys moved`,
  ];
  const m = op.current;
  if (m !== null) parts.push(`now ${oneLine(m.from)} → ${oneLine(m.to)} ${formatCount(m.slotCount)} slots ${m.stage}`);
  if (op.error !== null) parts.push(`last error: ${oneLine(op.error)}`);
  return parts.join(' · ');
}

/** Compact, most telling first, with the counters that change every poll (keys copied by the running migration, bytes). */
function liveOperation(op: OperationView): string {
  const parts = [
    ...(op.stage !== 'migrate' || op.current === null ? [op.stage] : []),
    `moves ${op.movesDone}/${op.movesTotal}`,
    `slots ${formatCount(op.slotsDone)}/${formatCount(op.slotsTotal)}`,
  ];
  const m = op.current;
  if (m !== null) parts.push(`${oneLine(m.from)} → ${oneLine(m.to)} ${m.stage} ${formatCount(m.keysCopied)} keys`);
  parts.push(`${formatCount(op.keysMoved)} keys moved (${formatBytes(op.bytesMoved)})`);
  if (op.error !== null) parts.push(`last error: ${oneLine(op.error)}`);
  return parts.join(' · ');
}

/** Done share of the operation: by slots when it moves any, else by moves. */
function fraction(op: OperationView): number {
  const f = op.slotsTotal > 0 ? op.slotsDone / op.slotsTotal : op.movesTotal > 0 ? op.movesDone / op.movesTotal : 0;
  return Number.isFinite(f) ? Math.min(1, Math.max(0, f)) : 0;
}

/** "[#######.............]  35%". */
export function bar(f: number, width: number): string {
  const filled = Math.round(f * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(f * 100)).padStart(3)}%`;
}
