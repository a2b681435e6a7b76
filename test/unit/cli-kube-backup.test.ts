/** `irisctl --kube CLUSTER backup ...`: command lines, the IrisBackup asked for, and the text from plain objects (kube-backup-args.ts, kube-backup-render.ts). Pure. */
import { expect } from 'chai';
import { expectThrown } from '../support/expect-thrown.js';
import fc from 'fast-check';
import { CliError, UsageError } from '../../operator/cli/errors.js';
import { type KubeCommand, parseKubeCommandLine } from '../../operator/cli/kube-args.js';
import { backupObjectFor, type KubeBackupCommand } from '../../operator/cli/kube-backup-args.js';
import { backupRow, renderKubeBackup, renderKubeBackupList, renderKubeBackupProgress } from '../../operator/cli/kube-backup-render.js';
import type { ClusterBackupSpec, IrisBackup } from '../../operator/kube/backup/iris-backup.js';

const parse = (line: string): KubeCommand => parseKubeCommandLine(line.split(' '));
const backup = (line: string): KubeBackupCommand => {
  const c = parse(line);
  if (c.kind !== 'backup') throw new Error(`not a backup command: ${c.kind}`);
  return c.command;
};
type Create = Extract<KubeBackupCommand, { action: 'create' }>;

function fails(line: string, type: typeof UsageError | typeof CliError, pattern: RegExp): void {
  expectThrown(() => parse(line), type, pattern, line);
}

const S3_SPEC: ClusterBackupSpec = {
  schedule: '0 3 * * *', retention: 3,
  destination: { s3: { bucket: 'bk', prefix: 'prod', endpoint: 'http://s3.local:8333', region: 'eu-1', secretRef: { name: 's3-creds' } } },
};

const obj = (name: string, created: string, status?: IrisBackup['status'], labels?: Record<string, string>): IrisBackup => ({
  metadata: { name, creationTimestamp: created as unknown as Date, ...(labels !== undefined ? { labels } : {}) },
  spec: { cluster: 'iris' },
  ...(status !== undefined ? { status } : {}),
});

const DONE = obj('iris-x7k2p', '2026-12-06T10:00:00Z', {
  phase: 'Completed', backupId: 'backup-20261206T100001Z-ab12', destination: 's3://bk/prod', startTime: '2026-12-06T10:00:01Z', completionTime: '2026-12-06T10:00:31Z',
  keys: 1234567, bytes: 5 * 1024 * 1024, shardsDone: 3, shardsTotal: 3, shards: '3/3', message: '',
});
const RUNNING = obj('iris-backup-20261206t1100', '2026-12-06T11:00:00Z', {
  phase: 'Running', backupId: 'backup-20261206T110000Z-cd34', destination: 's3://bk/prod', startTime: '2026-12-06T11:00:00Z', keys: 2000, bytes: 4096, shardsDone: 1, shardsTotal: 3, shards: '1/3',
}, { 'irisdb.io/scheduled': 'true' });
const NEW = obj('iris-aaaaa', '2026-12-06T12:00:00Z');

describe('irisctl --kube backup', () => {
  it('parses the four verbs with the local flags and defaults, kubectl flags anywhere', () => {
    expect(parse('-n prod iris backup create')).to.deep.equal({
      kind: 'backup', target: { cluster: 'iris', namespace: 'prod' },
      command: { action: 'create', destination: null, maxBytesPerSecond: null, wait: false, timeoutMs: 3_600_000, json: false },
    });
    expect(backup('iris backup create --wait --timeout 90s --max-rate 20MiB --json')).to.deep.equal({ action: 'create', destination: null, maxBytesPerSecond: 20 * 1024 * 1024, wait: true, timeoutMs: 90_000, json: true });
    expect(backup('iris backup create --destination s3://other/a/b/ --s3-endpoint http://s3:8333 --s3-region r1')).to.deep.include({ destination: { bucket: 'other', prefix: 'a/b', endpoint: 'http://s3:8333', region: 'r1' } });
    expect(backup('iris backup list --json --context c')).to.deep.equal({ action: 'list', json: true });
    expect(backup('iris backup describe iris-x7k2p')).to.deep.equal({ action: 'describe', name: 'iris-x7k2p', json: false });
    expect(backup('iris backup delete iris-x7k2p -n prod')).to.deep.equal({ action: 'delete', name: 'iris-x7k2p' });
  });

  it('shows the kube usage of each verb, without the flags an IrisBackup has no field for', () => {
    const help = parse('iris backup create --help');
    expect(help.kind).to.equal('help');
    const text = (help as { text: string }).text;
    expect(text).to.contain('Usage: irisctl --kube [-n NS] CLUSTER backup create [flags]');
    for (const flag of ['--destination URL', '--max-rate SIZE', '--wait', '--timeout DURATION', '--json', '--namespace NS']) expect(text).to.contain(flag);
    for (const flag of ['--compression', '--chunk-size', '--s3-path-style', '--dir']) expect(text).not.to.contain(flag);
    expect((parse('iris backup describe -h') as { text: string }).text).to.contain('backup describe NAME');
    expect((parse('iris backup --help') as { text: string }).text).to.contain('Backups: backup create|list|describe|delete NAME');
  });

  it('refuses bad lines with usage errors that say why, and window with where to run it', () => {
    fails('iris backup', UsageError, /needs a verb: create, list, describe or delete/);
    fails('iris backup restore', UsageError, /unknown verb "backup restore"/);
    fails('iris backup describe', UsageError, /missing NAME/);
    fails('iris backup delete a b', UsageError, /unexpected argument "b"/);
    fails('iris backup delete Not_A_Name', UsageError, /not an IrisBackup name/);
    fails('iris backup create --compression brotli', UsageError, /--compression: an IrisBackup has no such setting/);
    fails('iris backup create --chunk-size=1MiB', UsageError, /--chunk-size: an IrisBackup has no such setting/);
    fails('iris backup create --dir x', UsageError, /--dir locates a local cluster/);
    fails('iris backup create --max-rate 1KiB', UsageError, /--max-rate must be a size per second of at least 64KiB/);
    fails('iris backup create --wait --timeout soon', UsageError, /--timeout must be a duration/);
    fails('iris backup create --destination file:///backups', UsageError, /spec\.backup\.destination\.pvc/);
    fails('iris backup create --destination s3://', UsageError, /must be s3:\/\/bucket\/prefix/);
    fails('iris backup create --s3-endpoint http://x', UsageError, /go with --destination/);
    fails('iris backup list --bogus', UsageError, /Unknown option '--bogus'/);
    fails('iris backup window', CliError, /irisctl backup window --destination URL/);
  });

  it('never throws anything but UsageError or CliError on arbitrary backup lines', () => {
    const token = fc.oneof(fc.constantFrom('create', 'list', 'describe', 'delete', '--wait', '--json', '--timeout', '--max-rate', '--destination', 's3://b/p', 'file:///x', '1h', '64KiB', 'x', '-n', '--help'), fc.string({ maxLength: 8 }));
    fc.assert(fc.property(fc.array(token, { maxLength: 6 }), (argv) => {
      try {
        parseKubeCommandLine(['iris', 'backup', ...argv]);
      } catch (err) {
        if (!(err instanceof UsageError) && !(err instanceof CliError)) throw err;
      }
    }), { numRuns: 500 });
  });

  it("asks for an IrisBackup named by the API server, with the cluster's destination, or another bucket with the cluster's endpoint and Secret", () => {
    const plain = backup('iris backup create') as Create;
    expect(backupObjectFor(plain, 'prod', 'iris', S3_SPEC)).to.deep.equal({
      apiVersion: 'irisdb.io/v1alpha1', kind: 'IrisBackup',
      metadata: { generateName: 'iris-', namespace: 'prod', labels: { 'app.kubernetes.io/instance': 'iris', 'app.kubernetes.io/managed-by': 'irisctl' } },
      spec: { cluster: 'iris' },
    });
    const other = backup('iris backup create --destination s3://other/x --max-rate 1MiB') as Create;
    expect(backupObjectFor(other, 'prod', 'iris', S3_SPEC).spec).to.deep.equal({
      cluster: 'iris', maxBytesPerSecond: 1024 * 1024,
      destination: { s3: { bucket: 'other', prefix: 'x', endpoint: 'http://s3.local:8333', region: 'eu-1', secretRef: { name: 's3-creds' } } },
    });
    const flags = backup('iris backup create --destination s3://other --s3-endpoint http://b:1') as Create;
    expect(backupObjectFor(flags, 'prod', 'iris', null).spec).to.deep.equal({ cluster: 'iris', destination: { s3: { bucket: 'other', endpoint: 'http://b:1' } } });
    expect(() => backupObjectFor(plain, 'prod', 'iris', null)).to.throw(CliError, /IrisCluster prod\/iris has no spec\.backup\.destination/);
  });

  it('lists objects oldest first with phase, id, scheduled, times, shards, keys and size, and the schedule', () => {
    const text = renderKubeBackupList([NEW, RUNNING, DONE], 'iris', S3_SPEC);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).to.match(/^NAME +PHASE +BACKUP ID +SCHEDULED +STARTED +COMPLETED +SHARDS +KEYS +SIZE$/);
    expect(lines[1]).to.match(/^iris-x7k2p +Completed +backup-20261206T100001Z-ab12 +no +2026-12-06T10:00:01Z +2026-12-06T10:00:31Z +3\/3 +1[,.]?234[,.]?567 +5(\.0)? ?MiB$/);
    expect(lines[2]).to.match(/^iris-backup-20261206t1100 +Running +backup-20261206T110000Z-cd34 +yes +2026-12-06T11:00:00Z +- +1\/3 /);
    expect(lines[3]).to.match(/^iris-aaaaa +Pending +- +no +- +- +- +- +-$/);
    expect(lines[4]).to.equal('schedule: "0 3 * * *" (spec.backup), keeping 3 scheduled backups');
    expect(renderKubeBackupList([], 'iris', null)).to.equal('no IrisBackup objects for iris (irisctl --kube iris backup create makes one)\nschedule: none (spec.backup is unset)\n');
    expect(backupRow(NEW)).to.deep.equal({
      name: 'iris-aaaaa', phase: 'Pending', backupId: null, scheduled: false, created: '2026-12-06T12:00:00Z', startTime: null, completionTime: null,
      shardsDone: null, shardsTotal: null, keys: null, bytes: null, destination: null, message: null,
    });
  });

  it('describes one object from its status, and what it asked for before it started', () => {
    const text = renderKubeBackup(DONE, 'prod');
    expect(text).to.match(/^IrisBackup prod\/iris-x7k2p: Completed\n/);
    expect(text).to.contain('backup id:   backup-20261206T100001Z-ab12');
    expect(text).to.contain('destination: s3://bk/prod');
    expect(text).to.contain('completed:   2026-12-06T10:00:31Z (30 s)');
    expect(text).to.contain('shards:      3/3 stored and verified');
    expect(renderKubeBackup(RUNNING, 'prod')).to.contain('(scheduled by spec.backup; retention deletes it with its backup)');
    const failed: IrisBackup = { ...NEW, spec: { cluster: 'iris', destination: { s3: { bucket: 'b', prefix: 'p' } }, maxBytesPerSecond: 65536 }, status: { phase: 'Failed', message: 'destination.s3.secretRef x is not\nthe cluster\'s' } };
    const f = renderKubeBackup(failed, 'prod');
    expect(f).to.match(/^IrisBackup prod\/iris-aaaaa: Failed \(destination\.s3\.secretRef x is not the cluster's\)\n/);
    expect(f).to.contain('destination: s3://b/p\n');
    expect(f).to.contain('max rate:    64.0 KiB/s per node');
    expect(renderKubeBackup(NEW, 'prod')).to.contain("destination: the cluster's spec.backup.destination");
  });

  it('draws progress as a bar by shards on a terminal, and as a line per change otherwise', () => {
    expect(renderKubeBackupProgress(NEW, false, 80)).to.equal('iris-aaaaa Pending');
    expect(renderKubeBackupProgress(RUNNING, false, 80)).to.equal('iris-backup-20261206t1100 (backup-20261206T110000Z-cd34) Running: shards 1/3');
    const tty = renderKubeBackupProgress(RUNNING, true, 200);
    expect(tty).to.match(/^\[#{7}\.{13}\] {2}33% iris-backup-20261206t1100 \(backup-20261206T110000Z-cd34\) Running: shards 1\/3 · 2[,.]?000 keys · 4(\.0)? ?KiB written$/);
    expect(renderKubeBackupProgress(DONE, true, 200)).to.match(/^\[#{20}\] 100% /);
    expect(renderKubeBackupProgress(RUNNING, true, 40).length).to.be.at.most(39);
  });
});
