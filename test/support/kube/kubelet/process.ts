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

/** Where the mount script stages sources inside the container's namespace (a private tmpfs there). */
const HOLD = '/run/irisdb-test-kubelet';

// Stages every source (and every kept path) under a private tmpfs first,
// since a mount over /tmp would otherwise cover sources that live under it;
// then mounts each at its target, parents first; then puts back any kept
// path (the image's files) that a mount covered; then becomes the container.
const MOUNT_SCRIPT = [
  'set -e',
  `hold=${HOLD}`,
  'mkdir -p "$hold"; mount -t tmpfs tmpfs "$hold"',
  'n=$1; shift; i=0',
  'while [ "$i" -lt "$n" ]; do',
  '  eval "dst_$i=\\$2 mode_$i=\\$3"',
  '  if [ -d "$1" ]; then mkdir -p "$hold/$i"; else : > "$hold/$i"; fi',
  '  mount --bind "$1" "$hold/$i"',
  '  shift 3; i=$((i+1))',
  'done',
  'k=$1; shift; j=0',
  'while [ "$j" -lt "$k" ]; do',
  '  eval "keep_$j=\\$1"',
  '  mkdir -p "$hold/k$j"; mount --bind "$1" "$hold/k$j"',
  '  shift; j=$((j+1))',
  'done',
  'i=0',
  'while [ "$i" -lt "$n" ]; do',
  '  eval "dst=\\$dst_$i mode=\\$mode_$i"',
  '  if [ -d "$hold/$i" ]; then mkdir -p "$dst"; else mkdir -p "$(dirname "$dst")"; [ -e "$dst" ] || : > "$dst"; fi',
  '  mount --bind "$hold/$i" "$dst"',
  '  if [ "$mode" = ro ]; then mount -o remount,bind,ro "$dst"; fi',
  '  i=$((i+1))',
  'done',
  'j=0',
  'while [ "$j" -lt "$k" ]; do',
  '  eval "p=\\$keep_$j"',
  '  if [ "$(stat -c %d:%i "$p" 2>/dev/null)" != "$(stat -c %d:%i "$hold/k$j")" ]; then mkdir -p "$p"; mount --bind "$hold/k$j" "$p"; fi',
  '  j=$((j+1))',
  'done',
  'exec "$@"',
].join('\n');

/**
 * The argv that runs `argv` with `mounts` in a private mount namespace;
 * `keep` are host paths the command needs (the image's files) that stay
 * visible whatever is mounted over their parents.
 */
export function wrapWithMounts(argv: string[], mounts: Mount[], keep: readonly string[] = []): string[] {
  if (mounts.length === 0) return argv;
  // Parents first, as a container runtime mounts them, so /data/sub is not covered by /data.
  const ordered = [...mounts].sort((a, b) => depth(a.target) - depth(b.target));
  const triples = ordered.flatMap((m) => [m.source, m.target, m.readOnly ? 'ro' : 'rw']);
  return ['unshare', '-m', '--propagation', 'private', '--', 'sh', '-c', MOUNT_SCRIPT, 'sh', String(mounts.length), ...triples, String(keep.length), ...keep, ...argv];
}

function depth(p: string): number {
  return p.split('/').filter((x) => x !== '').length;
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
  /** Host paths that stay visible in the container (the image's files). */
  keep: string[];
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
      argv = wrapWithMounts(argv, spec.mounts, spec.keep);
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
