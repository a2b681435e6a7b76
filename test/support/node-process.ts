/**
 * Runs a real irisdb-node process (the compiled dist/node/main.js) on
 * loopback for integration tests, with helpers for the faults the tests
 * inject: SIGKILL, SIGSTOP/SIGCONT, restart on the same data directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from './ports.js';
import { GiveUp, waitFor } from './wait.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** dist/node/main.js, resolved from dist/test/support. */
export const NODE_MAIN = path.resolve(here, '../../node/main.js');

export interface NodeOptions {
  dataDir?: string;
  /** Extra flags, e.g. ['--fsync', 'batch']. */
  args?: string[];
  env?: Record<string, string>;
  port?: number;
  httpPort?: number;
  busPort?: number;
  /**
   * Startup is done when /readyz answers 200 (default), or, for a --cluster-enabled node that is not
   * ready until it has a cluster map, when /healthz does.
   */
  awaitReadyz?: boolean;
  /** Replaces the plain-HTTP readiness probe (a node with --tls-http serves HTTPS only). */
  ready?: (httpPort: number) => Promise<boolean>;
  /** Another build's node/main.js (benchmarks comparing with an older build); default: this build's. */
  main?: string;
  /** Flags for Node.js itself, before the script (e.g. ['--import', preload]). */
  nodeArgs?: string[];
}

export interface RunningNode {
  readonly port: number;
  readonly httpPort: number;
  readonly busPort: number;
  readonly dataDir: string;
  readonly url: string;
  readonly process: ChildProcess;
  /** Everything the process wrote to stderr (its JSON logs). */
  logs(): string;
  /** SIGTERM and wait for exit; returns the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit. */
  kill9(): Promise<void>;
  pause(): void;
  resume(): void;
  /** Starts a new process on the same ports and data directory. */
  restart(): Promise<RunningNode>;
}

export async function makeTempDir(prefix = 'irisdb-test-'): Promise<string> {
  return fs.promises.mkdtemp(path.join(os.tmpdir(), prefix));
}

/**
 * A port picked free can be taken before the node binds it (another server started beside it, or the local
 * port of an outgoing connection): the node then exits with EADDRINUSE and is started again on fresh ports,
 * unless the caller named its ports.
 */
export async function startNode(opts: NodeOptions = {}): Promise<RunningNode> {
  const portsNamed = opts.port !== undefined || opts.httpPort !== undefined || opts.busPort !== undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNodeOnce(opts);
    } catch (err) {
      if (portsNamed || attempt >= 3 || !(err instanceof Error) || !err.message.includes('EADDRINUSE')) throw err;
    }
  }
}

async function startNodeOnce(opts: NodeOptions): Promise<RunningNode> {
  const dataDir = opts.dataDir ?? (await makeTempDir());
  const [p1, p2, p3] = await freePorts(3);
  const port = opts.port ?? p1!;
  const httpPort = opts.httpPort ?? p2!;
  const busPort = opts.busPort ?? p3!;
  const args = [
    ...(opts.nodeArgs ?? []),
    opts.main ?? NODE_MAIN,
    '--port', String(port),
    '--http-port', String(httpPort),
    '--bus-port', String(busPort),
    '--bind', '127.0.0.1',
    '--data-dir', dataDir,
    ...(opts.args ?? []),
  ];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, IRIS_LOG_LEVEL: process.env.IRIS_LOG_LEVEL ?? 'warn', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 1_000_000) stderr = stderr.slice(-500_000);
  });
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let dead = false;
  void exited.then(() => { dead = true; });

  const url = `http://127.0.0.1:${httpPort}`;
  await waitFor(`irisdb-node on port ${port} to be ready`, async () => {
    if (dead) throw new GiveUp(`irisdb-node exited during startup:\n${stderr.slice(-4000)}`);
    if (opts.ready !== undefined) return opts.ready(httpPort);
    const res = await fetch(`${url}${opts.awaitReadyz === false ? '/healthz' : '/readyz'}`).catch(() => null);
    return res !== null && res.status === 200;
  }, { timeoutMs: 30000 });

  const node: RunningNode = {
    port, httpPort, busPort, dataDir, url, process: child,
    logs: () => stderr,
    async stop() {
      if (dead) return child.exitCode;
      child.kill('SIGTERM');
      return exited;
    },
    async kill9() {
      if (dead) return;
      child.kill('SIGKILL');
      await exited;
    },
    pause() { child.kill('SIGSTOP'); },
    resume() { child.kill('SIGCONT'); },
    restart() {
      // A live process would answer the new one's readiness probe on the same ports (and keep its data dir):
      // the "restarted" node would be the old one.
      if (!dead) return Promise.reject(new Error(`restart() of irisdb-node on port ${port} while it runs: stop() or kill9() it first`));
      return startNode({ ...opts, dataDir, port, httpPort, busPort });
    },
  };
  return node;
}
