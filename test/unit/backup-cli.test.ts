/**
 * irisctl's backup verbs and local up's backup flags on the command line
 * (operator/cli/args.ts, run-backup-args.ts), and their text rendering
 * (run-backup-render.ts). Pure.
 */
import { expect } from 'chai';
import { parseCommandLine } from '../../operator/cli/args.js';
import { UsageError } from '../../operator/cli/errors.js';
import { backupCommand } from '../../operator/cli/run-backup-args.js';
import { renderBackup, renderBackupList, renderBackupProgress } from '../../operator/cli/run-backup-render.js';
import { newBackupRecord } from '../../operator/core/backup-step.js';

describe('irisctl backup command line', () => {
  it('parses create, list, describe and delete', () => {
    const c = parseCommandLine(['backup', 'create', '--destination', 'file:///b', '--wait', '--compression', 'brotli', '--dir', 'd']);
    expect(c).to.deep.include({ kind: 'backup', action: 'create', destination: 'file:///b', wait: true, compression: 'brotli' });
    expect(parseCommandLine(['backup', 'list', '--json'])).to.deep.include({ action: 'list', json: true });
    expect(parseCommandLine(['backup', 'create', '--destination', 'file:///b', '--chunk-size', '512KiB'])).to.deep.include({ chunkBytes: 512 * 1024 });
    expect(parseCommandLine(['backup', 'create', '--destination', 'file:///b', '--max-rate', '20MiB'])).to.deep.include({ maxBytesPerSecond: 20 * 1024 * 1024 });
    expect(parseCommandLine(['backup', 'describe', 'backup-1'])).to.deep.include({ action: 'describe', id: 'backup-1' });
    expect(parseCommandLine(['backup', 'delete', 'backup-1'])).to.deep.include({ action: 'delete', id: 'backup-1' });
  });

  it('refuses what cannot work, naming the flag', () => {
    const bad: Array<[string[], string]> = [
      [['backup'], 'needs a verb'],
      [['backup', 'describe'], 'missing ID'],
      [['backup', 'create', '--compression', 'zstd', '--destination', 'file:///b'], '--compression'],
      [['backup', 'create', '--destination', 'file:///b', '--timeout', 'soon'], '--timeout'],
      [['backup', 'create', '--destination', 'file:///b', '--chunk-size', '1KiB'], '--chunk-size'],
      [['backup', 'create', '--destination', 'file:///b', '--chunk-size', '4GB'], '--chunk-size'],
      [['backup', 'create', '--destination', 'file:///b', '--max-rate', '1KiB'], '--max-rate'],
      [['local', 'up', '--backup', 'x'], '--backup goes with --restore-from'],
      [['local', 'up', '--backup-schedule', '0 3 * * *'], 'go together'],
      [['local', 'up', '--backup-schedule', '0 25 * * *', '--backup-destination', 'file:///b'], 'hour 25'],
    ];
    for (const [argv, msg] of bad) expect(() => parseCommandLine(argv), argv.join(' ')).to.throw(UsageError, msg);
  });

  it('takes S3 settings from flags, else AWS_* env; none for a file destination', () => {
    const env = { AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'sk', AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_REGION: 'r1' };
    const src = { kind: 'dir' as const, dir: 'd' };
    expect(backupCommand('create', { destination: 's3://b/p', 's3-region': 'r2' }, [], src, env).s3)
      .to.deep.equal({ endpoint: 'http://127.0.0.1:9', region: 'r2', accessKeyId: 'id', secretAccessKey: 'sk' });
    expect(backupCommand('create', { destination: 'file:///b' }, [], src, env).s3).to.deep.equal({});
    expect(backupCommand('create', {}, [], src, { IRIS_BACKUP_DESTINATION: 'file:///x' }).destination).to.equal('file:///x');
    expect(() => backupCommand('create', { destination: 's3://b' }, [], src, { AWS_ACCESS_KEY_ID: 'id' })).to.throw(UsageError, 'both');
  });

  it('parses local up --restore-from and --backup-schedule', () => {
    expect(parseCommandLine(['local', 'up', '--restore-from', 's3://b/p', '--backup', 'backup-1', '--s3-endpoint', 'http://h:1', '--shards', '5']))
      .to.deep.include({ restore: { from: 's3://b/p', backupId: 'backup-1', s3: { endpoint: 'http://h:1' } } });
    expect(parseCommandLine(['local', 'up', '--backup-schedule', '*/30 * * * * *', '--backup-destination', 'file:///b', '--backup-keep', '3']))
      .to.deep.include({ backupSchedule: { cron: '*/30 * * * * *', destination: 'file:///b', keep: 3 } });
  });

  it('renders a list, a description and a progress line', () => {
    const map = { epoch: 4, nodes: [], shards: [{ id: 'shard-0', slots: [[0, 16383]], primary: 'a', replicas: [] }] } as never;
    const b = newBackupRecord('backup-1', { kind: 'file', url: 'file:///b', path: '/b' }, 'gzip', map, Date.UTC(2026, 0, 1));
    expect(renderBackupList([])).to.contain('no backups');
    expect(renderBackupList([b])).to.match(/backup-1\s+Running\s+2026-01-01T00:00:00.000Z\s+0\/1/);
    expect(renderBackup(b)).to.contain('map epoch:   4');
    const line = renderBackupProgress({ ...b, shards: [{ ...b.shards[0]!, keys: 50, keysTotal: 100 }] }, true, 80);
    expect(line).to.match(/^\[#{10}\.{10}\]\s+50%/);
    expect(line.length).to.be.at.most(79);
  });
});
