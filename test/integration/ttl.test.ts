/**
 * TTL against a real irisdb-node with ioredis: expired keys are invisible at
 * once (lazy expiry, with the active cycle out of the way), and the active
 * cycle reclaims thousands of expired keys nobody touches: DBSIZE and the
 * key gauge drop, used SQLite pages drop, and no cycle ran long.
 */
import { expect } from 'chai';
import type { RunningNode } from '../support/node-process.js';
import { useNodeWithClient } from '../support/node-client.js';
import { waitFor } from '../support/wait.js';

/** Value of one sample in Prometheus text format, or undefined if absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = (m[2] ?? '').split(',').filter((s) => s !== '');
    if (want.every((w) => have.includes(w)) && have.length === want.length) return Number(m[3]);
  }
  return undefined;
}

async function metrics(node: RunningNode): Promise<string> {
  const res = await fetch(`${node.url}/metrics`);
  expect(res.status).to.equal(200);
  return res.text();
}

describe('TTL on a running node', function () {
  describe('lazy expiry (active cycle effectively off)', () => {
    const ctx = useNodeWithClient({ args: ['--active-expiry-interval-ms', '60000'] });

    it('hides keys set with PX and EX as soon as their time has passed', async () => {
      await ctx.redis.set('keep', 'v');
      // The node computes each deadline when it runs the SET, somewhere between
      // sending it and reading the reply: the earliest bound is taken before
      // sending, the latest after the reply.
      const sentPx = Date.now();
      expect(await ctx.redis.set('px-key', 'v', 'PX', 300)).to.equal('OK');
      const pxDeadline = Date.now() + 300;
      expect(await ctx.redis.set('ex-key', 'v', 'EX', 1)).to.equal('OK');
      const exDeadline = Date.now() + 1000;
      const early = await ctx.redis.get('px-key');
      // Only meaningful while the TTL has certainly not run out yet.
      if (Date.now() < sentPx + 300) expect(early).to.equal('v');
      expect(await ctx.redis.dbsize()).to.equal(3);

      await waitFor('the PX deadline to pass', () => Date.now() > pxDeadline);
      expect(await ctx.redis.dbsize()).to.equal(3); // not reclaimed yet, as in Redis
      expect(await ctx.redis.get('px-key')).to.equal(null);
      expect(await ctx.redis.exists('px-key')).to.equal(0);
      expect(await ctx.redis.ttl('px-key')).to.equal(-2);
      expect(await ctx.redis.pttl('px-key')).to.equal(-2);
      // The access deleted it (an explicit delete, not just hidden).
      expect(await ctx.redis.dbsize()).to.equal(2);

      await waitFor('the EX deadline to pass', () => Date.now() > exDeadline);
      expect(await ctx.redis.exists('ex-key')).to.equal(0);
      expect(await ctx.redis.ttl('ex-key')).to.equal(-2);
      expect(await ctx.redis.get('ex-key')).to.equal(null);
      expect(await ctx.redis.get('keep')).to.equal('v');
      expect(await ctx.redis.dbsize()).to.equal(1);
      expect(sample(await metrics(ctx.node), 'redis_expired_keys_total')).to.equal(2);
    });
  });

  describe('active expiry', () => {
    // A short replication log, so the deletes it records are trimmed too and pages really come back.
    const ctx = useNodeWithClient({ args: ['--repl-backlog-ops', '100'] });

    it('reclaims a few thousand expired keys that nobody touches, in bounded cycles', async () => {
      const value = 'x'.repeat(200);
      const pipe = ctx.redis.pipeline();
      for (let i = 0; i < 4000; i++) pipe.set(`session:${i}`, value, 'PX', 500);
      for (let i = 0; i < 100; i++) pipe.set(`keep:${i}`, value);
      await pipe.exec();
      const before = await metrics(ctx.node);
      const usedBefore = sample(before, 'irisdb_storage_pages', { state: 'used' })!;
      expect(usedBefore).to.be.greaterThan(0);
      // Some may already be gone if the machine is slow; the drop below is what counts.
      expect(sample(before, 'redis_db_keys')).to.be.at.most(4100);

      // Only DBSIZE and /metrics from here on: neither touches a key.
      await waitFor('the active cycle to reclaim the expired keys', async () => (await ctx.redis.dbsize()) === 100, { timeoutMs: 30_000 });
      const after = await waitFor('the gauges to settle', async () => {
        const text = await metrics(ctx.node);
        return sample(text, 'redis_db_keys') === 100 && sample(text, 'redis_db_keys_expiring') === 0 ? text : null;
      });
      expect(sample(after, 'redis_expired_keys_total')).to.equal(4000);
      // The log's rows for those writes and deletes are trimmed once a second.
      await waitFor('the pages of the expired keys and their log rows to be freed', async () =>
        sample(await metrics(ctx.node), 'irisdb_storage_pages', { state: 'used' })! < usedBefore / 4);

      // Bounded: every cycle fits the generous 0.25 s bucket (the configured budget is 5 ms).
      const cycles = sample(after, 'irisdb_active_expiry_cycle_seconds_count')!;
      expect(cycles).to.be.greaterThan(0);
      expect(sample(after, 'irisdb_active_expiry_cycle_seconds_bucket', { le: '0.25' })).to.equal(cycles);

      for (let i = 0; i < 100; i += 33) expect(await ctx.redis.get(`keep:${i}`)).to.equal(value);
      expect(await ctx.redis.get('session:0')).to.equal(null);
    });
  });
});
