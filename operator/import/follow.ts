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
 */
import { Command, Redis } from 'ioredis';
import type { Cluster } from 'ioredis';
import { CliError } from '../cli/errors.js';
import type { CliIo } from '../cli/output.js';
import { formatBytes, formatCount, oneLine, truncate } from '../cli/text.js';
import type { ImportCommand } from './import-args.js';
import { emptyCounts, importReport, skippedText, type ImportCounts, type VerifyResult } from './import-counts.js';
import { ProgressLine } from './progress.js';
import { planReplicated } from './repl-commands.js';
import { ReplicaLink } from './replica-link.js';
import { readRdb } from './rdb-reader.js';
import { parseClusterMasters, sourceCluster, sourceOptions } from './source.js';
import { redactedUrl, type SourceUrl } from './source-url.js';
import { connectNodes, localTargetPlace, placeCredentials, targetNodes } from './target.js';
import { BulkWriter, type ImportString } from './bulk-writer.js';
import { authorizationHeader } from './target-credentials.js';
import { Reservoir, readFrom, verifySample } from './verify.js';
import { lagSeconds, type OffsetSample } from './lag.js';

const WRITE_CHUNK = 2000;
const POLL_MS = 1000;
const ACK_MS = 1000;
const TTL_TOLERANCE_MS = 5000;

export interface StreamCounts {
  applied: number;
  skipped: Record<string, number>;
  otherDb: number;
  errors: number;
  firstError: string | null;
}

/** One source master being followed: its replication link, a connection for INFO, and how far it is. */
interface Followed {
  readonly address: string;
  readonly info: Redis;
  readonly link: ReplicaLink;
  /** The offset applied (acknowledged by IrisDB) so far. */
  applied: number;
  /** The source's master_repl_offset at the last poll. */
  masterOffset: number;
  readonly samples: OffsetSample[];
}

export async function runFollow(cmd: ImportCommand, io: CliIo): Promise<number> {
  const shown = redactedUrl(cmd.from);
  const credentials = await placeCredentials(cmd.credentials, localTargetPlace(cmd.target));
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
    const nodes = await targetNodes(cmd.target);
    target = await connectNodes(nodes, credentials);
    // A Redis Cluster: one replica link per master, each applying its own stream (keys never move between them while followed).
    for (const m of masters ?? [{ host: cmd.from.host, port: cmd.from.port }]) {
      const address = `${m.host}:${m.port}`;
      const info = masters === null ? first : await connectInfo(cmd.from, m.host, m.port, 0, `master ${address}`);
      let link: ReplicaLink;
      try {
        link = await ReplicaLink.open({ ...cmd.from, host: m.host, port: m.port });
      } catch (err) {
        if (info !== first) info.disconnect();
        throw err;
      }
      links.push({ address, info, link, applied: 0, masterOffset: 0, samples: [] });
    }
    return await follow(cmd, io, shown, target, new BulkWriter(target, nodes.httpByAddress, nodes.fetch, authorizationHeader(credentials)), links, masters !== null);
  } catch (err) {
    if (err instanceof CliError) throw err;
    // The link broke (the source restarted, a protocol error, a bad RDB): nothing to resume, a new run starts with a full sync.
    throw new CliError(`following ${shown} failed: ${oneLine((err as Error).message)} (run the command again: it starts over with a full sync)`);
  } finally {
    for (const l of links) {
      l.link.close();
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

async function follow(cmd: ImportCommand, io: CliIo, shown: string, target: Cluster, writer: BulkWriter, links: Followed[], cluster: boolean): Promise<number> {
  const started = Date.now();
  for (const l of links) {
    const { offset } = await l.link.handshake({ ...cmd.from, host: l.address.slice(0, l.address.lastIndexOf(':')) });
    l.applied = offset;
    l.masterOffset = offset;
  }
  io.stderr.write(`irisctl: following ${shown} as a replica${cluster ? ` of each of its ${links.length} masters` : ''}: full sync from offset ${links.map((l) => l.applied).join(', ')}\n`);
  const sh: Shared = {
    cmd, io, target, writer, links, draining: false,
    counts: emptyCounts(), sample: new Reservoir<Buffer>(cmd.verify), progress: new ProgressLine(io.stderr),
    stream: { applied: 0, skipped: {}, otherDb: 0, errors: 0, firstError: null },
  };
  // The source drops a replica that sends no REPLCONF ACK for repl-timeout (60 s), also while it loads a long RDB.
  const acks = setInterval(() => { for (const l of links) l.link.ack(l.applied); }, ACK_MS);
  try {
    await Promise.all(links.map((l) => replicate(sh, l)));
  } finally {
    clearInterval(acks);
  }
  sh.progress.done();

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
  const { cmd, io, target, progress, stream } = sh;
  // The RDB: the initial copy.
  let rdb: Buffer | null = null;
  while (rdb === null) {
    const ev = await l.link.next();
    if (ev.kind === 'rdb-progress') progress.update(() => `receiving the RDB${sh.links.length > 1 ? ` of ${l.address}` : ''}: ${formatBytes(ev.received)}/${formatBytes(ev.total)}`);
    else if (ev.kind === 'rdb') rdb = ev.data;
  }
  await loadRdb(rdb, cmd.from.db, sh.writer, sh.counts, sh.sample, (line) => progress.update(() => line));
  rdb = null;
  progress.update(() => `RDB loaded: ${formatCount(sh.counts.copied)} strings copied`, true);

  // The command stream.
  let db = 0;
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
    while (batch.length < WRITE_CHUNK && l.link.pending() > 0) batch.push(await l.link.next());
    const pending: Promise<unknown>[] = [];
    let bytes = 0;
    const flush = async (): Promise<void> => {
      await Promise.all(pending);
      pending.length = 0;
      l.applied += bytes;
      bytes = 0;
    };
    for (const ev of batch) {
      if (ev.kind !== 'command') continue;
      const name = ev.argv[0]!.toString('latin1').toLowerCase();
      if (name === 'replconf' && ev.argv[1]?.toString('latin1').toLowerCase() === 'getack') {
        await flush();
        l.link.ack(l.applied);
        l.applied += ev.bytes;
        continue;
      }
      const action = planReplicated(ev.argv, db, cmd.from.db);
      bytes += ev.bytes;
      switch (action.kind) {
        case 'select':
          db = action.db;
          break;
        case 'ignore':
          break;
        case 'other-db':
          stream.otherDb++;
          break;
        case 'skip':
          stream.skipped[action.command] = (stream.skipped[action.command] ?? 0) + 1;
          break;
        case 'apply':
          for (const argv of action.commands) {
            // sendCommand, not call(): ioredis's call() loses the command name under auto-pipelining. One connection per owner keeps each key's commands in order.
            const c = new Command(argv[0]!.toString('latin1').toLowerCase(), argv.slice(1), { replyEncoding: null });
            void target.sendCommand(c);
            pending.push(c.promise.then(() => { stream.applied++; }, (err: Error) => noteError(stream, err)));
          }
          break;
        case 'rename':
          await flush();
          await rename(target, action.from, action.to).then(() => { stream.applied++; }, (err: Error) => noteError(stream, err));
          break;
      }
    }
    await flush();
  }
}

function noteError(s: StreamCounts, err: Error): void {
  s.errors++;
  s.firstError ??= err.message;
}

/** RENAME across shards: DUMP and PTTL the old key, RESTORE the new one, delete the old. A key IrisDB does not hold (not a string) deletes the new name. */
async function rename(target: Cluster, from: Buffer, to: Buffer): Promise<void> {
  const [payload, pttl] = await Promise.all([target.dumpBuffer(from), target.pttl(from)]);
  if (payload === null) {
    await target.del(to);
    return;
  }
  await target.restore(to, pttl > 0 ? pttl : 0, payload, 'REPLACE');
  await target.del(from);
}

/**
 * Writes the RDB's strings of database `db` to IrisDB through the bulk load
 * (SETs where it cannot), in chunks. Expiries go as the time left when the
 * chunk is sent; a key whose expiry passed meanwhile is counted as gone.
 */
async function loadRdb(rdb: Buffer, db: number, writer: BulkWriter, counts: ImportCounts, sample: Reservoir<Buffer>, show: (line: string) => void): Promise<void> {
  const strings: { key: Buffer; value: Buffer; at: number | null }[] = [];
  const now = Date.now();
  readRdb(rdb, {
    onString(kdb, key, value, at) {
      if (kdb !== db) return;
      counts.scanned++;
      if (at !== null && at <= now) counts.vanished++;
      else strings.push({ key, value, at });
    },
    onOther(kdb, _key, type) {
      if (kdb !== db) return;
      counts.scanned++;
      counts.skippedByType[type] = (counts.skippedByType[type] ?? 0) + 1;
    },
  });
  for (let i = 0; i < strings.length; i += WRITE_CHUNK) {
    const sent = Date.now();
    const part: ImportString[] = [];
    for (const s of strings.slice(i, i + WRITE_CHUNK)) {
      if (s.at !== null && s.at <= sent) counts.vanished++;
      else part.push({ key: s.key, value: s.value, pttl: s.at === null ? -1 : s.at - sent });
    }
    const refused = new Set(await writer.write(part));
    counts.refused = (counts.refused ?? 0) + refused.size;
    for (const s of part) {
      if (refused.has(s.key)) continue;
      counts.copied++;
      if (s.pttl > 0) counts.withTtl++;
      sample.offer(s.key);
    }
    show(`loading the RDB: ${formatCount(counts.copied)}/${formatCount(strings.length)} strings`);
  }
}
