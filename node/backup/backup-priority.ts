/**
 * The backup's snapshot process lowers its own CPU priority (Linux;
 * `--backup-nice`). Two knobs, because the kernel may share CPU time in two
 * levels: between groups first (autogroup: one group per session, used for
 * processes outside a cgroup, e.g. `irisctl local up` on a desktop or VM),
 * then between the threads inside a group (always; inside a container the
 * pod's cgroup is the group). The process runs in its own session (spawned
 * detached), so raising its session group's nice value lowers its share
 * against the node's group; its own nice value lowers it inside a cgroup it
 * shares with the node.
 */
import fs from 'node:fs';
import os from 'node:os';

/** Where the kernel keeps this session group's nice value (absent without CONFIG_SCHED_AUTOGROUP). */
const AUTOGROUP_FILE = '/proc/self/autogroup';

/** This process's nice value (and its session group's) raised to `niceness`; the value in effect, or null where it could not be lowered. */
export function lowerOwnPriority(niceness: number): number | null {
  if (niceness <= 0) return null;
  let effective: number | null = null;
  try {
    // pid 0: the calling thread, the one that reads; Linux keeps nice per thread.
    os.setPriority(0, Math.max(os.getPriority(0), niceness));
    effective = os.getPriority(0);
  } catch {
    // Not permitted or not Linux: the group's value may still apply.
  }
  try {
    // Writing a higher value needs no privilege; only this session's group (the snapshot process alone) is affected.
    fs.writeFileSync(AUTOGROUP_FILE, String(niceness));
    effective ??= niceness;
  } catch {
    // No autogroup on this kernel (or it is off): groups are cgroups, where the process's own nice value applies.
  }
  return effective;
}
