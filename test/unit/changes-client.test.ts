import { expect } from 'chai';
import fc from 'fast-check';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SseParser, followShard, type SseMessage } from '../../common/change-feed-client.js';
import { waitFor } from '../support/wait.js';
import { sseMessage, SSE_KEEPALIVE } from '../../node/changes/event.js';
import { parseCommandLine } from '../../operator/cli/args.js';
import { UsageError } from '../../operator/cli/errors.js';
import { changeLine } from '../../operator/cli/run-watch.js';

const line = fc.string({ maxLength: 30 }).filter((s) => !/[\r\n]/.test(s));
const message = fc.record({ event: fc.stringMatching(/^[a-z]{1,8}$/), id: fc.option(fc.stringMatching(/^[a-z0-9:-]{1,20}$/), { nil: undefined }), data: line });

function parseAll(text: string, cuts: number[]): SseMessage[] {
  const p = new SseParser();
  const out: SseMessage[] = [];
  let at = 0;
  for (const c of [...cuts.map((x) => x % (text.length + 1))].sort((a, b) => a - b)) {
    out.push(...p.push(text.slice(at, c)));
    at = c;
  }
  out.push(...p.push(text.slice(at)));
  return out;
}

describe('change feed client: SSE parsing', () => {
  it('reads back what the node writes, however the bytes are split into chunks', () => {
    fc.assert(fc.property(fc.array(message, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 6 }), (msgs, cuts) => {
      const text = msgs.map((m) => sseMessage(m.event, m.data, m.id) + SSE_KEEPALIVE).join('');
      const got = parseAll(text, cuts);
      expect(got).to.deep.equal(msgs.map((m) => ({ event: m.event, id: m.id ?? null, data: m.data })));
    }), { numRuns: 300 });
  });

  it('accepts CRLF and CR line ends, multi-line data and fields without a space', () => {
    const p = new SseParser();
    expect(p.push('event:change\r\nid:s:1:2\r\ndata: a\r\ndata:b\r\n\r\n: c\rdata: x\r\r\n')).to.deep.equal([
      { event: 'change', id: 's:1:2', data: 'a\nb' }, { event: 'message', id: null, data: 'x' },
    ]);
  });

  it('does not split a CRLF that arrives in two chunks', () => {
    const p = new SseParser();
    expect(p.push('data: a\r')).to.deep.equal([]);
    expect(p.push('\n\r\n')).to.deep.equal([{ event: 'message', id: null, data: 'a' }]);
  });

  it('never throws on arbitrary input', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => {
      new SseParser().push(s);
    }));
  });
});

describe('irisctl watch', () => {
  it('parses --prefix, --from (a position list) and --json', () => {
    expect(parseCommandLine(['watch', '--dir', 'd', '--prefix', 'user:', '--from', 'shard-0:2:10,shard-1:1:5', '--json'])).to.deep.equal({
      kind: 'watch', source: { kind: 'dir', dir: 'd' }, prefix: 'user:', json: true, resume: true,
      from: [{ shard: 'shard-0', epoch: 2, seq: 10 }, { shard: 'shard-1', epoch: 1, seq: 5 }],
    });
    expect(parseCommandLine(['watch', '--dir', 'd'])).to.include({ kind: 'watch', resume: false, prefix: '', json: false });
    expect(() => parseCommandLine(['watch', '--from', 'shard-0:x:1'])).to.throw(UsageError, /--from/);
    expect(() => parseCommandLine(['watch', '--from', 'a:1:1,a:1:2'])).to.throw(UsageError, /twice/);
  });

  it('prints one line per change', () => {
    const base = { shard: 's0', epoch: 2, seq: 7, position: 's0:2:7' };
    expect(changeLine({ ...base, op: 'set', key: 'k', keyEncoding: 'utf8', value: 'v 1', valueEncoding: 'utf8', expiresAt: null, tombstone: false })).to.equal('s0:2:7 set "k" "v 1"');
    expect(changeLine({ ...base, op: 'del', key: '/w==', keyEncoding: 'base64', tombstone: true })).to.equal('s0:2:7 del base64:/w==');
    expect(changeLine({ ...base, op: 'expire', key: 'k', keyEncoding: 'utf8', expiresAt: 0, tombstone: false })).to.equal('s0:2:7 expire "k" expires 1970-01-01T00:00:00.000Z');
    expect(changeLine({ ...base, op: 'clear', tombstone: true })).to.equal('s0:2:7 clear (every key)');
  });
});

describe('change feed client: following', () => {
  it('gives up a connection that brings no data (a frozen primary) and resumes from its position on a new one', async () => {
    const froms: string[] = [];
    // An SSE server that sends its hello and one change, then nothing at all (as a SIGSTOPped node would).
    const server = http.createServer((req, res) => {
      froms.push(new URL(req.url!, 'http://x').searchParams.get('from')!);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sseMessage('hello', JSON.stringify({ shard: 's0', position: 's0:1:4' }), 's0:1:4'));
      res.write(sseMessage('change', JSON.stringify({ position: 's0:1:5', shard: 's0', epoch: 1, seq: 5, op: 'del', key: 'k', keyEncoding: 'utf8', tombstone: true }), 's0:1:5'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const ac = new AbortController();
    const reconnects: string[] = [];
    try {
      const following = followShard({
        shard: 's0', from: 'now', signal: ac.signal, idleTimeoutMs: 300, maxBackoffMs: 100,
        urlOf: async () => url, onChange: () => undefined, onReconnect: (why) => reconnects.push(why),
      });
      await waitFor('a second connection', () => froms.length >= 2, { timeoutMs: 10_000 });
      ac.abort();
      expect(await following).to.deep.equal({ shard: 's0', epoch: 1, seq: 5 });
      expect(froms.slice(0, 2)).to.deep.equal(['now', 's0:1:5']);
      expect(reconnects[0]).to.match(/no data for 300 ms/);
    } finally {
      ac.abort();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('gives up a request that gets no answer at all, and tries again', async () => {
    let requests = 0;
    const server = http.createServer(() => { requests++; });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const ac = new AbortController();
    const reconnects: string[] = [];
    try {
      const following = followShard({
        shard: 's0', from: 'earliest', signal: ac.signal, idleTimeoutMs: 200, maxBackoffMs: 100,
        urlOf: async () => url, onChange: () => undefined, onReconnect: (why) => reconnects.push(why),
      });
      await waitFor('a second request', () => requests >= 2, { timeoutMs: 10_000 });
      ac.abort();
      expect(await following).to.equal(null);
      expect(reconnects[0]).to.match(/no answer from .* within 200 ms/);
    } finally {
      ac.abort();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
