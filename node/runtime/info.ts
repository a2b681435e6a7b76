/**
 * INFO fields that come from the process and the engine rather than from the
 * command layer. Fields the command layer already reports (os, process_id,
 * used_memory, expired_keys, ...) are not repeated here.
 */
import os from 'node:os';
import type { InfoSections } from '../commands/types.js';
import type { EngineStats } from '../engine/types.js';
import type { NodeConfig } from '../config/schema.js';
import { IRISDB_VERSION } from '../../common/version.js';
import { journalInfoFields } from '../engine/journal-info.js';
import type { MemoryLimit } from './memory-limit.js';

/** What the node sized at start from its memory limit. */
export interface MemorySizing {
  readonly memory: MemoryLimit;
  /** SQLite's page cache in use (--sqlite-cache-bytes, or its default from the limit). */
  readonly sqliteCacheBytes: number;
}

export function runtimeInfoSections(config: NodeConfig, stats: EngineStats, sizing: MemorySizing): InfoSections {
  return [
    ['server', [
      ['irisdb_version', IRISDB_VERSION],
      ['irisdb_node_name', config.nodeName],
    ]],
    ['memory', [
      ['used_memory_peak', process.memoryUsage.rss()],
      // Redis's name for the machine's memory; the limit the node sized itself by is beside it.
      ['total_system_memory', os.totalmem()],
      ['irisdb_memory_limit_bytes', sizing.memory.bytes],
      ['irisdb_memory_limit_source', sizing.memory.source],
      ['irisdb_sqlite_cache_bytes', sizing.sqliteCacheBytes],
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
