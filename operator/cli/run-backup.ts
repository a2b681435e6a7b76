/** `irisctl backup create|list|describe|delete`: through the controller's control API. */
import type { ControlClient } from '../control-api/client.js';
import { controlClient } from './endpoint.js';
import { CliError } from './errors.js';
import { type CliIo, sleep } from './output.js';
import type { BackupCommand } from './run-backup-args.js';
import { renderBackup, renderBackupList, renderBackupProgress } from './run-backup-render.js';

const POLL_MS = 500;

export async function runBackup(cmd: BackupCommand, io: CliIo): Promise<number> {
  if (cmd.action === 'window') return window(cmd, io);
  const client = await controlClient(cmd.source);
  switch (cmd.action) {
    case 'create':
      return create(client, cmd, io);
    case 'list': {
      const list = await client.listBackups();
      io.stdout.write(cmd.json ? `${JSON.stringify(list, null, 2)}\n` : renderBackupList(list));
      return 0;
    }
    case 'describe': {
      const b = await client.backup(cmd.id!);
      io.stdout.write(cmd.json ? `${JSON.stringify(b, null, 2)}\n` : renderBackup(b));
      return 0;
    }
    case 'delete': {
      const r = await client.deleteBackup(cmd.id!);
      io.stdout.write(`deleted backup ${cmd.id!} (${r.objects} objects)\n`);
      return 0;
    }
  }
}

async function create(client: ControlClient, cmd: BackupCommand, io: CliIo): Promise<number> {
  const rec = await client.createBackup({
    destination: cmd.destination!,
    ...(Object.keys(cmd.s3).length > 0 ? { s3: cmd.s3 } : {}),
    ...(cmd.compression !== null ? { compression: cmd.compression } : {}),
    ...(cmd.chunkBytes !== null ? { chunkBytes: cmd.chunkBytes } : {}),
    ...(cmd.maxBytesPerSecond !== null ? { maxBytesPerSecond: cmd.maxBytesPerSecond } : {}),
  });
  // The id alone on stdout (scripts capture it); progress goes to stderr.
  io.stdout.write(`${rec.id}\n`);
  if (!cmd.wait) return 0;
  const tty = io.stderr.isTTY === true;
  const deadline = Date.now() + cmd.timeoutMs;
  let last = '';
  for (;;) {
    const b = await client.backup(rec.id);
    const line = renderBackupProgress(b, tty, io.stderr.columns ?? 80);
    if (tty) io.stderr.write(`\r\u001b[2K${line}`);
    else if (line !== last) io.stderr.write(`${line}\n`);
    last = line;
    if (b.phase !== 'Running') {
      if (tty) io.stderr.write('\n');
      if (b.phase === 'Completed') return 0;
      throw new CliError(`backup ${b.id} failed: ${b.message ?? 'unknown reason'}`, 1);
    }
    if (io.signal.aborted) throw new CliError(`interrupted; backup ${rec.id} goes on (irisctl backup describe ${rec.id})`, 130);
    if (Date.now() > deadline) throw new CliError(`backup ${rec.id} did not finish in time; it goes on (irisctl backup describe ${rec.id})`, 1);
    await sleep(POLL_MS, io.signal);
  }
}

/** Read from the destination itself (no controller needed): credentials from AWS_* and the S3 flags. */
async function window(cmd: BackupCommand, io: CliIo): Promise<number> {
  const { parseDestination, s3OptionsFromEnv } = await import('../../common/backup/destination-url.js');
  const { openDestination } = await import('../../common/backup/open-destination.js');
  const { archiveWindow, renderArchiveWindow } = await import('../../node/backup/archive-window.js');
  const f = cmd.s3;
  const s3 = cmd.destination!.startsWith('s3://')
    ? s3OptionsFromEnv(process.env, {
      ...(typeof f.endpoint === 'string' ? { endpoint: f.endpoint } : {}), ...(typeof f.region === 'string' ? { region: f.region } : {}), ...(f.forcePathStyle === true ? { forcePathStyle: true } : {}),
    })
    : {};
  const dest = openDestination(parseDestination(cmd.destination!, s3));
  try {
    const w = await archiveWindow(dest);
    io.stdout.write(cmd.json ? `${JSON.stringify(w, null, 2)}\n` : renderArchiveWindow(w));
    return 0;
  } finally {
    dest.close();
  }
}
