/**
 * A real S3-compatible server for the backup tests: SeaweedFS's `weed
 * server` (master + volume + filer + S3 gateway in one process; built by
 * scripts/s3-server.sh into a cache outside the repository) on loopback
 * free ports with a temporary data directory, and an S3 identity config so
 * every request is really signed and checked. stop()/start() keep the data
 * (an S3 outage in the middle of a backup); destroy() removes everything.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { freePorts } from './ports.js';
import { REPO_ROOT } from './kube/binaries.js';
import { run } from './run.js';
import { GiveUp, waitFor } from './wait.js';

let weedPath: Promise<string> | undefined;

/** $IRIS_WEED if set, else the weed scripts/s3-server.sh prints the directory of (building it once). */
export function weedBinary(): Promise<string> {
  weedPath ??= (async () => {
    const fromEnv = process.env.IRIS_WEED;
    if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
    const script = path.join(REPO_ROOT, 'scripts/s3-server.sh');
    const r = await run('bash', [script], { stderr: 'inherit', timeoutMs: 0 });
    if (r.code !== 0) throw new Error(`${script} exited with ${r.code}`);
    const bin = path.join(r.stdout.trim().split('\n').pop() ?? '', 'weed');
    if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run scripts/s3-server.sh`);
    return bin;
  })();
  return weedPath;
}

export class S3Server {
  private proc: ChildProcess | null = null;
  private log = '';
  readonly accessKeyId = 'irisdb-test';
  readonly secretAccessKey = `secret-${Math.random().toString(36).slice(2)}`;
  readonly region = 'us-east-1';
  /** The identities the server accepts (setIdentities); the first signs this class's own requests. */
  private identities: ReadonlyArray<{ readonly accessKeyId: string; readonly secretAccessKey: string }> = [];

  private constructor(readonly dir: string, private readonly weed: string, private readonly ports: readonly number[]) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.ports[6]}`;
  }

  /** The AWS_* environment irisctl and the controller read. */
  get env(): Record<string, string> {
    return { AWS_ENDPOINT_URL: this.endpoint, AWS_REGION: this.region, AWS_ACCESS_KEY_ID: this.accessKeyId, AWS_SECRET_ACCESS_KEY: this.secretAccessKey };
  }

  static async start(): Promise<S3Server> {
    const weed = await weedBinary();
    const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-s3-'));
    const s = new S3Server(dir, weed, await freePorts(8));
    try {
      await s.start();
    } catch (err) {
      await s.destroy();
      throw err;
    }
    return s;
  }

  async start(): Promise<void> {
    const [master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, s3, s3Grpc] = this.ports;
    const config = path.join(this.dir, 's3.json');
    await fs.promises.writeFile(config, JSON.stringify({
      identities: (this.identities.length === 0 ? [{ accessKeyId: this.accessKeyId, secretAccessKey: this.secretAccessKey }] : this.identities)
        .map((c, i) => ({ name: `irisdb-${i}`, credentials: [{ accessKey: c.accessKeyId, secretKey: c.secretAccessKey }], actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'] })),
    }), { mode: 0o600 });
    const data = path.join(this.dir, 'data');
    await fs.promises.mkdir(data, { recursive: true });
    const args = [
      'server', `-dir=${data}`, '-ip=127.0.0.1', '-ip.bind=127.0.0.1',
      `-master.port=${master}`, `-master.port.grpc=${masterGrpc}`, '-master.volumeSizeLimitMB=64', '-master.telemetry=false',
      `-volume.port=${volume}`, `-volume.port.grpc=${volumeGrpc}`, '-volume.max=16',
      '-filer', `-filer.port=${filer}`, `-filer.port.grpc=${filerGrpc}`, `-filer.localSocket=${path.join(this.dir, 'filer.sock')}`,
      '-s3', `-s3.port=${s3}`, `-s3.port.grpc=${s3Grpc}`, '-s3.port.iceberg=0', '-s3.port.lance=0', `-s3.config=${config}`,
      `-s3.localSocket=${path.join(this.dir, 's3.sock')}`,
    ];
    const p = spawn(this.weed, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: this.dir });
    p.stdout!.on('data', (d: Buffer) => { this.log = (this.log + d.toString()).slice(-20_000); });
    p.stderr!.on('data', (d: Buffer) => { this.log = (this.log + d.toString()).slice(-20_000); });
    this.proc = p;
    const client = this.client();
    try {
      // Up once a signed request is answered (the filer and volume server register with the master first).
      await waitFor('SeaweedFS S3 to answer', async () => {
        if (p.exitCode !== null) throw new GiveUp(`weed exited with ${p.exitCode}:\n${this.log.slice(-3000)}`);
        try {
          await client.send(new ListBucketsCommand({}));
          return true;
        } catch {
          return null;
        }
      }, { timeoutMs: 60_000, intervalMs: 200 });
    } finally {
      client.destroy();
    }
  }

  client(): S3Client {
    const c = this.identities[0] ?? { accessKeyId: this.accessKeyId, secretAccessKey: this.secretAccessKey };
    return new S3Client({ endpoint: this.endpoint, region: this.region, forcePathStyle: true, credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey }, maxAttempts: 1 });
  }

  /**
   * Restarts the server (data kept) accepting exactly these identities: a
   * credentials rotation, where the old key stops working. The first one
   * signs this class's own requests from then on.
   */
  async setIdentities(identities: ReadonlyArray<{ readonly accessKeyId: string; readonly secretAccessKey: string }>): Promise<void> {
    if (identities.length === 0) throw new Error('setIdentities: at least one identity');
    this.identities = [...identities];
    await this.kill();
    await this.start();
  }

  async createBucket(name: string): Promise<void> {
    const c = this.client();
    try {
      // A fresh filer may refuse the first writes for a moment while volumes are allocated.
      await waitFor(`bucket ${name}`, async () => {
        try {
          await c.send(new CreateBucketCommand({ Bucket: name }));
          return true;
        } catch (err) {
          if ((err as { name?: string }).name === 'BucketAlreadyOwnedByYou' || (err as { name?: string }).name === 'BucketAlreadyExists') return true;
          return null;
        }
      }, { timeoutMs: 30_000, intervalMs: 200 });
    } finally {
      c.destroy();
    }
  }

  /** kill -9: the server is gone at once, as in a crash or a network cut; start() brings it back with its data. */
  async kill(): Promise<void> {
    const p = this.proc;
    if (p === null || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
    this.proc = null;
  }

  output(): string {
    return this.log;
  }

  async destroy(): Promise<void> {
    await this.kill();
    await fs.promises.rm(this.dir, { recursive: true, force: true });
  }
}
