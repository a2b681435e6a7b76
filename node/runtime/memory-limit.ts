/**
 * The memory the process may use: its container's cgroup limit, or the
 * machine's memory without one. Read once at start by the host metrics
 * (irisdb_process_memory_limit_bytes) and by the default size of SQLite's
 * page cache (node/engine/page-cache-size.ts).
 */
import fs from 'node:fs';
import os from 'node:os';

export interface MemoryLimit {
  readonly bytes: number;
  /** cgroup: the container's own limit; machine: no limit was found, bytes is the machine's memory (shared with whatever else runs there). */
  readonly source: 'cgroup' | 'machine';
}

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

/**
 * The files that may hold the process's memory limit, from /proc/self/cgroup:
 * its own cgroup's and each ancestor's, for cgroup v2 (memory.max) and v1
 * (memory.limit_in_bytes). The mount's root comes last: a container whose
 * cgroup is mounted as the root (cgroup v1 without a cgroup namespace) sees
 * the host's path in /proc/self/cgroup, which does not exist under its mount. Pure.
 */
export function cgroupLimitFiles(procSelfCgroup: string): string[] {
  const out: string[] = [];
  const add = (mount: string, cgroupPath: string, file: string): void => {
    const parts = cgroupPath.split('/').filter((p) => p !== '' && p !== '.' && p !== '..');
    for (let n = parts.length; n >= 0; n--) out.push([mount, ...parts.slice(0, n), file].join('/'));
  };
  for (const line of procSelfCgroup.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (m === null) continue;
    const [, id, controllers, cgroupPath] = m;
    if (id === '0' && controllers === '') {
      add('/sys/fs/cgroup', cgroupPath!, 'memory.max');
      add('/sys/fs/cgroup/unified', cgroupPath!, 'memory.max');
    } else if (controllers!.split(',').includes('memory')) {
      add('/sys/fs/cgroup/memory', cgroupPath!, 'memory.limit_in_bytes');
    }
  }
  return [...new Set(out)];
}

/**
 * The lowest limit among the process's cgroup and its ancestors (a pod's
 * limit may sit on the pod's cgroup, the container's on its own), else the
 * machine's memory.
 */
export function memoryLimit(readFile: (path: string) => string | null = readOptional, machineBytes: number = os.totalmem()): MemoryLimit {
  const self = readFile('/proc/self/cgroup') ?? '';
  let lowest: number | null = null;
  for (const f of cgroupLimitFiles(self)) {
    const text = readFile(f);
    const limit = text === null ? null : parseCgroupMemoryLimit(text, machineBytes);
    if (limit !== null && (lowest === null || limit < lowest)) lowest = limit;
  }
  return lowest !== null ? { bytes: lowest, source: 'cgroup' } : { bytes: machineBytes, source: 'machine' };
}

function readOptional(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}
