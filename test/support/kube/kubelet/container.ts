/**
 * One container of a pod: starts its process, restarts it by the pod's
 * restart policy with crash-loop back-off, runs its startup, readiness and
 * liveness probes, and stops it with its preStop hook, SIGTERM, the grace
 * period, then SIGKILL. Its state is kept as a ContainerView for status.ts;
 * every change calls onChange so the pod worker can report status.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import type { V1Container, V1Probe } from '@kubernetes/client-node';
import { nextBackoff, type BackoffPolicy } from './backoff.js';
import { ProbeState, probeTiming } from './probe-state.js';
import { runHandler, type ProbeTarget } from './probes.js';
import { startContainerProcess, type ContainerProcessSpec } from './process.js';
import type { ContainerState, ContainerView } from './status.js';

/** Thrown by prepare() when the container cannot be configured yet; shown as the waiting reason. */
export class ContainerConfigError extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
  }
}

export interface ContainerOptions {
  spec: V1Container;
  podUid: string;
  podIP: string;
  restartPolicy: 'Always' | 'OnFailure' | 'Never';
  /** Init containers run to completion once; regular ones are supervised. */
  init: boolean;
  backoff: BackoffPolicy;
  terminationGraceMs: number;
  prepare(): Promise<ContainerProcessSpec>;
  onChange(): void;
}

type Terminated = Extract<ContainerState, { kind: 'terminated' }>;

function signalNumber(sig: NodeJS.Signals | null): number | undefined {
  return sig === null ? undefined : os.constants.signals[sig];
}

export class Container {
  readonly view: ContainerView;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopping = false;
  private wake: (() => void) | undefined;
  private probeTimers: NodeJS.Timeout[] = [];
  private spec: ContainerProcessSpec | undefined;
  private runSeq = 0;

  constructor(private readonly o: ContainerOptions) {
    this.view = {
      name: o.spec.name, image: o.spec.image ?? '', state: { kind: 'waiting', reason: 'ContainerCreating' },
      restartCount: 0, ready: false, started: false, everStarted: false,
    };
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private set(state: ContainerState): void {
    this.view.state = state;
    this.o.onChange();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.wake = undefined; resolve(); }, ms);
      this.wake = () => { clearTimeout(t); this.wake = undefined; resolve(); };
    });
  }

  /** Runs until the container is done for good (or stopped); resolves with the last exit code. */
  async run(): Promise<number> {
    let streak = 0;
    for (;;) {
      if (this.stopping) return -1;
      let spec: ContainerProcessSpec;
      try {
        spec = await this.o.prepare();
      } catch (err) {
        const reason = err instanceof ContainerConfigError ? err.reason : 'CreateContainerConfigError';
        this.set({ kind: 'waiting', reason, message: err instanceof Error ? err.message : String(err) });
        await this.sleep(1000);
        continue;
      }
      if (this.stopping) return -1;
      const term = await this.runOnce(spec);
      if (this.stopping) return term.exitCode;
      const failed = term.exitCode !== 0;
      const restart = this.o.init
        ? failed && this.o.restartPolicy !== 'Never'
        : this.o.restartPolicy === 'Always' || (this.o.restartPolicy === 'OnFailure' && failed);
      if (!restart) return term.exitCode;
      const ranMs = Date.parse(term.finishedAt) - Date.parse(term.startedAt);
      const b = nextBackoff(this.o.backoff, streak, ranMs);
      streak = b.streak;
      this.view.lastTerminated = term;
      if (b.delayMs > 0) {
        this.set({ kind: 'waiting', reason: 'CrashLoopBackOff', message: `back-off ${Math.round(b.delayMs / 1000)}s restarting failed container=${this.o.spec.name}` });
        await this.sleep(b.delayMs);
      }
      if (this.stopping) return term.exitCode;
      this.view.restartCount++;
    }
  }

  private async runOnce(spec: ContainerProcessSpec): Promise<Terminated> {
    this.spec = spec;
    const startedAt = new Date().toISOString();
    const child = startContainerProcess(spec);
    this.child = child;
    const seq = ++this.runSeq;
    this.view.containerID = `irisdb-test://${this.o.podUid}/${this.o.spec.name}/${seq}-${child.pid ?? 0}`;
    this.view.everStarted = true;
    let startError: string | undefined;
    const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('error', (err) => { startError = err.message; resolve({ code: 128, signal: null }); });
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    this.exited = done.then(() => undefined);
    this.view.ready = false;
    this.view.started = this.o.spec.startupProbe === undefined;
    this.set({ kind: 'running', startedAt });
    if (!this.o.init) this.startProbes();
    const { code, signal } = await done;
    this.stopProbes();
    this.child = undefined;
    this.view.ready = false;
    this.view.started = false;
    const sig = signalNumber(signal);
    const exitCode = code ?? (sig !== undefined ? 128 + sig : 1);
    const term: Terminated = {
      kind: 'terminated', exitCode, reason: startError !== undefined ? 'StartError' : exitCode === 0 ? 'Completed' : 'Error',
      startedAt, finishedAt: new Date().toISOString(),
      ...(sig !== undefined ? { signal: sig } : {}),
      ...(startError !== undefined ? { message: startError } : {}),
    };
    this.set(term);
    return term;
  }

  private target(): ProbeTarget {
    return {
      podIP: this.o.podIP, ports: this.o.spec.ports ?? [], env: this.spec?.env ?? {},
      pid: this.child?.pid, mounts: this.spec?.mounts ?? [], cwd: this.spec?.cwd ?? '/',
    };
  }

  private schedule(probe: V1Probe, onResult: (ok: boolean) => void, active: () => boolean): void {
    const timing = probeTiming(probe);
    const tick = async (): Promise<void> => {
      if (this.child === undefined || this.stopping) return;
      if (active()) onResult(await runHandler(probe, this.target(), timing.timeoutMs));
      if (this.child !== undefined && !this.stopping) this.probeTimers.push(setTimeout(() => void tick(), timing.periodMs));
    };
    this.probeTimers.push(setTimeout(() => void tick(), timing.initialDelayMs));
  }

  private startProbes(): void {
    const s = this.o.spec;
    const child = this.child;
    const kill = (why: string): void => {
      if (this.child !== child || child === undefined) return;
      this.o.onChange();
      void this.terminateProcess(this.o.terminationGraceMs, why);
    };
    if (s.startupProbe !== undefined) {
      const st = new ProbeState(probeTiming(s.startupProbe));
      this.schedule(s.startupProbe, (ok) => {
        st.record(ok);
        if (st.result === 'success' && !this.view.started) {
          this.view.started = true;
          if (s.readinessProbe === undefined) this.view.ready = true;
          this.o.onChange();
        } else if (st.result === 'failure') kill('startup probe failed');
      }, () => !this.view.started);
    } else if (s.readinessProbe === undefined) {
      this.view.ready = true;
    }
    if (s.readinessProbe !== undefined) {
      const rs = new ProbeState(probeTiming(s.readinessProbe), 'failure');
      this.schedule(s.readinessProbe, (ok) => {
        rs.record(ok);
        const ready = rs.result === 'success';
        if (ready !== this.view.ready) {
          this.view.ready = ready;
          this.o.onChange();
        }
      }, () => this.view.started);
    }
    if (s.livenessProbe !== undefined) {
      const ls = new ProbeState(probeTiming(s.livenessProbe));
      this.schedule(s.livenessProbe, (ok) => {
        if (ls.record(ok) && ls.result === 'failure') kill('liveness probe failed');
      }, () => this.view.started);
    }
  }

  private stopProbes(): void {
    for (const t of this.probeTimers) clearTimeout(t);
    this.probeTimers = [];
  }

  /** preStop, SIGTERM, SIGKILL after graceMs; resolves when the process has exited. */
  private async terminateProcess(graceMs: number, why: string): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    const deadline = Date.now() + graceMs;
    const preStop = this.o.spec.lifecycle?.preStop;
    if (preStop !== undefined) {
      await runHandler(preStop, this.target(), Math.max(1, graceMs)).catch(() => false);
    }
    if (this.child !== child) return;
    if (this.spec !== undefined) fs.appendFileSync(this.spec.logFile, `--- ${new Date().toISOString()} stopping (${why}): SIGTERM, SIGKILL after ${graceMs} ms\n`);
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), Math.max(0, deadline - Date.now()));
    await this.exited;
    clearTimeout(timer);
  }

  /** Stops the container for good (pod deletion). */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.stopProbes();
    this.wake?.();
    await this.terminateProcess(graceMs, 'pod deleted');
  }
}
