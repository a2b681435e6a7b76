/**
 * CPU time of processes and threads from Linux /proc, for benchmarks that
 * report CPU per request: on a shared or noisy machine throughput swings
 * with the neighbours, CPU per request much less.
 */
import fs from 'node:fs';

/** USER_HZ: /proc reports CPU times in these ticks (100 on Linux whatever the kernel's HZ). */
const USER_HZ = 100;

/** User and system CPU time, µs. */
export interface CpuTime {
  readonly userUs: number;
  readonly sysUs: number;
}

/**
 * The fields after the parenthesised command name of a /proc stat file
 * (the name may contain spaces): index 11 is utime, 12 stime, 13 cutime,
 * 14 cstime (fields 14–17 of proc(5)).
 */
function statFields(text: string): string[] {
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

function ticksToUs(ticks: string | undefined): number {
  return (Number(ticks) * 1_000_000) / USER_HZ;
}

/** utime and stime of a /proc/<pid>/stat (or task stat) text. */
export function statCpu(text: string): CpuTime {
  const f = statFields(text);
  return { userUs: ticksToUs(f[11]), sysUs: ticksToUs(f[12]) };
}

/** A process's CPU time, all its threads; with `thread`, that thread only (the main thread's tid is the pid). */
export function processCpu(pid: number, thread?: number): CpuTime {
  const path = thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`;
  return statCpu(fs.readFileSync(path, 'utf8'));
}

/** utime + stime of a process (all threads), µs. */
export function cpuMicros(pid: number): number {
  const c = processCpu(pid);
  return c.userUs + c.sysUs;
}

/**
 * CPU time of this process's children that have exited and been waited for
 * (cutime, cstime): around one awaited child process (redis-benchmark), its
 * own CPU cost, as long as no other child exits meanwhile.
 */
export function waitedChildrenCpu(): CpuTime {
  const f = statFields(fs.readFileSync('/proc/self/stat', 'utf8'));
  return { userUs: ticksToUs(f[13]), sysUs: ticksToUs(f[14]) };
}

/** b − a. */
export function cpuSince(a: CpuTime, b: CpuTime): CpuTime {
  return { userUs: b.userUs - a.userUs, sysUs: b.sysUs - a.sysUs };
}
