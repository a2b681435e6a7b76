/**
 * The command stream of `irisctl import --follow` (issue #19): irisctl
 * follows an empty redis-server (a tiny full sync), then redis-benchmark
 * writes SET and INCR over 10,000 random keys (pipelined, as fast as
 * Redis takes them), and the rate is the commands over the time from the
 * first write until irisctl acknowledged the source's whole replication
 * offset (REPLCONF ACK, as INFO replication shows it).
 */
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { IRISCTL } from '../test/support/local-cluster.js';
import { run } from '../test/support/run.js';
import { waitFor } from '../test/support/wait.js';
import { startRedis } from './processes.js';

export interface StreamBenchResult {
  readonly commands: number;
  readonly seconds: number;
  readonly commandsPerSec: number;
}

export async function followStreamBench(clusterDir: string, commandsPerType: number): Promise<StreamBenchResult> {
  const source = await startRedis(['--repl-backlog-size', '256mb']);
  const info = new Redis({ port: source.port, host: '127.0.0.1' });
  const child = spawn(process.execPath, [IRISCTL, 'import', '--dir', clusterDir, '--from', `redis://127.0.0.1:${source.port}`, '--follow', '--verify', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await waitFor('irisctl to load the RDB', () => {
      if (child.exitCode !== null) throw new Error(`irisctl import --follow exited with ${child.exitCode}: ${stderr}`);
      return /RDB loaded/.test(stderr);
    }, { timeoutMs: 120_000 });
    const t0 = Date.now();
    const r = await run('redis-benchmark', ['-p', String(source.port), '-t', 'set,incr', '-n', String(commandsPerType), '-r', '10000', '-P', '16', '-q'], { timeoutMs: 600_000 });
    if (r.code !== 0) throw new Error(`redis-benchmark: ${r.stderr}`);
    await waitFor('irisctl to acknowledge the whole stream', async () => {
      const text = await info.info('replication');
      const master = /master_repl_offset:(\d+)/.exec(text);
      const replica = /slave0:[^\r\n]*offset=(\d+)/.exec(text);
      return master !== null && replica !== null && Number(replica[1]) >= Number(master[1]);
    }, { timeoutMs: 1_800_000, intervalMs: 100 });
    const seconds = (Date.now() - t0) / 1000;
    return { commands: 2 * commandsPerType, seconds, commandsPerSec: (2 * commandsPerType) / seconds };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    info.disconnect();
    await source.stop();
  }
}
