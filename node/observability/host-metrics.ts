/**
 * What the node has room for: free and total space of the filesystem
 * holding its data directory (node_exporter's node_filesystem_avail_bytes /
 * node_filesystem_size_bytes, for this one directory), and the memory the
 * process may use (the container's cgroup limit, or the machine's memory).
 * The chart's "disk/memory near limit" alerts divide by these, so they work
 * without node_exporter or kube-state-metrics.
 */
import fs from 'node:fs';
import os from 'node:os';
import { Gauge, type Registry } from 'prom-client';

/** Where a cgroup memory limit may be (v2 first, then v1). */
const CGROUP_LIMIT_FILES = ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes'];

/**
 * A cgroup memory limit file's content as bytes, or null for "no limit":
 * "max" (v2), or a number at least the machine's memory (v1 writes a huge
 * number when unlimited). Pure.
 */
export function parseCgroupMemoryLimit(text: string, machineBytes: number): number | null {
  const t = text.trim();
  if (!/^[0-9]+$/.test(t)) return null;
  const n = Number(t);
  return Number.isSafeInteger(n) && n > 0 && n < machineBytes ? n : null;
}

/** The memory limit the process runs under: its cgroup's, else the machine's total memory. */
export function memoryLimitBytes(readFile: (path: string) => string | null = readOptional): number {
  const machine = os.totalmem();
  for (const f of CGROUP_LIMIT_FILES) {
    const text = readFile(f);
    if (text === null) continue;
    const limit = parseCgroupMemoryLimit(text, machine);
    if (limit !== null) return limit;
  }
  return machine;
}

export function registerHostMetrics(registry: Registry, dataDir: string): void {
  const r = [registry];
  const limit = memoryLimitBytes();
  new Gauge({
    name: 'irisdb_process_memory_limit_bytes', help: 'Memory the process may use: its container\'s cgroup limit, or the machine\'s memory without one', registers: r,
    collect() { this.set(limit); },
  });
  // Read at scrape: a statfs is one syscall.
  const statfs = (): fs.StatsFs | null => {
    try {
      return fs.statfsSync(dataDir);
    } catch {
      return null;
    }
  };
  new Gauge({
    name: 'irisdb_storage_filesystem_avail_bytes', help: 'Space left for the node on the filesystem holding its data directory', registers: r,
    collect() {
      const s = statfs();
      if (s !== null) this.set(s.bavail * s.bsize);
    },
  });
  new Gauge({
    name: 'irisdb_storage_filesystem_size_bytes', help: 'Size of the filesystem holding the data directory (a Kubernetes volume: its capacity)', registers: r,
    collect() {
      const s = statfs();
      if (s !== null) this.set(s.blocks * s.bsize);
    },
  });
}

function readOptional(path: string): string | null {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}
