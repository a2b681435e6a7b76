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
import { sourceOptions } from './source.js';
import { redactedUrl } from './source-url.js';
import { connectSeeds, targetNodes } from './target.js';
import { BulkWriter, type ImportString } from './bulk-writer.js';
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

export async function runFollow(cmd: ImportCommand, io: CliIo): Promise<number> {
  const shown = redactedUrl(cmd.from);
  const info = new Redis(sourceOptions(cmd.from, cmd.from.host, cmd.from.port, cmd.from.db));
  info.on('error', () => {});
  try {
    await info.connect();
  } catch (err) {
    info.disconnect();
    throw new CliError(`cannot connect to the source ${shown}: ${(err as Error).message}`);
  }
  let target: Cluster | null = null;
  let link: ReplicaLink | null = null;
  try {
    if (/cluster_enabled:1/.test(await info.info('cluster'))) {
      throw new CliError('--follow reads one Redis\'s replication stream: for a Redis Cluster, run one `import --follow` per master (redis://master:port) — each copies the keys its master holds');
    }
    const nodes = await targetNodes(cmd.target);
    target = await connectSeeds(nodes.primaries);
    link = await ReplicaLink.open(cmd.from);
    return await follow(cmd, io, shown, info, target, new BulkWriter(target, nodes.httpByAddress), link);
  } catch (err) {
    if (err instanceof CliError) throw err;
    // The link broke (the source restarted, a protocol error, a bad RDB): nothing to resume, a new run starts with a full sync.
    throw new CliError(`following ${shown} failed: ${oneLine((err as Error).message)} (run the command again: it starts over with a full sync)`);
  } finally {
    link?.close();
    target?.disconnect();
    info.disconnect();
  }
}

async function follow(cmd: ImportCommand, io: CliIo, shown: string, info: Redis, target: Cluster, writer: BulkWriter, link: ReplicaLink): Promise<number> {
  const progress = new ProgressLine(io.stderr);
  const started = Date.now();
  const { offset: startOffset } = await link.handshake(cmd.from);
  io.stderr.write(`irisctl: following ${shown} as a replica: full sync from offset ${startOffset}\n`);
  const pos = { applied: startOffset };
  // The source drops a replica that sends no REPLCONF ACK for repl-timeout (60 s), also while it loads a long RDB.
  const acks = setInterval(() => link.ack(pos.applied), ACK_MS);
  try {
    return await replicate(cmd, io, shown, info, target, writer, link, { progress, started, pos });
  } finally {
    clearInterval(acks);
  }
}

/** The full sync's RDB, then the command stream until the cut-over; pos.applied: the offset applied so far. */
async function replicate(
  cmd: ImportCommand, io: CliIo, shown: string, info: Redis, target: Cluster, writer: BulkWriter, link: ReplicaLink,
  { progress, started, pos }: { progress: ProgressLine; started: number; pos: { applied: number } },
): Promise<number> {
  // The RDB: the initial copy.
  let rdb: Buffer | null = null;
  while (rdb === null) {
    const ev = await link.next();
    if (ev.kind === 'rdb-progress') progress.update(() => `receiving the RDB: ${formatBytes(ev.received)}/${formatBytes(ev.total)}`);
    else if (ev.kind === 'rdb') rdb = ev.data;
  }
  const counts = emptyCounts();
  const sample = new Reservoir<Buffer>(cmd.verify);
  await loadRdb(rdb, cmd.from.db, writer, counts, sample, (line) => progress.update(() => line));
  rdb = null;
  progress.update(() => `RDB loaded: ${formatCount(counts.copied)} strings copied`, true);

  // The command stream.
  const stream: StreamCounts = { applied: 0, skipped: {}, otherDb: 0, errors: 0, firstError: null };
  let db = 0;
  let masterOffset = pos.applied;
  const samples: OffsetSample[] = [];
  let lastPoll = 0;
  let polling: Promise<void> | null = null;
  const poll = async (): Promise<void> => {
    const text = await info.info('replication');
    const m = /master_repl_offset:(\d+)/.exec(text);
    if (m !== null) {
      masterOffset = Number(m[1]);
      samples.push({ at: Date.now(), offset: masterOffset });
      while (samples.length > 1 && samples[1]!.offset <= pos.applied) samples.shift();
    }
  };
  const line = (): string => {
    const lag = Math.max(0, masterOffset - pos.applied);
    const skipped = Object.values(stream.skipped).reduce((a, b) => a + b, 0);
    const text = `following · offset ${pos.applied} · lag ${formatBytes(lag)} (${lagSeconds(samples, pos.applied, Date.now()).toFixed(1)} s) · ${formatCount(stream.applied)} commands applied` +
      (skipped > 0 ? ` · ${formatCount(skipped)} not applied (${skippedText(stream.skipped)})` : '') + (stream.errors > 0 ? ` · ${stream.errors} errors` : '');
    return progress.tty ? truncate(text, progress.width - 1) : text;
  };

  let draining = false;
  for (;;) {
    const now = Date.now();
    if (now - lastPoll >= POLL_MS && polling === null) {
      lastPoll = now;
      polling = poll().catch(() => {}).finally(() => (polling = null));
      await polling;
      progress.update(line);
      const lag = masterOffset - pos.applied;
      if (io.signal.aborted && !draining) {
        draining = true;
        progress.done();
        io.stderr.write('irisctl: finishing: applying what the source still has (Ctrl-C again leaves at once)\n');
      }
      if ((cmd.untilLag !== null && lag <= cmd.untilLag) || (draining && lag <= 0)) break;
    }
    const first = await link.next(Math.max(1, POLL_MS - (Date.now() - lastPoll)));
    if (first === null) continue;
    const batch = [first];
    while (batch.length < WRITE_CHUNK && link.pending() > 0) batch.push(await link.next());
    const pending: Promise<unknown>[] = [];
    let bytes = 0;
    const flush = async (): Promise<void> => {
      await Promise.all(pending);
      pending.length = 0;
      pos.applied += bytes;
      bytes = 0;
    };
    for (const ev of batch) {
      if (ev.kind !== 'command') continue;
      const name = ev.argv[0]!.toString('latin1').toLowerCase();
      if (name === 'replconf' && ev.argv[1]?.toString('latin1').toLowerCase() === 'getack') {
        await flush();
        link.ack(pos.applied);
        pos.applied += ev.bytes;
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
  progress.done();

  let verify: VerifyResult | null = null;
  if (cmd.verify > 0) verify = await verifySample(sample.items, readFrom(info), target, TTL_TOLERANCE_MS);
  const seconds = (Date.now() - started) / 1000;
  const lag = Math.max(0, masterOffset - pos.applied);
  if (cmd.json) {
    io.stdout.write(JSON.stringify({ source: shown, seconds, ...counts, writes: writer.counts, stream, offset: pos.applied, lagBytes: lag, verify }) + '\n');
  } else {
    io.stdout.write(importReport(counts, seconds, verify));
    io.stdout.write(`commands applied:    ${formatCount(stream.applied)}\n`);
    io.stdout.write(`not applied:         ${skippedText(stream.skipped)}${stream.otherDb > 0 ? `; ${formatCount(stream.otherDb)} on other databases` : ''}\n`);
    if (stream.errors > 0) io.stdout.write(`errors:              ${stream.errors} (first: ${oneLine(stream.firstError ?? '')})\n`);
    io.stdout.write(`stopped at offset:   ${pos.applied} (lag ${formatBytes(lag)})\n`);
  }
  return stream.errors > 0 || (verify !== null && verify.mismatches.length > 0) ? 1 : 0;
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
    await writer.write(part);
    for (const s of part) {
      counts.copied++;
      if (s.pttl > 0) counts.withTtl++;
      sample.offer(s.key);
    }
    show(`loading the RDB: ${formatCount(counts.copied)}/${formatCount(strings.length)} strings`);
  }
}
