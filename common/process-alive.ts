/** Whether a process id names a live process (local platform adoption, data-directory lock staleness). */
import fs from 'node:fs';

/** The process exists and is not a zombie. EPERM counts as alive (it exists, though not ours to signal). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // An exited process nobody has reaped yet still answers kill(0).
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}
