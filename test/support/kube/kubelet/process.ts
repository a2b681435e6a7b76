/**
 * Starting a container as a local process. Volume mounts use a private mount
 * namespace (`unshare -m` + bind mounts, then exec, so the PID is the
 * container's own) where the machine allows it; otherwise the documented
 * fallback rewrites each mount path to its host directory wherever it
 * appears in the command line and environment. Exec probes and hooks enter
 * the same mount namespace with nsenter.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { track } from '../daemon.js';

export interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
}

let mountNsSupported: boolean | undefined;

/** Whether `unshare -m` with bind mounts works here (root, or a permissive user namespace setup). */
export function mountNamespacesSupported(): boolean {
  if (process.env.IRIS_KUBELET_NO_MOUNT_NS === '1') return false;
  if (mountNsSupported === undefined) {
    const r = spawnSync('unshare', ['-m', '--propagation', 'private', '--', 'sh', '-c', 'mount -t tmpfs none /mnt && umount /mnt'], { stdio: 'ignore', timeout: 10000 });
    mountNsSupported = r.status === 0;
  }
  return mountNsSupported;
}

// Creates each mount point (a directory, or a file for a file source) and
// bind-mounts it, then becomes the container's process.
const MOUNT_SCRIPT = [
  'set -e',
  'n=$1; shift',
  'while [ "$n" -gt 0 ]; do',
  '  if [ -d "$1" ]; then mkdir -p "$2"; else mkdir -p "$(dirname "$2")"; [ -e "$2" ] || : > "$2"; fi',
  '  mount --bind "$1" "$2"',
  '  if [ "$3" = ro ]; then mount -o remount,bind,ro "$2"; fi',
  '  shift 3; n=$((n-1))',
  'done',
  'exec "$@"',
].join('\n');

/** The argv that runs `argv` with `mounts` in a private mount namespace. */
export function wrapWithMounts(argv: string[], mounts: Mount[]): string[] {
  if (mounts.length === 0) return argv;
  const triples = mounts.flatMap((m) => [m.source, m.target, m.readOnly ? 'ro' : 'rw']);
  return ['unshare', '-m', '--propagation', 'private', '--', 'sh', '-c', MOUNT_SCRIPT, 'sh', String(mounts.length), ...triples, ...argv];
}

/** Fallback without mount namespaces: a mount path prefix becomes its host directory. */
export function rewriteMountPaths(value: string, mounts: Mount[]): string {
  // Longest target first so /data/sub wins over /data.
  for (const m of [...mounts].sort((a, b) => b.target.length - a.target.length)) {
    const t = m.target.replace(/\/+$/, '');
    if (value === t || value.startsWith(`${t}/`)) return m.source + value.slice(t.length);
    const eq = value.indexOf('=');
    if (eq > 0) {
      const rest = value.slice(eq + 1);
      if (rest === t || rest.startsWith(`${t}/`)) return `${value.slice(0, eq + 1)}${m.source}${rest.slice(t.length)}`;
    }
  }
  return value;
}

export interface ContainerProcessSpec {
  argv: string[];
  env: Record<string, string>;
  mounts: Mount[];
  cwd: string;
  logFile: string;
}

export function startContainerProcess(spec: ContainerProcessSpec): ChildProcess {
  let argv = spec.argv;
  let env = spec.env;
  if (spec.mounts.length > 0) {
    if (mountNamespacesSupported()) {
      argv = wrapWithMounts(argv, spec.mounts);
    } else {
      argv = argv.map((a) => rewriteMountPaths(a, spec.mounts));
      env = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, rewriteMountPaths(v, spec.mounts)]));
    }
  }
  fs.mkdirSync(path.dirname(spec.logFile), { recursive: true });
  fs.appendFileSync(spec.logFile, `--- ${new Date().toISOString()} start: ${JSON.stringify(spec.argv)}\n`);
  const fd = fs.openSync(spec.logFile, 'a');
  try {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: spec.cwd, env, stdio: ['ignore', fd, fd] });
    track(child);
    return child;
  } finally {
    fs.closeSync(fd);
  }
}

/** argv to run a command inside a running container's mount namespace. */
export function execArgv(pid: number | undefined, command: string[], mounts: Mount[]): string[] {
  if (mounts.length > 0 && pid !== undefined && mountNamespacesSupported()) {
    return ['nsenter', `--mount=/proc/${pid}/ns/mnt`, '--', ...command];
  }
  return command.map((a) => rewriteMountPaths(a, mounts));
}
