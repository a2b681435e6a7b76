/**
 * The default size of SQLite's page cache (--sqlite-cache-bytes 0). Writes
 * need each row's b-tree leaf in the cache: once the database outgrows it,
 * most SETs read a page from the OS first, and at 1M keys (~330 MB on disk)
 * 256 MiB gave 1.5x the SET/s of 32 MiB and a 14x lower p99
 * (docs/benchmarks.md, "The page cache under a SET flood"). SQLite fills the
 * cache only as pages are read, so a large limit costs memory only when the
 * data is that large. Pure.
 */
import type { MemoryLimit } from '../runtime/memory-limit.js';

const MiB = 1024 * 1024;
/** Never less than the fixed default of earlier versions. */
export const MIN_AUTO_PAGE_CACHE_BYTES = 32 * MiB;
/** Never more: past this the OS's own cache of the file serves as well. */
export const MAX_AUTO_PAGE_CACHE_BYTES = 1024 * MiB;
/** Share of a container's own memory limit (the node is the pod's one process). */
const CGROUP_SHARE = 4;
/** Share of a machine's memory without a limit: shared with every other process (a local cluster runs six nodes). */
const MACHINE_SHARE = 16;

export function defaultPageCacheBytes(limit: MemoryLimit): number {
  const share = Math.floor(limit.bytes / (limit.source === 'cgroup' ? CGROUP_SHARE : MACHINE_SHARE));
  // Whole MiB: the pragma takes KiB, and a round number reads better in INFO and logs.
  const rounded = Math.floor(share / MiB) * MiB;
  return Math.min(MAX_AUTO_PAGE_CACHE_BYTES, Math.max(MIN_AUTO_PAGE_CACHE_BYTES, rounded));
}

/** The page cache the node opens SQLite with: the configured size, or the default above when it is 0. */
export function pageCacheBytes(configured: number, limit: MemoryLimit): number {
  return configured > 0 ? configured : defaultPageCacheBytes(limit);
}
