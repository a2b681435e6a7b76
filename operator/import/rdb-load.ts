/**
 * The initial copy of --follow: a full sync's RDB, its strings of the
 * imported database written through the bulk load (SETs where it cannot)
 * in chunks, other types counted by type.
 */
import { formatCount } from '../cli/text.js';
import type { BulkWriter, ImportString } from './bulk-writer.js';
import type { ImportCounts } from './import-counts.js';
import { readRdb } from './rdb-reader.js';
import type { Reservoir } from './verify.js';

const WRITE_CHUNK = 2000;

/**
 * Writes the RDB's strings of database `db` to IrisDB through the bulk load
 * (SETs where it cannot), in chunks. Expiries go as the time left when the
 * chunk is sent; a key whose expiry passed meanwhile is counted as gone.
 */
export async function loadRdb(rdb: Buffer, db: number, writer: BulkWriter, counts: ImportCounts, sample: Reservoir<Buffer>, show: (line: string) => void): Promise<void> {
  const strings: { key: Buffer; value: Buffer; at: number | null }[] = [];
  const now = Date.now();
  readRdb(rdb, {
    onString(kdb, key, value, at) {
      if (kdb !== db) return;
      counts.scanned++;
      if (at !== null && at <= now) counts.vanished++;
      else strings.push({ key, value, at });
    },
    onOther(kdb, _key, type) {
      if (kdb !== db) return;
      counts.scanned++;
      counts.skippedByType[type] = (counts.skippedByType[type] ?? 0) + 1;
    },
  });
  for (let i = 0; i < strings.length; i += WRITE_CHUNK) {
    const sent = Date.now();
    const part: ImportString[] = [];
    for (const s of strings.slice(i, i + WRITE_CHUNK)) {
      if (s.at !== null && s.at <= sent) counts.vanished++;
      else part.push({ key: s.key, value: s.value, pttl: s.at === null ? -1 : s.at - sent });
    }
    const refused = new Set(await writer.write(part));
    counts.refused = (counts.refused ?? 0) + refused.size;
    for (const s of part) {
      if (refused.has(s.key)) continue;
      counts.copied++;
      if (s.pttl > 0) counts.withTtl++;
      sample.offer(s.key);
    }
    show(`loading the RDB: ${formatCount(counts.copied)}/${formatCount(strings.length)} strings`);
  }
}
