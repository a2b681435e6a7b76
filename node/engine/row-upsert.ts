/**
 * The SQL of one key's upsert in the kv table: the row is inserted or its
 * value, flags, expiry and version replaced. Whether the INSERT is tried
 * before the lookup follows what recent upserts found (insert-first.ts).
 * Reports what the row was, so the caller keeps its key and expiry counters.
 * When the caller already knows the row exists and whether it expires (the
 * read cache holds it), one UPDATE by key replaces the lookup and the UPDATE
 * by id (one statement and one index descent fewer); an UPDATE that finds no
 * row falls back to the lookup, so a wrong guess costs time, never a write.
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

  run(key: Buffer, slot: number | null, flags: number, expiresAt: number | null, version: number, stored: Buffer, known?: PriorRow): PriorRow {
    if ((known === 'expiring' || known === 'persistent') && this.st.updateByKey.run(flags, expiresAt, version, stored, key).changes === 1) {
      this.newKeys.record(false);
      return known;
    }
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
