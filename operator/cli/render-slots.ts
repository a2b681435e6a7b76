/** `irisctl slots`: the slot ranges in order, each with its shard and the primary's address. Pure. */
import { SLOT_COUNT } from '../../common/slot.js';
import type { ClusterStatus } from '../core/observation.js';
import { formatRange, oneLine, table } from './text.js';

export interface SlotRow {
  readonly first: number;
  readonly last: number;
  /** null: no shard owns these slots. */
  readonly shard: string | null;
  readonly primary: string | null;
  /** The primary's host:port, null when unknown. */
  readonly address: string | null;
}

/** Every slot exactly once: the shards' ranges, and the gaps between them as unassigned rows. */
export function slotRows(status: ClusterStatus): SlotRow[] {
  const rows: SlotRow[] = [];
  for (const s of status.shards) {
    const p = s.nodes.find((n) => n.name === s.primary);
    const address = p !== undefined && p.host !== null && p.port !== null ? `${p.host}:${p.port}` : null;
    for (const [first, last] of s.slots) rows.push({ first, last, shard: s.id, primary: s.primary, address });
  }
  rows.sort((a, b) => a.first - b.first);
  const out: SlotRow[] = [];
  let next = 0;
  for (const r of rows) {
    if (r.first > next) out.push({ first: next, last: r.first - 1, shard: null, primary: null, address: null });
    out.push(r);
    next = Math.max(next, r.last + 1);
  }
  if (next < SLOT_COUNT) out.push({ first: next, last: SLOT_COUNT - 1, shard: null, primary: null, address: null });
  return out;
}

export function renderSlots(status: ClusterStatus): string {
  const rows = slotRows(status).map((r) => [
    formatRange([r.first, r.last]), String(r.last - r.first + 1), r.shard === null ? 'unassigned' : oneLine(r.shard),
    r.primary === null ? '-' : oneLine(r.primary), r.address ?? '-',
  ]);
  return table([['SLOTS', 'COUNT', 'SHARD', 'PRIMARY', 'ADDRESS'], ...rows]).join('\n') + '\n';
}
