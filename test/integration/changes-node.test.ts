/**
 * The change feed of one node (docs/change-feed.md): GET /v1/changes as a
 * client sees it, over real HTTP from a real node process — every change in
 * order with binary keys and values exact, resume after a position exactly
 * once, prefix filtering, 410 for a position the retained log no longer
 * holds, the auth and browser guard of every /v1 route, and the stream
 * limit.
 */
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { ChangeFeedGoneError, SseParser, followShard, type ChangeEvent } from '../../common/change-feed-client.js';
import { parsePosition, type ChangePosition } from '../../common/change-position.js';
import { startNode, type RunningNode } from '../support/node-process.js';
import { waitFor } from '../support/wait.js';

const PASS = 'feed-secret';
const AUTH = `Bearer ${PASS}`;

/** Reads a feed until `n` change events arrived (or the deadline), then closes it. */
async function readChanges(url: string, n: number, headers: Record<string, string> = { authorization: AUTH }): Promise<{ status: number; changes: ChangeEvent[]; ids: string[] }> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 15_000);
  const res = await fetch(url, { headers, signal: ac.signal });
  const changes: ChangeEvent[] = [];
  const ids: string[] = [];
  try {
    if (res.status !== 200 || res.body === null) return { status: res.status, changes, ids };
    const parser = new SseParser();
    const decoder = new TextDecoder();
    const reader = res.body.getReader();
    while (changes.length < n) {
      const { done, value } = await reader.read();
      if (done) break;
      for (const m of parser.push(decoder.decode(value, { stream: true }))) {
        if (m.id !== null) ids.push(m.id);
        if (m.event === 'change') changes.push(JSON.parse(m.data) as ChangeEvent);
      }
    }
    return { status: res.status, changes, ids };
  } catch (err) {
    if (ac.signal.aborted) return { status: res.status, changes, ids };
    throw err;
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
}

describe('change feed: one node (GET /v1/changes)', function () {
  this.timeout(90_000);
  let node: RunningNode;
  let redis: Redis;

  before(async () => {
    node = await startNode({ args: ['--require-pass', PASS, '--repl-backlog-ops', '100', '--change-feed-max-streams', '2'] });
    redis = new Redis({ port: node.port, password: PASS, lazyConnect: true });
    await redis.connect();
  });

  after(async () => {
    redis?.disconnect();
    await node?.stop();
  });

  it('streams every change in order, with binary keys and values exact, and resumes exactly after a position', async () => {
    const bin = Buffer.from([0, 0xff, 0x80, 0x0a]);
    await redis.set('feed:a', '1');
    await redis.set(Buffer.concat([Buffer.from('feed:'), bin]), bin);
    await redis.set('feed:b', '2', 'PX', 600_000);
    await redis.pexpire('feed:a', 500_000);
    await redis.del('feed:a');
    const all = await readChanges(`${node.url}/v1/changes?from=earliest`, 5);
    expect(all.status).to.equal(200);
    expect(all.changes.map((c) => c.op)).to.deep.equal(['set', 'set', 'set', 'expire', 'del']);
    const [a, b, c, d, e] = all.changes as [ChangeEvent, ChangeEvent, ChangeEvent, ChangeEvent, ChangeEvent];
    expect(a).to.include({ key: 'feed:a', value: '1', tombstone: false, shard: 'standalone' });
    expect(b.keyEncoding).to.equal('base64');
    expect(Buffer.from(b.key!, 'base64').equals(Buffer.concat([Buffer.from('feed:'), bin]))).to.equal(true);
    expect(Buffer.from(b.value!, 'base64').equals(bin)).to.equal(true);
    expect(c.expiresAt).to.be.a('number');
    expect(d).to.include({ op: 'expire', key: 'feed:a' });
    expect(e).to.include({ op: 'del', key: 'feed:a', tombstone: true });
    expect(e.value).to.equal(undefined);
    const seqs = all.changes.map((x) => x.seq);
    expect(seqs).to.deep.equal([...seqs].sort((x, y) => x - y));
    // The SSE id is the position: resuming after the 2nd change gives the 3rd onwards, once.
    const resumed = await readChanges(`${node.url}/v1/changes?from=${encodeURIComponent(b.position)}`, 3);
    expect(resumed.changes.map((x) => x.position)).to.deep.equal([c.position, d.position, e.position]);
    // EventSource's Last-Event-ID resumes the same way.
    const viaHeader = await readChanges(`${node.url}/v1/changes`, 1, { authorization: AUTH, 'last-event-id': d.position });
    expect(viaHeader.changes.map((x) => x.position)).to.deep.equal([e.position]);
  });

  it('follows new writes live, filtered by prefix, and the position moves past what the prefix leaves out', async () => {
    const ac = new AbortController();
    const seen: ChangeEvent[] = [];
    let last: ChangePosition | null = null;
    const following = followShard({
      shard: 'standalone', from: 'now', prefix: Buffer.from('live:'), signal: ac.signal, authorization: AUTH,
      urlOf: async () => node.url, onChange: (ev) => seen.push(ev), onPosition: (p) => { last = p; },
    });
    // The feed starts at "now" once its hello arrives (its position is set).
    await waitFor('the feed to start', () => last !== null);
    for (let i = 0; i < 20; i++) await redis.set(i % 2 === 0 ? `live:${i}` : `other:${i}`, String(i));
    const lastSeq = Number((await redis.info('persistence')).match(/^irisdb_last_seq:(\d+)/m)?.[1]);
    expect(lastSeq).to.be.greaterThan(0);
    await waitFor('the 10 live: writes', () => seen.length >= 10);
    expect(seen.map((s) => s.key)).to.deep.equal([0, 2, 4, 6, 8, 10, 12, 14, 16, 18].map((i) => `live:${i}`));
    // The last write (other:19) is filtered out, but the position still reaches it.
    await waitFor('the position to pass the filtered tail', () => (last as ChangePosition | null)!.seq >= lastSeq);
    ac.abort();
    await following;
  });

  it('answers 410 with a JSON error for a position older than the retained log, and for one it never had', async () => {
    // replBacklogOps is 100: after 300 more writes (each its own turn) the log is trimmed past the start.
    for (let i = 0; i < 300; i++) await redis.set(`trim:${i % 10}`, String(i));
    const gone = await waitFor('the log to be trimmed', async () => {
      const r = await fetch(`${node.url}/v1/changes?from=standalone:0:1`, { headers: { authorization: AUTH } });
      if (r.status === 410) return r;
      await r.body?.cancel();
      return null;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    const body = (await gone.json()) as { error: { code: string; message: string } };
    expect(body.error.code).to.equal('gone');
    expect(body.error.message).to.match(/older than the retained log/);
    const ahead = await fetch(`${node.url}/v1/changes?from=standalone:0:999999`, { headers: { authorization: AUTH } });
    expect(ahead.status).to.equal(410);
    // Sequence 305 exists, but was written at epoch 0: a position at epoch 7 names a change this log never had.
    const wrongEpoch = await fetch(`${node.url}/v1/changes?from=standalone:7:305`, { headers: { authorization: AUTH } });
    expect(wrongEpoch.status).to.equal(410);
    // The client library turns it into an error, never a silent skip.
    let err: unknown = null;
    await followShard({ shard: 'standalone', from: parsePosition('standalone:0:1'), signal: new AbortController().signal, authorization: AUTH, urlOf: async () => node.url, onChange: () => undefined })
      .catch((e: unknown) => { err = e; });
    expect(err).to.be.instanceOf(ChangeFeedGoneError);
  });

  it('is protected like every /v1 route: password, browser guard, bad positions, stream limit', async () => {
    expect((await fetch(`${node.url}/v1/changes`)).status).to.equal(401);
    const cross = await fetch(`${node.url}/v1/changes`, { headers: { authorization: AUTH, origin: 'http://evil.example' } });
    expect(cross.status).to.equal(403);
    // HEAD answers the headers and ends (a stream would never end).
    const head = await fetch(`${node.url}/v1/changes`, { method: 'HEAD', headers: { authorization: AUTH } });
    expect(head.status).to.equal(200);
    expect(head.headers.get('content-type')).to.match(/^text\/event-stream/);
    const bad = await fetch(`${node.url}/v1/changes?from=nonsense`, { headers: { authorization: AUTH } });
    expect(bad.status).to.equal(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).to.equal('bad_request');
    // changeFeedMaxStreams is 2: a third open stream gets 429.
    const acs = [new AbortController(), new AbortController()];
    const open = await Promise.all(acs.map((ac) => fetch(`${node.url}/v1/changes`, { headers: { authorization: AUTH }, signal: ac.signal })));
    expect(open.map((r) => r.status)).to.deep.equal([200, 200]);
    const third = await fetch(`${node.url}/v1/changes`, { headers: { authorization: AUTH } });
    expect(third.status).to.equal(429);
    expect(((await third.json()) as { error: { code: string } }).error.code).to.equal('too_many_streams');
    for (const ac of acs) ac.abort();
    await waitFor('a stream slot to free up', async () => {
      const r = await fetch(`${node.url}/v1/changes`, { headers: { authorization: AUTH } });
      await r.body?.cancel();
      return r.status === 200;
    });
  });

  it('counts streams, events and 410 answers in /metrics', async () => {
    const text = await (await fetch(`${node.url}/metrics`)).text();
    const value = (name: string): number => Number(text.match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1]);
    expect(value('irisdb_change_feed_events_total')).to.be.greaterThan(10);
    expect(value('irisdb_change_feed_gone_total')).to.be.at.least(3);
    expect(value('irisdb_change_feed_streams')).to.be.at.least(0);
  });
});
