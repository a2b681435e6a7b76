/**
 * INFO fields that come from the process and the engine rather than from the
 * command layer. Fields the command layer already reports (os, process_id,
 * used_memory, expired_keys, ...) are not repeated here.
 */
import type { InfoSections } from '../commands/types.js';
import type { EngineStats } from '../engine/types.js';
import type { NodeConfig } from '../config/schema.js';
import { IRISDB_VERSION } from '../../common/version.js';
import { journalInfoFields } from '../engine/journal-info.js';

export function runtimeInfoSections(config: NodeConfig, stats: EngineStats): InfoSections {
  return [
    ['server', [
      ['irisdb_version', IRISDB_VERSION],
      ['irisdb_node_name', config.nodeName],
    ]],
    ['memory', [
      ['used_memory_peak', process.memoryUsage.rss()],
    ]],
    ['persistence', [
      ['irisdb_fsync', config.fsync],
      ['irisdb_db_bytes', stats.dbFileBytes],
      ['irisdb_wal_bytes', stats.walFileBytes],
      ['irisdb_commits', stats.commits],
      ['irisdb_last_seq', stats.lastSeq],
      ...journalInfoFields(stats.journal ?? null),
    ]],
    ['stats', [
      ['irisdb_read_cache_hits', stats.cacheHits],
      ['irisdb_read_cache_misses', stats.cacheMisses],
    ]],
  ];
}
