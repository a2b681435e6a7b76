/**
 * `irisctl export --to FILE [--format rdb|jsonl]`: every key of the cluster
 * with its expiry, read from each shard's primary (SCAN, then GET and
 * PEXPIRETIME in one pipeline per batch), written to FILE.tmp and renamed
 * to FILE once complete, so an interrupted export never leaves a file that
 * looks whole. Progress on stderr; a summary on stdout.
 */
import fs from 'node:fs';
import { once } from 'node:events';
import { IRISDB_VERSION } from '../../common/version.js';
import { exportEncoder, type ExportedKey } from '../import/export-formats.js';
import type { ExportCommand } from '../import/import-args.js';
import { ProgressLine } from '../import/progress.js';
import { connectNodes, localTargetPlace, placeCredentials, targetPrimaries, type TargetPlace } from '../import/target.js';
import { CliError } from './errors.js';
import type { CliIo } from './output.js';
import { formatBytes, formatCount } from './text.js';

const SCAN_COUNT = 1000;

export async function runExport(cmd: ExportCommand, io: CliIo, where?: TargetPlace): Promise<number> {
  if (where === undefined && cmd.cacert !== null) throw new CliError('--cacert goes with --kube: a local cluster started with --tls is trusted through DIR/tls/ca.crt', 2);
  const place = where ?? localTargetPlace(cmd.target);
  const credentials = await placeCredentials(cmd.credentials, place);
  const target = await connectNodes(await place.nodes(), credentials);
  const tmp = `${cmd.to}.tmp`;
  let out: fs.WriteStream;
  try {
    out = fs.createWriteStream(tmp, { flags: 'w' });
    await once(out, 'open');
  } catch (err) {
    target.disconnect();
    throw new CliError(`cannot write ${tmp}: ${(err as Error).message}`);
  }
  const enc = exportEncoder(cmd.format, `irisdb ${IRISDB_VERSION}`);
  let bytes = 0;
  const write = async (b: Buffer): Promise<void> => {
    if (b.length === 0) return;
    bytes += b.length;
    if (!out.write(b)) await once(out, 'drain');
  };
  const progress = new ProgressLine(io.stderr);
  let keys = 0;
  let withTtl = 0;
  try {
    const primaries = targetPrimaries(target);
    const total = (await Promise.all(primaries.map((p) => p.dbsize()))).reduce((a, b) => a + b, 0);
    await write(enc.start());
    for (const node of primaries) {
      let cursor = '0';
      do {
        if (io.signal.aborted) throw new CliError(`export interrupted; ${tmp} is incomplete and was removed`, 130);
        const [next, batch] = await node.scanBuffer(cursor, 'COUNT', SCAN_COUNT);
        cursor = next.toString();
        const p = node.pipeline();
        for (const k of batch) p.getBuffer(k).pexpiretime(k);
        const res = (await p.exec()) ?? [];
        for (let i = 0; i < batch.length; i++) {
          const [gerr, value] = res[2 * i]!;
          const [, at] = res[2 * i + 1]!;
          if (gerr !== null) throw new CliError(`reading ${batch[i]!.toString()}: ${gerr.message}`);
          if (value === null) continue; // expired or deleted since SCAN
          const k: ExportedKey = { key: batch[i]!, value: value as Buffer, expiresAt: Number(at) > 0 ? Number(at) : null };
          if (k.expiresAt !== null) withTtl++;
          keys++;
          await write(enc.key(k));
        }
        progress.update(() => `${formatCount(keys)}/${formatCount(total)} keys exported (${formatBytes(bytes)})`);
      } while (cursor !== '0');
    }
    await write(enc.end());
    out.end();
    await once(out, 'finish');
    const fh = await fs.promises.open(tmp, 'r+');
    await fh.sync();
    await fh.close();
    await fs.promises.rename(tmp, cmd.to);
  } catch (err) {
    out.destroy();
    await fs.promises.rm(tmp, { force: true });
    throw err instanceof CliError ? err : new CliError(`export failed: ${(err as Error).message}`);
  } finally {
    progress.done();
    target.disconnect();
  }
  io.stdout.write(`exported ${formatCount(keys)} keys (${formatCount(withTtl)} with a TTL) to ${cmd.to} (${cmd.format}, ${formatBytes(bytes)})\n`);
  return 0;
}
