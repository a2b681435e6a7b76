/**
 * Long-running child processes of the test environment (etcd, the API
 * server, the controller manager, pod containers): output to a log file,
 * stop with SIGTERM then SIGKILL after a grace period, and a last-resort
 * SIGKILL of everything still alive when the test process exits, so an
 * aborted run leaves no strays behind.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';

const alive = new Set<ChildProcess>();
let exitHookInstalled = false;

function killAll(): void {
  for (const child of alive) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killAll);
  // Mocha handles SIGINT itself (and then exits); a plain kill of the test
  // process would otherwise leave the control plane and pods running.
  for (const sig of ['SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      killAll();
      process.exit(128 + (sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

/** Registers a child process (a daemon or a pod's container) for the last-resort kill at exit. */
export function track(child: ChildProcess): void {
  installExitHook();
  alive.add(child);
  child.once('exit', () => alive.delete(child));
  child.once('error', () => alive.delete(child));
}

export interface Daemon {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly logFile: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  isAlive(): boolean;
  /** SIGTERM, then SIGKILL after graceMs; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** The last bytes of the log file, for error messages. */
  tail(bytes?: number): string;
}

export function startDaemon(name: string, command: string, args: string[], logFile: string, opts: SpawnOptions = {}): Daemon {
  const fd = fs.openSync(logFile, 'a');
  const child = spawn(command, args, { ...opts, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  track(child);
  let dead = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      dead = true;
      resolve({ code, signal });
    });
    child.once('error', (err) => {
      dead = true;
      fs.appendFileSync(logFile, `\n[spawn error] ${err.message}\n`);
      resolve({ code: 127, signal: null });
    });
  });
  return {
    name, child, logFile, exited,
    pid: child.pid ?? -1,
    isAlive: () => !dead,
    async stop(graceMs = 10000) {
      if (dead) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => { if (!dead) child.kill('SIGKILL'); }, graceMs);
      await exited;
      clearTimeout(timer);
    },
    tail(bytes = 4000) {
      try {
        const buf = fs.readFileSync(logFile);
        return buf.subarray(Math.max(0, buf.length - bytes)).toString('utf8');
      } catch {
        return '';
      }
    },
  };
}
