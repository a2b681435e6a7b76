/**
 * `irisctl watch`: follows the change feed (GET /v1/changes) of every shard
 * of the cluster, printing one line per change. Each shard is asked at its
 * current primary (from the controller's status), so after a failover the
 * feed resumes on the new primary from the last position; shards added by a
 * scale-out are followed from their first change. Ctrl-C stops it and
 * prints the positions to resume from (--from).
 */
import { ChangeFeedGoneError, type ChangeEvent, followShard } from '../../common/change-feed-client.js';
import { type ChangePosition, formatPositionList } from '../../common/change-position.js';
import type { ControlClient } from '../control-api/client.js';
import { controlClient } from './endpoint.js';
import { type CliIo, sleep } from './output.js';
import { oneLine } from './text.js';
import { localNodeFetchForDir } from '../local/tls-files.js';
import type { WatchCommand } from './watch-args.js';

/** How often the shard list is refreshed (a scale-out adds shards, a scale-in removes them). */
const DISCOVER_MS = 2000;
/** A shard missing from this many refreshes in a row was removed: it is no longer followed. */
const GONE_ROUNDS = 3;

interface Followed {
  readonly done: Promise<void>;
  readonly ac: AbortController;
  missing: number;
}

function bytesText(text: string | undefined, encoding: string | undefined): string {
  if (text === undefined) return '';
  return encoding === 'base64' ? `base64:${text}` : JSON.stringify(text);
}

/** One text line per change: position, op, key, and value / expiry. Pure. */
export function changeLine(ev: ChangeEvent): string {
  const key = ev.op === 'clear' ? '(every key)' : bytesText(ev.key, ev.keyEncoding);
  const parts = [ev.position, ev.op, key];
  if (ev.op === 'set') parts.push(bytesText(ev.value, ev.valueEncoding));
  if ((ev.op === 'set' || ev.op === 'expire') && ev.expiresAt !== null && ev.expiresAt !== undefined) parts.push(`expires ${new Date(ev.expiresAt).toISOString()}`);
  return parts.join(' ');
}

async function primaryUrl(client: ControlClient, shard: string): Promise<string | null> {
  const st = await client.status();
  const s = st.shards.find((x) => x.id === shard);
  if (s === undefined) return null;
  return s.nodes.find((n) => n.name === s.primary)?.httpUrl ?? null;
}

export async function runWatch(cmd: WatchCommand, io: CliIo): Promise<number> {
  const client = await controlClient(cmd.source);
  const positions = new Map<string, ChangePosition>(cmd.from.map((p) => [p.shard, p]));
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  io.signal.addEventListener('abort', stop);
  const followed = new Map<string, Followed>();
  let failure: Error | null = null;
  const prefix = Buffer.from(cmd.prefix, 'utf8');
  const firstShards = new Set((await client.status()).shards.map((s) => s.id));

  const follow = (shard: string): void => {
    const known = positions.get(shard);
    // Without --from every shard starts now; with it, a shard it does not list (new since) starts at its oldest change; so does one that appears while watching.
    const from = known ?? (cmd.resume || !firstShards.has(shard) ? 'earliest' : 'now');
    const shardAc = new AbortController();
    ac.signal.addEventListener('abort', () => shardAc.abort(), { once: true });
    const done = followShard({
      shard, from, prefix, signal: shardAc.signal,
      // A local --tls cluster's nodes serve HTTPS with its own CA.
      ...(cmd.source.kind === 'dir' ? { fetchImpl: localNodeFetchForDir(cmd.source.dir) } : {}),
      urlOf: (id) => primaryUrl(client, id).catch(() => null),
      onChange: (ev) => io.stdout.write((cmd.json ? JSON.stringify(ev) : changeLine(ev)) + '\n'),
      onPosition: (p) => positions.set(p.shard, p),
      onReconnect: (why) => io.stderr.write(`irisctl: shard ${shard}: ${oneLine(why)}; reconnecting\n`),
    }).then(() => undefined, (err: unknown) => {
      failure ??= err as Error;
      ac.abort();
    });
    followed.set(shard, { done, ac: shardAc, missing: 0 });
  };

  for (const id of firstShards) follow(id);
  while (!ac.signal.aborted) {
    await sleep(DISCOVER_MS, ac.signal);
    if (ac.signal.aborted) break;
    let ids: Set<string>;
    try {
      ids = new Set((await client.status()).shards.map((s) => s.id));
    } catch {
      // The controller restarting: the feeds go on; shards are looked up again next round.
      continue;
    }
    for (const id of ids) {
      const f = followed.get(id);
      if (f === undefined) follow(id);
      else f.missing = 0;
    }
    for (const [id, f] of followed) {
      if (ids.has(id) || f.ac.signal.aborted || ++f.missing < GONE_ROUNDS) continue;
      f.ac.abort();
      positions.delete(id);
      io.stderr.write(`irisctl: shard ${id} is no longer in the cluster (scaled in): not following it any more\n`);
    }
  }
  await Promise.all([...followed.values()].map((f) => f.done));
  io.signal.removeEventListener('abort', stop);
  const resume = formatPositionList([...positions.values()]);
  if (resume !== '') io.stderr.write(`irisctl: resume with --from ${resume}\n`);
  if (failure !== null) {
    const e: Error = failure;
    io.stderr.write(`irisctl: ${e instanceof ChangeFeedGoneError ? `shard ${e.shard}: ` : ''}${oneLine(e.message)}\n`);
    return 1;
  }
  return 0;
}
