/**
 * `irisctl re-encrypt`: asks every node of the cluster (from the
 * controller's status) to re-seal its stored values and replication log
 * with the active encryption key (docs/security.md "Encryption at rest"),
 * and with --wait follows their progress until each is done. Nodes are
 * called with the cluster token, as the controller calls them.
 */
import type { EncryptionStatus, PlaintextScrub } from '../../common/encryption-admin.js';
import { EncryptionAdminClient } from '../../common/encryption-client.js';
import { clusterPaths } from '../local/layout.js';
import { controlClient, readControlToken } from './endpoint.js';
import { CliError } from './errors.js';
import { type CliIo, sleep } from './output.js';
import { bar } from './render-progress.js';
import type { ReencryptCommand } from './run-reencrypt-args.js';
import { formatCount, oneLine, truncate } from './text.js';

const POLL_MS = 500;

export interface NodeReencrypt {
  readonly node: string;
  readonly status: EncryptionStatus;
}

export async function runReencrypt(cmd: ReencryptCommand, io: CliIo): Promise<number> {
  const control = await controlClient(cmd.source);
  const token = await readControlToken(cmd.source.kind === 'url' ? cmd.source.tokenFile : clusterPaths(cmd.source.dir).token);
  const st = await control.status();
  const nodes = st.shards.flatMap((s) => s.nodes).filter((n) => n.httpUrl !== null).map((n) => ({ name: n.name, client: new EncryptionAdminClient(n.httpUrl!, token, 10_000) }));
  if (nodes.length === 0) throw new CliError('the controller reports no node with an HTTP address: is the cluster up?');
  const started: NodeReencrypt[] = [];
  for (const n of nodes) {
    try {
      started.push({ node: n.name, status: await n.client.reencrypt() });
    } catch (err) {
      throw new CliError(`node ${n.name}: ${(err as Error).message}`);
    }
  }
  if (!cmd.wait) {
    io.stdout.write(cmd.json ? `${JSON.stringify(started, null, 2)}\n` : renderReencryptSummary(started));
    return 0;
  }
  const tty = io.stderr.isTTY === true;
  const deadline = Date.now() + cmd.timeoutMs;
  let last = '';
  for (;;) {
    const now: NodeReencrypt[] = [];
    for (const n of nodes) now.push({ node: n.name, status: await n.client.encryption() });
    const line = renderReencryptProgress(now, tty, io.stderr.columns ?? 80);
    if (tty) io.stderr.write(`\r\u001b[2K${line}`);
    else if (line !== last) io.stderr.write(`${line}\n`);
    last = line;
    const failed = now.filter((n) => n.status.reencrypt.state === 'failed');
    if (failed.length > 0) {
      if (tty) io.stderr.write('\n');
      throw new CliError(`re-encryption failed on ${failed.map((f) => `${f.node} (${f.status.reencrypt.error ?? 'unknown reason'})`).join(', ')}`);
    }
    if (now.every((n) => n.status.reencrypt.state === 'done')) {
      if (tty) io.stderr.write('\n');
      io.stdout.write(cmd.json ? `${JSON.stringify(now, null, 2)}\n` : renderReencryptSummary(now));
      return 0;
    }
    if (io.signal.aborted) throw new CliError('interrupted; the nodes go on re-encrypting (irisctl re-encrypt again shows their progress)', 130);
    if (Date.now() > deadline) throw new CliError('re-encryption did not finish in time; the nodes go on (run irisctl re-encrypt --wait again to follow)');
    await sleep(POLL_MS, io.signal);
  }
}

/**
 * One progress line over every node: on a terminal a bar of keys done /
 * total and each node's counters; otherwise each node's state and progress
 * in tens of percent, so a log gets a line per change. Pure.
 */
export function renderReencryptProgress(nodes: readonly NodeReencrypt[], tty: boolean, width: number): string {
  const done = nodes.reduce((a, n) => a + Math.min(n.status.reencrypt.doneKeys, n.status.reencrypt.totalKeys), 0);
  const total = nodes.reduce((a, n) => a + n.status.reencrypt.totalKeys, 0);
  const finished = nodes.filter((n) => n.status.reencrypt.state === 'done').length;
  const head = `re-encrypt to key ${nodes[0]?.status.activeKeyId ?? '?'}: ${finished}/${nodes.length} nodes done`;
  const perNode = nodes.map((n) => {
    const r = n.status.reencrypt;
    if (r.state !== 'running') return `${oneLine(n.node)} ${r.state}`;
    if (tty) return `${oneLine(n.node)} ${formatCount(r.doneKeys)}/${formatCount(r.totalKeys)} keys`;
    const tens = r.totalKeys === 0 ? 0 : Math.floor((10 * Math.min(r.doneKeys, r.totalKeys)) / r.totalKeys) * 10;
    return `${oneLine(n.node)} running ${tens}%`;
  });
  if (!tty) return `${head} · ${perNode.join(' · ')}`;
  const fraction = total === 0 ? (finished === nodes.length ? 1 : 0) : done / total;
  return truncate(`${bar(fraction, 20)} ${head} · ${perNode.join(' · ')}`, Math.max(1, width - 1));
}

/** Whether the job's last step left old plaintext in the node's files (docs/security.md). */
function scrubNote(s: PlaintextScrub | undefined): string {
  if (s === undefined) return '';
  if (s.clean) return `, old plaintext scrubbed (VACUUM paused the node ${s.pauseMs} ms)`;
  const why = !s.vacuumed ? 'database larger than --reencrypt-vacuum-max-bytes' : 'readers kept the WAL';
  return `, old plaintext may remain in free space (${why})`;
}

/** After starting or finishing: per node, the active key, job state and values per key id. Pure. */
export function renderReencryptSummary(nodes: readonly NodeReencrypt[]): string {
  const lines = nodes.map((n) => {
    const s = n.status;
    const r = s.reencrypt;
    const counts = s.valuesByKeyId === null ? 'values per key: not scanned yet' : `values per key: ${Object.entries(s.valuesByKeyId).map(([k, c]) => `${k === '' ? '(clear)' : k}=${formatCount(c)}`).join(', ') || 'none'}`;
    return `${n.node}: active key ${s.activeKeyId ?? '-'}, ${r.state}, ${formatCount(r.rewrittenKeys)} values and ${r.rewrittenLogBatches} log batches re-encrypted, ${counts}${scrubNote(r.plaintextScrub)}`;
  });
  return `${lines.join('\n')}\n`;
}
