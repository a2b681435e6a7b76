/**
 * The SQL of one key's upsert in the kv table: the row is inserted or its
 * value, flags, expiry and version replaced. Whether the INSERT is tried
 * before the lookup follows what recent upserts found (insert-first.ts).
 * Reports what the row was, so the caller keeps its key and expiry counters.
 */
import { keySlot } from '../../common/slot.js';
import { InsertFirstEstimate } from './insert-first.js';
import type { Statements } from './statements.js';

type IdRow = [id: number, expiresAt: number | null];

/** What the key's row was before the upsert: absent, or present with or without an expiry. */
export type PriorRow = 'absent' | 'expiring' | 'persistent';

export class RowUpsert {
  private readonly newKeys = new InsertFirstEstimate();

  constructor(private readonly st: Statements) {}

  run(key: Buffer, slot: number | null, flags: number, expiresAt: number | null, version: number, stored: Buffer): PriorRow {
    // Mostly new keys lately (an import, a replica applying one): INSERT first, the lookup only on a conflict.
    if (this.newKeys.insertFirst && this.st.insertIfAbsent.run(key, slot ?? keySlot(key), flags, expiresAt, version, stored).changes === 1) {
      this.newKeys.record(true);
      return 'absent';
    }
    const row = this.st.idByKey.get(key) as IdRow | undefined;
    this.newKeys.record(row === undefined);
    if (row === undefined) {
      this.st.insert.run(key, slot ?? keySlot(key), flags, expiresAt, version, stored);
      return 'absent';
    }
    this.st.updateById.run(flags, expiresAt, version, stored, row[0]);
    return row[1] !== null ? 'expiring' : 'persistent';
  }
}
