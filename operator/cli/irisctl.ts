#!/usr/bin/env node
/**
 * irisctl: runs a local IrisDB cluster and manages a cluster through its
 * controller's control API. Exit codes: 0 done, 1 failed (the controller
 * refused, a timeout...), 2 bad command line, 130 interrupted.
 */
import { IRISDB_VERSION } from '../../common/version.js';
import { ControlApiError } from '../control-api/client.js';
import { type Command, parseCommandLine } from './args.js';
import { CliError, UsageError } from './errors.js';
import type { CliIo } from './output.js';
import { runRequest, runSlots, runStatus } from './run-cluster.js';
import { runLocalDown, runLocalUp } from './run-local.js';
import { runBackup } from './run-backup.js';
import { runWatch } from './run-watch.js';
import { runImport } from './run-import.js';
import { runExport } from './run-export.js';
import { runReencrypt } from './run-reencrypt.js';
import { runAudit } from './run-audit.js';

async function main(argv: readonly string[]): Promise<number> {
  // An IrisCluster on Kubernetes, through its resource (kube-run.ts); `kubectl irisdb` lands here too.
  // Loaded only for --kube: the Kubernetes client is most of irisctl's start-up CPU (~0.9 s of ~1.3 s), which every local verb paid (issue #19).
  if (argv[0] === '--kube') return (await import('./kube-run.js')).runKubeCommandLine(argv.slice(1), { stdout: process.stdout, stderr: process.stderr, signal: interrupts(null) });
  let cmd: Command;
  try {
    cmd = parseCommandLine(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`irisctl: ${err.message}\nRun \`irisctl ${err.verb === '' ? '' : `${err.verb} `}--help\` for usage.\n`);
    return 2;
  }
  const io: CliIo = { stdout: process.stdout, stderr: process.stderr, signal: interrupts(cmd) };
  try {
    switch (cmd.kind) {
      case 'help':
        process.stdout.write(cmd.text);
        return 0;
      case 'version':
        process.stdout.write(`irisctl ${IRISDB_VERSION}\n`);
        return 0;
      case 'local-up':
        return await runLocalUp(cmd, io, process.stdout);
      case 'local-down':
        return await runLocalDown(cmd, io);
      case 'status':
        return await runStatus(cmd, io);
      case 'slots':
        return await runSlots(cmd, io);
      case 'request':
        return await runRequest(cmd, io);
      case 'backup':
        return await runBackup(cmd, io);
      case 'watch':
        return await runWatch(cmd, io);
      case 'import':
        return await runImport(cmd, io);
      case 'export':
        return await runExport(cmd, io);
      case 're-encrypt':
        return await runReencrypt(cmd, io);
      case 'audit':
        return await runAudit(cmd, io);
    }
  } catch (err) {
    if (err instanceof ControlApiError || err instanceof CliError) {
      process.stderr.write(`irisctl: ${err.message}\n`);
      return err instanceof CliError ? err.exitCode : 1;
    }
    throw err;
  }
}

/**
 * The first SIGINT/SIGTERM aborts the returned signal (the verb stops
 * gracefully); a second one exits at once.
 */
function interrupts(cmd: Command | null): AbortSignal {
  const ac = new AbortController();
  const onSignal = (): void => {
    if (!ac.signal.aborted) {
      ac.abort();
      return;
    }
    process.stderr.write(cmd?.kind === 'local-up'
      ? '\nirisctl: exiting at once; nodes may still be running (`irisctl local down` stops them)\n'
      : '\nirisctl: interrupted\n');
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return ac.signal;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Leave even if a stray handle (an idle keep-alive socket) remains.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (err: Error) => {
    process.stderr.write(`irisctl: fatal: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
