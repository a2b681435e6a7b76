/**
 * `irisctl audit verify FILE [--previous FILE] [--continues] [--json]`:
 * checks an audit log's hash chain (common/audit/chain.ts) and names the
 * first record that breaks it (line number and seq); exit 1 then.
 */
import fs from 'node:fs';
import { type ChainHead, type ChainVerdict, GENESIS, verifyChain } from '../../common/audit/chain.js';
import { CliError, UsageError } from './errors.js';
import type { CliIo } from './output.js';

export interface AuditCommand {
  readonly kind: 'audit';
  readonly action: 'verify';
  readonly file: string;
  /** The file this one continues (the log before a rotation), verified first. */
  readonly previous?: string;
  /** Accept a first record that continues a chain not given (a rotated file on its own). */
  readonly continues: boolean;
  readonly json: boolean;
}

export function auditCommand(v: Readonly<Record<string, string | boolean | undefined>>, positionals: readonly string[]): AuditCommand {
  const previous = typeof v.previous === 'string' ? v.previous : undefined;
  if (previous !== undefined && v.continues === true) throw new UsageError('--previous and --continues exclude each other', 'audit verify');
  return { kind: 'audit', action: 'verify', file: positionals[0]!, ...(previous !== undefined ? { previous } : {}), continues: v.continues === true, json: v.json === true };
}

function readLines(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

type FileVerdict = ChainVerdict & { readonly file: string };

export async function runAudit(cmd: AuditCommand, io: CliIo): Promise<number> {
  const verdicts: FileVerdict[] = [];
  let after: ChainHead | 'any' = cmd.continues ? 'any' : GENESIS;
  for (const file of [...(cmd.previous !== undefined ? [cmd.previous] : []), cmd.file]) {
    const verdict = verifyChain(readLines(file), { after });
    verdicts.push({ ...verdict, file });
    if (!verdict.ok) break;
    after = verdict.head;
  }
  const last = verdicts[verdicts.length - 1]!;
  if (cmd.json) {
    io.stdout.write(`${JSON.stringify({ ok: last.ok, files: verdicts })}\n`);
    return last.ok ? 0 : 1;
  }
  for (const v of verdicts) {
    if (v.ok) {
      const range = v.first === null ? 'no records' : `seq ${v.first.seq}..${v.head.seq}`;
      io.stdout.write(`${v.file}: ${v.records} records (${range}), chain intact; last record seq ${v.head.seq} hash ${v.head.hash}\n`);
    } else {
      io.stdout.write(`${v.file}: chain broken at line ${v.line}${v.seq !== null ? ` (seq ${v.seq})` : ''}: ${v.reason}\n`);
    }
  }
  if (last.ok) io.stdout.write('Records cut off the end do not show in the file: compare the last seq and hash with a copy kept elsewhere.\n');
  return last.ok ? 0 : 1;
}
