/** The live child processes of a process, from /proc (Linux): what tests check of a process a node spawns. */
import fs from 'node:fs';

export interface ProcInfo {
  readonly pid: number;
  readonly ppid: number;
  /** Session id: a process spawned detached leads its own. */
  readonly session: number;
  readonly nice: number;
  /** Nice value of its session's CPU group (Linux autogroup); null where the kernel has none. */
  readonly autogroupNice: number | null;
  /** argv joined with spaces. */
  readonly command: string;
}

/** Fields of /proc/PID/stat; null when the process is gone (or a zombie). */
export function procInfo(pid: number): ProcInfo | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (f[0] === 'Z') return null;
    const command = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((s) => s !== '').join(' ');
    return { pid, ppid: Number(f[1]), session: Number(f[3]), nice: Number(f[16]), autogroupNice: autogroupNice(pid), command };
  } catch {
    return null;
  }
}

function autogroupNice(pid: number): number | null {
  try {
    const m = /nice (-?\d+)/.exec(fs.readFileSync(`/proc/${pid}/autogroup`, 'utf8'));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}

export function childProcesses(ppid: number): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const p = procInfo(Number(name));
    if (p !== null && p.ppid === ppid) out.push(p);
  }
  return out;
}
