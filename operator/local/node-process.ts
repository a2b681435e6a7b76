/**
 * One node's process, supervised the way a kubelet supervises a container:
 * spawned detached (its own process group, so a Ctrl-C in the terminal
 * reaches only the controller) with its output appended to its log file,
 * or adopted from an earlier controller and watched by polling; restarted
 * with a crash-loop back-off when it exits without being asked to.
 * Also the process-table helpers (liveness, command lines) the platform and
 * `local down` share.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../common/logger.js';
import { isAlive } from '../../common/process-alive.js';

export interface RestartPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  /** A run at least this long resets the back-off. */
  readonly resetAfterMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { initialMs: 200, maxMs: 5000, resetAfterMs: 10_000 };

/**
 * The delay before the next restart, given the restarts in the current
 * streak and how long the last run lasted: initial, doubling, capped at
 * max; a long enough run starts a new streak. Pure.
 */
export function restartDelay(policy: RestartPolicy, streak: number, ranMs: number): { delayMs: number; streak: number } {
  const s = ranMs >= policy.resetAfterMs ? 0 : streak;
  const delayMs = Math.min(policy.initialMs * 2 ** Math.min(s, 30), policy.maxMs);
  return { delayMs, streak: s + 1 };
}

/** Whether `args` (a process's argv) is the node `name` on `dataDir`. Pure. */
export function isNodeCommand(args: readonly string[], name: string, dataDir: string): boolean {
  const flag = (f: string): string | undefined => {
    const i = args.indexOf(f);
    return i >= 0 ? args[i + 1] : undefined;
  };
  return flag('--node-name') === name && flag('--data-dir') === dataDir;
}

/** A process's argv from /proc, or null where there is no /proc (or it is gone). */
export function readCmdline(pid: number): string[] | null {
  try {
    const raw = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((a, i, all) => i < all.length - 1 || a !== '');
  } catch {
    return null;
  }
}

/** Node processes (by pid) whose --data-dir lies directly under `nodesDir`; empty where there is no /proc. */
export function findNodeProcesses(nodesDir: string): Array<{ pid: number; name: string; dataDir: string }> {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const found: Array<{ pid: number; name: string; dataDir: string }> = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    const args = readCmdline(pid);
    if (args === null) continue;
    const i = args.indexOf('--data-dir');
    const n = args.indexOf('--node-name');
    if (i < 0 || n < 0) continue;
    const dataDir = args[i + 1] ?? '';
    const name = args[n + 1] ?? '';
    if (path.dirname(dataDir) === nodesDir && path.basename(dataDir) === name && isAlive(pid)) found.push({ pid, name, dataDir });
  }
  return found;
}

/** Sends `signal`; false if the process is gone. */
export function signalPid(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** SIGKILL to the process group a detached node leads (and to the pid, should it not lead one). */
export function killHard(pid: number): void {
  signalPid(-pid, 'SIGKILL');
  signalPid(pid, 'SIGKILL');
}

/** Polls until `pid` is gone or `timeoutMs` passes; true if gone. */
export async function waitGone(pid: number, timeoutMs: number, intervalMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isAlive(pid)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * SIGTERM (and SIGCONT, so a paused node gets to handle it), then SIGKILL
 * after `graceMs`. For processes that are not our children (`local down`).
 */
export async function terminatePid(pid: number, graceMs: number): Promise<boolean> {
  if (!signalPid(pid, 'SIGTERM')) return true;
  signalPid(pid, 'SIGCONT');
  if (await waitGone(pid, graceMs)) return true;
  killHard(pid);
  return waitGone(pid, 5000);
}

export interface NodeCommand {
  readonly name: string;
  /** Arguments after the node executable (process.execPath). */
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly dataDir: string;
  readonly logFile: string;
  /** A command that execs the node in place (same pid), e.g. `ip netns exec NS` (test-only placement). */
  readonly launcher?: readonly string[];
}

export interface NodeProcessHooks {
  /** pid or startedAt changed (to persist them). */
  changed(): void;
  /** The process exited without being asked to stop. */
  exited(name: string): void;
}

const ADOPTED_POLL_MS = 200;
/** After SIGKILL, how long to wait for the exit before giving up on it. */
const KILL_WAIT_MS = 5000;

export class NodeProcess {
  pid: number | null = null;
  startedAt: number | null = null;
  restarts = 0;
  lastExitAt: number | null = null;
  /** Should be running: false after stop() until start(). */
  private wanted = false;
  private streak = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private poll: NodeJS.Timeout | null = null;
  /** Bumped on every spawn/adopt, so a stale exit report is ignored. */
  private generation = 0;
  private supervising = true;
  private exitWaiters: Array<() => void> = [];

  constructor(
    readonly command: NodeCommand,
    private readonly policy: RestartPolicy,
    private readonly hooks: NodeProcessHooks,
    private readonly logger: Logger,
  ) {}

  get running(): boolean {
    return this.pid !== null;
  }

  /** Wants it running; spawns now unless it runs or a restart is already scheduled. */
  start(): void {
    this.wanted = true;
    if (this.pid === null && this.restartTimer === null) this.spawnNow();
  }

  /** Takes over a node a previous controller started (not our child): watched by polling. */
  adopt(pid: number, startedAt: number): void {
    this.wanted = true;
    const gen = ++this.generation;
    this.pid = pid;
    this.startedAt = startedAt;
    this.poll = setInterval(() => this.checkAdopted(gen), ADOPTED_POLL_MS);
    this.poll.unref();
    this.logger.info('adopted running node', { node: this.command.name, pid });
  }

  /** SIGTERM, then SIGKILL after `graceMs`; it stays stopped until start(). */
  async stop(graceMs: number): Promise<void> {
    this.wanted = false;
    this.clearRestart();
    const pid = this.pid;
    if (pid === null) return;
    const gen = this.generation;
    signalPid(pid, 'SIGTERM');
    signalPid(pid, 'SIGCONT');
    if (await this.waitExit(gen, graceMs)) return;
    this.logger.warn('node did not stop in time: SIGKILL', { node: this.command.name, pid, graceMs });
    killHard(pid);
    if (!(await this.waitExit(gen, KILL_WAIT_MS))) {
      this.logger.error('node survived SIGKILL', { node: this.command.name, pid });
    }
  }

  /** Stops supervising without touching the process: a later platform adopts it. */
  detach(): void {
    this.supervising = false;
    this.clearRestart();
    if (this.poll !== null) clearInterval(this.poll);
    this.poll = null;
  }

  private spawnNow(): void {
    const { name, args, env, dataDir, logFile, launcher } = this.command;
    const gen = ++this.generation;
    let child: ChildProcess;
    try {
      fs.mkdirSync(dataDir, { recursive: true });
      // Logs carry client addresses and key names: the owner's only (older files are tightened too).
      fs.mkdirSync(path.dirname(logFile), { recursive: true, mode: 0o700 });
      // A JSON line like the node's own, so the log stays one JSON object per line.
      fs.appendFileSync(logFile, JSON.stringify({ level: 'info', message: 'irisdb local: starting node', node: name, args, timestamp: new Date().toISOString() }) + '\n', { mode: 0o600 });
      fs.chmodSync(logFile, 0o600);
      fs.chmodSync(path.dirname(logFile), 0o700);
      const fd = fs.openSync(logFile, 'a');
      try {
        child = launcher !== undefined && launcher.length > 0
          ? spawn(launcher[0]!, [...launcher.slice(1), process.execPath, ...args], { detached: true, stdio: ['ignore', fd, fd], env })
          : spawn(process.execPath, args, { detached: true, stdio: ['ignore', fd, fd], env });
      } finally {
        fs.closeSync(fd);
      }
    } catch (err) {
      this.logger.error('could not start node', { node: name, err: (err as Error).message });
      this.exited(gen, null, null);
      return;
    }
    // The platform never keeps the controller's event loop alive by itself.
    child.unref();
    child.once('error', (err) => {
      this.logger.error('node process error', { node: name, err: err.message });
      this.exited(gen, null, null);
    });
    child.once('exit', (code, signal) => this.exited(gen, code, signal));
    this.pid = child.pid ?? null;
    this.startedAt = Date.now();
    this.logger.info('started node', { node: name, pid: this.pid, restarts: this.restarts });
    this.hooks.changed();
  }

  private checkAdopted(gen: number): void {
    if (gen === this.generation && this.pid !== null && !isAlive(this.pid)) this.exited(gen, null, null);
  }

  private exited(gen: number, code: number | null, signal: NodeJS.Signals | null): void {
    if (gen !== this.generation || !this.supervising) return;
    this.generation++;
    const now = Date.now();
    const ranMs = this.startedAt === null ? 0 : now - this.startedAt;
    if (this.poll !== null) clearInterval(this.poll);
    this.poll = null;
    this.pid = null;
    this.startedAt = null;
    this.lastExitAt = now;
    const waiters = this.exitWaiters;
    this.exitWaiters = [];
    for (const w of waiters) w();
    this.hooks.changed();
    if (!this.wanted) {
      this.logger.info('node stopped', { node: this.command.name, code, signal });
      return;
    }
    const { delayMs, streak } = restartDelay(this.policy, this.streak, ranMs);
    this.streak = streak;
    this.logger.warn('node exited: restarting', { node: this.command.name, code, signal, ranMs, delayMs });
    this.hooks.exited(this.command.name);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (!this.wanted || !this.supervising || this.pid !== null) return;
      this.restarts++;
      this.spawnNow();
    }, delayMs);
    this.restartTimer.unref();
  }

  /** True once the process of generation `gen` has exited; false after `timeoutMs`. */
  private waitExit(gen: number, timeoutMs: number): Promise<boolean> {
    if (gen !== this.generation || this.pid === null) return Promise.resolve(true);
    return new Promise((resolve) => {
      const pid = this.pid!;
      const done = (ok: boolean) => {
        clearTimeout(timer);
        clearInterval(fast);
        resolve(ok);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      // Adopted processes are polled; poll faster while someone waits.
      const fast = setInterval(() => {
        if (!isAlive(pid)) this.exited(gen, null, null);
      }, 50);
      this.exitWaiters.push(() => done(true));
    });
  }

  private clearRestart(): void {
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    this.restartTimer = null;
  }
}
