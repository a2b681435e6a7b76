/**
 * The rows of one journaled mutation, written again after the write journal
 * rolled its batch back for a later turn's failure (journal-transaction.ts,
 * ApplyPath.replayRows): only the kv rows, as the mutation's turn wrote them
 * (version = its sequence). The turn's counters, sequence, cache, logs and
 * listeners already hold it, so nothing else may be touched here.
 */
import type { ValueCodec } from './codec.js';
import type { RowUpsert } from './row-upsert.js';
import type { Statements } from './statements.js';
import type { Mutation } from './types.js';

export function replayMutationRows(st: Statements, codec: ValueCodec, rows: RowUpsert, m: Mutation, seq: number): void {
  switch (m.op) {
    case 'set': {
      const stored = codec.encode(m.value, m.key);
      rows.run(m.key, null, codec.lastFlags, m.expiresAt, seq, stored);
      return;
    }
    case 'del':
      st.deleteByKey.get(m.key);
      return;
    case 'expire': {
      const row = st.idByKey.get(m.key) as [number, number | null] | undefined;
      if (row !== undefined) st.updateExpiryById.run(m.expiresAt, seq, row[0]);
      return;
    }
    case 'clear':
      st.deleteAll.run();
      return;
  }
}
