/** A real redis-server (Debian package) on loopback, the reference the tests and benchmarks compare with. */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './ports.js';
import { makeTempDir } from './node-process.js';
import { waitFor } from './wait.js';
import net from 'node:net';

export interface RunningRedis {
  readonly port: number;
  readonly dir: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/** `at` restarts a server on its old port and directory (its data and nodes.conf), e.g. after a kill -9. */
export async function startRedis(extraArgs: string[] = [], at?: { port: number; dir: string }): Promise<RunningRedis> {
  const port = at?.port ?? (await freePort());
  const dir = at?.dir ?? (await makeTempDir('irisdb-redis-'));
  const child = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning', ...extraArgs,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(`redis-server on ${port}`, () => new Promise<boolean>((resolve) => {
    if (child.exitCode !== null) return resolve(false);
    const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
    s.on('error', () => resolve(false));
  }), { timeoutMs: 15000 }).catch((err: Error) => { throw new Error(`${err.message}\n${stderr}`); });
  return {
    port, dir, process: child,
    async stop() { if (child.exitCode === null) { child.kill('SIGTERM'); await exited; } },
  };
}
