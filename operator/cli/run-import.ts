/**
 * `irisctl import --from redis://...`: copies a Redis's string keys (with
 * their TTLs) into the cluster. Without --follow: SCAN over every source
 * master, resumable from DIR/import-checkpoint.json, a verification sample
 * at the end. With --follow: operator/import/follow.ts (a replica of the
 * source). Progress on stderr; the report on stdout.
 */
import type { Cluster } from 'ioredis';
import { CheckpointFile, type ImportCheckpoint } from '../import/checkpoint.js';
import { emptyCounts, importProgressLine, importReport, type ImportCounts, type VerifyResult } from '../import/import-counts.js';
import { autoImportBatch, type ImportCommand } from '../import/import-args.js';
import { ProgressLine } from '../import/progress.js';
import { addBatch, copyNode } from '../import/scan-copy.js';
import { connectSource, sourceCluster, type SourceNode } from '../import/source.js';
import { redactedUrl } from '../import/source-url.js';
import { connectNodes, placeCredentials, targetNodes, type TargetPlace } from '../import/target.js';
import { BulkWriter, ImportAuthError } from '../import/bulk-writer.js';
import { authorizationHeader } from '../import/target-credentials.js';
import { Reservoir, readFrom, verifySample } from '../import/verify.js';
import { runFollow } from '../import/follow.js';
import { CliError } from './errors.js';
import type { CliIo } from './output.js';
import { oneLine } from './text.js';

/** Expiries may differ by the time a batch took to travel; more than this is reported. */
const TTL_TOLERANCE_MS = 5000;
/** Batches written at once per source node: IrisDB acknowledges a write once it is durable, so throughput needs several in flight. */
const IN_FLIGHT = 4;
/** How often the checkpoint is written: after an interruption at most this much copying is done again. */
const CHECKPOINT_MS = 1000;

/** Where the import writes to and keeps its checkpoint: a local cluster's directory, or (--kube) an IrisCluster's map and a state directory. */
export interface ImportPlace extends TargetPlace {
  readonly checkpointDir: string;
}

function localPlace(cmd: ImportCommand): ImportPlace {
  if (cmd.target.kind !== 'dir') throw new CliError('import keeps its checkpoint in the cluster directory: give --dir, not --url');
  if (cmd.cacert !== null) throw new CliError('--cacert goes with --kube: a local cluster started with --tls is trusted through DIR/tls/ca.crt', 2);
  const target = cmd.target;
  return { checkpointDir: target.dir, nodes: () => targetNodes(target) };
}

export async function runImport(cmd: ImportCommand, io: CliIo, where?: ImportPlace): Promise<number> {
  const place = where ?? localPlace(cmd);
  if (cmd.follow) return runFollow(cmd, io, place);
  const shown = redactedUrl(cmd.from);
  const checkpoints = new CheckpointFile(place.checkpointDir);
  const found = await checkpoints.read();
  if (found === 'corrupt') throw new CliError(`${checkpoints.file} is not an import checkpoint: remove it or run with --restart`);
  let resume: ImportCheckpoint | null = null;
  if (found !== null && !cmd.restart) {
    if (found.source !== shown) throw new CliError(`${checkpoints.file} holds an unfinished import from ${found.source}: finish it (import --from that source) or start over with --restart`);
    resume = found;
  }
  const credentials = await placeCredentials(cmd.credentials, place);
  const nodes = await place.nodes();
  // Refused credentials fail here, before anything is read from the source or written.
  const target = await connectNodes(nodes, credentials);
  let source: { nodes: SourceNode[]; cluster: boolean };
  try {
    source = await connectSource(cmd.from, shown);
  } catch (err) {
    target.disconnect();
    throw err;
  }
  try {
    const batch = cmd.batch ?? autoImportBatch(nodes.primaries.length);
    return await copy({ ...cmd, batch }, io, shown, checkpoints, resume, source, target, new BulkWriter(target, nodes.httpByAddress, nodes.fetch, authorizationHeader(credentials)));
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`import from ${shown} failed: ${oneLine((err as Error).message)} (run the same command again to resume)`);
  } finally {
    for (const n of source.nodes) {
      n.redis.disconnect();
      n.resp.close();
    }
    target.disconnect();
  }
}

async function copy(
  cmd: ImportCommand & { readonly batch: number }, io: CliIo, shown: string, checkpoints: CheckpointFile, resume: ImportCheckpoint | null,
  source: { nodes: SourceNode[]; cluster: boolean }, target: Cluster, writer: BulkWriter,
): Promise<number> {
  const counts: ImportCounts = resume !== null ? structuredClone(resume.counts) : emptyCounts();
  const nodes: ImportCheckpoint['nodes'] = {};
  for (const n of source.nodes) nodes[n.address] = resume?.nodes[n.address] ?? { cursor: '0', done: false };
  if (resume !== null) {
    const left = Object.keys(resume.nodes).filter((a) => !(a in nodes));
    if (left.length > 0) throw new CliError(`the source's masters changed since the checkpoint (${left.join(', ')} gone): start over with --restart`);
    io.stderr.write(`irisctl: resuming the import from ${shown} (${counts.scanned} keys scanned before)\n`);
  } else await checkpoints.write({ version: 1, source: shown, nodes, counts });
  const total = (await Promise.all(source.nodes.map((n) => n.redis.dbsize()))).reduce((a, b) => a + b, 0);
  io.stderr.write(`irisctl: importing from ${shown}${source.cluster ? ` (Redis Cluster, ${source.nodes.length} masters)` : ''}: ${total} keys\n`);

  const started = Date.now();
  const startCopied = counts.copied;
  const progress = new ProgressLine(io.stderr);
  const sample = new Reservoir<Buffer>(cmd.verify);
  // The checkpoint is written at most every CHECKPOINT_MS (an fsync per batch would pace the whole copy); one write at a time, each with the state of its moment.
  let saving: Promise<void> | null = null;
  let savedAt = Date.now();
  const save = (): Promise<void> => {
    savedAt = Date.now();
    const p: Promise<void> = (saving ?? Promise.resolve()).then(() => checkpoints.write({ version: 1, source: shown, nodes, counts }));
    saving = p.finally(() => {
      if (saving === p) saving = null;
    });
    return p;
  };
  const rate = (): number => (counts.copied - startCopied) / Math.max(0.001, (Date.now() - started) / 1000);
  const draw = (force = false): void => progress.update(() => importProgressLine(counts, total, rate(), progress), force);

  const results = await Promise.all(source.nodes.map((n) => nodes[n.address]!.done ? Promise.resolve(true) : copyNode(n.resp, target, nodes[n.address]!.cursor, {
    batch: cmd.batch, inFlight: IN_FLIGHT, signal: io.signal,
    write: async (b) => {
      b.refused = await writer.write(b.strings);
    },
    onWritten: async (b, cursor, done) => {
      addBatch(counts, b);
      for (const s of b.strings) if (!b.refused.includes(s.key)) sample.offer(s.key);
      nodes[n.address] = { cursor, done };
      if (saving === null && Date.now() - savedAt >= CHECKPOINT_MS) await save();
      draw();
    },
  }).catch((err: Error) => {
    if (err instanceof ImportAuthError) throw new CliError(err.message);
    throw new CliError(`copying from ${n.address} failed: ${oneLine(err.message)} (run the same command again to resume)`);
  })));
  await save();
  draw(true);
  progress.done();
  const seconds = (Date.now() - started) / 1000;
  if (!results.every((r) => r)) {
    io.stderr.write(`irisctl: import interrupted; ${counts.scanned} keys scanned so far. Run the same command again to resume from ${checkpoints.file}\n`);
    return 130;
  }

  let verify: VerifyResult | null = null;
  if (cmd.verify > 0) {
    const reader = source.cluster ? sourceCluster(cmd.from, source.nodes.map((n) => n.address)) : null;
    try {
      verify = await verifySample(sample.items, readFrom(reader ?? source.nodes[0]!.redis), target, TTL_TOLERANCE_MS);
    } finally {
      reader?.disconnect();
    }
  }
  await checkpoints.remove();
  const refused = { keys: writer.refusedKeys, reason: writer.refusedReason };
  io.stdout.write(cmd.json
    ? JSON.stringify({ source: shown, seconds, ...counts, refused: counts.refused ?? 0, writes: writer.counts, refusedKeys: refused.keys, verify }) + '\n'
    : importReport(counts, seconds, verify, refused));
  // Refused keys are not in IrisDB: the import did not copy everything (exit 1), though it went through every key.
  return (verify !== null && verify.mismatches.length > 0) || (counts.refused ?? 0) > 0 ? 1 : 0;
}
