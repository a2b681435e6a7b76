/**
 * `irisctl import --follow`: the import as a replica of the source Redis.
 * The initial copy is the RDB of a full sync (a consistent snapshot at the
 * replication offset the source names), then every command the source
 * replicates is applied to IrisDB in order, and the lag (the source's
 * master_repl_offset minus ours, in bytes, and how long ago the source was
 * where we are) is shown. REPLCONF ACK tells the source our offset (every
 * second and on GETACK). It finishes when the lag is at most --until-lag,
 * or on Ctrl-C once it has everything the source had (the cut-over: stop
 * the writers, then Ctrl-C; a second Ctrl-C leaves at once).
 * Resumable: every 3 seconds each link's (replid, offset applied, database)
 * goes to DIR/import-follow-checkpoint.json; a rerun asks for PSYNC from
 * there and falls back to a full sync when the source refuses. Replaying
 * the commands after the checkpoint is harmless (repl-commands.ts).
 */
import { Redis } from 'ioredis';
import type { Cluster } from 'ioredis';
import { CliError } from '../cli/errors.js';
import type { CliIo } from '../cli/output.js';
import { formatBytes, formatCount, oneLine, truncate } from '../cli/text.js';
import { CheckpointFile } from './checkpoint.js';
import { FOLLOW_CHECKPOINT_FILE, emptyStreamCounts, parseFollowCheckpoint, type FollowCheckpoint, type FollowLinkState, type StreamCounts } from './follow-checkpoint.js';
import type { ImportCommand } from './import-args.js';
import { emptyCounts, importReport, skippedText, type ImportCounts, type VerifyResult } from './import-counts.js';
import { ProgressLine } from './progress.js';
import { planReplicated, writtenKeys } from './repl-commands.js';
import { ReplicaLink } from './replica-link.js';
import type { ReplEvent } from './repl-stream.js';
import { loadRdb } from './rdb-load.js';
import { parseClusterMasters, sourceCluster, sourceOptions } from './source.js';
import { readBack } from './source-refresh.js';
import { RespSource } from './resp-source.js';
import { redactedUrl, type SourceUrl } from './source-url.js';
import { connectNodes, placeCredentials, type TargetPlace } from './target.js';
import { BulkWriter, type ImportString } from './bulk-writer.js';
import { authorizationHeader } from './target-credentials.js';
import { Reservoir, readFrom, verifySample } from './verify.js';
import { lagSeconds, type OffsetSample } from './lag.js';

/** Commands of the stream applied as one batch (each key read back and written once per batch): larger batches, fewer replication rounds. */
const STREAM_BATCH = 10_000;
const POLL_MS = 1000;
const ACK_MS = 1000;
/**
 * How often the checkpoint is written: after a crash at most this much of the stream is applied again (harmless, repl-commands.ts).
 * Less often than ACK_MS: the source must hear from us every second, the disk need not.
 */
const CHECKPOINT_MS = 3000;
const TTL_TOLERANCE_MS = 5000;

/** One source master being followed: its replication link, a connection for INFO, and how far it is. */
interface Followed {
  readonly address: string;
  readonly info: Redis;
  /** Plain RESP to the same master, to read back the keys the stream writes. */
  readonly resp: RespSource;
  readonly link: ReplicaLink;
  /** The offset applied (acknowledged by IrisDB) so far. */
  applied: number;
  /** The replication id `applied` belongs to (the source's, from FULLRESYNC or CONTINUE). */
  replid: string;
  /** The database SELECTed in the stream at `applied`. */
  db: number;
  /** Its state for the checkpoint: set once its RDB is loaded (or it continued a resumed stream). */
  resumable: boolean;
  /** The state of a checkpoint to continue from. */
  readonly resume: FollowLinkState | undefined;
  /** The source's master_repl_offset at the last poll. */
  masterOffset: number;
  readonly samples: OffsetSample[];
}

/** Where a follow writes to and keeps its checkpoint: a local cluster's directory, or (--kube) an IrisCluster and a state directory. */
export interface FollowPlace extends TargetPlace {
  readonly checkpointDir: string;
}

export async function runFollow(cmd: ImportCommand, io: CliIo, place: FollowPlace): Promise<number> {
  const shown = redactedUrl(cmd.from);
  const checkpoints = new CheckpointFile<FollowCheckpoint>(place.checkpointDir, FOLLOW_CHECKPOINT_FILE, parseFollowCheckpoint);
  const found = await checkpoints.read();
  if (found === 'corrupt') throw new CliError(`${checkpoints.file} is not a follow checkpoint: remove it or run with --restart`);
  let resume: FollowCheckpoint | null = null;
  if (found !== null && !cmd.restart) {
    if (found.source !== shown) throw new CliError(`${checkpoints.file} holds an unfinished follow of ${found.source}: finish it (import --follow --from that source) or start over with --restart`);
    resume = found;
  }
  const credentials = await placeCredentials(cmd.credentials, place);
  const first = await connectInfo(cmd.from, cmd.from.host, cmd.from.port, cmd.from.db, shown);
  const links: Followed[] = [];
  let target: Cluster | null = null;
  let masters: { host: string; port: number }[] | null = null;
  try {
    if (/cluster_enabled:1/.test(await first.info('cluster'))) {
      if (cmd.from.db !== 0) throw new CliError('a Redis Cluster has only database 0');
      masters = parseClusterMasters(String(await first.call('CLUSTER', 'NODES')));
      if (masters.length === 0) throw new CliError(`the source Redis Cluster ${shown} lists no master that owns slots`);
    }
    const nodes = await place.nodes();
    target = await connectNodes(nodes, credentials);
    // A Redis Cluster: one replica link per master, each applying its own stream (keys never move between them while followed).
    for (const m of masters ?? [{ host: cmd.from.host, port: cmd.from.port }]) {
      const address = `${m.host}:${m.port}`;
      const info = masters === null ? first : await connectInfo(cmd.from, m.host, m.port, 0, `master ${address}`);
      let link: ReplicaLink;
      let resp: RespSource;
      try {
        resp = await RespSource.open(cmd.from, m.host, m.port, masters === null ? cmd.from.db : 0);
        try {
          link = await ReplicaLink.open({ ...cmd.from, host: m.host, port: m.port });
        } catch (err) {
          resp.close();
          throw err;
        }
      } catch (err) {
        if (info !== first) info.disconnect();
        throw err;
      }
      links.push({ address, info, resp, link, applied: 0, replid: '', db: 0, resumable: false, resume: resume?.links[address], masterOffset: 0, samples: [] });
    }
    const writer = new BulkWriter(target, nodes.httpByAddress, nodes.fetch, authorizationHeader(credentials));
    return await follow(cmd, io, shown, target, writer, links, masters !== null, checkpoints, resume);
  } catch (err) {
    if (err instanceof CliError) throw err;
    // The link broke (the source restarted, a protocol error, a bad RDB): the checkpoint holds what IrisDB acknowledged.
    throw new CliError(`following ${shown} failed: ${oneLine((err as Error).message)} (run the same command again: it resumes from ${checkpoints.file})`);
  } finally {
    for (const l of links) {
      l.link.close();
      l.resp.close();
      if (l.info !== first) l.info.disconnect();
    }
    target?.disconnect();
    first.disconnect();
  }
}

async function connectInfo(from: SourceUrl, host: string, port: number, db: number, what: string): Promise<Redis> {
  const info = new Redis(sourceOptions(from, host, port, db));
  info.on('error', () => {});
  try {
    await info.connect();
  } catch (err) {
    info.disconnect();
    throw new CliError(`cannot connect to the source ${what}: ${(err as Error).message}`);
  }
  return info;
}

/** What every link shares: the target, the counts, the progress line, whether the cut-over began. */
interface Shared {
  readonly cmd: ImportCommand;
  readonly io: CliIo;
  readonly target: Cluster;
  readonly writer: BulkWriter;
  readonly counts: ImportCounts;
  readonly stream: StreamCounts;
  readonly sample: Reservoir<Buffer>;
  readonly progress: ProgressLine;
  readonly links: readonly Followed[];
  draining: boolean;
}

async function follow(
  cmd: ImportCommand, io: CliIo, shown: string, target: Cluster, writer: BulkWriter, links: Followed[], cluster: boolean,
  checkpoints: CheckpointFile<FollowCheckpoint>, resume: FollowCheckpoint | null,
): Promise<number> {
  const started = Date.now();
  const how: string[] = [];
  for (const l of links) {
    const h = await l.link.handshake({ ...cmd.from, host: l.address.slice(0, l.address.lastIndexOf(':')) }, l.resume);
    l.applied = h.offset;
    l.masterOffset = h.offset;
    l.replid = h.replid;
    l.db = h.kind === 'continue' ? l.resume!.db : 0;
    l.resumable = h.kind === 'continue';
    const where = cluster ? `${l.address}: ` : '';
    if (h.kind === 'continue') how.push(`${where}continuing from offset ${h.offset}`);
    else how.push(`${where}full sync from offset ${h.offset}${l.resume !== undefined ? ` (the source could not continue from offset ${l.resume.offset}: its backlog no longer holds it, or its replication id changed)` : ''}`);
  }
  if (resume !== null) io.stderr.write(`irisctl: resuming the follow of ${shown} from ${checkpoints.file}\n`);
  // A fresh start reads as it always did; a resume names what each master did.
  const fresh = resume === null && links.every((l) => !l.resumable);
  io.stderr.write(`irisctl: following ${shown} as a replica${cluster ? ` of each of its ${links.length} masters` : ''}: ${fresh ? `full sync from offset ${links.map((l) => l.applied).join(', ')}` : how.join(', ')}\n`);
  const sh: Shared = {
    cmd, io, target, writer, links, draining: false,
    counts: resume !== null ? structuredClone(resume.counts) : emptyCounts(),
    stream: resume !== null ? structuredClone(resume.stream) : emptyStreamCounts(),
    sample: new Reservoir<Buffer>(cmd.verify), progress: new ProgressLine(io.stderr),
  };
  const checkpoint = (): FollowCheckpoint => ({
    version: 1, kind: 'follow', source: shown, counts: sh.counts, stream: sh.stream,
    links: Object.fromEntries(links.filter((l) => l.resumable).map((l) => [l.address, { replid: l.replid, offset: l.applied, db: l.db }])),
  });
  // Written synchronously from the links' state, so each file holds offsets IrisDB had acknowledged at one moment.
  // A failed write (disk full...) does not stop the follow; it is reported at the end, since a resume would start from an older checkpoint.
  let saveError: Error | null = null;
  const save = (): Promise<void> => checkpoints.write(checkpoint()).catch((err: Error) => { saveError ??= err; });
  let saving: Promise<void> = save();
  const saver = setInterval(() => { saving = saving.then(save); }, CHECKPOINT_MS);
  // The source drops a replica that sends no REPLCONF ACK for repl-timeout (60 s), also while it loads a long RDB.
  const acks = setInterval(() => { for (const l of links) l.link.ack(l.applied); }, ACK_MS);
  try {
    await Promise.all(links.map((l) => replicate(sh, l)));
  } finally {
    clearInterval(acks);
    clearInterval(saver);
    await saving;
  }
  sh.progress.done();
  if (saveError !== null) io.stderr.write(`irisctl: warning: writing ${checkpoints.file} failed (${oneLine((saveError as Error).message)}); an interrupted follow would resume from an older point or start over\n`);

  let verify: VerifyResult | null = null;
  if (cmd.verify > 0) {
    const reader = cluster ? sourceCluster(cmd.from, links.map((l) => l.address)) : null;
    try {
      verify = await verifySample(sh.sample.items, readFrom(reader ?? links[0]!.info), target, TTL_TOLERANCE_MS);
    } finally {
      reader?.disconnect();
    }
  }
  const seconds = (Date.now() - started) / 1000;
  const lag = maxLag(links);
  const { counts, stream } = sh;
  if (cmd.json) {
    const offsets = cluster ? { offsets: Object.fromEntries(links.map((l) => [l.address, l.applied])) } : { offset: links[0]!.applied };
    io.stdout.write(JSON.stringify({ source: shown, seconds, ...counts, writes: writer.counts, stream, ...offsets, lagBytes: lag, verify }) + '\n');
  } else {
    io.stdout.write(importReport(counts, seconds, verify, { keys: writer.refusedKeys, reason: writer.refusedReason }));
    io.stdout.write(`commands applied:    ${formatCount(stream.applied)}\n`);
    io.stdout.write(`not applied:         ${skippedText(stream.skipped)}${stream.otherDb > 0 ? `; ${formatCount(stream.otherDb)} on other databases` : ''}\n`);
    if (stream.errors > 0) io.stdout.write(`errors:              ${stream.errors} (first: ${oneLine(stream.firstError ?? '')})\n`);
    if (cluster) io.stdout.write(`stopped at offsets:  ${links.map((l) => `${l.address} ${l.applied}`).join(', ')} (max lag ${formatBytes(lag)})\n`);
    else io.stdout.write(`stopped at offset:   ${links[0]!.applied} (lag ${formatBytes(lag)})\n`);
  }
  // The cut-over is done: a rerun starts a new follow (with a full sync).
  await checkpoints.remove();
  return stream.errors > 0 || (counts.refused ?? 0) > 0 || (verify !== null && verify.mismatches.length > 0) ? 1 : 0;
}

function maxLag(links: readonly Followed[]): number {
  return Math.max(0, ...links.map((l) => l.masterOffset - l.applied));
}

function progressLine(sh: Shared): string {
  const { links, stream, progress } = sh;
  const now = Date.now();
  const lag = maxLag(links);
  const seconds = Math.max(...links.map((l) => lagSeconds(l.samples, l.applied, now)));
  const skipped = Object.values(stream.skipped).reduce((a, b) => a + b, 0);
  const where = links.length === 1 ? `offset ${links[0]!.applied} · lag` : `${links.length} masters · max lag`;
  const text = `following · ${where} ${formatBytes(lag)} (${seconds.toFixed(1)} s) · ${formatCount(stream.applied)} commands applied` +
    (skipped > 0 ? ` · ${formatCount(skipped)} not applied (${skippedText(stream.skipped)})` : '') + (stream.errors > 0 ? ` · ${stream.errors} errors` : '');
  return progress.tty ? truncate(text, progress.width - 1) : text;
}

/** One link: its full sync's RDB, then its command stream until the cut-over (its lag within --until-lag, or 0 after Ctrl-C). */
async function replicate(sh: Shared, l: Followed): Promise<void> {
  const { cmd, io, progress } = sh;
  if (!l.resumable) {
    // The RDB of a full sync: the initial copy.
    let rdb: Buffer | null = null;
    while (rdb === null) {
      const ev = await l.link.next();
      if (ev.kind === 'rdb-progress') progress.update(() => `receiving the RDB${sh.links.length > 1 ? ` of ${l.address}` : ''}: ${formatBytes(ev.received)}/${formatBytes(ev.total)}`);
      else if (ev.kind === 'rdb') rdb = ev.data;
    }
    await loadRdb(rdb, cmd.from.db, sh.writer, sh.counts, sh.sample, (line) => progress.update(() => line));
    rdb = null;
    l.resumable = true;
    progress.update(() => `RDB loaded: ${formatCount(sh.counts.copied)} strings copied`, true);
  }

  // The command stream.
  let lastPoll = 0;
  const poll = async (): Promise<void> => {
    const text = await l.info.info('replication');
    const m = /master_repl_offset:(\d+)/.exec(text);
    if (m !== null) {
      l.masterOffset = Number(m[1]);
      l.samples.push({ at: Date.now(), offset: l.masterOffset });
      while (l.samples.length > 1 && l.samples[1]!.offset <= l.applied) l.samples.shift();
    }
  };
  for (;;) {
    const now = Date.now();
    if (now - lastPoll >= POLL_MS) {
      lastPoll = now;
      await poll().catch(() => {});
      progress.update(() => progressLine(sh));
      const lag = l.masterOffset - l.applied;
      if (io.signal.aborted && !sh.draining) {
        sh.draining = true;
        progress.done();
        io.stderr.write('irisctl: finishing: applying what the source still has (Ctrl-C again leaves at once)\n');
      }
      if ((cmd.untilLag !== null && lag <= cmd.untilLag) || (sh.draining && lag <= 0)) break;
    }
    const first = await l.link.next(Math.max(1, POLL_MS - (Date.now() - lastPoll)));
    if (first === null) continue;
    const batch = [first];
    while (batch.length < STREAM_BATCH && l.link.pending() > 0) batch.push(await l.link.next());
    await applyBatch(sh, l, batch);
  }
}

/**
 * Applies a batch of the stream: the commands are planned in order (SELECT,
 * other databases, commands not applied), every key they write is read
 * back from the source once (source-refresh.ts: after the whole batch ran
 * there) and written as the source holds it: the strings through the bulk
 * load, the keys the source no longer holds as DELs. `applied` and `db`
 * move only once IrisDB acknowledged all of it, so the checkpoint never
 * runs ahead; GETACKs are answered then.
 */
async function applyBatch(sh: Shared, l: Followed, batch: readonly ReplEvent[]): Promise<void> {
  const { cmd, target, stream } = sh;
  const keys = new Map<string, Buffer>();
  let db = l.db;
  let bytes = 0;
  let commands = 0;
  let getacks = 0;
  for (const ev of batch) {
    if (ev.kind !== 'command') continue;
    bytes += ev.bytes;
    if (ev.argv[0]!.toString('latin1').toLowerCase() === 'replconf' && ev.argv[1]?.toString('latin1').toLowerCase() === 'getack') {
      getacks++;
      continue;
    }
    const action = planReplicated(ev.argv, db, cmd.from.db);
    switch (action.kind) {
      case 'select':
        db = action.db;
        break;
      case 'other-db':
        stream.otherDb++;
        break;
      case 'skip':
        stream.skipped[action.command] = (stream.skipped[action.command] ?? 0) + 1;
        break;
      case 'apply':
      case 'refresh':
        commands++;
        for (const k of writtenKeys(action)) keys.set(k.toString('latin1'), k);
        break;
      case 'ignore':
        break;
    }
  }
  const now = await readBack(l.resp, [...keys.values()]);
  const strings: ImportString[] = [];
  const deletes: Promise<unknown>[] = [];
  for (const r of now) {
    sh.sample.offer(r.key);
    if (r.value === null) deletes.push(target.del(r.key).catch((err: Error) => noteError(stream, err)));
    else strings.push({ key: r.key, value: r.value, pttl: r.pttl });
  }
  const [refused] = await Promise.all([sh.writer.write(strings), Promise.all(deletes)]);
  sh.counts.refused = (sh.counts.refused ?? 0) + refused.length;
  stream.applied += commands;
  l.applied += bytes;
  l.db = db;
  for (let i = 0; i < getacks; i++) l.link.ack(l.applied);
}

function noteError(s: StreamCounts, err: Error): void {
  s.errors++;
  s.firstError ??= err.message;
}
