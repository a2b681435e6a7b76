/**
 * client-output-buffer-limit pubsub with a real process: a subscriber that
 * stops reading is disconnected once its unsent output passes the hard
 * limit, counted in INFO stats, while a subscriber that reads gets every
 * message; the node's memory stays bounded although far more is published
 * than the limit.
 */
import { expect } from 'chai';
import net from 'node:net';
import { Redis } from 'ioredis';
import { startNode, type RunningNode } from '../support/node-process.js';
import { RawRespClient } from '../support/resp-client.js';
import { metric } from '../support/repl-shard.js';
import { waitFor } from '../support/wait.js';

const HARD_LIMIT = 1024 * 1024;
const MESSAGE = Buffer.alloc(64 * 1024, 0x61);
/** 96 MiB in all: ~100 times the limit. */
const MAX_PUBLISHES = 1536;

async function infoField(c: RawRespClient, section: string, field: string): Promise<number> {
  const text = (await c.call(['INFO', section])).toString();
  const m = new RegExp(`^${field}:(\\d+)`, 'm').exec(text);
  if (m === null) throw new Error(`INFO ${section} has no ${field}`);
  return Number(m[1]);
}

describe('Pub/Sub behind --require-pass', function () {
  this.timeout(60_000);
  let node: RunningNode;
  before(async () => {
    node = await startNode({ args: ['--require-pass', 'secret-pw'] });
  });
  after(async () => {
    await node?.stop();
  });

  it('every Pub/Sub command needs AUTH first', async () => {
    const c = await RawRespClient.connect(node.port);
    try {
      for (const argv of [['SUBSCRIBE', 'a'], ['PSUBSCRIBE', 'a*'], ['SSUBSCRIBE', 'a'], ['PUBLISH', 'a', 'm'], ['SPUBLISH', 'a', 'm'], ['PUBSUB', 'CHANNELS']]) {
        expect((await c.call(argv)).toString(), argv.join(' ')).to.equal('-NOAUTH Authentication required.\r\n');
      }
      expect((await c.call(['AUTH', 'secret-pw'])).toString()).to.equal('+OK\r\n');
      expect((await c.call(['SUBSCRIBE', 'a'])).toString()).to.equal('*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n');
    } finally {
      c.close();
    }
  });
});

describe('Pub/Sub output-buffer limit (slow subscriber)', function () {
  this.timeout(120_000);
  let node: RunningNode;

  before(async () => {
    node = await startNode({ args: ['--pubsub-output-buffer-hard-bytes', String(HARD_LIMIT), '--pubsub-output-buffer-soft-bytes', '0'] });
  });
  after(async () => {
    await node?.stop();
  });

  it('disconnects a subscriber that stops reading at its limit; memory stays bounded; a reading subscriber gets everything', async () => {
    const pub = await RawRespClient.connect(node.port);
    const reader = new Redis({ port: node.port, lazyConnect: true });
    reader.on('error', () => {});
    const slow = net.connect(node.port, '127.0.0.1');
    let slowClosed = false;
    slow.on('close', () => { slowClosed = true; });
    slow.on('error', () => {});
    try {
      await reader.connect();
      let received = 0;
      reader.on('messageBuffer', () => { received++; });
      await reader.subscribe('feed');
      slow.write('SUBSCRIBE feed\r\n');
      await waitFor('two subscribers', async () => (await pub.call(['PUBSUB', 'NUMSUB', 'feed'])).toString().endsWith(':2\r\n'));
      slow.pause();

      const rssBefore = await infoField(pub, 'memory', 'used_memory_rss');
      let published = 0;
      let cutAt = -1;
      while (published < MAX_PUBLISHES) {
        await pub.call(['PUBLISH', 'feed', MESSAGE]);
        published++;
        if (cutAt < 0 && published % 16 === 0 && (await infoField(pub, 'stats', 'client_output_buffer_limit_disconnections')) === 1) {
          cutAt = published;
        }
        // Keep going a while after the cut: nothing else may grow.
        if (cutAt > 0 && published >= cutAt + 256) break;
        // The reading subscriber keeps up (bounded lag), so only the slow one can hit the limit.
        if (published - received > 64) await waitFor('the reader to catch up', () => published - received <= 8);
      }
      expect(cutAt, 'the slow subscriber was disconnected').to.be.greaterThan(0);
      expect(cutAt * MESSAGE.length, 'bytes published before the cut').to.be.greaterThan(HARD_LIMIT);
      await waitFor('the reader to get every message', () => received === published);
      expect((await pub.call(['PUBSUB', 'NUMSUB', 'feed'])).toString()).to.match(/:1\r\n$/);
      slow.resume();
      await waitFor('the slow subscriber socket to close', () => slowClosed);
      const rssAfter = await infoField(pub, 'memory', 'used_memory_rss');
      // 96 MiB could have been queued for the slow subscriber; allow GC slack far below that.
      expect(rssAfter - rssBefore, `RSS ${rssBefore} -> ${rssAfter} after ${published} x 64 KiB`).to.be.lessThan(48 * 1024 * 1024);
      expect(node.logs()).to.include('client-output-buffer-limit pubsub reached');
      expect(await metric(node, 'redis_client_output_buffer_limit_disconnections_total')).to.equal(1);
      expect(await metric(node, 'redis_rejected_connections_total', { reason: 'pubsub_output_buffer' })).to.equal(1);
      expect(await metric(node, 'redis_pubsub_channels')).to.equal(1);
    } finally {
      slow.destroy();
      reader.disconnect();
      pub.close();
    }
  });
});
