/** INFO fields that come from the process and the engine rather than from the command layer. */
import os from 'node:os';
import type { InfoSections } from '../commands/types.js';
import type { EngineStats } from '../engine/types.js';
import type { NodeConfig } from '../config/schema.js';
import { IRISDB_VERSION } from '../../common/version.js';

export function runtimeInfoSections(config: NodeConfig, stats: EngineStats): InfoSections {
  const mem = process.memoryUsage();
  return [
    ['server', [
      ['irisdb_version', IRISDB_VERSION],
      ['irisdb_node_name', config.nodeName],
      ['os', `${os.type()} ${os.release()} ${os.arch()}`],
      ['process_id', process.pid],
      ['executable', process.execPath],
      ['config_file', config.configFile],
    ]],
    ['memory', [
      ['used_memory', mem.heapUsed + mem.external],
      ['used_memory_rss', mem.rss],
      ['used_memory_peak', mem.rss],
      ['maxmemory', 0],
      ['maxmemory_policy', 'noeviction'],
    ]],
    ['persistence', [
      ['loading', 0],
      ['aof_enabled', 1],
      ['irisdb_fsync', config.fsync],
      ['irisdb_db_bytes', stats.dbFileBytes],
      ['irisdb_wal_bytes', stats.walFileBytes],
      ['irisdb_commits', stats.commits],
      ['irisdb_last_seq', stats.lastSeq],
    ]],
    ['stats', [
      ['expired_keys', stats.expiredKeys],
      ['irisdb_read_cache_hits', stats.cacheHits],
      ['irisdb_read_cache_misses', stats.cacheMisses],
    ]],
  ];
}
