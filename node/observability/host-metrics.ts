/**
 * What the node has room for: free and total space of the filesystem
 * holding its data directory (node_exporter's node_filesystem_avail_bytes /
 * node_filesystem_size_bytes, for this one directory), and the memory the
 * process may use (the container's cgroup limit, or the machine's memory).
 * The chart's "disk/memory near limit" alerts divide by these, so they work
 * without node_exporter or kube-state-metrics.
 */
import fs from 'node:fs';
import { Gauge, type Registry } from 'prom-client';

/** limitBytes: the process's memory limit (node/runtime/memory-limit.ts), read once at start. */
export function registerHostMetrics(registry: Registry, dataDir: string, limitBytes: number): void {
  const r = [registry];
  new Gauge({
    name: 'irisdb_process_memory_limit_bytes', help: 'Memory the process may use: its container\'s cgroup limit, or the machine\'s memory without one', registers: r,
    collect() { this.set(limitBytes); },
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
